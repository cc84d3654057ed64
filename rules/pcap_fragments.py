"""Packet rule: large IKE messages lost in fragments (IP fragments or IKE fragment payloads)."""

from __future__ import annotations

from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import EvidenceRef, Severity

from .pcap_helpers import per_peer_pair, ref


@rule("RDB425", "ike-fragmentation", title="A large IKE message was lost in fragments",
      severity=Severity.ERROR, needs={"pcap"},
      fix="Enable IKE fragmentation on both ends (`ike_frag on;`), or fix the path MTU / the firewall that drops "
          "IP fragments.")
@per_peer_pair
def lost_fragments(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: an IKE message too big for one packet (usually MM5/MM6 with certificates)
    was split into IP fragments or into IKE fragment payloads (type 132), and not all pieces
    arrived - or the exchange stalled right at a fragmented message.

    **Why racoon fails**: many firewalls and NATs drop IP fragments; the receiver never gets the
    whole message, so the sender retransmits until `phase1 negotiation failed due to time up` with a
    non-zero responder cookie. racoon 0.8 sends IKE fragments only with `ike_frag on` and a peer
    that announced the FRAGMENTATION vendor ID.

    **Evidence it looks at**: IP datagrams to or from UDP 500/4500 whose fragments never all arrived,
    incomplete IKE fragment sets, and phase-1 exchanges stalled at an IP-fragmented message.

    **How to fix**: `ike_frag on;` (racoon) on both ends so no IP fragmentation is needed, smaller
    certificates (RSA 2048), or let fragments through the firewall/NAT.

    **References**: failure catalog #33; draft-ietf-ipsec-ike-fragmentation (Cisco-style payload 132).
    """
    for cap in ev.captures:
        for lost in cap.lost_fragments:
            total = f" of {lost.total_bytes}" if lost.total_bytes else ""
            yield Hit(
                message=(f"An IP-fragmented IKE packet {lost.src}:{lost.sport} -> {lost.dst}:{lost.dport} never "
                         f"completed: only {lost.received_bytes}{total} bytes arrived."),
                evidence=[EvidenceRef.at(lost.location, f"first fragment {lost.src} -> {lost.dst}",
                                         "a later fragment is missing")],
                peer=lost.dst,
            )
        for frags in cap.ike_fragments:
            if frags.complete:
                continue
            expected = f"1-{frags.last_number}" if frags.last_number else "up to the last one"
            yield Hit(
                message=(f"IKE fragments of message {frags.fragment_id} from {frags.src} to {frags.dst} are "
                         f"incomplete: got {', '.join(map(str, frags.numbers))} of {expected}."),
                evidence=[EvidenceRef.at(frags.location, f"IKE fragment set {frags.fragment_id}")],
                peer=frags.dst,
            )
        for ex in cap.phase1(lambda x: not x.complete and x.answered):
            last = ex.originals[-1]
            if last.ip_fragmented and len(ex.transmissions(last)) > 1:
                yield Hit(
                    message=(f"Phase 1 stalled at {last.step}, an IP-fragmented message of {last.length} bytes "
                             f"from {last.src}; the peer never answered it."),
                    evidence=[ref(last)],
                    peer=last.dst,
                )
