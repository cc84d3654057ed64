"""Packet rule: ESP on the wire in one direction only."""

from __future__ import annotations

from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import Severity
from racoondbg.model.packets import Capture, EspFlow

from .pcap_helpers import esp_by_pair, esp_ref

#: ESP packets one way, with none back, before the silence means something (a ping sends several).
MIN_ONE_WAY = 8


def _one_way(cap: Capture) -> Iterator[tuple[str, str, list[EspFlow]]]:
    """Host pairs with ESP from the first to the second and none back, where the capture does see the
    second one's IKE packets to the first (so this capture point would have seen its ESP too)."""
    flows = esp_by_pair(cap)
    ike = {(w.src, w.dst) for w in cap.messages.wires_used()}
    for (src, dst), there in sorted(flows.items()):
        if (dst, src) in flows or (dst, src) not in ike or sum(f.packets for f in there) < MIN_ONE_WAY:
            continue
        yield src, dst, there


@rule("RDB445", "sa-up-no-traffic", title="ESP goes one way and nothing comes back", severity=Severity.WARNING,
      needs={"pcap"},
      fix="Capture on the silent peer (`tcpdump -n esp or udp port 4500`) and compare both ends' SA byte counters "
          "(`setkey -D`, `ip -s xfrm state`).")
def esp_one_way(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: the capture shows ESP packets (IP protocol 50, or ESP in UDP 4500) from one
    host to another and none in the other direction, although the same capture holds the second
    host's IKE packets to the first: at this capture point its ESP would have been seen too.

    **Why racoon fails**: racoon did its part (the SAs exist, or no ESP would be sent); the packets
    are lost after it. The peer receives the traffic but sends nothing back through the tunnel: its SA
    or policy for the return direction is missing, forwarding or a firewall on the peer drops the
    decrypted packets or their replies, a route does not send the replies into the tunnel, or the peer
    cannot decrypt at all (the HMAC-SHA-256 truncation mismatch, esp-sha2-truncation). Or the peer's
    ESP is dropped between it and this capture point (ESP or UDP 4500 filtered on the way back).

    **Evidence it looks at**: the ESP flows (SPI, direction, packet count) and which hosts' IKE
    packets the capture holds.

    **How to fix**: capture on the peer to see whether the ESP arrives and whether any leaves; compare
    the SA byte counters on both ends; check the peer's `fwd` policy (Linux), IP forwarding and
    firewall rules for ESP / UDP 4500.

    **References**: failure catalog #25 (and #7).
    """
    for cap in ev.captures:
        for src, dst, flows in _one_way(cap):
            packets = sum(f.packets for f in flows)
            carried = "ESP in UDP 4500" if all(f.udp for f in flows) else "ESP"
            spis = ", ".join(f"0x{f.spi}" for f in flows[:3]) + (" …" if len(flows) > 3 else "")
            yield Hit(
                message=(f"{src} sent {packets} {carried} packets to {dst} (SPI {spis}) and {dst} sent none back, "
                         f"although this capture holds {dst}'s IKE packets to {src}: the tunnel carries traffic one "
                         f"way only. Either {dst} gets the packets and sends nothing back through IPsec (no SA or "
                         f"policy for the way back, forwarding, a firewall or a route on {dst}, or it cannot "
                         f"decrypt them), or its ESP is dropped before it reaches this capture point."),
                evidence=[esp_ref(cap, f) for f in flows[:3]],
                fix=(f"Capture on {dst} (`tcpdump -n esp or udp port 4500`) to see whether the ESP from {src} "
                     f"arrives and whether anything leaves towards {src}; compare the SA byte counters on both "
                     f"ends and check {dst}'s forwarding, firewall (ESP / UDP 4500) and `fwd` policy."),
                peer=dst,
            )
