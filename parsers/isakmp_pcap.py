"""ISAKMP captures (pcap/pcapng) into a :class:`~racoondbg.model.packets.Capture`.

The pipeline streams: capture records -> link layer/IP/reassembly (:mod:`pcap_links`) -> UDP 500/
4500 (NAT-T non-ESP marker, keepalives, ESP-in-UDP) -> ISAKMP header and payload chain
(:mod:`isakmp_payloads`) -> exchanges (:mod:`isakmp_exchanges`). One compact record per message is
kept; decoded payload chains are shared between identical messages.
"""

from __future__ import annotations

import gc
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

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

from .ikev1_keys import load_keys
from .isakmp_decrypt import decrypt_capture
from .isakmp_exchanges import ExchangeBuilder
from .isakmp_payloads import HEADER, ISAKMP_HEADER_LEN, decode_chain, exchange_name, looks_like_isakmp
from .pcap_links import (
    LINK_NAMES,
    CaptureFormatError,
    Datagram,
    Decoder,
    EspPacket,
    Item,
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


_Decoded = tuple[tuple[Payload, ...], list[str], tuple[str, ...], tuple[str, ...]]


def _decoded(np: int, body: bytes) -> _Decoded:
    """The payload chain, its problems, and the notify and vendor-ID names it carries."""
    payloads, problems = decode_chain(np, body)
    notify = tuple(p.detail.name for p in payloads if isinstance(p.detail, NotifyDetail))
    vids = tuple(p.detail.name or p.detail.hex for p in payloads if isinstance(p.detail, VendorIdDetail))
    return payloads, problems, notify, vids


class _Builder:
    """State of one decoding pass."""

    def __init__(self, source: Source) -> None:
        self.name = source.name
        self.capture = Capture(Location(source.name))
        self.exchanges = ExchangeBuilder()
        self.esp: dict[tuple[str, str, int, bool], list[int]] = {}
        self.cache: dict[tuple[int, bytes], _Decoded] = {}
        self.names: dict[tuple[int, int], tuple[str, str]] = {}
        self.suppressed = 0
        self.strings: dict[str, str] = {}
        """Addresses, interned: every message shares one string per address."""
        self.lengths: dict[int, int] = {}
        """Message lengths, interned likewise (ints above 256 are separate objects)."""
        self.raw: dict[int, bytes] | None = None
        """Each message's bytes by frame, kept only when decryption was asked for."""

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

    def message(self, d: Datagram, buf: bytes, natt: bool) -> None:
        if len(buf) < ISAKMP_HEADER_LEN:
            if d.truncated:
                self.problem(d.frame, "ISAKMP message cut short by the capture's snap length",
                             "capture with -s 0 to keep whole packets")
            else:
                self.problem(d.frame, f"{len(buf)} bytes on UDP {d.dport} are not an ISAKMP message")
            return
        icookie, rcookie, np, ver, exch, flags, msgid, length = HEADER.unpack_from(buf)
        major = ver >> 4
        if major not in (1, 2) or length < ISAKMP_HEADER_LEN or (length > len(buf) and not d.truncated):
            self.problem(d.frame, f"{len(buf)} bytes on UDP {d.dport} are not a valid ISAKMP message "
                                  f"(version {major}.{ver & 15}, length field {length})")
            return
        truncated = d.truncated or len(buf) < length
        encrypted = bool(flags & 1) and major == 1
        if self.raw is not None:
            self.raw[d.frame] = bytes(buf[:length])
        payloads: tuple[Payload, ...] = ()
        notify: tuple[str, ...] = ()
        vids: tuple[str, ...] = ()
        if major == 1 and not encrypted:
            payloads, problems, notify, vids = self._decode(np, buf[ISAKMP_HEADER_LEN:length])
            for text in problems if not truncated else ():
                self.problem(d.frame, text)
        if truncated:
            self.problem(d.frame, "ISAKMP message cut short by the capture's snap length",
                         "capture with -s 0 to keep whole packets")
            self.capture.truncated_frames += 1
        names = self.names.get((ver, exch))
        if names is None:
            names = self.names[(ver, exch)] = (f"{major}.{ver & 15}", exchange_name(ver, exch))
        intern = self.strings.setdefault
        length = self.lengths.setdefault(length, length)
        msg = IsakmpMessage(
            self.name, d.frame, d.time, intern(d.src, d.src), intern(d.dst, d.dst), d.sport,
            d.dport, natt, icookie.hex(), rcookie.hex(), np, names[0], exch, names[1], flags, msgid, length,
            encrypted, payloads, notify, vids, truncated, d.fragmented,
        )
        self.capture.messages.append(msg)
        self.exchanges.add(msg, hash(buf if length == len(buf) else buf[:length]))

    def _decode(self, np: int, body: bytes) -> _Decoded:
        if len(body) > CACHE_BODY:
            return _decoded(np, body)
        key = (np, body)
        hit = self.cache.get(key)
        if hit is None:
            if len(self.cache) >= CACHE_ENTRIES:
                self.cache.clear()
            hit = self.cache[key] = _decoded(np, body)
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


def decode(source: Source, fh: Any, raw: dict[int, bytes] | None = None) -> Capture:
    """Decode an open capture file (filling ``raw`` with each message's bytes when given)."""
    builder = _Builder(source)
    builder.raw = raw
    links: list[int] = []
    records = read_records(fh, builder.problem, links)
    decoder = Decoder(builder.problem, source.name)
    cap = builder.capture
    fast, on_datagram = decoder.fast_udp4, builder.datagram
    rec = None
    for rec in records:
        quick = fast(rec)
        if quick is not None:
            on_datagram(quick)
        else:
            _dispatch(builder, decoder.slow(rec))
    cap.frames = rec.frame if rec is not None else 0
    _dispatch(builder, decoder.finish())
    cap.link_types = sorted({LINK_NAMES.get(link, f"link type {link}") for link in links})
    unknown = [link for link in links if link not in LINK_NAMES]
    if unknown:
        builder.problem(0, f"link type {unknown[0]} is not decoded; its packets were skipped")
    return builder.finish()


@contextmanager
def without_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector.

    Decoding and printing a big capture make millions of small objects and no reference cycles; the
    collector would only rescan them again and again (a fifth of the time on a million packets).
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _dispatch(builder: _Builder, items: Iterator[Item]) -> None:
    cap = builder.capture
    for item in items:
        if isinstance(item, Datagram):
            builder.datagram(item)
        elif isinstance(item, IcmpError):
            cap.icmp_errors.append(item)
        elif isinstance(item, EspPacket):
            builder._esp(item.frame, item.src, item.dst, item.spi, False)
        elif isinstance(item, LostFragments):
            cap.lost_fragments.append(item)


def load(source: Source, options: LoadOptions) -> Capture:
    with open_binary(source.path) as fh:
        head = fh.read(64)
        flavour = capture_flavour(head)
        if flavour is None:
            raise ParseError(Location(source.name), "not a pcap or pcapng capture",
                             "save captures with tcpdump -w or Wireshark (pcap or pcapng)")
    raw: dict[int, bytes] | None = {} if options.ike_keys else None
    try:
        with open_binary(source.path) as fh, without_cyclic_gc():
            cap = decode(source, fh, raw)
    except CaptureFormatError as err:
        raise ParseError(Location(source.name), str(err)) from None
    cap.flavour = flavour
    if raw is not None:
        decrypt_capture(cap, raw, load_keys(options.ike_keys))
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


class _Lazy(list[Any]):
    """A list whose items are rendered only while ``json.dump(..., indent=...)`` walks it.

    The pure-Python encoder (used whenever ``indent`` is given) iterates it lazily; the C encoder
    (``indent=None``) would see an empty list, so :meth:`CaptureJson.write_json` is the fast path.
    """

    def __init__(self, items: list[Any], render: Any) -> None:
        super().__init__()
        self._items, self._render = items, render

    def __iter__(self) -> Iterator[Any]:
        return (self._render(item) for item in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)


class CaptureJson(dict[str, Any]):
    """``{"messages": [...], "exchanges": [...]}`` for ``racoondbg parse pcap``, rendered lazily.

    :meth:`write_json` streams one message per line with the C encoder and renders each distinct
    payload chain once, so a capture of a million messages prints in seconds with flat memory.
    """

    def __init__(self, cap: Capture) -> None:
        super().__init__(messages=_Lazy(cap.messages, message_json),
                         exchanges=_Lazy(cap.exchanges, lambda x: x.to_json()))
        self.capture = cap
        self.decrypted = [m.frame for m in cap.messages if m.decrypted]
        if self.decrypted:
            self["decrypted_frames"] = self.decrypted

    def write_json(self, out: IO[str]) -> None:
        with without_cyclic_gc():
            self._write(out)

    def _write(self, out: IO[str]) -> None:
        rendered: dict[int, str] = {}
        encode = json.JSONEncoder(ensure_ascii=False).encode
        out.write('{\n  "messages": [')
        sep = "\n    "
        for m in self.capture.messages:
            # Addresses, hex cookies, step and exchange names are plain ASCII without quotes or
            # backslashes, so they are formatted directly; payloads, notify and VID names go through
            # the encoder once per distinct decoded chain.
            chain = rendered.get(id(m.payloads))
            if chain is None:
                chain = rendered[id(m.payloads)] = (
                    f'"payloads": {encode(jsonable(m.payloads))}, "notify": {encode(m.notify)}, '
                    f'"vendor_ids": {encode(m.vendor_ids)}')
            out.write(
                f'{sep}{{"frame": {m.frame}, "time": {m.time!r}, "src": "{m.src}", "dst": "{m.dst}", '
                f'"sport": {m.sport}, "dport": {m.dport}, "natt": {_BOOL[m.natt]}, "icookie": "{m.icookie}", '
                f'"rcookie": "{m.rcookie}", "exchange": "{m.step or m.exchange}", "exchange_type": {m.exchange_type}, '
                f'"flags": {m.flags}, "message_id": {m.message_id}, "encrypted": {_BOOL[m.encrypted]}, {chain}, '
                f'"retransmit_of": {"null" if m.retransmit_of is None else m.retransmit_of}}}')
            sep = ",\n    "
        out.write('\n  ],\n  "exchanges": [')
        sep = "\n    "
        for x in self.capture.exchanges:
            # the same keys and values as Exchange.to_json(), formatted directly (all plain ASCII)
            stalled = "null" if x.stalled_at is None else f'"{x.stalled_at}"'
            frames = ", ".join([str(m.frame) for m in x.messages])
            steps = ", ".join(['"' + step + '"' for step in x.steps])
            out.write(
                f'{sep}{{"icookie": "{x.icookie}", "rcookie": "{x.rcookie}", "message_id": {x.message_id}, '
                f'"exchange_type": {x.exchange_type}, "exchange": "{x.exchange}", "initiator": "{x.initiator}", '
                f'"responder": "{x.responder}", "frames": [{frames}], "steps": [{steps}], '
                f'"retransmits": {len(x.retransmits)}, "complete": {_BOOL[x.complete]}, '
                f'"stalled_at": {stalled}, "start": {x.first.time!r}, '
                f'"end": {x.last.time!r}}}')
            sep = ",\n    "
        out.write("\n  ]")
        if self.decrypted:
            out.write(f',\n  "decrypted_frames": {self.decrypted}')
        out.write("\n}\n")


_BOOL = {True: "true", False: "false"}


def to_json(cap: Capture) -> CaptureJson:
    return CaptureJson(cap)


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
