"""Packet rule: dead peer detection probes that are never acknowledged."""

from __future__ import annotations

from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import Severity
from racoondbg.model.packets import Capture, IsakmpMessage

from .pcap_helpers import per_peer_pair, phase1_done, ref

R_U_THERE, R_U_THERE_ACK = "R-U-THERE", "R-U-THERE-ACK"
#: Unanswered probes in a row before we call the peer silent.
MIN_PROBES = 3
_ONE = 1 << 32


def _clear_probes(cap: Capture) -> Iterator[tuple[IsakmpMessage, int]]:
    """Clear-text R-U-THERE probes with no ACK (matched by sequence number) from the other side."""
    table = cap.messages
    notifying = [w for w in table.wires_used() if R_U_THERE in w.notify or R_U_THERE_ACK in w.notify]
    acks = {(w.src, n.data) for w in notifying for n in w.notifies() if n.name == R_U_THERE_ACK}
    unanswered = {id(w): n for w in notifying
                  if (n := sum(n.name == R_U_THERE and (w.dst, n.data) not in acks for n in w.notifies()))}
    if not unanswered:
        return
    rows = table.rows_where(lambda w: id(w) in unanswered)
    first = next(rows)
    count = unanswered[id(table.wire(first))] + sum(unanswered[id(table.wire(row))] for row in rows)
    if count >= MIN_PROBES:
        yield table.message(first), count


def _encrypted_probes(cap: Capture) -> Iterator[tuple[IsakmpMessage, int]]:
    """After phase 1, informationals sent by one side again and again with nothing at all coming back."""
    table = cap.messages
    senders: dict[str, int] = {}
    # per ISAKMP SA (initiator cookie) and sender, packed in one number: how many, and the first row
    # (one dict of numbers: a capture holds hundreds of thousands of SAs)
    seen: dict[int, int] = {}
    for row in table.rows_where(lambda w: w.exchange_type == 5 and w.encrypted, originals=True):
        src = table.wire(row).src
        key = table.icookie(row) << 32 | senders.setdefault(src, len(senders))
        seen[key] = seen[key] + _ONE if key in seen else _ONE | row
    for packed in seen.values():
        count = packed >> 32
        if count < MIN_PROBES:
            continue
        info = table.message(packed & 0xFFFFFFFF)
        if not phase1_done(cap, info.icookie):
            continue
        last_answer = cap.last_time_from(info.dst)
        if last_answer is not None and last_answer >= info.time:
            continue
        yield info, count


@rule("RDB435", "dpd-misbehaviour", title="Dead peer detection probes are never acknowledged",
      severity=Severity.WARNING, needs={"pcap"},
      fix="Check that the peer is alive and supports DPD (it must send the DPD vendor ID); tune `dpd_delay`, "
          "`dpd_retry` and `dpd_maxfail` for slow links.")
@per_peer_pair
def dpd_unanswered(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: after phase 1, one side kept sending informational messages - R-U-THERE
    probes (notify 36136), readable directly or recognised by their pattern when encrypted - and
    the other side sent nothing back, no R-U-THERE-ACK (36137).

    **Why racoon fails**: racoon declares the peer dead after `dpd_maxfail` unanswered probes
    (`DPD: remote (ISAKMP-SA spi=...) seems to be dead.`) and purges the ISAKMP-SA and its IPsec SAs.
    If the peer is alive but does not answer DPD, tunnels are torn down for nothing.

    **Evidence it looks at**: R-U-THERE/ACK notifications matched by sequence number; otherwise
    repeated encrypted informational exchanges from one side with no packet from the other.

    **How to fix**: when the peer is really gone, this is DPD doing its job - restart it. When it is
    alive, make sure it supports DPD (DPD vendor ID in its phase-1 messages) and raise the timers.

    **References**: failure catalog #28; RFC 3706.
    """
    for cap in ev.captures:
        for first, count in (*_clear_probes(cap), *_encrypted_probes(cap)):
            icmp = next((e for e in cap.icmp_errors_to(first.dst) if e.time >= first.time), None)
            extra = (f" {first.dst}'s host answered with ICMP {icmp.kind}: the IKE daemon there is gone."
                     if icmp else "")
            yield Hit(
                message=(f"{first.src} sent {count} dead-peer-detection probes (informational exchanges after "
                         f"phase 1) to {first.dst} and never got an answer.{extra}"),
                evidence=[ref(first, "first unanswered probe")],
                peer=first.dst,
            )
