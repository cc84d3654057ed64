"""A transport (or bypass) policy that the kernel consults first takes traffic a tunnel policy wanted."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import Severity
from racoondbg.model.kernel import Policy, host_text

from ._kernel import SelectorIndex, contains_pair, covers, policies, policy_ref, ranked, selector

MAX_REFS = 5


def _kind(p: Policy) -> str | None:
    """``tunnel``, ``transport`` or ``bypass`` (none/bypass/discard), None for other actions."""
    if p.action in ("none", "bypass", "discard"):
        return "bypass"
    if p.is_ipsec:
        return "tunnel" if p.tunnel else "transport"
    return None


@rule("RDB203", "transport-policy-shadows-tunnel", title="A transport or bypass policy takes a tunnel's traffic",
      severity=Severity.WARNING, needs={"spd|script"},
      fix="Narrow the earlier policy or add a more specific tunnel policy before it.")
def transport_policy_shadows_tunnel(ev: Evidence) -> Iterator[Hit]:
    """**What it means**

    Two policies of the same direction select overlapping traffic, and the one the kernel consults
    first (higher priority on Linux, earlier in the SPD on BSD/macOS) is a transport-mode or
    `none` policy, while the other one is a tunnel. Packets in the overlap never reach the tunnel.

    **Why racoon fails**

    Either the tunnel policy is never used at all (the earlier policy covers all of it), or the
    earlier transport policy covers the tunnel gateway itself: then racoon negotiates transport
    SAs with the gateway for one policy and tunnel SAs for the other over the same address pair,
    which on KAME-derived stacks ends in transport SAs serving the tunnel (`spd-sad-mode-mismatch`)
    and SAs stacking up. racoon's log says `policy found, but no IPsec required` for bypassed
    traffic.

    **Evidence it looks at**

    SPD or setkey script: selectors, direction, priority and order. Overlaps are found with a
    prefix index (no pairwise comparison), so large SPDs are fine.

    **How to fix**

    Put a more specific policy for the gateway pair before the transport policy (so the pair has
    one mode only), narrow the transport policy, or on Linux give the tunnel `prio high`.

    **References**

    setkey(8) (`-P` priorities); failure catalog #41.
    """
    by_dir: dict[str, list[Policy]] = defaultdict(list)
    for p in policies(ev):
        if _kind(p) is not None and p.src is not None:
            by_dir[p.direction].append(p)
    for direction, items in sorted(by_dir.items()):
        order = {id(p): i for i, p in enumerate(ranked(items))}
        index = SelectorIndex([p for p in items if _kind(p) in ("transport", "bypass")])
        shadowed: dict[int, list[Policy]] = defaultdict(list)
        gateway: dict[int, list[Policy]] = defaultdict(list)
        winners: dict[int, Policy] = {}
        for tunnel in items:
            r = tunnel.tunnel
            if r is None or not r.src or not r.dst:
                continue
            for q in index.overlapping(tunnel):
                if order[id(q)] > order[id(tunnel)]:
                    continue
                if covers(q, tunnel):
                    shadowed[id(q)].append(tunnel)
                    winners[id(q)] = q
                elif _kind(q) == "transport" and contains_pair(q, r.src, r.dst):
                    gateway[id(q)].append(tunnel)
                    winners[id(q)] = q
        for key, q in winners.items():
            if shadowed.get(key):
                yield _never_used(q, shadowed[key], direction)
            if gateway.get(key):
                yield _gateway_caught(q, gateway[key], direction)


def _never_used(q: Policy, tunnels: list[Policy], direction: str) -> Hit:
    t = tunnels[0]
    what = "in clear" if q.action in ("none", "bypass") else "dropped" if q.action == "discard" else "in transport mode"
    more = f" (and {len(tunnels) - 1} more tunnel policies)" if len(tunnels) > 1 else ""
    message = (f"The {direction} tunnel policy {selector(t)}{more} is never used: every packet it selects matches "
               f"{selector(q)} ({q.action}{' transport' if q.is_ipsec else ''}) first and goes {what}.")
    evidence = [policy_ref(q, "matches first"), *(policy_ref(t, "never reached") for t in tunnels[:MAX_REFS])]
    fix = (f"Remove or narrow `{q.summary()}`, or add the tunnel policy before it"
           f"{' (on Linux: give the tunnel `prio high`)' if q.priority is not None else ''}.")
    return Hit(message, evidence, fix=fix)


def _gateway_caught(q: Policy, tunnels: list[Policy], direction: str) -> Hit:
    t = tunnels[0]
    r = t.tunnel
    assert r is not None and r.src and r.dst and q.src and q.dst and t.src and t.dst
    local, gw = (r.src, r.dst) if direction == "out" else (r.dst, r.src)
    more = f" (and {len(tunnels) - 1} more like it)" if len(tunnels) > 1 else ""
    message = (f"Packets {host_text(q.src)} → {host_text(q.dst)} — including those to and from the tunnel gateway "
               f"{gw} itself — match the transport policy {selector(q)} before the tunnel policy {selector(t)}{more} "
               f"is consulted: they leave in transport mode, and only the rest of {host_text(t.src)} → "
               f"{host_text(t.dst)} goes through the tunnel {r.src}-{r.dst}. Both policies then want SAs for the "
               f"same pair {local} ↔ {gw}, one in transport and one in tunnel mode.")
    src, dst = (local, gw) if direction == "out" else (gw, local)
    proto = r.proto
    fix = (f"Give the pair {local} ↔ {gw} one mode only: before the transport policy add "
           f"`spdadd {src} {dst} any -P {direction} ipsec {proto}/tunnel/{r.src}-{r.dst}/require;` (and the mirrored "
           f"policy for the other direction), or take {gw} out of {host_text(q.dst if direction == 'out' else q.src)}.")
    evidence = [policy_ref(q, "consulted first"), *(policy_ref(x, "tunnel policy") for x in tunnels[:MAX_REFS])]
    return Hit(message, evidence, fix=fix, peer=gw)
