"""From capture files to UDP datagrams: pcap/pcapng records, link layers, IPv4/IPv6, fragment reassembly.

Everything streams: a record is read, decoded to at most one :class:`Datagram` (or ICMP error, or
ESP packet) and forgotten. Reassembly keeps a bounded number of pending datagrams.

The record readers are written with ``struct`` because dpkt's pcapng reader handles a single
interface only and its pcap reader hides the captured-vs-original length; link-type numbers come
from ``dpkt.pcap``.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import dpkt

from racoondbg.model.base import Location
from racoondbg.model.packets import IcmpError, LostFragments

PCAP_MAGICS = {
    b"\xa1\xb2\xc3\xd4": (">", 1e-6, "pcap"),
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6, "pcap"),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9, "pcap-ns"),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9, "pcap-ns"),
}
PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"

DLT_NULL, DLT_EN10MB, DLT_PPP, DLT_RAW, DLT_PPP_HDLC = 0, 1, 9, 101, 50
DLT_LOOP, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_IPV4, DLT_IPV6 = 108, 113, 276, 228, 229
LINK_NAMES = {
    DLT_NULL: "null", DLT_EN10MB: "ethernet", DLT_PPP: "ppp", DLT_PPP_HDLC: "ppp-hdlc", DLT_RAW: "raw",
    12: "raw", 14: "raw", DLT_LOOP: "loop", DLT_LINUX_SLL: "linux-sll", DLT_LINUX_SLL2: "linux-sll2",
    DLT_IPV4: "ipv4", DLT_IPV6: "ipv6",
}
assert dpkt.pcap.DLT_EN10MB == DLT_EN10MB and dpkt.pcap.DLT_LINUX_SLL == DLT_LINUX_SLL

IKE_PORTS = frozenset({500, 4500})

#: Bounds on reassembly state: pending datagrams, bytes per datagram, seconds before giving up.
MAX_PENDING = 256
MAX_DATAGRAM = 65535 + 40
REASSEMBLY_TIMEOUT = 60.0

#: Bytes read from the capture at a time.
CHUNK = 1 << 20

#: Bound on a single capture record (a hostile length field must not make us read gigabytes).
MAX_RECORD = 256 * 1024


class CaptureFormatError(ValueError):
    """The file is not a pcap/pcapng capture, or its header is unusable."""


@dataclass(slots=True)
class Record:
    frame: int
    time: float
    link: int
    data: bytes


@dataclass(slots=True)
class Datagram:
    """A UDP datagram, reassembled when it came in IP fragments."""

    frame: int
    time: float
    src: str
    dst: str
    sport: int
    dport: int
    payload: bytes
    truncated: bool
    fragmented: bool


@dataclass(slots=True)
class EspPacket:
    frame: int
    src: str
    dst: str
    spi: int


Item = Datagram | IcmpError | EspPacket | LostFragments
#: The fields of a :class:`Datagram`, in order, without the object (the fast path makes millions).
DatagramFields = tuple[int, float, str, str, int, int, bytes, bool, bool]
Problem = Callable[[int, str], None]


def capture_flavour(head: bytes) -> str | None:
    """``pcap``, ``pcap-ns`` or ``pcapng`` from the first bytes, else None."""
    if head[:4] in PCAP_MAGICS and len(head) >= 24:
        return PCAP_MAGICS[head[:4]][2]
    if head[:4] == PCAPNG_SHB and len(head) >= 12 and head[8:12] in (b"\x1a\x2b\x3c\x4d", b"\x4d\x3c\x2b\x1a"):
        return "pcapng"
    return None


def read_records(fh: BinaryIO, problem: Problem, links: list[int]) -> Iterator[Record]:
    """Records of a pcap or pcapng file; ``links`` receives each interface's link type."""
    head = fh.read(4)
    if head in PCAP_MAGICS:
        yield from _pcap_records(fh, head, problem, links)
    elif head == PCAPNG_SHB:
        yield from _pcapng_records(fh, problem, links)
    else:
        raise CaptureFormatError("not a pcap or pcapng capture (unknown magic number)")


def _pcap_records(fh: BinaryIO, magic: bytes, problem: Problem, links: list[int]) -> Iterator[Record]:
    order, scale, _name = PCAP_MAGICS[magic]
    rest = fh.read(20)
    if len(rest) < 20:
        raise CaptureFormatError("pcap file header is cut short")
    _vmaj, _vmin, _zone, _sig, _snap, link = struct.unpack(order + "HHiIII", rest)
    link &= 0x0FFFFFFF
    links.append(link)
    unpack = struct.Struct(order + "IIII").unpack_from
    read = fh.read
    buf, pos, frame = b"", 0, 0
    while True:
        if len(buf) - pos < 16:  # refill: reading big chunks beats two small reads per record
            buf, pos = buf[pos:] + read(CHUNK), 0
            if len(buf) < 16:
                if buf:
                    problem(frame + 1, "capture ends inside a record header (file cut short)")
                return
        frame += 1
        sec, frac, caplen, _orig = unpack(buf, pos)
        if caplen > MAX_RECORD:
            problem(frame, f"record length {caplen} is impossible; the rest of the file is unreadable")
            return
        end = pos + 16 + caplen
        if end > len(buf):
            buf, pos = buf[pos:] + read(max(CHUNK, caplen + 16)), 0
            end = 16 + caplen
        data = buf[pos + 16:end]
        pos = end
        if len(data) < caplen:
            problem(frame, "capture ends inside a packet (file cut short)")
        yield Record(frame, sec + frac * scale, link, data)


def _pcapng_records(fh: BinaryIO, problem: Problem, links: list[int]) -> Iterator[Record]:
    order = ">"
    interfaces: list[tuple[int, float]] = []
    frame = 0
    block_type = 0x0A0D0D0A
    first = True
    while True:
        if first:
            head = PCAPNG_SHB + fh.read(4)
            first = False
        else:
            head = fh.read(8)
        if len(head) < 8:
            if head:
                problem(frame + 1, "capture ends inside a block header (file cut short)")
            return
        if head[:4] == PCAPNG_SHB:
            bom = fh.read(4)
            order = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
            if bom not in (b"\x4d\x3c\x2b\x1a", b"\x1a\x2b\x3c\x4d"):
                if frame == 0 and not interfaces:
                    raise CaptureFormatError("pcapng section header has no byte-order magic")
                problem(frame + 1, "a pcapng section header is damaged; the rest of the file is unreadable")
                return
            (length,) = struct.unpack(order + "I", head[4:])
            body = bom + fh.read(max(length - 12, 0))
            interfaces = []
            continue
        block_type, length = struct.unpack(order + "II", head)
        if length < 12 or length > MAX_RECORD + 64:
            problem(frame + 1, f"pcapng block length {length} is impossible; the rest of the file is unreadable")
            return
        body = fh.read(length - 8)
        if len(body) < length - 8:
            problem(frame + 1, "capture ends inside a block (file cut short)")
            return
        body = body[:-4]
        if block_type == 1:
            link, _res, _snap = struct.unpack_from(order + "HHI", body)
            interfaces.append((link, _tsresol(body[8:], order)))
            links.append(link)
        elif block_type in (6, 2) and len(body) >= 20:
            frame += 1
            if block_type == 6:
                iface, hi, lo, caplen, _orig = struct.unpack_from(order + "IIIII", body)
            else:
                iface, _drops, hi, lo, caplen, _orig = struct.unpack_from(order + "HHIIII", body)
            if iface >= len(interfaces):
                problem(frame, f"packet names interface {iface}, which the capture never described")
                continue
            link, scale = interfaces[iface]
            yield Record(frame, ((hi << 32) | lo) * scale, link, body[20:20 + caplen])
        elif block_type == 3 and len(body) >= 4:
            frame += 1
            if not interfaces:
                problem(frame, "simple packet block before any interface description")
                continue
            link, _scale = interfaces[0]
            yield Record(frame, 0.0, link, body[4:])


def _tsresol(options: bytes, order: str) -> float:
    off = 0
    while off + 4 <= len(options):
        code, olen = struct.unpack_from(order + "HH", options, off)
        if code == 0:
            break
        if code == 9 and olen >= 1:
            value = options[off + 4]
            return 2.0 ** -(value & 0x7F) if value & 0x80 else 10.0 ** -value
        off += 4 + ((olen + 3) & ~3)
    return 1e-6


def network_layer(link: int, data: bytes) -> tuple[int, int] | None:
    """(IP version, offset of the IP header) for a link-layer frame, or None when it carries no IP."""
    if link == DLT_EN10MB:
        off, etype = 14, int.from_bytes(data[12:14], "big")
        while etype in (0x8100, 0x88A8, 0x9100) and len(data) >= off + 4:
            etype, off = int.from_bytes(data[off + 2:off + 4], "big"), off + 4
        if etype == 0x8864:  # PPPoE session: 6-byte header, then the PPP protocol
            return _ppp_protocol(int.from_bytes(data[off + 6:off + 8], "big"), off + 8)
        return _ethertype(etype, off)
    if link == DLT_LINUX_SLL:
        return _ethertype(int.from_bytes(data[14:16], "big"), 16)
    if link == DLT_LINUX_SLL2:
        return _ethertype(int.from_bytes(data[0:2], "big"), 20)
    if link in (DLT_RAW, 12, 14, DLT_IPV4, DLT_IPV6):
        version = data[0] >> 4 if data else 0
        return (version, 0) if version in (4, 6) else None
    if link in (DLT_NULL, DLT_LOOP):
        if len(data) < 4:
            return None
        family = int.from_bytes(data[:4], "big" if link == DLT_LOOP else "little")
        if link == DLT_NULL and family > 0xFFFF:
            family = int.from_bytes(data[:4], "big")
        if family == 2:
            return 4, 4
        return (6, 4) if family in (10, 24, 28, 30) else None
    if link in (DLT_PPP, DLT_PPP_HDLC):
        off = 2 if data[:2] == b"\xff\x03" else 0
        return _ppp_protocol(int.from_bytes(data[off:off + 2], "big"), off + 2)
    return None


def _ethertype(etype: int, off: int) -> tuple[int, int] | None:
    if etype == 0x0800:
        return 4, off
    return (6, off) if etype == 0x86DD else None


def _ppp_protocol(proto: int, off: int) -> tuple[int, int] | None:
    if proto == 0x0021:
        return 4, off
    return (6, off) if proto == 0x0057 else None


class Reassembler:
    """Bounded IPv4/IPv6 fragment reassembly keyed by (version, src, dst, id, protocol)."""

    def __init__(self) -> None:
        self.pending: dict[tuple[object, ...], _Pending] = {}

    def add(self, key: tuple[object, ...], frame: int, time: float, offset: int, more: bool,
            data: bytes, header: tuple[str, str, int]) -> tuple[bytes, int] | None:
        """Add one fragment; returns (whole upper-layer payload, protocol) when complete."""
        entry = self.pending.get(key)
        if entry is None:
            if len(self.pending) >= MAX_PENDING:
                return None
            entry = self.pending[key] = _Pending(frame, time, header)
        if offset + len(data) > MAX_DATAGRAM:
            return None
        entry.pieces[offset] = data
        if not more:
            entry.total = offset + len(data)
        if entry.total is None:
            return None
        got, pos = [], 0
        for off in sorted(entry.pieces):
            if off > pos:
                return None
            piece = entry.pieces[off]
            got.append(piece[pos - off:])
            pos = max(pos, off + len(piece))
        if pos < entry.total:
            return None
        del self.pending[key]
        return b"".join(got)[:entry.total], entry.header[2]

    def expire(self, now: float | None, name: str) -> Iterator[LostFragments]:
        """Drop datagrams older than the timeout (all of them when ``now`` is None)."""
        for key, entry in list(self.pending.items()):
            if now is None or now - entry.time > REASSEMBLY_TIMEOUT:
                del self.pending[key]
                lost = entry.lost(name)
                if lost is not None:
                    yield lost


@dataclass(slots=True)
class _Pending:
    frame: int
    time: float
    header: tuple[str, str, int]
    total: int | None = None
    pieces: dict[int, bytes] = field(default_factory=dict)

    def lost(self, name: str) -> LostFragments | None:
        first = self.pieces.get(0)
        src, dst, proto = self.header
        if proto != 17 or first is None or len(first) < 8:
            return None
        sport, dport = struct.unpack_from(">HH", first)
        if sport not in IKE_PORTS and dport not in IKE_PORTS:
            return None
        return LostFragments(Location(name, frame=self.frame), self.time, src, dst, sport, dport,
                             sum(map(len, self.pieces.values())), self.total)


_ntoa4 = socket.inet_ntoa
#: Ethernet + IPv4 (no options) + UDP headers: ethertype, version/IHL, total length, flags/fragment
#: offset, protocol, source, destination, source port, destination port, UDP length.
_ETH_IPV4_UDP = struct.Struct(">12xHBxH2xHxB2x4s4sHHH").unpack_from
_IPV6_EXTENSIONS = frozenset({0, 43, 60})


def _ntoa6(raw: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET6, raw)


class Decoder:
    """Turns records into UDP datagrams, ICMP quotes of IKE packets and ESP packets."""

    def __init__(self, problem: Problem, name: str = "capture") -> None:
        self.problem = problem
        self.name = name
        self.reassembler = Reassembler()
        self.last_expire = 0.0
        self.truncated = 0
        self.addresses: dict[bytes, str] = {}
        self.ports: dict[int, int] = {}
        """Port numbers above 256 are separate int objects; interning them saves memory per message."""

    def items(self, records: Iterator[Record]) -> Iterator[Item]:
        """Every item of every record, then what reassembly gave up on."""
        fast = self.fast_udp4
        for rec in records:
            quick = fast(rec)
            if quick is not None:
                yield Datagram(*quick)
            else:
                yield from self.slow(rec)
        yield from self.finish()

    def slow(self, rec: Record) -> Iterator[Item]:
        """The general path for one record: any link type, IPv6, fragments, ICMP, ESP."""
        found = network_layer(rec.link, rec.data)
        if found is not None:
            version, off = found
            try:
                item = self._ip(rec, version, off, rec.data)
            except (struct.error, IndexError, ValueError, OSError):
                self.problem(rec.frame, "packet too short for its IP/UDP headers (truncated)")
                self.truncated += 1
                return
            if item is not None:
                yield item
        if self.reassembler.pending and rec.time - self.last_expire > REASSEMBLY_TIMEOUT:
            self.last_expire = rec.time
            yield from self.reassembler.expire(rec.time, self.name)

    def finish(self) -> Iterator[LostFragments]:
        yield from self.reassembler.expire(None, self.name)

    def fast_udp4(self, rec: Record) -> DatagramFields | None:
        """The common case without the general machinery: Ethernet, IPv4 without options, UDP, unfragmented."""
        data = rec.data
        if rec.link != DLT_EN10MB or len(data) < 42:
            return None
        etype, vihl, total, frag, proto, raw_src, raw_dst, sport, dport, ulen = _ETH_IPV4_UDP(data)
        if etype != 0x0800 or vihl != 0x45 or proto != 17 or frag & 0x3FFF:
            return None
        end = 14 + total
        if end > len(data) or ulen < 8 or 34 + ulen > end:
            return None
        ports, addresses = self.ports, self.addresses
        return (rec.frame, rec.time, addresses.get(raw_src) or self._addr(raw_src),
                addresses.get(raw_dst) or self._addr(raw_dst), ports.setdefault(sport, sport),
                ports.setdefault(dport, dport), data[42:34 + ulen], False, False)

    def _addr(self, raw: bytes) -> str:
        text = self.addresses.get(raw)
        if text is None:
            if len(self.addresses) > 65536:
                self.addresses.clear()
            text = self.addresses[raw] = _ntoa4(raw)
        return text

    def _ip(self, rec: Record, version: int, off: int, data: bytes) -> Item | None:
        if version == 4:
            vihl, total, ident, frag, proto = data[off], *struct.unpack_from(">HHH", data, off + 2), data[off + 9]
            if vihl >> 4 != 4:
                return None
            ihl = (vihl & 0x0F) * 4
            addr = self._addr
            src, dst = addr(data[off + 12:off + 16]), addr(data[off + 16:off + 20])
            end = off + total
            truncated = end > len(data)
            body = data[off + ihl:end]
            if frag & 0x3FFF:
                whole = self.reassembler.add((4, src, dst, ident, proto), rec.frame, rec.time, (frag & 0x1FFF) * 8,
                                             bool(frag & 0x2000), body, (src, dst, proto))
                if whole is None:
                    return None
                return self._upper(rec, proto, src, dst, whole[0], False, True)
            return self._upper(rec, proto, src, dst, body, truncated, False)
        if version == 6:
            plen, nxt = struct.unpack_from(">HB", data, off + 4)
            src, dst = _ntoa6(data[off + 8:off + 24]), _ntoa6(data[off + 24:off + 40])
            end = off + 40 + plen
            truncated = end > len(data)
            pos = off + 40
            while nxt in _IPV6_EXTENSIONS:
                nxt, hlen = data[pos], (data[pos + 1] + 1) * 8
                pos += hlen
            if nxt == 44:
                nxt, _r, frag, ident = struct.unpack_from(">BBHI", data, pos)
                body = data[pos + 8:end]
                whole = self.reassembler.add((6, src, dst, ident, nxt), rec.frame, rec.time, frag & 0xFFF8,
                                             bool(frag & 1), body, (src, dst, nxt))
                if whole is None:
                    return None
                return self._upper(rec, nxt, src, dst, whole[0], False, True)
            return self._upper(rec, nxt, src, dst, data[pos:end], truncated, False)
        return None

    def _upper(self, rec: Record, proto: int, src: str, dst: str, body: bytes, truncated: bool,
               fragmented: bool) -> Item | None:
        if proto == 17:
            sport, dport, ulen = struct.unpack_from(">HHH", body)
            payload = body[8:ulen] if ulen >= 8 else body[8:]
            truncated = truncated or ulen > len(body)
            if truncated:
                self.truncated += 1
            return Datagram(rec.frame, rec.time, src, dst, sport, dport, payload, truncated, fragmented)
        if proto == 50 and len(body) >= 4:
            return EspPacket(rec.frame, src, dst, int.from_bytes(body[:4], "big"))
        if proto in (1, 58):
            return _icmp_quote(rec, proto, src, body, self.name, self._addr)
        return None


_ICMP_ERRORS = {
    1: {3: "destination unreachable", 11: "time exceeded", 12: "parameter problem"},
    58: {1: "destination unreachable", 2: "packet too big", 3: "time exceeded", 4: "parameter problem"},
}


def _icmp_quote(rec: Record, proto: int, reporter: str, body: bytes, name: str,
                addr: Callable[[bytes], str]) -> IcmpError | None:
    """The ICMP error quoting an IKE packet, if ``body`` is one (``addr`` names an IPv4 address)."""
    kind = _ICMP_ERRORS[proto].get(body[0])
    if kind is None or len(body) < 8 + 20 + 4:
        return None
    quoted = body[8:]
    if proto == 1:
        ihl = (quoted[0] & 0x0F) * 4
        if quoted[9] != 17:
            return None
        src, dst, udp = addr(quoted[12:16]), addr(quoted[16:20]), quoted[ihl:ihl + 4]
    else:
        if len(quoted) < 44 or quoted[6] != 17:
            return None
        src, dst, udp = _ntoa6(quoted[8:24]), _ntoa6(quoted[24:40]), quoted[40:44]
    if len(udp) < 4:
        return None
    sport, dport = struct.unpack(">HH", udp)
    if sport not in IKE_PORTS and dport not in IKE_PORTS:
        return None
    if proto == 1 and body[0] == 3:
        kind = {3: "port unreachable", 1: "host unreachable", 13: "administratively prohibited"}.get(body[1], kind)
    return IcmpError(Location(name, frame=rec.frame), rec.time, reporter, src, dst, dport, kind)
