"""A catch-all `require` policy with no bypass for the traffic a host needs to keep working."""

from __future__ import annotations

from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import Severity
from racoondbg.model.kernel import Policy, host_text

from ._kernel import contains_pair, policies, policy_ref, ranked, selector, span

#: Sample packets of each kind of control traffic: (what, src, dst, proto) per direction.
_ND_MULTICAST = "ff02::1:ff00:1"
_LINK_LOCAL = "fe80::1"


def _catch_all(p: Policy) -> str | None:
    """The local side of a catch-all policy (its remote side is 0/0 or ::/0), else None."""
    if not p.is_ipsec or p.src is None or p.dst is None or p.proto != "any":
        return None
    if any(r.level in ("use", "default") for r in p.requests):
        return None
    local, remote = (p.src, p.dst) if p.direction == "out" else (p.dst, p.src)
    return local if span(remote).plen == 0 and p.direction in ("in", "out") else None


def _bypassed(earlier: list[Policy], src: str, dst: str, proto: str) -> bool:
    return any(q.action in ("none", "bypass") and q.proto in ("any", proto) and contains_pair(q, src, dst)
               for q in earlier)


def _needs(p: Policy, local: str) -> list[tuple[str, str, str, str]]:
    """(what, src, dst, proto) packets this catch-all would swallow unless bypassed."""
    out = p.direction == "out"
    own = host_text(local)
    single = "/" not in own
    checks: list[tuple[str, str, str, str]] = []
    if span(local).version == 4:
        here = own if single else "127.0.0.1"
        if single:
            checks.append(("traffic to its own address", own, own, "any"))
        checks.append(("loopback traffic", here, "127.0.0.1", "any") if out else
                      ("loopback traffic", "127.0.0.1", here, "any"))
    else:
        here = own if single else _LINK_LOCAL
        if single:
            checks.append(("traffic to its own address", own, own, "any"))
        checks.append(("IPv6 neighbour discovery (ICMPv6)", here, _ND_MULTICAST, "icmp6") if out else
                      ("IPv6 neighbour discovery (ICMPv6)", _LINK_LOCAL, here, "icmp6"))
    return [c for c in checks if contains_pair(p, c[1], c[2])]


@rule("RDB204", "spd-catches-control-traffic", title="Catch-all IPsec policy swallows local control traffic",
      severity=Severity.ERROR, needs={"spd|script"},
      fix="Add `none` policies for the host's own and loopback traffic (and ICMPv6) before the catch-all.")
def spd_catches_control_traffic(ev: Evidence) -> Iterator[Hit]:
    """**What it means**

    A policy with `require` (or `unique`) covers everything the host sends to (or receives from)
    `0.0.0.0/0` or `::/0`, and no earlier `none` policy exempts the host's own traffic: packets
    to its own address and to 127.0.0.1, or (IPv6) neighbour discovery.

    **Why racoon fails**

    Such packets need an SA nobody can negotiate (there is no peer for 127.0.0.1 or for a
    multicast solicitation): they are dropped, local services break, and on IPv6 the host loses its
    neighbours so nothing leaves the interface at all. This is why the seed's scripts start with
    `spdadd 10.3.0.2 127.0.0.1 any -P out none;` and `spdadd 10.3.0.2 10.3.0.2 any -P out none;`.
    racoon's own IKE packets are safe: racoon puts per-socket bypass policies on its sockets.

    **Evidence it looks at**

    SPD or setkey script: catch-all `ipsec` policies with upper-layer `any`, and the `none`/`bypass`
    policies the kernel consults before them.

    **How to fix**

    Add the exemptions before the catch-all policy (the fix lists the exact lines).

    **References**

    setkey(8); failure catalog #34.
    """
    for direction in ("out", "in"):
        items = ranked(p for p in policies(ev) if p.direction == direction)
        for position, p in enumerate(items):
            local = _catch_all(p)
            if local is None:
                continue
            earlier = items[:position]
            missing = [c for c in _needs(p, local) if not _bypassed(earlier, c[1], c[2], c[3])]
            if not missing:
                continue
            what = ", ".join(m[0] for m in missing)
            lines = " ".join(f"`spdadd {s} {d} {'icmp6' if proto == 'icmp6' else 'any'} -P {direction} none;`"
                             for _, s, d, proto in missing)
            if any(m[3] == "icmp6" for m in missing):
                lines = lines.replace(_ND_MULTICAST, "ff02::/16").replace(_LINK_LOCAL, "fe80::/10")
            message = (f"The {direction} policy {selector(p)} requires IPsec for everything, and nothing exempts "
                       f"{what}: those packets wait for an SA that can never be negotiated and are dropped.")
            yield Hit(message, [policy_ref(p, "catch-all policy")],
                      fix=f"Add, before this policy: {lines}")
