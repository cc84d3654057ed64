"""ISAKMP captures (pcap/pcapng) into a :class:`~racoondbg.model.packets.Capture`.

The pipeline streams: capture records -> link layer/IP/reassembly (:mod:`pcap_links`) -> UDP 500/
4500 (NAT-T non-ESP marker, keepalives, ESP-in-UDP) -> ISAKMP header and payload chain
(:mod:`isakmp_payloads`) -> exchanges (:mod:`isakmp_exchanges`). :func:`load` keeps one compact
record per message (for the rules); messages saying the same thing share one
:class:`~racoondbg.model.packets.Wire`, and decoded payload chains are shared likewise.
:func:`stream` (``racoondbg parse pcap``) writes the JSON while decoding and keeps only the
exchanges in flight, so its memory does not grow with the capture. With ``--ike-keys`` both decrypt
while decoding (:class:`~racoondbg.parsers.isakmp_decrypt.Decryptor`).
"""

from __future__ import annotations

import gc
import json
import logging
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

from racoondbg.inputs import InputKind, LoadOptions
from racoondbg.jsonable import jsonable
from racoondbg.model.base import Location, ParseError
from racoondbg.model.packets import (
    Capture,
    EspFlow,
    Exchange,
    IcmpError,
    IsakmpMessage,
    LostFragments,
    Payload,
    Wire,
)
from racoondbg.sources import Source, open_binary

from .ikev1_keys import IkeKeys, load_keys
from .isakmp_decrypt import Decryptor, decrypted_wire
from .isakmp_exchanges import ExchangeBuilder
from .isakmp_payloads import HEADER, ISAKMP_HEADER_LEN, decode_chain, exchange_name, looks_like_isakmp, names_in
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
#: Distinct cookies kept for sharing their hex strings (past this, sharing starts over).
MAX_COOKIES = 8192
#: ``racoondbg parse pcap`` writes message lines in batches of this many.
WRITE_LINES = 256

NON_ESP_MARKER = b"\x00\x00\x00\x00"
NON_IKE_MARKER = b"\x00" * 8


def sniff(source: Source, head: bytes) -> int:
    return 95 if capture_flavour(head) else 0


_Decoded = tuple[tuple[Payload, ...], list[str], tuple[str, ...], tuple[str, ...]]
_NOTHING: _Decoded = ((), [], (), ())
"""What an encrypted (or IKEv2) message decodes to here."""
#: src, dst, sport, dport, natt, next payload, version, exchange type, flags, length, truncated, IP
#: fragmented, and the identity of the decoded payload chain.
_WireKey = tuple[str, str, int, int, bool, int, int, int, int, int, bool, bool, int]


def _decoded(np: int, body: bytes) -> _Decoded:
    """The payload chain, its problems, and the notify and vendor-ID names it carries."""
    payloads, problems = decode_chain(np, body)
    return payloads, problems, *names_in(payloads)


class _Builder:
    """State of one decoding pass."""

    def __init__(self, source: Source, sink: _StreamWriter | None = None, keys: IkeKeys | None = None) -> None:
        self.name = source.name
        self.capture = Capture(Location(source.name))
        self.sink = sink
        """When set, messages go to it as they are decoded and are not kept (``racoondbg parse``)."""
        self.exchanges = (ExchangeBuilder(table=self.capture.messages) if sink is None
                          else ExchangeBuilder(closed=sink.closed))
        self.esp: dict[tuple[str, str, int, bool], list[int]] = {}
        self.cache: dict[tuple[int, bytes], _Decoded] = {}
        self.names: dict[tuple[int, int], tuple[str, str]] = {}
        self.suppressed = 0
        self.wires: dict[_WireKey, Wire] = {}
        self.cookies: dict[bytes, str] = {}
        """Cookie hex strings by cookie: the exchanges (and messages) of one ISAKMP SA share one string."""
        self.decryptor = None if keys is None else Decryptor(keys, self._decrypted if sink is None else sink.decrypted)
        """Decrypts messages as they come (``--ike-keys``)."""
        if sink is not None and self.decryptor is not None:
            sink.holds = self.decryptor.holds

    def problem(self, frame: int, message: str, hint: str | None = None) -> None:
        if len(self.capture.errors) < MAX_ERRORS:
            self.capture.errors.append(ParseError(Location(self.name, frame=frame), message, hint))
        else:
            self.suppressed += 1

    def datagram(self, frame: int, time: float, src: str, dst: str, sport: int, dport: int, payload: bytes,
                 truncated: bool, fragmented: bool) -> None:
        """One UDP datagram (the fields of a :class:`Datagram`, passed one by one: no object per packet)."""
        natt = False
        if sport == 4500 or dport == 4500:
            if len(payload) == 1 and payload[0] == 0xFF:
                key = f"{src} -> {dst}"
                self.capture.keepalives[key] = self.capture.keepalives.get(key, 0) + 1
                return
            if payload.startswith(NON_ESP_MARKER):
                payload, natt = payload[4:], True
            elif len(payload) >= 8:
                self._esp(frame, src, dst, int.from_bytes(payload[:4], "big"), True)
                return
        elif sport != 500 and dport != 500:
            if not looks_like_isakmp(payload):
                return
        elif payload.startswith(NON_IKE_MARKER) and len(payload) > 8:  # NAT-T draft "non-IKE marker": ESP on 500
            self._esp(frame, src, dst, int.from_bytes(payload[8:12], "big"), True)
            return
        self.message(frame, time, src, dst, sport, dport, payload, natt, truncated, fragmented)

    def _esp(self, frame: int, src: str, dst: str, spi: int, udp: bool) -> None:
        entry = self.esp.get((src, dst, spi, udp))
        if entry is None:
            self.esp[(src, dst, spi, udp)] = [frame, 1]
        else:
            entry[1] += 1

    def message(self, frame: int, time: float, src: str, dst: str, sport: int, dport: int, buf: bytes, natt: bool,
                cut: bool, fragmented: bool) -> None:
        """One ISAKMP message (``cut``: the capture's snap length cut the datagram short)."""
        size = len(buf)
        if size < ISAKMP_HEADER_LEN:
            if cut:
                self.problem(frame, "ISAKMP message cut short by the capture's snap length",
                             "capture with -s 0 to keep whole packets")
            else:
                self.problem(frame, f"{size} bytes on UDP {dport} are not an ISAKMP message")
            return
        icookie, rcookie, np, ver, exch, flags, msgid, length = HEADER.unpack_from(buf)
        major = ver >> 4
        if major not in (1, 2) or length < ISAKMP_HEADER_LEN or (length > size and not cut):
            self.problem(frame, f"{size} bytes on UDP {dport} are not a valid ISAKMP message "
                                f"(version {major}.{ver & 15}, length field {length})")
            return
        truncated = cut or size < length
        encrypted = bool(flags & 1) and major == 1
        decoded = _NOTHING
        if major == 1 and not encrypted:
            decoded = self._decode(np, buf[ISAKMP_HEADER_LEN:length])
            for text in decoded[1] if not truncated else ():
                self.problem(frame, text)
        if truncated:
            self.problem(frame, "ISAKMP message cut short by the capture's snap length",
                         "capture with -s 0 to keep whole packets")
            self.capture.truncated_frames += 1
        key = (src, dst, sport, dport, natt, np, ver, exch, flags, length, truncated, fragmented, id(decoded[0]))
        wire = self.wires.get(key)
        if wire is None:
            wire = self._wire(key, encrypted, decoded)
        cookies = self.cookies
        msg = IsakmpMessage(wire, frame, time, cookies.get(icookie) or self._cookie(icookie),
                            cookies.get(rcookie) or self._cookie(rcookie), msgid)
        decryptor = self.decryptor
        exchange = self.exchanges.add(msg, hash(buf if length == size else buf[:length]))
        if decryptor is not None:
            decryptor.message(msg, buf)
        if self.sink is not None:
            self.sink.message(msg, exchange)

    def _decrypted(self, msg: IsakmpMessage, payloads: tuple[Payload, ...]) -> None:
        """``msg`` decrypts to ``payloads``: give it its decrypted wire, in the table too (a row the table
        has not written yet takes the message's wire when it is written)."""
        msg.wire = decrypted_wire(msg.wire, payloads)
        table = self.capture.messages
        if msg.row is not None and msg.row < len(table):
            table.rewire(msg)

    def _wire(self, key: _WireKey, encrypted: bool, decoded: _Decoded) -> Wire:
        """The shared :class:`Wire` of every message with this ``key`` (made on first sight; ``key`` holds
        the identity of the decoded payload chain, which the wire keeps alive while it is cached)."""
        src, dst, sport, dport, natt, np, ver, exch, flags, length, truncated, fragmented, _chain = key
        payloads, _problems, notify, vids = decoded
        names = self.names.get((ver, exch))
        if names is None:
            names = self.names[(ver, exch)] = (f"{ver >> 4}.{ver & 15}", exchange_name(ver, exch))
        if len(self.wires) >= CACHE_ENTRIES:
            self.wires.clear()
        wire = self.wires[key] = Wire(self.name, src, dst, sport, dport, natt, np, names[0], exch, names[1], flags,
                                      length, encrypted, payloads, notify, vids, truncated, fragmented)
        return wire

    def _cookie(self, raw: bytes) -> str:
        """The hex of a cookie, one string per cookie (exchanges of one ISAKMP SA share them)."""
        if len(self.cookies) >= MAX_COOKIES:
            self.cookies.clear()
        text = self.cookies[raw] = raw.hex()
        return text

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
        self.exchanges.finish()
        cap.ike_fragments = self.exchanges.fragment_sets
        cap.esp = [EspFlow(src, dst, f"{spi:08x}", udp, first, count)
                   for (src, dst, spi, udp), (first, count) in self.esp.items()]
        if self.suppressed:
            cap.errors.append(ParseError(Location(self.name), f"{self.suppressed} more problems not listed"))
        return cap


def decode(source: Source, fh: Any, sink: _StreamWriter | None = None, keys: IkeKeys | None = None) -> Capture:
    """Decode an open capture file (streaming its messages and exchanges to ``sink`` when given;
    decrypting with ``keys`` when given)."""
    builder = _Builder(source, sink, keys)
    links: list[int] = []
    records = read_records(fh, builder.problem, links)
    decoder = Decoder(builder.problem, source.name)
    cap = builder.capture
    fast, on_datagram = decoder.fast_udp4, builder.datagram
    rec = None
    for rec in records:
        quick = fast(rec)
        if quick is not None:
            on_datagram(*quick)
        else:
            _dispatch(builder, decoder.slow(rec))
    cap.frames = rec.frame if rec is not None else 0
    _dispatch(builder, decoder.finish())
    cap.link_types = sorted({LINK_NAMES.get(link, f"link type {link}") for link in links})
    unknown = [link for link in links if link not in LINK_NAMES]
    if unknown:
        builder.problem(0, f"link type {unknown[0]} is not decoded; its packets were skipped")
    cap = builder.finish()
    if builder.decryptor is not None:
        cap.errors.extend(builder.decryptor.finish())
    return cap


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
    keep = builder.sink is None  # the streamed JSON has no ICMP errors or lost fragments
    for item in items:
        if isinstance(item, Datagram):
            builder.datagram(item.frame, item.time, item.src, item.dst, item.sport, item.dport, item.payload,
                             item.truncated, item.fragmented)
        elif isinstance(item, IcmpError):
            if keep:
                cap.icmp_errors.append(item)
        elif isinstance(item, EspPacket):
            builder._esp(item.frame, item.src, item.dst, item.spi, False)
        elif isinstance(item, LostFragments) and keep:
            cap.lost_fragments.append(item)


def load(source: Source, options: LoadOptions) -> Capture:
    return _decode_file(source, None, options.ike_keys)


def stream(source: Source, options: LoadOptions, out: IO[str]) -> Capture:
    """``racoondbg parse pcap``: write the JSON of :func:`to_json` while decoding (and decrypting, with
    ``--ike-keys``), keeping neither the messages nor the finished exchanges (memory stays flat however
    big the capture).

    Returns the capture without what the JSON does not show and would grow with the capture
    (messages, exchanges, ICMP errors, lost fragments, IKE fragment sets): its errors, counters,
    ESP flows and NAT keepalives.
    """
    with (without_cyclic_gc(), tempfile.TemporaryFile("w+", encoding="utf-8") as spool,
          tempfile.TemporaryFile("w+", encoding="utf-8") as frames):
        sink = _StreamWriter(out, spool, frames)
        try:
            cap = _decode_file(source, sink, options.ike_keys)
        finally:
            if sink.started:  # a capture damaged halfway still gives whole JSON of what came before
                sink.finish()
    return cap


def _decode_file(source: Source, sink: _StreamWriter | None, ike_keys: tuple[str, ...] = ()) -> Capture:
    with open_binary(source.path) as fh:
        head = fh.read(64)
        flavour = capture_flavour(head)
        if flavour is None:
            raise ParseError(Location(source.name), "not a pcap or pcapng capture",
                             "save captures with tcpdump -w or Wireshark (pcap or pcapng)")
    keys = load_keys(ike_keys) if ike_keys else None
    try:
        with open_binary(source.path) as fh, without_cyclic_gc():
            if sink is not None:
                sink.start()
            cap = decode(source, fh, sink, keys=keys)
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


class _WireJson:
    """The JSON of each distinct :class:`Wire` (addresses, ports, types, payloads, notify and vendor-ID
    names), rendered once, as the three pieces a message line puts around the message's own fields.

    Keyed by the wire's identity; each entry holds the wire itself so the identity cannot be reused
    by another object while it is cached. Bounded, for streaming.
    """

    def __init__(self) -> None:
        self.rendered: dict[int, tuple[Wire, tuple[str, str, str]]] = {}
        self.encode = json.JSONEncoder(ensure_ascii=False).encode

    def render(self, w: Wire) -> tuple[str, str, str]:
        hit = self.rendered.get(id(w))
        if hit is not None and hit[0] is w:
            return hit[1]
        if len(self.rendered) >= CACHE_ENTRIES:
            self.rendered.clear()
        encode = self.encode
        parts = (f'"src": "{w.src}", "dst": "{w.dst}", "sport": {w.sport}, "dport": {w.dport}, '
                 f'"natt": {_BOOL[w.natt]}, "icookie": "',
                 f'", "exchange_type": {w.exchange_type}, "flags": {w.flags}, "message_id": ',
                 f', "encrypted": {_BOOL[w.encrypted]}, "payloads": {encode(jsonable(w.payloads))}, '
                 f'"notify": {encode(w.notify) if w.notify else "[]"}, '
                 f'"vendor_ids": {encode(w.vendor_ids) if w.vendor_ids else "[]"}, "retransmit_of": ')
        self.rendered[id(w)] = (w, parts)
        return parts


def _message_line(m: IsakmpMessage, parts: tuple[str, str, str]) -> str:
    """One message as :func:`message_json` renders it, formatted directly.

    Addresses, hex cookies, step and exchange names are plain ASCII without quotes or backslashes;
    ``parts`` is what its wire renders to (see :class:`_WireJson`).
    """
    rtx = m.retransmit_of
    return (f'{{"frame": {m.frame}, "time": {m.time!r}, {parts[0]}{m.icookie}", "rcookie": "{m.rcookie}", '
            f'"exchange": "{m.step or m.wire.exchange}{parts[1]}{m.message_id}{parts[2]}'
            f'{"null" if rtx is None else rtx}}}')


def _exchange_json(x: Exchange) -> str:
    """The same keys and values as :meth:`Exchange.to_json`, formatted directly (all plain ASCII)."""
    msgs, steps, complete = x.messages, x.steps, x.complete
    stalled = "null" if complete or not steps else f'"{steps[-1]}"'
    frames = ", ".join([str(m.frame) for m in msgs])
    retransmits = sum([m.retransmit_of is not None for m in msgs])
    steps_json = '"' + '", "'.join(steps) + '"' if steps else ""
    return (f'{{"icookie": "{x.icookie}", "rcookie": "{x.rcookie}", "message_id": {x.message_id}, '
            f'"exchange_type": {x.exchange_type}, "exchange": "{x.exchange}", "initiator": "{x.initiator}", '
            f'"responder": "{x.responder}", "frames": [{frames}], "steps": [{steps_json}], '
            f'"retransmits": {retransmits}, "complete": {_BOOL[complete]}, '
            f'"stalled_at": {stalled}, "start": {msgs[0].time!r}, "end": {msgs[-1].time!r}}}')


class _StreamWriter:
    """The JSON of :func:`to_json`, written while decoding.

    Message lines go to ``out`` in batches. An exchange is written when it is closed (idle, or the
    capture ended), to ``spool``, which is copied after the messages; exchanges closed before an
    older one wait for it, so they keep the order they began in. When decrypting, a message whose
    ISAKMP SA still chooses its key waits (``holds``), and every later one with it; a decrypted
    message's line shows the wire it decrypts to (the message keeps its encrypted one, shared by
    many, while its exchange is in flight); the frames of decrypted messages go to ``frames``,
    copied last.
    """

    def __init__(self, out: IO[str], spool: IO[str], frames: IO[str]) -> None:
        self.out, self.spool, self.frames = out, spool, frames
        self.holds: Callable[[IsakmpMessage], bool] | None = None
        """Whether a message may still be decrypted (set when decrypting)."""
        self.held: deque[IsakmpMessage] = deque()
        self.plain: dict[int, Wire] = {}
        """The decrypted wire of each message whose line is not written yet, by the message's identity."""
        self.decrypted_frames = _Batch(frames, "", ", ")
        self.wires = _WireJson()
        self.order: deque[Exchange] = deque()
        self.done: set[int] = set()
        """Identities of exchanges in ``order`` that are closed but wait for an older one."""
        self.lines = _Batch(out)
        """Message lines, written in batches (stdout may be unbuffered)."""
        self.spooled = _Batch(spool)
        self.started = False

    def start(self) -> None:
        self.started = True
        self.out.write('{\n  "messages": [')

    def message(self, m: IsakmpMessage, x: Exchange) -> None:
        if len(x.held) == 1:  # ``m`` begins ``x``
            self.order.append(x)
        holds = self.holds
        if holds is None:  # not decrypting: the line as it is
            self.lines.add(_message_line(m, self.wires.render(m.wire)))
            return
        held = self.held
        held.append(m)
        while held and not holds(held[0]):
            self._line(held.popleft())

    def decrypted(self, m: IsakmpMessage, payloads: tuple[Payload, ...]) -> None:
        """``m`` (given, or about to be given, to :meth:`message`) decrypts to ``payloads``."""
        self.plain[id(m)] = decrypted_wire(m.wire, payloads)

    def _line(self, m: IsakmpMessage) -> None:
        wire = self.plain.pop(id(m), m.wire)
        self.lines.add(_message_line(m, self.wires.render(wire)))
        if wire.decrypted:
            self.decrypted_frames.add(str(m.frame))

    def closed(self, x: Exchange) -> None:
        order, done = self.order, self.done
        done.add(id(x))
        while order and id(order[0]) in done:
            first = order.popleft()
            done.discard(id(first))
            self.spooled.add(_exchange_json(first))

    def finish(self) -> None:
        for m in self.held:
            self._line(m)
        self.held.clear()
        for x in self.order:
            self.spooled.add(_exchange_json(x))
        self.order.clear()
        self.lines.flush()
        self.spooled.flush()
        self.out.write('\n  ],\n  "exchanges": [')
        self.spool.seek(0)
        shutil.copyfileobj(self.spool, self.out)
        self.out.write("\n  ]")
        self.decrypted_frames.flush()
        if self.frames.tell():
            self.out.write(',\n  "decrypted_frames": [')
            self.frames.seek(0)
            shutil.copyfileobj(self.frames, self.out)
            self.out.write("]")
        self.out.write("\n}\n")


class _Batch:
    """Items of a JSON list, one per line (or as ``first`` and ``sep`` say), written to ``out`` a batch at a
    time."""

    def __init__(self, out: IO[str], first: str = "\n    ", sep: str = ",\n    ") -> None:
        self.out = out
        self.items: list[str] = []
        self.first, self.sep = first, sep

    def add(self, item: str) -> None:
        items = self.items
        items.append(item)
        if len(items) >= WRITE_LINES:
            self.flush()

    def flush(self) -> None:
        if self.items:
            self.out.write(self.first + self.sep.join(self.items))
            self.first = self.sep
            self.items.clear()


_BOOL = {True: "true", False: "false"}


def to_json(cap: Capture) -> dict[str, Any]:
    """A loaded capture as ``racoondbg parse pcap`` prints it (which streams it instead: see
    :func:`stream`); the whole capture at once, for tests and small captures."""
    data: dict[str, Any] = {"messages": [message_json(m) for m in cap.messages],
                            "exchanges": [x.to_json() for x in cap.exchanges]}
    decrypted = [m.frame for m in cap.messages if m.decrypted]
    if decrypted:
        data["decrypted_frames"] = decrypted
    return data


INPUT_KINDS = [
    InputKind(
        name="pcap",
        part="pcap",
        description="ISAKMP capture (pcap or pcapng, any byte order, µs or ns)",
        sniff=sniff,
        load=load,
        to_json=to_json,
        stream=stream,
        aliases=("pcapng", "capture"),
    )
]
