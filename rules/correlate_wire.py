"""The log against the wire: the same ISAKMP-SA seen by racoon and by a capture (joined by cookies)."""

from __future__ import annotations

from collections.abc import Iterator

from racoondbg.addresses import ip_of
from racoondbg.correlate import INFORMATIONAL, first_reply, never_answered, phase1_matches
from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import EvidenceRef, Severity
from racoondbg.model.log import Kind, Negotiation, Outcome

from .pcap_helpers import ref


@rule("RDB634", "udp-500-4500-blocked", title="The peer answers on the wire, but its replies never reach racoon",
      severity=Severity.ERROR, needs={"log", "pcap"},
      fix="Let UDP 500 and 4500 from the peer in to racoon's host (its own firewall too: `iptables -I INPUT -p udp "
          "-m multiport --dports 500,4500 -j ACCEPT`, or pf `pass in proto udp to port {500 4500}`) and make sure "
          "nothing between the capture point and racoon rewrites or drops the replies.")
def replies_lost_before_racoon(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** racoon started phase 1 and gave up (`phase1 negotiation failed due to
    time up. <icookie>:0000000000000000`): the responder cookie it logs is still zero, so racoon
    never accepted a single reply. Yet a capture shows the peer's reply to that very ISAKMP-SA —
    the same initiator cookie in the packet header: its MM2 or AM2, or an informational message
    (say NO-PROPOSAL-CHOSEN) that racoon's log never mentions. In that case the peer's reason for
    refusing is only on the wire.

    **Why racoon fails:** the peer is fine and answers; the reply is lost between the capture point
    and racoon. tcpdump sees a packet before the host's firewall does, so when the capture was taken
    on racoon's host the usual causes are a local firewall dropping UDP 500/4500 from the peer
    (iptables/nftables INPUT, pf, ipfw), an IPsec policy that catches the peer's IKE packets
    (a catch-all SPD without a bypass for UDP 500), or a reply sent to an address or port racoon did
    not send from (a NAT in between rewrote the source port). When the capture was taken elsewhere
    (at the peer, on a router), the reply is dropped on the rest of the way back.

    **Evidence it looks at:** phase-1 negotiations that timed out in racoon's log with a zero
    responder cookie, and the captured exchanges with the same initiator cookie: the responder's
    first message (frame, addresses, ports, notify), and whether racoon logged a notification then.

    **How to fix:** allow UDP 500 and 4500 from the peer in on racoon's host and on anything
    between the capture point and racoon; exclude IKE from catch-all policies
    (`spdadd 0.0.0.0/0[500] 0.0.0.0/0 udp -P in none;`); exempt the gateway's own IKE from
    outbound NAT. `tcpdump` on racoon's host together with the firewall's drop counters
    (`iptables -L INPUT -v -n`) shows where the reply ends.

    **References:** failure-catalog #3 `udp-500-4500-blocked` (replies leave the responder and never
    arrive), #1 `ph1-retransmit-timeout` (the zero responder cookie), #22 `ike-source-nat-rewrite`.
    """
    done: set[int] = set()
    for match in phase1_matches(ev.logs, ev.captures):
        neg, ex = match.negotiation, match.exchange
        if id(neg) in done or neg.outcome is not Outcome.TIMEOUT or not never_answered(neg):
            continue
        reply = first_reply(match.capture, match.exchange)
        if reply is None or (reply.exchange_type == INFORMATIONAL and _notify_logged(ev, neg, ex.responder)):
            continue
        done.add(id(neg))
        what = f"{reply.step} {', '.join(reply.notify)}" if reply.notify else reply.step
        told = (f" racoon's log never mentions that notification, so the peer's reason ({', '.join(reply.notify)}) "
                f"is only on the wire." if reply.notify else "")
        sent = ex.first
        elsewhere, fix = "", None
        if (reply.dst, reply.dport) != (sent.src, sent.sport):
            elsewhere = (f" The reply went to {reply.dst}:{reply.dport}, not to {sent.src}:{sent.sport} where the "
                         f"request came from: something on the way rewrites addresses or ports.")
            fix = (f"Keep racoon's IKE source address and port unchanged on the way out (exempt UDP 500/4500 from "
                   f"outbound NAT or give it a static port mapping), or turn on `nat_traversal on;` on both ends, so "
                   f"that {ex.responder}'s replies come back to where the request left from.")
        yield Hit(
            f"racoon gave up phase 1 with {ex.responder} without ever taking a reply (its responder cookie is "
            f"still zero: {neg.cookies}), but the capture shows the peer's {what or 'reply'} for the same "
            f"ISAKMP-SA (frame {reply.frame}, {reply.src}:{reply.sport} -> {reply.dst}:{reply.dport}). The peer "
            f"answers; its replies are dropped between the capture point and racoon.{told}{elsewhere}",
            evidence=[EvidenceRef.at(neg.end or neg.start, note="racoon never saw a reply"),
                      ref(sent, "racoon's request"), ref(reply, "the peer's reply, on the wire")],
            peer=ex.responder, fix=fix,
        )


def _notify_logged(ev: Evidence, neg: Negotiation, peer: str) -> bool:
    """Whether racoon logged a notification received during ``neg`` (then the peer's informational
    did reach it)."""
    if any(e.kind is Kind.NOTIFY_RECEIVED for e in neg.events):
        return True
    start, end = neg.started, neg.ended
    return any(ip_of(e.peer) in (None, peer) and e.time is not None and start is not None and end is not None
               and start <= e.time <= end for log in ev.logs for e in log.of_kind(Kind.NOTIFY_RECEIVED))
