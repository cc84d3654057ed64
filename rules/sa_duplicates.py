"""Several mature SAs for the same endpoints, protocol, mode and reqid: SAs stacking up."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import Severity
from racoondbg.model.kernel import SecurityAssociation

from ._kernel import age_of, ago, policies, sa_ref
from .host_sa_preference import old_sa_sysctl, persist_hint

#: Two mature SAs are a normal overlap while the younger one is this new (the peer rekeyed first).
REKEY_GRACE = 300
MAX_REFS = 8


@rule("RDB202", "duplicate-sa", title="SAs pile up for one endpoint pair", severity=Severity.WARNING,
      needs={"sad"}, fix="Find why new SAs do not replace the old ones; then flush the SAD on both ends.")
def duplicate_sa(ev: Evidence) -> Iterator[Hit]:
    """**What it means**

    The SAD holds several *mature* SAs for one (source, destination, protocol, mode, reqid). A
    rekey normally leaves one old SA `dying` beside one new `mature` SA for a short while; more
    mature SAs than that means new SAs are negotiated without the old ones being used or removed.

    **Why racoon fails**

    Typical causes: the SA does not fit the policy that asked for it (wrong mode, see
    `spd-sad-mode-mismatch`), so every packet fires another ACQUIRE; both peers initiate at once
    with `require` policies shared by several subnets; or the two sides' lifetimes and
    `proposal_check` disagree. Traffic may flow on one SA while the peer sends on another.

    **Evidence it looks at**

    SAD: SAs grouped by endpoints, protocol, mode and reqid, with their state and age (`diff:`).

    **How to fix**

    Fix the cause (mode mismatch, `unique` levels for multi-subnet tunnels, matching lifetimes);
    then `setkey -F` on both hosts and restart racoon so the pile is cleared. On a BSD or macOS
    host that sends on the oldest SA (`net.key.preferred_oldsa`/`prefered_oldsa` = 1, see
    `prefer-old-sa`), the fix also says how to make it use the newest.

    **References**

    pfSense "IPsec duplicate SA" troubleshooting page; failure catalog #12.
    """
    assert ev.sad is not None
    groups: dict[tuple[str, str, str, str, int], list[SecurityAssociation]] = defaultdict(list)
    for sa in ev.sad.sas:
        if sa.state in ("mature", "dying"):
            groups[sa.key].append(sa)
    oldsa = old_sa_sysctl(ev.host)
    tunnel_pairs = {frozenset((r.src, r.dst)) for p in policies(ev) for r in p.requests if r.mode == "tunnel"} \
        if ev.has("spd|script") else set()
    for (src, dst, proto, mode, reqid), sas in groups.items():
        mature = [sa for sa in sas if sa.state == "mature"]
        if len(mature) < 2:
            continue
        ages = sorted(a for a in (age_of(sa) for sa in mature) if a is not None)
        if len(mature) == 2 and (len(ages) < 2 or ages[0] < REKEY_GRACE):
            continue  # a rekey in progress: the peer installed the new pair a moment ago
        sas.sort(key=lambda sa: -(age_of(sa) or 0))
        dying = len(sas) - len(mature)
        listed = ", ".join(ago(age_of(sa)) for sa in mature)
        mismatch = ""
        if mode == "transport" and frozenset((src, dst)) in tunnel_pairs:
            mismatch = (f" The SPD also asks for a tunnel between {src} and {dst}: these transport SAs are "
                        f"being negotiated for the tunnel policy (see spd-sad-mode-mismatch).")
        message = (f"{len(mature)} mature {proto.upper()} {mode}-mode SAs from {src} to {dst} (reqid {reqid}) "
                   f"exist side by side, created {listed}"
                   f"{f', plus {dying} dying' if dying else ''}. A rekey leaves one dying SA beside one new one; "
                   f"this is SAs stacking up.{mismatch}")
        evidence = [sa_ref(sa, f"{sa.state}, created {ago(age_of(sa))}") for sa in sas[:MAX_REFS]]
        fix = (f"Remove the cause first{' (the tunnel/transport mode mismatch for this pair)' if mismatch else ''}, "
               f"then clear the pile on both hosts: `setkey -F` (or `ip xfrm state deleteall src {src} dst {dst}`) "
               f"and restart racoon.")
        if oldsa is not None:
            fix += (f" This kernel also sends on the oldest SA of a pile ({oldsa.name} = {oldsa.value.strip()}, "
                    f"see prefer-old-sa): {persist_hint(ev.host, oldsa.name)}.")
        yield Hit(message, evidence, fix=fix, peer=dst)
