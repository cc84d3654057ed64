"""Policies that exist for one direction only, tunnels whose endpoints are not mirrored, missing fwd."""

from __future__ import annotations

from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import Severity
from racoondbg.model.kernel import Policy, host_text

from ._kernel import is_linux, policies, policy_ref, selector

MAX_REFS = 6

SelectorKey = tuple[str | None, str | None, str, int | None, int | None]


def _key(p: Policy) -> SelectorKey:
    return (p.src, p.dst, p.proto, p.src_port, p.dst_port)


def _mirror(p: Policy) -> SelectorKey:
    return (p.dst, p.src, p.proto, p.dst_port, p.src_port)


@rule("RDB205", "asymmetric-policy", title="IPsec policy for one direction only, or tunnel ends not mirrored",
      severity=Severity.WARNING, needs={"spd|script"},
      fix="Add the mirrored policy for the other direction with the tunnel endpoints swapped.")
def asymmetric_policy(ev: Evidence) -> Iterator[Hit]:
    """**What it means**

    An `out` IPsec policy has no `in` policy for the mirrored selector (or the reverse), or the
    mirrored policy's tunnel endpoints are not the same two gateways swapped.

    **Why racoon fails**

    racoon looks up the `in` policy when the peer initiates (responder) and the `out` policy when
    it initiates itself: with only one of them, negotiation works in one direction and fails with
    `no policy found` in the other. Traffic protected one way and clear the other way is dropped by
    the side that requires IPsec. Tunnel endpoints that are not mirrored make the inbound SA's
    addresses differ from what the policy expects, so decapsulated packets are dropped.

    **Evidence it looks at**

    SPD or setkey script: `ipsec` policies keyed by selector; the mirrored selector's policy and
    its tunnel request.

    **How to fix**

    For `spdadd A B any -P out ipsec esp/tunnel/GA-GB/require;` add
    `spdadd B A any -P in ipsec esp/tunnel/GB-GA/require;` (and the same on the peer, mirrored).

    **References**

    setkey(8); racoon(8) (responder policy lookup).
    """
    items = [p for p in policies(ev) if p.is_ipsec and p.src is not None and p.direction in ("in", "out")]
    by_dir: dict[str, dict[SelectorKey, Policy]] = {"in": {}, "out": {}}
    for p in items:
        by_dir[p.direction].setdefault(_key(p), p)
    lonely: list[Policy] = []
    for p in items:
        other = by_dir["in" if p.direction == "out" else "out"].get(_mirror(p))
        if other is None:
            lonely.append(p)
            continue
        mine, theirs = p.tunnel, other.tunnel
        if p.direction == "out" and mine and theirs and (mine.src, mine.dst) != (theirs.dst, theirs.src):
            yield Hit(f"The tunnel policy {selector(p)} goes {mine.src}-{mine.dst}, but its mirror {selector(other)} "
                      f"comes back {theirs.src}-{theirs.dst} instead of {mine.dst}-{mine.src}: inbound SAs will not "
                      f"match the inbound policy.",
                      [policy_ref(p), policy_ref(other, "endpoints not mirrored")],
                      fix=f"Write the inbound request as `{theirs.proto}/tunnel/{mine.dst}-{mine.src}/{theirs.level}`.",
                      peer=mine.dst)
    if lonely:
        p = lonely[0]
        other_dir = "in" if p.direction == "out" else "out"
        assert p.src and p.dst
        req = p.requests[0]
        ends = f"{req.dst}-{req.src}" if req.mode == "tunnel" else ""
        more = f" ({len(lonely)} policies in all)" if len(lonely) > 1 else ""
        yield Hit(f"The {p.direction} policy {selector(p)} has no {other_dir} policy for "
                  f"{host_text(p.dst)} → {host_text(p.src)}{more}: IPsec is negotiated and enforced one way only, and "
                  f"racoon finds no policy when the peer starts the negotiation.",
                  [policy_ref(x, f"no {'in' if x.direction == 'out' else 'out'} mirror") for x in lonely[:MAX_REFS]],
                  fix=f"Add `spdadd {host_text(p.dst)} {host_text(p.src)} {p.proto} -P {other_dir} ipsec "
                      f"{req.proto}/{req.mode}/{ends}/{req.level};` (and likewise for the others).")


@rule("RDB206", "missing-fwd-policy", title="Linux gateway without a fwd policy for an inbound tunnel",
      severity=Severity.WARNING, needs={"spd"},
      fix="Add the fwd policy (setkey adds it unless run with -k; racoon's generate_policy adds it too).")
def missing_fwd_policy(ev: Evidence) -> Iterator[Hit]:
    """**What it means**

    On Linux, packets that arrive through a tunnel and are *forwarded* to a network behind this
    gateway are checked against `fwd` policies, not `in` ones. An `in` tunnel policy for a subnet
    without a matching `fwd` policy means forwarded tunnel traffic is dropped.

    **Why racoon fails**

    racoon negotiates the SAs fine and they show traffic, but hosts behind the gateway never see
    the packets (`sa-up-no-traffic`). setkey adds `fwd` copies of `in` policies by default (RFC
    mode, `-r`); policies loaded with `setkey -k` or by other tools lack them.

    **Evidence it looks at**

    A Linux SPD (`setkey -DP` from ipsec-tools on Linux, `ip xfrm policy`): `in` tunnel policies
    whose destination is a network rather than the gateway itself, and the `fwd` policies.

    **How to fix**

    `spdadd <remote-net> <local-net> any -P fwd ipsec esp/tunnel/<peer>-<me>/require;`, or
    `ip xfrm policy add src <remote-net> dst <local-net> dir fwd tmpl src <peer> dst <me> proto esp mode tunnel`.

    **References**

    setkey(8) (`-r`/`-k`); Linux xfrm (`XFRM_POLICY_FWD`).
    """
    if not is_linux(ev):
        return
    items = policies(ev)
    fwd = {_key(p) for p in items if p.direction == "fwd"}
    missing = []
    for p in items:
        r = p.tunnel
        if p.direction != "in" or r is None or p.dst is None or _key(p) in fwd:
            continue
        if host_text(p.dst) == r.dst:
            continue  # the tunnel ends on this host: nothing is forwarded
        missing.append(p)
    if missing:
        p = missing[0]
        r = p.tunnel
        assert r is not None and p.src and p.dst
        more = f" ({len(missing)} policies in all)" if len(missing) > 1 else ""
        yield Hit(f"The inbound tunnel policy {selector(p)}{more} has no fwd twin: packets from the tunnel that this "
                  f"gateway forwards to {host_text(p.dst)} are checked against fwd policies and dropped.",
                  [policy_ref(x, "no fwd policy") for x in missing[:MAX_REFS]],
                  fix=f"`spdadd {host_text(p.src)} {host_text(p.dst)} {p.proto} -P fwd ipsec "
                      f"{r.proto}/tunnel/{r.src}-{r.dst}/require;` (or reload the policies without `setkey -k`).",
                  peer=r.src)
