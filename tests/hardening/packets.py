"""Building hostile captures byte by byte (classic pcap, Ethernet/IPv4/UDP/ISAKMP)."""

from __future__ import annotations

import struct
from pathlib import Path

import dpkt

PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
ISAKMP_SA, ISAKMP_VID, ISAKMP_NONE = 1, 13, 0
ISAKMP_FRAG = 132  # Cisco / racoon IKE fragmentation payload


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF


def ipv4(payload: bytes, src: str = "192.0.2.1", dst: str = "198.51.100.7", proto: int = 17, ident: int = 1,
         frag_offset: int = 0, more_fragments: bool = False, total_length: int | None = None) -> bytes:
    flags = (0x2000 if more_fragments else 0) | (frag_offset // 8)
    length = 20 + len(payload) if total_length is None else total_length
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, length & 0xFFFF, ident, flags, 64, proto, 0,
                         bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
    header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
    return header + payload


def udp(payload: bytes, sport: int = 500, dport: int = 500, length: int | None = None) -> bytes:
    return struct.pack("!HHHH", sport, dport, (8 + len(payload) if length is None else length) & 0xFFFF, 0) + payload


def ethernet(payload: bytes) -> bytes:
    return b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00" + payload


def isakmp(payloads: bytes, first: int = ISAKMP_SA, exchange: int = 2, length: int | None = None,
           icookie: bytes = b"\x1f\x2e\x3d\x4c\x5b\x6a\x79\x88", msgid: int = 0) -> bytes:
    total = 28 + len(payloads) if length is None else length
    return icookie + b"\0" * 8 + struct.pack("!BBBBII", first, 0x10, exchange, 0, msgid, total & 0xFFFFFFFF) + payloads


def payload(next_payload: int, body: bytes, length: int | None = None) -> bytes:
    return struct.pack("!BBH", next_payload, 0, (4 + len(body) if length is None else length) & 0xFFFF) + body


def record(frame: bytes, caplen: int | None = None, origlen: int | None = None, ts: int = 1393668005) -> bytes:
    cap = len(frame) if caplen is None else caplen
    orig = len(frame) if origlen is None else origlen
    return struct.pack("<IIII", ts, 0, cap & 0xFFFFFFFF, orig & 0xFFFFFFFF) + frame


def capture(*frames: bytes) -> bytes:
    return PCAP_HEADER + b"".join(record(f) for f in frames)


def ike_frame(message: bytes, **ip: object) -> bytes:
    return ethernet(ipv4(udp(message), **ip))  # type: ignore[arg-type]


def message_bytes(path: Path) -> dict[int, bytes]:
    """Each ISAKMP message's bytes by frame, read with dpkt (Ethernet/IPv4/UDP captures; on port 4500
    without the non-ESP marker), as the decryption tests feed them to a Decryptor."""
    out: dict[int, bytes] = {}
    with path.open("rb") as fh:
        for frame, (_ts, buf) in enumerate(dpkt.pcap.Reader(fh), 1):
            ip = dpkt.ethernet.Ethernet(buf).data
            if not isinstance(ip, dpkt.ip.IP) or not isinstance(ip.data, dpkt.udp.UDP):
                continue
            datagram, data = ip.data, bytes(ip.data.data)
            if 4500 in (datagram.sport, datagram.dport):
                if not data.startswith(bytes(4)):
                    continue
                data = data[4:]
            elif 500 not in (datagram.sport, datagram.dport):
                continue
            out[frame] = data[:int.from_bytes(data[24:28], "big")]
    return out
