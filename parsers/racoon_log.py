"""racoon logs of every output path and version → typed events, negotiations and per-peer status.

Streaming: the file is read in big chunks (plain, gzip, bzip2 or stdin), records are found by
:mod:`log_lines`, recognised by :mod:`log_messages` (patterns built from racoon-messages.tsv) and
grouped by :mod:`log_negotiations`. Only events and negotiations stay in memory; hexdump content
never does.
"""

from __future__ import annotations

import gc
import os
import re
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

from racoondbg.inputs import InputKind, LoadOptions
from racoondbg.jsonable import jsonable
from racoondbg.model.base import Location, ParseError, redact_secrets
from racoondbg.model.log import Event, Kind, LogAnalysis, LogRecord
from racoondbg.sources import Source, compression, open_binary, read_head

from .log_fastpath import FAST_TEXTS, PRINTED, ChunkResult, scan_counted
from .log_lines import (
    FORMATS_BY_NAME,
    Clock,
    LineFormat,
    RawRecord,
    attach,
    detect,
    level_of,
    parse_stamp,
    scan,
    unglue,
)
from .log_messages import EventSpec, Template, event_index, matcher
from .log_negotiations import Tracker, host_of

#: Events kept in memory; past this, only failures are kept (the rest is counted).
MAX_EVENTS = 200_000
#: The same for big logs read by the counted fast path.
MAX_EVENTS_BIG = 50_000
_MAX_SAMPLES = 20
_VERSION = re.compile(r"^(?:@\(#\))?ipsec-tools (\S+) \(")
#: Files at least this big (on disk) take the counted fast path: per-packet DEBUG lines are then only
#: counted, not turned into events (so "slow step" and "big packet" details need a smaller excerpt).
FAST_PATH_BYTES = 32 * 1024 * 1024
_MAX_CACHE = 20_000


_YYERROR = re.compile(r'^\S+:\d+: (?:"[^"]*" )?\S')
_SA = re.compile(r"^(?P<proto>[A-Z]+)(?:/(?P<mode>[\w-]+))? (?P<src>\S+)->(?P<dst>\S+?)"
                 r"(?: spi=(?P<spi>\d+)\((?P<hex>0x[0-9a-f]+)\))?\s*$")
_FROMTO = re.compile(r"from (?P<src>\S+) to (?P<dst>\S+)")
_ANDROID_ERRORS = re.compile(r"racoon is dead|KeyStore isn't unlocked|KeyStore exception|does not support SHA\d+|"
                             r"Cannot (?:resolve address|set outbound policy)|Not supported")
_NATT_PAYLOADS = {"130", "131", "15", "16", "20", "21"}
#: An event as read (kind, line, end line, time, message, level, peer, data), before it is kept.
_EventItem = tuple[Kind, int, int, datetime | None, str, str | None, str | None, dict[str, str]]
#: ``YYYY-MM-DD HH:MM:SS: ``, the start of every line of a ``file`` log.
_STAMP_LENGTH = 21


@dataclass(frozen=True, slots=True)
class _Repeat:
    """What reading one record did, to do again for a record with the same text (only the time
    and the line number differ): counters, flavour hints, and its events without line and time."""

    hexdumps: int
    recognised: int
    hints: tuple[tuple[str, int], ...]
    items: tuple[tuple[Kind, int, int, str, str | None, str | None, dict[str, str]], ...]


#: A text whose record cannot be replayed (it set a version, left a sample, or was glued).
_ONCE = _Repeat(0, 0, (), ())


def sniff(source: Source, head: bytes) -> int:
    fmt, count = detect(head)
    if fmt is None or count == 0:
        return 0
    if fmt.name == "bare":
        return 45 if count >= 2 else 0
    return 90 if count >= 3 else 70


def iter_records(source: Source, options: LoadOptions | None = None) -> Iterator[LogRecord]:
    """Every racoon record of a log, in order (for tests and tools; :func:`load` does not keep them)."""
    analyser = _Analyser(source, options or LoadOptions(), every=True)
    yield from analyser.records()


def load(source: Source, options: LoadOptions) -> LogAnalysis:
    analyser = _Analyser(source, options)
    with _collector_paused():
        for _ in analyser.records():
            pass
        return analyser.finish()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while events pile up: the objects a log makes hold no cycles,
    and the collector's passes over a growing event list cost a fifth of the parse."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _Analyser:
    def __init__(self, source: Source, options: LoadOptions, *, every: bool = False) -> None:
        self.source = source
        self.every = every
        self.matches: dict[str, tuple[Template, tuple[str, ...]] | None] = {}
        #: Record texts (after the time stamp) already read by the fast path, and what they did.
        self.repeats: dict[bytes, _Repeat] = {}
        self.stamps: dict[bytes, datetime | None] = {}
        self.options = options
        self.analysis = LogAnalysis(Location(source.name))
        fmt, _ = detect(read_head(source.path))
        if fmt is None:
            raise ParseError(Location(source.name, 1), "no racoon log lines found",
                             "give a racoon log: racoon -l file, racoon -F output, syslog, journalctl or logcat")
        self.fmt: LineFormat = fmt
        self.analysis.line_format = fmt.name
        self.clock = Clock(options.year or _year_of(source))
        self.fast = (fmt.name in FAST_TEXTS and not (options.since or options.until) and not every
                     and _size(source) >= FAST_PATH_BYTES)
        self.max_events = MAX_EVENTS_BIG if self.fast else MAX_EVENTS
        self.tracker = Tracker(self.analysis, compact=self.fast)
        self.matcher = matcher()
        self.events_by_template = event_index()
        self.recent: deque[tuple[str | None, str, bool]] = deque(maxlen=16)
        self.seen: dict[str, int] = {}
        self.definite_time = fmt.has_year or options.year is not None
        self.windowed = bool(options.since or options.until)
        self._unwrapped: str | None = None
        self._lines = 0
        #: Where events go instead of being kept, while a chunk is read for the fast path.
        self._sink: list[_EventItem] | None = None

    # -- streaming -------------------------------------------------------------------------
    def records(self) -> Iterator[LogRecord]:
        """The records that matter, in order (none with the counted fast path: it only keeps events)."""
        with open_binary(self.source.path) as stream:
            if self.fast:
                self._counted(stream)
            else:
                for raw in scan(stream, self.fmt):
                    record = self._record(raw)
                    if record is not None:
                        yield record
        self.analysis.lines = self._lines

    def _counted(self, stream: BinaryIO) -> None:
        """The counted fast path: the workers read the wanted records up to their events
        (:meth:`_read_chunk`); here the chunks' tallies and events are taken in file order."""
        a = self.analysis
        compressed = compression(self.source.path) is not None
        for chunk in scan_counted(stream, self.source.path, self.fmt, compressed=compressed,
                                  reader=self._read_chunk):
            a.records += chunk.records
            a.hexdump_records += chunk.hexdump_records
            a.recognised += chunk.recognised
            self._lines += chunk.lines
            part, seen, events = chunk.read
            offset = chunk.offset
            self._merge(part, seen, offset)
            for kind, line, end_line, time, message, level, peer, data in events:
                self._keep(kind, line + offset, end_line + offset, time, message, level, peer, data)

    def _read_chunk(self, chunk: ChunkResult) -> None:
        """A chunk's wanted records, read as :meth:`_record` reads any record, but with fresh counters
        and the events set aside: ``chunk.read`` = (counters, flavour hints, events)."""
        saved = self.analysis, self.seen, self._sink, self._lines
        part = self.analysis = LogAnalysis(self.analysis.location)
        seen = self.seen = {}
        events = self._sink = []
        try:
            for line, block in chunk.wanted:
                self._read_block(line, block)
        finally:
            self.analysis, self.seen, self._sink, self._lines = saved
        chunk.wanted = []
        chunk.read = (part, seen, events)

    def _read_block(self, line: int, block: bytes) -> None:
        """One wanted block; a one-line record of a ``file`` log whose text was read before is replayed."""
        if self.fmt.name == "file" and block.find(b"\n") == len(block) - 1:
            key = block[_STAMP_LENGTH:]
            repeat = self.repeats.get(key)
            if repeat is None:
                if len(self.repeats) > _MAX_CACHE:
                    self.repeats.clear()
                self.repeats[key] = self._first(line, block)
                return
            if repeat is not _ONCE:
                self._replay(repeat, line, block[: _STAMP_LENGTH - 2])
                return
        for raw in self._raws(line, block):
            self._record(raw)

    def _first(self, line: int, block: bytes) -> _Repeat:
        """Read a one-line record of a ``file`` log and return what it did, if it can be replayed
        for the same text at another time (:meth:`_replay`); ``_ONCE`` if it cannot."""
        a, seen, sink = self.analysis, self.seen, self._sink
        assert sink is not None
        before = (a.records, a.hexdump_records, a.recognised, len(a.unrecognised_samples),
                  a.racoon_version, a.openssl_version, dict(seen), len(sink))
        raws = self._raws(line, block)
        for raw in raws:
            self._record(raw)
        records, hexdumps, recognised, samples, racoon, openssl, was_seen, emitted = before
        if (len(raws) != 1 or a.records != records + 1 or len(a.unrecognised_samples) != samples
                or (a.racoon_version, a.openssl_version) != (racoon, openssl)
                or raws[0].message.startswith(b"IPSec Phase")):  # flavour hints that are set, not counted
            return _ONCE
        items = tuple(item[:3] + item[4:] for item in sink[emitted:])
        if any(item[1:3] != (line, line) for item in items):
            return _ONCE
        hints = tuple((key, count - was_seen.get(key, 0)) for key, count in seen.items() if count != was_seen.get(key))
        return _Repeat(a.hexdump_records - hexdumps, a.recognised - recognised, hints, items)

    def _replay(self, repeat: _Repeat, line: int, stamp: bytes) -> None:
        """What :meth:`_record` does for a record read before with the same text (:meth:`_first`)."""
        a, seen, sink = self.analysis, self.seen, self._sink
        assert sink is not None
        a.records += 1
        a.hexdump_records += repeat.hexdumps
        a.recognised += repeat.recognised
        time = self.stamps.get(stamp)
        if time is None and stamp not in self.stamps:
            if len(self.stamps) > _MAX_CACHE:
                self.stamps.clear()
            time = self.stamps[stamp] = parse_stamp(stamp)
        if time is not None:
            if a.first_time is None:
                a.first_time = time
            a.last_time = time
        for key, count in repeat.hints:
            seen[key] = seen.get(key, 0) + count
        for kind, _, _, message, level, peer, data in repeat.items:
            sink.append((kind, line, line, time, message, level, peer, dict(data)))

    def _raws(self, line: int, block: bytes) -> list[RawRecord]:
        """The record of a wanted block (its line, continuation lines), and any glued onto it."""
        fmt = self.fmt
        m = fmt.regex.match(block)
        if m is None:
            return []
        raw = RawRecord(line, line, fmt, m, m.group("msg"))
        end = m.end() + 1
        if end < len(block):
            attach(raw, block[end:], line + 1)
        return [raw, *unglue(raw)] if fmt.glue else [raw]

    def _merge(self, part: LogAnalysis, seen: dict[str, int], offset: int) -> None:
        """Add the counters of a chunk read elsewhere (:meth:`_read_chunk`), as if read here
        (``offset``: the chunk's first line number less one)."""
        a = self.analysis
        a.records += part.records
        a.hexdump_records += part.hexdump_records
        a.recognised += part.recognised
        if a.first_time is None:
            a.first_time = part.first_time
        if part.last_time is not None:
            a.last_time = part.last_time
        a.racoon_version = a.racoon_version or part.racoon_version
        a.openssl_version = a.openssl_version or part.openssl_version
        for sample in part.unrecognised_samples[: _MAX_SAMPLES - len(a.unrecognised_samples)]:
            line, _, text = sample.partition(": ")  # as _unknown wrote it, with the chunk's line number
            a.unrecognised_samples.append(f"{int(line) + offset}: {text}")
        for key, count in seen.items():
            self.seen[key] = self.seen.get(key, 0) + count

    def _record(self, raw: RawRecord) -> LogRecord | None:
        m = raw.match
        if raw.end_line > self._lines:
            self._lines = raw.end_line
        fmt = raw.fmt
        groups = fmt.fields
        if "ltag" in groups and m.group("ltag") != b"racoon":
            self._android_framework(raw)
            return None
        message = raw.message.decode("utf-8", "surrogateescape").rstrip("\r")
        self._unwrapped = None
        if raw.wrapped:
            tail = raw.wrapped.decode("utf-8", "surrogateescape")
            if tail.startswith(" "):  # a paste may also have broken a word: keep the other reading too
                self._unwrapped = message + tail[1:]
            message += tail
        its, addr, pid2, loc, level = m.group("its", "addr", "pid2", "loc", "level")
        time = self._time(raw, its)
        host = m.group("host") if "host" in groups else None
        record = LogRecord(
            raw.line, raw.end_line, time, level.decode() if level else level_of(fmt, m), message,
            addr=addr.decode("utf-8", "replace") if addr else None,
            pid=_int(m.group("pid") if "pid" in groups else None) or _int(pid2),
            origin=loc.decode("utf-8", "replace") if loc else None,
            host=host.decode("utf-8", "replace") if host else None,
            hexdump_lines=raw.hexdump_lines,
        )
        if self.fmt.name != "file" and self._duplicate(record, its is not None):
            return None
        if self.windowed and time is not None and self.definite_time and not self._in_window(time):
            return None
        self._count(record, pid2 is not None)
        return record

    def _time(self, raw: RawRecord, its: bytes | None) -> datetime | None:
        if its is not None and raw.fmt.name != "file":
            return parse_stamp(its) or self.clock.time(raw.fmt, raw.match)
        return self.clock.time(raw.fmt, raw.match)

    def _duplicate(self, record: LogRecord, stamped: bool) -> bool:
        """racoon -F under systemd: the same message once from stdout (stamped) and once via syslog."""
        key = (record.addr, record.message)
        for index, (addr, message, was_stamped) in enumerate(self.recent):
            if (addr, message) == key and was_stamped != stamped:
                del self.recent[index]
                return True
        self.recent.append((record.addr, record.message, stamped))
        return False

    def _in_window(self, time: datetime) -> bool:
        since, until = self.options.since, self.options.until
        return not ((since and time < since) or (until and time > until))

    # -- recognition and events ----------------------------------------------------------------
    def _count(self, record: LogRecord, pid2: bool) -> None:
        a = self.analysis
        a.records += 1
        if record.time is not None:
            if a.first_time is None:
                a.first_time = record.time
            a.last_time = record.time
        if not record.message.strip():
            a.hexdump_records += 1
            return
        self._flavour_hints(record, pid2)
        found = self.matches.get(record.message)
        if found is None:
            found = self.matcher.match(record.message)
            if len(self.matches) > _MAX_CACHE:
                self.matches.clear()
            self.matches[record.message] = found
        if found is None and self._unwrapped is not None:
            found = self.matcher.match(self._unwrapped)
            if found is not None:
                record.message = self._unwrapped
        if found is None:
            self._unknown(record)
            return
        a.recognised += 1
        template, values = found
        spec = self.events_by_template.get(template.index)
        if spec is not None:
            self._event(record, spec, values, template.level)

    def _unknown(self, record: LogRecord) -> None:
        a = self.analysis
        version = _VERSION.match(record.message)
        if version is not None:
            a.recognised += 1
            a.racoon_version = a.racoon_version or version.group(1)
            self._emit(Kind.VERSION, record, {"version": version.group(1)})
            return
        if record.message.strip() in PRINTED:
            a.recognised += 1
            return
        if _YYERROR.match(record.message) and record.level in ("ERROR", "WARNING"):
            a.recognised += 1
            if record.level == "ERROR":
                self._emit(Kind.CONFIG_ERROR, record, {"detail": record.message})
            return
        if len(a.unrecognised_samples) < _MAX_SAMPLES:
            a.unrecognised_samples.append(f"{record.line}: {redact_secrets(record.message[:160])}")

    def _event(self, record: LogRecord, spec: EventSpec, values: tuple[str, ...], template_level: str) -> None:
        data = dict(spec.fixed)
        for role, value in zip(spec.roles, values, strict=False):
            if role is not None:
                data[role] = value
        kind = spec.kind
        if kind is Kind.PFKEY_ERROR and data.get("msgtype") == "X_SPDDUMP":
            return  # an empty SPD, logged at DEBUG
        if kind is Kind.DECRYPT_GARBAGE and data.get("payload") in _NATT_PAYLOADS:
            kind = Kind.NATT_UNEXPECTED_PAYLOAD
        if kind is Kind.NAT_DETECTED:
            _nat(record.message, data)
        if kind is Kind.INTERFACE_ADDRESS and "action" in data:  # `Netlink: address %s %s`: split at the last blank
            data["address"], _, data["action"] = f"{data['address']} {data['action']}".strip().rpartition(" ")
        if kind is Kind.CERT_ERROR and (record.level or "") == "WARNING":
            data["tolerated"] = "yes"
        for key in ("sa",):
            if key in data:
                _sa_fields(data[key], data)
        if "fromto" in data:
            ft = _FROMTO.search(data["fromto"])
            if ft:
                data["src"], data["dst"] = ft.group("src"), ft.group("dst")
        if kind is Kind.OPENSSL:
            self.analysis.openssl_version = self.analysis.openssl_version or data.get("version")
        if record.level is None and template_level.startswith("ASL_LEVEL_"):
            record.level = {"ERR": "ERROR", "NOTICE": "NOTIFY"}.get(template_level[10:], template_level[10:])
        self._emit(kind, record, data)

    def _emit(self, kind: Kind, record: LogRecord, data: dict[str, str]) -> None:
        peer = host_of(data.get("peer")) or record.addr
        if kind is Kind.PACKET_SENT:
            peer = host_of(data.get("to"))
        elif kind is Kind.PACKET_RECEIVED:
            peer = host_of(data.get("src"))
        elif kind in (Kind.BIND_FAILED, Kind.LISTEN, Kind.INTERFACE_ADDRESS):
            peer = None
        item = (kind, record.line, record.end_line, record.time, record.message[:300], record.level, peer, data)
        if self._sink is not None:
            self._sink.append(item)
        else:
            self._keep(*item)

    def _keep(self, kind: Kind, line: int, end_line: int, time: datetime | None, message: str, level: str | None,
              peer: str | None, data: dict[str, str]) -> None:
        """Keep an event (within the limits) and give it to the negotiation tracker, in file order."""
        location = Location(self.analysis.location.path, line, end_line=end_line if end_line != line else None)
        event = Event(kind, location, time, message, level, peer, data)
        a = self.analysis
        if len(a.events) < self.max_events or (event.failure and len(a.events) < 4 * self.max_events):
            a.events.append(event)
        else:
            a.events_dropped += 1
        self.tracker.add(event)

    def _android_framework(self, raw: RawRecord) -> None:
        message = raw.message.decode("utf-8", "replace")
        if _ANDROID_ERRORS.search(message):
            record = LogRecord(raw.line, raw.end_line, self.clock.time(raw.fmt, raw.match),
                               level_of(raw.fmt, raw.match), message)
            self._emit(Kind.ANDROID_VPN_ERROR, record, {"tag": raw.match.group("ltag").decode("utf-8", "replace")})

    def _flavour_hints(self, record: LogRecord, pid2: bool) -> None:
        seen = self.seen
        if record.addr:
            seen["addr"] = seen.get("addr", 0) + 1
        if pid2:
            seen["pid2"] = seen.get("pid2", 0) + 1
        if record.origin:
            seen["origin"] = seen.get("origin", 0) + 1
        if record.level is None:
            seen["nolevel"] = seen.get("nolevel", 0) + 1
        if record.message.startswith("IPSec Phase"):
            seen["apple-new" if "Phase 1" in record.message or "Phase 2" in record.message else "apple-tracer"] = 1

    # -- the end ---------------------------------------------------------------------------
    def finish(self) -> LogAnalysis:
        a = self.analysis
        if self.clock.rollovers and self.options.year is None:
            _shift_years(a, -self.clock.rollovers)
        if not self.definite_time and (self.options.since or self.options.until):
            a.events = [e for e in a.events if e.time is None or self._in_window(e.time)]
            a.negotiations = [n for n in a.negotiations if n.started is None or self._in_window(n.started)]
        self.tracker.finish()
        a.flavour = self._flavour()
        if a.records == 0:
            a.errors.append(ParseError(Location(self.source.name, 1), "no racoon records found"))
        return a

    def _flavour(self) -> str | None:
        a, seen = self.analysis, self.seen
        if self.fmt.name in ("logcat", "threadtime"):
            return "android"
        version = a.racoon_version or ""
        if version.startswith("0.9"):
            return "0.9"
        for prefix in ("0.8", "0.7", "0.6", "0.5"):
            if version.startswith(prefix):
                return prefix
        if seen.get("addr"):
            return "0.8"
        if seen.get("apple-new") or self.fmt.name == "unified":
            return "apple"
        if seen.get("pid2") or seen.get("apple-tracer"):
            return "apple-old"
        counted = a.records - a.hexdump_records
        if counted and seen.get("origin", 0) >= counted * 0.8:
            return "kame"
        if counted and seen.get("nolevel", 0) >= counted * 0.8:
            return "apple"
        return None


def _shift_years(a: LogAnalysis, years: int) -> None:
    def shift(t: datetime | None) -> datetime | None:
        if t is None:
            return None
        try:
            return t.replace(year=t.year + years)
        except ValueError:  # 29 February
            return t.replace(year=t.year + years, day=28)

    for e in a.events:
        e.time = shift(e.time)
    for n in a.negotiations:
        n.started, n.ended = shift(n.started), shift(n.ended)
    a.first_time, a.last_time = shift(a.first_time), shift(a.last_time)


def _size(source: Source) -> int:
    try:
        return os.stat(source.path).st_size
    except OSError:
        return 0


def _year_of(source: Source) -> int:
    try:
        return datetime.fromtimestamp(os.stat(source.path).st_mtime).year
    except OSError:
        return datetime.now().year


def _int(value: bytes | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _nat(message: str, data: dict[str, str]) -> None:
    text = message.strip()
    data.pop("me", None)
    data.pop("peer", None)
    if text.startswith("NAT not detected"):
        data["what"] = "not detected"
    elif text.startswith("NAT detected:"):
        data["what"] = "detected"
        data["behind_nat"] = " ".join(w for w in text.split()[2:] if w in ("ME", "PEER")) or "?"


def _sa_fields(text: str, data: dict[str, str]) -> None:
    m = _SA.match(text.strip())
    if m is None:
        return
    data["proto"] = m.group("proto")
    if m.group("mode"):
        data["mode"] = m.group("mode")
    data["src"], data["dst"] = m.group("src"), m.group("dst")
    if m.group("spi"):
        data["spi"] = m.group("hex")


def to_json(analysis: LogAnalysis) -> Any:
    data = jsonable(analysis)
    data["recognition"] = round(analysis.recognition, 4)
    data["peer_status"] = {peer: status.line() for peer, status in analysis.peers.items()}
    return data


INPUT_KINDS = [
    InputKind(
        name="log",
        part="log",
        description="racoon log: -l file, -F output, syslog/rsyslog/journalctl, macOS, Android logcat, pfSense",
        sniff=sniff,
        load=load,
        to_json=to_json,
        aliases=("racoon-log",),
    )
]

__all__ = ["FORMATS_BY_NAME", "INPUT_KINDS", "iter_records", "load", "sniff"]
