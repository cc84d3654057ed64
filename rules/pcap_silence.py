"""Packet rules: the peer never answers phase 1, or answers stop when IKE moves to port 4500."""

from __future__ import annotations

from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import EvidenceRef, Severity
from racoondbg.model.packets import ZERO_COOKIE, Capture, Exchange

from .pcap_helpers import per_peer_pair, ref, schedule, sent_by


def _silent_phase1(cap: Capture) -> Iterator[Exchange]:
    """Phase-1 exchanges whose first message was sent more than once and nothing ever came back."""
    for ex in cap.phase1(lambda x: not x.answered):
        first = ex.first
        if first.rcookie != ZERO_COOKIE or first.role != "initiator":
            continue
        if len(ex.transmissions(first)) < 2:
            continue
        if cap.messages_of(ex.icookie, sent_by(ex.responder)):
            continue
        yield ex


@rule("RDB401", "ph1-retransmit-timeout", title="The peer never answered phase 1 (MM1/AM1 retransmitted, no reply)",
      severity=Severity.ERROR, needs={"pcap"},
      fix="Check that the peer is reachable on UDP 500 (tcpdump -n udp port 500 or udp port 4500 on both ends), "
          "that racoon runs there and listens on that address, and that the remote address is right.")
@per_peer_pair
def ph1_never_answered(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: the initiator sent its first phase-1 message (Main Mode MM1 or Aggressive
    Mode AM1) again and again with an all-zero responder cookie, and the capture holds no packet at
    all from the peer for that negotiation.

    **Why racoon fails**: racoon resends the first message `timer { counter }` times (default 5)
    every `interval` (default 10 s) and then logs `phase1 negotiation failed due to time up.
    <icookie>:0000000000000000`. At the default log level nothing is logged while it retransmits.

    **Evidence it looks at**: phase-1 exchanges in a capture whose first message was retransmitted,
    whose responder cookie stayed zero, and with no message from the peer; ICMP errors quoting them.

    **How to fix**: make the peer reachable on UDP 500 (and 4500 for NAT-T): open or forward the
    ports, check the peer's address, make sure racoon runs there and `listen`s on that address,
    exclude IKE from outbound NAT. Capture on both ends to see where the packets disappear.

    **References**: failure catalog #1 and #3; RFC 2408 §3.1 (cookies).
    """
    for cap in ev.captures:
        for ex in _silent_phase1(cap):
            first = ex.first
            sent = ex.transmissions(first)
            icmp = cap.icmp_errors_to(ex.responder)
            extra = (f" The peer's side answered with ICMP {icmp[0].kind} ({len(icmp)} times): nothing listens on "
                     f"UDP {icmp[0].quoted_dport} at {ex.responder}, so racoon is not running there or listens "
                     f"on another address." if icmp else " Not even an ICMP error came back.")
            evidence = [ref(first, "first transmission"), ref(sent[-1], "last retransmission")]
            evidence += [EvidenceRef.at(e.location, f"ICMP {e.kind} from {e.reporter}") for e in icmp[:1]]
            yield Hit(
                message=(f"{ex.initiator} sent {first.step or 'phase 1'} to {ex.responder} {len(sent)} times "
                         f"({schedule(ex, first)}); the responder cookie stayed {ZERO_COOKIE} and the peer never "
                         f"answered.{extra}"),
                evidence=evidence,
                fix=(f"Check that {ex.responder} is the right peer address and that UDP 500/4500 from "
                     f"{ex.initiator} reach it (run `tcpdump -n udp port 500 or udp port 4500` there); "
                     f"start racoon on the peer or fix its `listen` addresses."),
                peer=ex.responder,
            )


@rule("RDB402", "udp-500-4500-blocked", title="IKE packets are blocked on the way (UDP 4500 after the NAT-T float, "
      "or an ICMP error)", severity=Severity.ERROR, needs={"pcap"},
      fix="Open 500/udp, 4500/udp and IP protocol 50 between the peers; forward both UDP ports to the racoon host "
          "when it sits behind a router.")
@per_peer_pair
def ike_blocked(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: phase 1 ran on UDP 500 through Main Mode message 4, then IKE moved to UDP
    4500 (NAT traversal) and nothing came back there; or the peer's network returned ICMP
    *administratively prohibited* for IKE packets.

    **Why racoon fails**: after NAT detection (or `nat_traversal force`) racoon sends MM5 on port
    4500 with the non-ESP marker. A firewall or port forward that only passes 500/udp lets MM1-MM4
    through and silently drops the rest, so racoon times out at MM5 although the peer answered
    before.

    **Evidence it looks at**: phase-1 exchanges where the last messages from the peer came from port
    500 and the initiator's messages on 4500 got no answer; ICMP errors quoting IKE packets with
    code *administratively prohibited*.

    **How to fix**: allow 4500/udp (and ESP, IP protocol 50) both ways, or forward 4500/udp to the
    racoon host along with 500/udp.

    **References**: failure catalog #3 and #5; RFC 3947, RFC 3948.
    """
    for cap in ev.captures:
        for ex in cap.exchanges.where(lambda x: x.exchange_type == 2 and not x.complete):
            on_4500 = [m for m in ex.originals if m.role == "initiator" and m.natt and not m.ip_fragmented
                       and not m.payloads_of(132)]
            answered_500 = [m for m in ex.messages if m.role == "responder" and not m.natt]
            if not on_4500 or not answered_500:
                continue
            if cap.sent_natt(ex.responder):
                continue
            first = on_4500[0]
            yield Hit(
                message=(f"{ex.responder} answered on UDP {answered_500[-1].sport} up to "
                         f"{answered_500[-1].step}, but after {ex.initiator} moved to UDP 4500 its "
                         f"{first.step} went unanswered ({schedule(ex, first)}): UDP 4500 is blocked or not "
                         f"forwarded."),
                evidence=[ref(answered_500[-1], "last answer, on port 500"), ref(first, "first message on 4500")],
                fix=f"Allow UDP 4500 (and 500, and ESP) between {ex.initiator} and {ex.responder} in both directions.",
                peer=ex.responder,
            )
        prohibited = [e for e in cap.icmp_errors if "prohibited" in e.kind]
        if prohibited:
            e = prohibited[0]
            yield Hit(
                message=(f"{e.reporter} rejected IKE packets to {e.quoted_dst}:{e.quoted_dport} with ICMP "
                         f"{e.kind} ({len(prohibited)} times): a firewall refuses them."),
                evidence=[EvidenceRef.at(e.location, f"ICMP {e.kind} from {e.reporter} quoting "
                                                     f"{e.quoted_src} -> {e.quoted_dst}:{e.quoted_dport}")],
                fix=f"Allow UDP 500/4500 to {e.quoted_dst} on the firewall at {e.reporter}.",
                peer=e.quoted_dst,
            )
