"""Cross-source rule: ESP on the wire under an SPI the receiving host's SAD no longer holds."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from racoondbg.addresses import ip_of
from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import Severity
from racoondbg.model.kernel import SecurityAssociation
from racoondbg.model.packets import Capture, EspFlow

from ._kernel import sa_ref
from .pcap_helpers import esp_by_pair, esp_ref

#: Packets under the unknown SPI before it counts (a packet or two may cross a rekey).
MIN_STALE = 3


def _sad_spis(ev: Evidence) -> dict[tuple[str, str], list[SecurityAssociation]]:
    """The SAD's ESP SAs by (source, destination) address."""
    assert ev.sad is not None
    found: dict[tuple[str, str], list[SecurityAssociation]] = defaultdict(list)
    for sa in ev.sad.sas:
        src, dst = ip_of(sa.src), ip_of(sa.dst)
        if src and dst and sa.proto.startswith("esp"):
            found[(src, dst)].append(sa)
    return found


def _stale_flows(cap: Capture, sad: dict[tuple[str, str], list[SecurityAssociation]]
                 ) -> Iterator[tuple[list[EspFlow], list[EspFlow], list[SecurityAssociation]]]:
    """(our flows, the peer's unknown flows, our SAs for the peer's direction) per host pair where
    every ESP flow one host sends is under an SPI of the SAD (the dump and the capture are of one
    time, and of that host), and the other host sends under SPIs the SAD does not hold."""
    flows = esp_by_pair(cap)
    for (me, peer), sent in sorted(flows.items()):
        ours, theirs = sad.get((me, peer), []), sad.get((peer, me), [])
        if not ours or not theirs or any(int(f.spi, 16) not in {sa.spi for sa in ours} for f in sent):
            continue
        known = {sa.spi for sa in theirs}
        unknown = [f for f in flows.get((peer, me), []) if int(f.spi, 16) not in known and f.packets >= MIN_STALE]
        if unknown:
            yield sent, unknown, theirs


@rule("RDB635", "ph1-state-desync", title="The peer sends ESP under an SPI this host's SAD no longer holds",
      severity=Severity.ERROR, needs={"pcap", "sad"},
      fix="Clear the stale SAs on the peer (`setkey -F` or `ip xfrm state flush`, then restart racoon on both "
          "ends), and turn on DPD and INITIAL-CONTACT so a restart clears the other side's SAs by itself.")
def esp_under_unknown_spi(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: a capture shows the peer's ESP arriving under an SPI that this host's SAD
    (dumped at the same time) has no SA for, while this host's own ESP leaves under SPIs its SAD does
    hold. The kernel drops every such packet (Linux counts them as `XfrmInNoStates`, the BSDs log no
    SA): traffic from the peer is black-holed although both sides think the tunnel is up.

    **Why racoon fails**: the two ends' SAs got out of step. This host restarted racoon or flushed its
    SAD (or deleted the SA after a rekey) and the peer did not hear of it: without DPD and
    INITIAL-CONTACT, the peer keeps sending under the old SA until it expires.

    **Evidence it looks at**: the ESP flows of the capture (source, destination, SPI) against the SAD's
    ESP SAs for the same addresses. The check only runs when every flow this host sends is under an SPI
    of the SAD, so a dump taken at another time than the capture does not count.

    **How to fix**: flush the stale SAs on the peer and restart racoon on both ends; enable `dpd_delay`
    and keep `initial_contact on;` so it does not happen again.

    **References**: failure catalog #10 (state lost on one side), #15.
    """
    sad = _sad_spis(ev)
    if not sad:
        return
    for cap in ev.captures:
        for sent, unknown, theirs in _stale_flows(cap, sad):
            me, peer = sent[0].src, sent[0].dst
            stale = ", ".join(f"0x{f.spi} ({f.packets} packets)" for f in unknown[:3])
            held = ", ".join(f"0x{sa.spi:08x}" for sa in theirs[:3])
            yield Hit(
                message=(f"{peer} sends ESP to {me} under SPI {stale}, but {me}'s SAD holds no such SA for "
                         f"{peer} -> {me} (it holds {held}); {me}'s own ESP to {peer} leaves under SPIs its SAD "
                         f"does hold, so the dump and the capture are of the same time. The kernel drops these "
                         f"packets: {peer} still uses an SA that {me} deleted (a racoon restart or a flushed SAD "
                         f"that {peer} never heard of)."),
                evidence=[*(esp_ref(cap, f) for f in unknown[:2]),
                          *(sa_ref(sa, "the SA the SAD holds instead") for sa in theirs[:2])],
                fix=(f"On {peer}, delete its SAs towards {me} (`setkey -F`, `ip xfrm state flush`, or restart "
                     f"racoon there) so both ends negotiate afresh; enable DPD (`dpd_delay 20;`) and "
                     f"`initial_contact on;` on both."),
                peer=peer,
            )
