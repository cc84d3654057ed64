"""ISAKMP captures (pcap/pcapng) into a :class:`~racoondbg.model.packets.Capture`.

The pipeline streams: capture records -> link layer/IP/reassembly (:mod:`pcap_links`) -> UDP 500/
4500 (NAT-T non-ESP marker, keepalives, ESP-in-UDP) -> ISAKMP header and payload chain
(:mod:`isakmp_payloads`) -> exchanges (:mod:`isakmp_exchanges`). One compact record per message is
kept; decoded payload chains are shared between identical messages.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from typing import Any

from racoondbg.inputs import InputKind, LoadOptions
from racoondbg.jsonable import jsonable
from racoondbg.model.base import Location, ParseError
from racoondbg.model.packets import (
    Capture,
    EspFlow,
    IcmpError,
    IsakmpMessage,
    LostFragments,
    NotifyDetail,
    Payload,
    VendorIdDetail,
)
from racoondbg.sources import Source, open_binary

from .isakmp_exchanges import ExchangeBuilder
from .isakmp_payloads import ISAKMP_HEADER_LEN, decode_chain, exchange_name, looks_like_isakmp
from .pcap_links import (
    LINK_NAMES,
    CaptureFormatError,
    Datagram,
    Decoder,
    EspPacket,
    IcmpQuote,
    Lost,
    capture_flavour,
    read_records,
)

log = logging.getLogger(__name__)

#: At most this many per-packet problems are kept; the rest are counted.
MAX_ERRORS = 200
#: Payload chains up to this size are cached (identical retransmissions decode once).
CACHE_BODY = 4096
CACHE_ENTRIES = 4096

NON_ESP_MARKER = b"\x00\x00\x00\x00"


def sniff(source: Source, head: bytes) -> int:
    return 95 if capture_flavour(head) else 0


class _Builder:
    """State of one decoding pass."""

    def __init__(self, source: Source) -> None:
        self.name = source.name
        self.capture = Capture(Location(source.name))
        self.exchanges = ExchangeBuilder()
        self.esp: dict[tuple[str, str, int, bool], list[int]] = {}
        self.cache: dict[tuple[int, bytes], tuple[tuple[Payload, ...], list[str]]] = {}
        self.suppressed = 0
        self.strings: dict[str, str] = {}

    def problem(self, frame: int, message: str, hint: str | None = None) -> None:
        if len(self.capture.errors) < MAX_ERRORS:
            self.capture.errors.append(ParseError(Location(self.name, frame=frame), message, hint))
        else:
            self.suppressed += 1

    def datagram(self, d: Datagram) -> None:
        payload = d.payload
        natt = False
        if 4500 in (d.sport, d.dport):
            if len(payload) == 1 and payload[0] == 0xFF:
                key = f"{d.src} -> {d.dst}"
                self.capture.keepalives[key] = self.capture.keepalives.get(key, 0) + 1
                return
            if payload[:4] == NON_ESP_MARKER:
                payload, natt = payload[4:], True
            elif len(payload) >= 8:
                self._esp(d.frame, d.src, d.dst, int.from_bytes(payload[:4], "big"), True)
                return
        elif 500 not in (d.sport, d.dport):
            if not looks_like_isakmp(payload):
                return
        elif payload[:8] == b"\x00" * 8 and len(payload) > 8:  # NAT-T draft "non-IKE marker": ESP on 500
            self._esp(d.frame, d.src, d.dst, int.from_bytes(payload[8:12], "big"), True)
            return
        self.message(d, payload, natt)

    def _esp(self, frame: int, src: str, dst: str, spi: int, udp: bool) -> None:
        entry = self.esp.get((src, dst, spi, udp))
        if entry is None:
            self.esp[(src, dst, spi, udp)] = [frame, 1]
        else:
            entry[1] += 1

    def _intern(self, text: str) -> str:
        return self.strings.setdefault(text, text)

    def message(self, d: Datagram, buf: bytes, natt: bool) -> None:
        if len(buf) < ISAKMP_HEADER_LEN:
            if d.truncated:
                self.problem(d.frame, "ISAKMP message cut short by the capture's snap length",
                             "capture with -s 0 to keep whole packets")
            else:
                self.problem(d.frame, f"{len(buf)} bytes on UDP {d.dport} are not an ISAKMP message")
            return
        icookie, rcookie = buf[0:8], buf[8:16]
        np, ver, exch, flags = buf[16], buf[17], buf[18], buf[19]
        msgid = int.from_bytes(buf[20:24], "big")
        length = int.from_bytes(buf[24:28], "big")
        major = ver >> 4
        if major not in (1, 2) or length < ISAKMP_HEADER_LEN or (length > len(buf) and not d.truncated):
            self.problem(d.frame, f"{len(buf)} bytes on UDP {d.dport} are not a valid ISAKMP message "
                                  f"(version {major}.{ver & 15}, length field {length})")
            return
        truncated = d.truncated or len(buf) < length
        body = buf[ISAKMP_HEADER_LEN:length]
        encrypted = bool(flags & 1) and major == 1
        payloads: tuple[Payload, ...] = ()
        if major == 1 and not encrypted:
            payloads, problems = self._decode(np, body)
            for text in problems if not truncated else ():
                self.problem(d.frame, text)
        if truncated:
            self.problem(d.frame, "ISAKMP message cut short by the capture's snap length",
                         "capture with -s 0 to keep whole packets")
            self.capture.truncated_frames += 1
        notify = tuple(p.detail.name for p in payloads if isinstance(p.detail, NotifyDetail))
        vids = tuple(p.detail.name or p.detail.hex for p in payloads if isinstance(p.detail, VendorIdDetail))
        msg = IsakmpMessage(
            location=Location(self.name, frame=d.frame),
            time=d.time,
            src=self._intern(d.src),
            dst=self._intern(d.dst),
            sport=d.sport,
            dport=d.dport,
            natt=natt,
            icookie=self._intern(icookie.hex()),
            rcookie=self._intern(rcookie.hex()),
            next_payload=np,
            version=f"{major}.{ver & 15}",
            exchange_type=exch,
            exchange=exchange_name(ver, exch),
            flags=flags,
            message_id=msgid,
            length=length,
            encrypted=encrypted,
            payloads=payloads,
            notify=notify,
            vendor_ids=vids,
            truncated=truncated,
            ip_fragmented=d.fragmented,
            digest=hash(buf[:length]),
        )
        self.capture.messages.append(msg)
        self.exchanges.add(msg)

    def _decode(self, np: int, body: bytes) -> tuple[tuple[Payload, ...], list[str]]:
        if len(body) > CACHE_BODY:
            return decode_chain(np, body)
        key = (np, body)
        hit = self.cache.get(key)
        if hit is None:
            if len(self.cache) >= CACHE_ENTRIES:
                self.cache.clear()
            hit = self.cache[key] = decode_chain(np, body)
        return hit

    def finish(self) -> Capture:
        cap = self.capture
        cap.exchanges = self.exchanges.exchanges
        cap.ike_fragments = self.exchanges.fragment_sets
        cap.esp = [EspFlow(src, dst, f"{spi:08x}", udp, first, count)
                   for (src, dst, spi, udp), (first, count) in self.esp.items()]
        if self.suppressed:
            cap.errors.append(ParseError(Location(self.name), f"{self.suppressed} more problems not listed"))
        return cap


def decode(source: Source, fh: Any) -> Capture:
    """Decode an open capture file."""
    builder = _Builder(source)
    links: list[int] = []
    records = read_records(fh, builder.problem, links)
    decoder = Decoder(builder.problem)
    cap = builder.capture
    for item in decoder.items(_counting(records, cap)):
        if isinstance(item, Datagram):
            builder.datagram(item)
        elif isinstance(item, IcmpQuote):
            cap.icmp_errors.append(IcmpError(Location(source.name, frame=item.frame), item.time, item.reporter,
                                             item.src, item.dst, item.dport, item.kind))
        elif isinstance(item, EspPacket):
            builder._esp(item.frame, item.src, item.dst, item.spi, False)
        elif isinstance(item, Lost):
            cap.lost_fragments.append(LostFragments(Location(source.name, frame=item.frame), item.time, item.src,
                                                    item.dst, item.sport, item.dport, item.received, item.total))
    cap.link_types = sorted({LINK_NAMES.get(link, f"link type {link}") for link in links})
    unknown = [link for link in links if link not in LINK_NAMES]
    if unknown:
        builder.problem(0, f"link type {unknown[0]} is not decoded; its packets were skipped")
    return builder.finish()


def _counting(records: Iterator[Any], cap: Capture) -> Iterator[Any]:
    for rec in records:
        cap.frames = rec.frame
        yield rec


def load(source: Source, options: LoadOptions) -> Capture:
    with open_binary(source.path) as fh:
        head = fh.read(64)
        flavour = capture_flavour(head)
        if flavour is None:
            raise ParseError(Location(source.name), "not a pcap or pcapng capture",
                             "save captures with tcpdump -w or Wireshark (pcap or pcapng)")
    with open_binary(source.path) as fh:
        try:
            cap = decode(source, fh)
        except CaptureFormatError as err:
            raise ParseError(Location(source.name), str(err)) from None
    cap.flavour = flavour
    return cap


#: The per-message keys of ``racoondbg parse pcap`` (in this order).
MESSAGE_KEYS = ("frame", "time", "src", "dst", "sport", "dport", "natt", "icookie", "rcookie", "exchange",
                "exchange_type", "flags", "message_id", "encrypted", "payloads", "notify", "vendor_ids",
                "retransmit_of")


def message_json(msg: IsakmpMessage) -> dict[str, Any]:
    return {
        "frame": msg.frame,
        "time": msg.time,
        "src": msg.src,
        "dst": msg.dst,
        "sport": msg.sport,
        "dport": msg.dport,
        "natt": msg.natt,
        "icookie": msg.icookie,
        "rcookie": msg.rcookie,
        "exchange": msg.step or msg.exchange,
        "exchange_type": msg.exchange_type,
        "flags": msg.flags,
        "message_id": msg.message_id,
        "encrypted": msg.encrypted,
        "payloads": jsonable(msg.payloads),
        "notify": list(msg.notify),
        "vendor_ids": list(msg.vendor_ids),
        "retransmit_of": msg.retransmit_of,
    }


class _LazyList(list[Any]):
    """A list that renders its items only while ``json.dump`` walks it (flat memory for big captures)."""

    def __init__(self, items: list[Any], render: Any) -> None:
        super().__init__()
        self._items, self._render = items, render

    def __iter__(self) -> Iterator[Any]:
        return (self._render(item) for item in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)


def to_json(cap: Capture) -> dict[str, Any]:
    return {
        "messages": _LazyList(cap.messages, message_json),
        "exchanges": _LazyList(cap.exchanges, lambda x: x.to_json()),
    }


def summary(cap: Capture) -> dict[str, Any]:
    """Counts for humans and tests: messages, exchanges, ESP, keepalives, ICMP, fragments."""
    return {
        "frames": cap.frames,
        "messages": len(cap.messages),
        "exchanges": Counter(x.exchange for x in cap.exchanges),
        "esp_packets": sum(f.packets for f in cap.esp),
        "keepalives": sum(cap.keepalives.values()),
        "icmp_errors": len(cap.icmp_errors),
        "lost_fragments": len(cap.lost_fragments),
    }


INPUT_KINDS = [
    InputKind(
        name="pcap",
        part="pcap",
        description="ISAKMP capture (pcap or pcapng, any byte order, µs or ns)",
        sniff=sniff,
        load=load,
        to_json=to_json,
        aliases=("pcapng", "capture"),
    )
]
