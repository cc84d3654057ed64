#!/usr/bin/env python3
"""Build a big ISAKMP capture for the benchmark from the fixture captures (never committed).

    .venv/bin/python bench/pcap_generate.py [PACKETS] [OUT]     (default 1000000, bench/data/big.pcap)

Every fixture capture's frames are replayed over and over; each replay gets fresh initiator
cookies (so exchanges stay distinct) and later timestamps. Checksums are not recomputed.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import dpkt

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "pcap"


def isakmp_offset(frame: bytes) -> int | None:
    """Offset of the ISAKMP header in an Ethernet/IPv4/UDP frame, or None."""
    if frame[12:14] != b"\x08\x00" or frame[23] != 17:
        return None
    udp = 14 + (frame[14] & 0x0F) * 4
    sport, dport = struct.unpack_from(">HH", frame, udp)
    if 500 in (sport, dport):
        return udp + 8
    if 4500 in (sport, dport) and frame[udp + 8:udp + 12] == b"\x00\x00\x00\x00":
        return udp + 12
    return None


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).resolve().parent / "data" / "big.pcap"
    out.parent.mkdir(parents=True, exist_ok=True)
    frames: list[tuple[float, bytes, int | None]] = []
    for path in sorted(FIXTURES.glob("*.pcap")):
        with path.open("rb") as fh:
            captured = [(ts, bytes(buf)) for ts, buf in dpkt.pcap.Reader(fh)]
        base = captured[0][0] if captured else 0.0
        frames += [(ts - base, buf, isakmp_offset(buf)) for ts, buf in captured]
    record = struct.Struct("<IIII")
    written, replay, clock = 0, 0, 1_700_000_000.0
    with out.open("wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        while written < count:
            replay += 1
            tag = struct.pack(">I", replay)
            for rel, buf, off in frames:
                if written >= count:
                    break
                if off is not None and len(buf) >= off + 8:
                    buf = buf[:off + 4] + tag + buf[off + 8:]  # fresh cookies per replay
                ts = clock + rel
                sec = int(ts)
                fh.write(record.pack(sec, int((ts - sec) * 1e6), len(buf), len(buf)))
                fh.write(buf)
                written += 1
            clock += 60.0
    print(f"{out}: {written} packets from {len(frames)} fixture frames")


if __name__ == "__main__":
    main()
