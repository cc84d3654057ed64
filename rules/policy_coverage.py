"""Policies with no SA yet, and SAs that no policy asks for."""

from __future__ import annotations

from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import Severity
from racoondbg.model.kernel import Policy, SecurityAssociation

from ._kernel import LIVE, PrefixIndex, SaIndex, contains_pair, policies, policy_ref, sa_ref, selector

MAX_REFS = 6


@rule("RDB207", "policy-without-sa", title="IPsec policies with no SA yet (normal until traffic)",
      severity=Severity.INFO, needs={"sad", "spd|script"})
def policy_without_sa(ev: Evidence) -> Iterator[Hit]:
    """**What it means**

    Outbound `require`/`unique` policies for which the SAD has no SA of the right mode yet.

    **Why racoon fails**

    Usually it does not: racoon negotiates SAs on demand, when the first packet matches the policy
    (the kernel sends an ACQUIRE). A policy without SAs is normal until traffic flows. It matters
    when traffic *is* flowing and the SAs still do not appear: then look at the racoon log for the
    negotiation (phase 1 or phase 2 failing).

    **Evidence it looks at**

    SPD (or script) and SAD: each outbound request's SAs by tunnel endpoints or selector.

    **How to fix**

    Nothing, unless traffic should be flowing: then send a packet (`ping`) and read racoon's log.

    **References**

    racoon(8); setkey(8).
    """
    assert ev.sad is not None
    index = SaIndex(sa for sa in ev.sad.sas if sa.state in LIVE)
    idle: list[Policy] = []
    for p in policies(ev):
        if p.direction != "out" or not p.is_ipsec:
            continue
        r = p.requests[0]
        if r.level not in ("require", "unique"):
            continue
        if not index.for_request(p, r):  # SAs of the other mode are spd-sad-mode-mismatch's business
            idle.append(p)
    if idle:
        yield Hit(f"{len(idle)} outbound IPsec {'policy has' if len(idle) == 1 else 'policies have'} no SA yet "
                  f"(first: {selector(idle[0])}). That is normal until traffic matches them: racoon negotiates on "
                  f"the first packet.",
                  [policy_ref(p, "no SA yet") for p in idle[:MAX_REFS]],
                  fix="Nothing to do unless traffic should be flowing; then send a packet and read racoon's log.")


@rule("RDB208", "sa-without-policy", title="SAs that no policy uses", severity=Severity.WARNING,
      needs={"sad", "spd"}, fix="Flush stale SAs, or add the policy that should use them.")
def sa_without_policy(ev: Evidence) -> Iterator[Hit]:
    """**What it means**

    Live SAs whose endpoints, protocol and mode fit no IPsec policy in the SPD.

    **Why racoon fails**

    The kernel only uses an SA for traffic some policy sends to IPsec. SAs without any policy are
    left over from an old configuration (policies flushed, racoon restarted without `setkey -F`),
    installed by hand, or negotiated for a policy that has since changed. The peer may keep
    sending on them while this host drops the packets.

    **Evidence it looks at**

    SPD and SAD: tunnel SAs against the tunnel endpoints of the policies, transport SAs against the
    selectors of transport policies.

    **How to fix**

    `setkey -F` (SAD flush) on both ends and restart racoon, or restore the policy.

    **References**

    setkey(8).
    """
    assert ev.sad is not None and ev.spd is not None
    tunnels: set[tuple[str, str, str]] = set()
    transport: list[Policy] = []
    for p in ev.spd.policies:
        if not p.is_ipsec:
            continue
        for r in p.requests:
            if r.mode == "tunnel" and r.src and r.dst:
                tunnels.add((r.src, r.dst, r.proto))
            elif p.src is not None:
                transport.append(p)
    by_src = PrefixIndex((p.src, p) for p in transport if p.src)
    by_dst = PrefixIndex((p.dst, p) for p in transport if p.dst)
    orphans: list[SecurityAssociation] = []
    for sa in ev.sad.sas:
        if sa.state not in LIVE:
            continue
        if sa.mode in ("tunnel", "any") and (sa.src, sa.dst, sa.proto) in tunnels:
            continue
        if sa.mode in ("transport", "any") and _transport_fits(sa, by_src, by_dst):
            continue
        orphans.append(sa)
    if orphans:
        first = orphans[0]
        yield Hit(f"{len(orphans)} live SA{'s' if len(orphans) > 1 else ''} fit no IPsec policy in the SPD (first: "
                  f"{first.proto} {first.mode} {first.src} → {first.dst}): left over from an older configuration, "
                  f"added by hand, or negotiated for a policy that is gone.",
                  [sa_ref(sa, "no policy uses this SA") for sa in orphans[:MAX_REFS]],
                  fix=f"Clear them (`setkey -F`, or `ip xfrm state deleteall src {first.src} dst {first.dst}`) and "
                      f"restart racoon, or restore the policy that should use them.", peer=first.dst)


def _transport_fits(sa: SecurityAssociation, by_src: PrefixIndex[Policy], by_dst: PrefixIndex[Policy]) -> bool:
    for a, b in ((sa.src, sa.dst), (sa.dst, sa.src)):
        cheaper_by_src = by_src.count_containing(a) <= by_dst.count_containing(b)
        pool = by_src.containing(a) if cheaper_by_src else by_dst.containing(b)
        if any(r.proto == sa.proto and r.mode == "transport" for p in pool if contains_pair(p, a, b)
               for r in p.requests):
            return True
    return False
