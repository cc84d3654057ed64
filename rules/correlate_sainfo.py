"""Two hosts at once: the phase-2 IDs one side's SPD makes it propose, against the other side's sainfo."""

from __future__ import annotations

from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import Severity
from racoondbg.model.kernel import Policy

from ._kernel import policy_ref, selector, span
from ._policyconf import Phase2Id, RemoteIndex, SainfoIndex, ike_peer, ip_text, outbound, ph1id, phase2_ids, sainfo_refs
from .correlate_peers import host_name, pairs


def _local_address(p: Policy) -> str | None:
    """This side's IKE address for a policy: the near tunnel end, or the source host (transport)."""
    tunnel = p.tunnel
    if tunnel is not None:
        return ip_text(tunnel.src) if tunnel.src else None
    return ip_text(p.src.partition("/")[0]) if p.src and span(p.src).plen == span(p.src).bits else None


def _mirrors(p: Policy, local: Phase2Id, far: Phase2Id) -> bool:
    """Whether ``p`` (the responder's own policy) is the exact mirror of the proposal, so that the
    responder's own RDB231 already judges the same lookup."""
    ids = phase2_ids(p)
    return ids is not None and ids[0].where() == far.where() and ids[1].where() == local.where()


@rule("RDB633", "sainfo-not-found", title="The peer has no sainfo for the phase-2 IDs this side proposes",
      severity=Severity.ERROR, needs={"peers"},
      fix="Make both sides' policies and sainfo headers use the same networks and prefixes.")
def peer_sainfo_not_found(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** with both hosts' bundles, host A's outbound policy makes its racoon send
    the phase-2 IDs IDci (A's source selector) and IDcr (A's destination); racoon on host B, the
    responder, looks for a sainfo whose local side equals IDcr and whose remote side equals IDci,
    and B's racoon.conf has none (and no `sainfo anonymous`).

    **Why racoon fails:** phase 1 completes, then B logs `failed to get sainfo.` and drops A's quick
    mode without a notification; A only sees QM1 retransmits and `phase2 negotiation failed due to
    time up`. The comparison is exact on type, address and prefix, so a /25 on one side and a /24
    (or /26) on the other is enough. The protocol and ports are not compared (racoon 0.7/0.8).

    **Evidence it looks at:** A's SPD (or setkey script) `out` IPsec policies whose IKE peer is one
    of B's addresses (bound IKE sockets, tunnel sources, `listen`, log), and B's `sainfo` headers
    with `from address` and `remoteid` of the `remote` B uses for A. When B's own SPD holds the exact
    mirror of the proposal, B's own RDB231 reports the same gap and this rule stays silent.

    **How to fix:** agree on the networks: A's policy and B's sainfo (and B's policy) must name the
    same prefixes, mirrored (`sainfo address <B's net> any address <A's net> any` on B).

    **References:** racoon.conf(5) `sainfo`; ipsec-tools `sainfo.c` `getsainfo()`; failure-catalog #4
    `sainfo-not-found`.
    """
    for a, b, _a_addrs, b_addrs in pairs(ev):
        if a.conf is None or b.conf is None or (a.spd is None and not a.scripts):
            continue
        own, remotes, sainfos = outbound(b), RemoteIndex(b.conf), SainfoIndex(b.conf.sainfos)
        seen: set[tuple[str, str]] = set()
        for p in outbound(a):
            ids, peer, me = phase2_ids(p), ike_peer(p), _local_address(p)
            if ids is None or peer not in b_addrs or me is None:
                continue
            local, far = ids
            remote = remotes.get(me)
            if remote is None or (local.where(), far.where()) in seen or any(_mirrors(q, local, far) for q in own):
                continue
            if sainfos.find(far, local, peer=me, remoteid=ph1id(remote)) is not None:
                continue
            seen.add((local.where(), far.where()))
            wanted = f"sainfo {far.sainfo_side()} {local.sainfo_side()}"
            yield Hit(
                f"{host_name(a)}'s policy {selector(p)} makes it propose IDci={local.text()} and IDcr={far.text()} "
                f"to {peer}; {host_name(b)}'s racoon.conf has no sainfo for local {far.where()} / remote "
                f"{local.where()} and no `sainfo anonymous`, so {host_name(b)} logs `failed to get sainfo.` and "
                f"the quick mode from {me} times out.",
                [policy_ref(p, f"what {host_name(a)} proposes"), *sainfo_refs(b.conf, far, local)],
                fix=f"On {host_name(b)} add `{wanted} {{ ... }}` (and the matching policies), or change "
                    f"{host_name(a)}'s policy to the networks {host_name(b)} uses.", peer=peer)
