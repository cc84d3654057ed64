"""Packet rules about who is talking: an IKEv2 peer, and the retransmission schedule's fingerprint."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import pairwise

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import Severity
from racoondbg.model.packets import Exchange, IsakmpMessage

from .pcap_helpers import conf_timer, implementation, per_peer_pair, ref

#: racoon's defaults: `timer { counter 5; interval 10 sec; }`.
RACOON_COUNTER, RACOON_INTERVAL = 5, 10.0


@rule("RDB430", "ikev2-peer", title="A peer speaks IKEv2; racoon only speaks IKEv1",
      severity=Severity.ERROR, needs={"pcap"},
      fix="Configure the peer for IKEv1 (strongSwan: `version = 1` / `keyexchange=ikev1`; Windows/macOS: choose "
          "L2TP/IPsec or Cisco IPsec), or replace racoon with an IKEv2 daemon.")
@per_peer_pair
def ikev2_peer(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: the capture holds IKEv2 messages (ISAKMP version 2.0, exchanges such as
    IKE_SA_INIT). racoon implements IKEv1 only and ignores or rejects them.

    **Why racoon fails**: racoon drops packets whose major version is not 1 (`invalid major
    version 2`), so an IKEv2-only client retransmits IKE_SA_INIT and gives up; a racoon-side
    initiator's IKEv1 messages are likewise refused by an IKEv2-only peer.

    **Evidence it looks at**: ISAKMP headers with version 2.x.

    **How to fix**: set the peer to IKEv1 (strongSwan `version = 1`, Libreswan `ikev2=no`), or move
    to an IKEv2-capable daemon for that peer.

    **References**: RFC 7296 §3.1 (IKEv2 header); RFC 2408 §3.1.
    """
    for cap in ev.captures:
        seen: set[str] = set()
        for msg in cap.messages.where(lambda w: w.version.startswith("2")):
            sender = msg.src if msg.role != "responder" else msg.dst
            if sender in seen:
                continue
            seen.add(sender)
            yield Hit(
                message=(f"{sender} starts IKEv2 ({msg.exchange.removeprefix('IKEv2 ')}) towards "
                         f"{msg.dst if sender == msg.src else msg.src}; racoon only speaks IKEv1."),
                evidence=[ref(msg)],
                peer=sender,
            )


def _backoff(intervals: list[float]) -> str:
    """A words-and-numbers description of a retransmit schedule."""
    if len(intervals) < 2:
        return f"one resend after {intervals[0]:.1f} s"
    ratios = [b / a for a, b in pairwise(intervals) if a > 0]
    if ratios and all(0.85 <= r <= 1.15 for r in ratios):
        return f"a fixed interval of {sum(intervals) / len(intervals):.1f} s"
    mean = sum(ratios) / len(ratios) if ratios else 0
    return f"exponential backoff (x{mean:.1f} each time)"


def _likely(sender: str, intervals: list[float], vendor: str | None) -> str:
    if vendor:
        return vendor
    ratios = [b / a for a, b in pairwise(intervals) if a > 0]
    fixed = ratios and all(0.85 <= r <= 1.15 for r in ratios)
    if fixed and all(abs(i - RACOON_INTERVAL) < 1.5 for i in intervals):
        return "racoon (its default: a resend every 10 s)"
    if ratios and all(1.6 <= r <= 2.0 for r in ratios):
        return "strongSwan (backoff x1.8)" if sum(ratios) / len(ratios) < 1.9 else "Libreswan/Cisco (doubling)"
    return "unknown"


def _resent(exchanges: Iterable[Exchange]) -> Iterator[tuple[Exchange, IsakmpMessage, list[float]]]:
    for ex in exchanges:
        resent = {m.retransmit_of for m in ex.messages if m.retransmit_of is not None}
        for msg in ex.originals:
            if msg.frame not in resent:  # sent once: no intervals
                continue
            intervals = ex.intervals(msg)
            if len(intervals) >= 2:
                yield ex, msg, intervals


@rule("RDB431", "retransmit-schedule", title="Retransmission schedule: who retransmits, how often, and what that "
      "says about the sender", severity=Severity.INFO, needs={"pcap"},
      fix="When this schedule is not what racoon.conf says, the capture's sender is not this racoon or runs "
          "another configuration; otherwise compare `timer { counter; interval; }` with the peer's timeout.")
@per_peer_pair
def retransmit_schedule(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: a message was sent three or more times. The spacing of the resends is a
    fingerprint: racoon resends every `timer { interval }` (default 10 s) up to `counter` (default
    5) times; strongSwan backs off by x1.8 from 4 s; Libreswan and Cisco double the wait.

    **Why racoon fails**: it doesn't by itself - this finding tells which side is waiting for the
    other, which implementation that likely is, and whether the schedule matches racoon.conf (a
    mismatch means the capture shows another daemon or another configuration than you think).

    **Evidence it looks at**: intervals between identical transmissions, vendor IDs, and racoon.conf's
    `timer` section when given.

    **How to fix**: nothing to fix here alone; read it with the other findings. To make racoon wait
    longer for a slow peer, raise `timer { counter; interval; }`.

    **References**: failure catalog #1 (ike-scan's backoff fingerprinting).
    """
    counter, interval = conf_timer(ev)
    for cap in ev.captures:
        reported: set[str] = set()
        for ex, msg, intervals in _resent(cap.messages.retransmitted()):
            if msg.src in reported:
                continue
            reported.add(msg.src)
            who = _likely(msg.src, intervals, implementation(cap, msg.src))
            compare = ""
            if interval is not None:
                matches = all(abs(i - interval) < max(1.0, interval * 0.15) for i in intervals)
                verdict = "this matches" if matches else "this does NOT match: the sender does not run this racoon.conf"
                upto = f" up to {counter} times" if counter is not None else ""
                compare = f" racoon.conf says a resend every {interval:g} s{upto}: {verdict}."
            yield Hit(
                message=(f"{msg.src} sent {msg.step} {len(intervals) + 1} times with {_backoff(intervals)} "
                         f"(intervals {', '.join(f'{i:g}' for i in intervals)} s); likely implementation: {who}."
                         f"{compare}"),
                evidence=[ref(msg), ref(ex.transmissions(msg)[-1], "last transmission")],
                peer=msg.dst,
            )
