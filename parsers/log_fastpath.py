"""The counted fast path for big racoon -d files: count every record, read only the ones that matter.

A -ddd log is mostly hexdumps and DEBUG chatter. Each chunk's record texts are pulled out by one
regex pass and judged once per distinct text (cached): hexdump opener, known boring message, or
*wanted* (an event, unknown text, glued lines); the known ones, the bulk, are counted as the rest. Only the
wanted records — with their line numbers and continuation lines — go on to the full parser, which
reads them where the chunk was scanned (the ``reader``) and hands back their events. Plain files are
cut into ranges scanned by two worker processes; compressed input is scanned in order.
"""

from __future__ import annotations

import contextlib
import enum
import os
import pickle
import re
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

from racoondbg.model.log import Kind
from racoondbg.sources import MAX_LINE

from .log_lines import LineFormat, chunks, find_glue
from .log_messages import event_index, matcher

#: One regex pulls, from a whole chunk, every line's text after the first ": " (``[addr] LEVEL: msg``).
FAST_TEXTS = {"file": re.compile(rb": ([^\n]*)")}
_RECORD_START = {"file": re.compile(rb"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d: ", re.M)}
#: The length of that time stamp: a record's text (what ``FAST_TEXTS`` pulls out) starts this far into its line.
_STAMP = 21
_BODY = re.compile(rb"(?:\[[^\]]*\] )?(?:ERROR|WARNING|NOTIFY|INFO|DEBUG2?):(?: |$)"
                   rb"(?:[\w.+-]+\.[cly]:\d+(?::\w*\(\))?: )?(?P<msg>.*)", re.S)
#: Digits and hex runs (cookies, SPIs, addresses, sizes): texts that differ only there are judged alike.
_SHAPE = re.compile(rb"[0-9a-fA-F]{4,}|\d+")
#: Lines racoon prints with printf/puts, not through plog (so not in racoon-messages.tsv).
PRINTED = frozenset({"Foreground mode."})
#: Per-packet DEBUG events this path only counts: there are millions of them in a big -d log.
COUNTED_ONLY = frozenset({Kind.PACKET_SENT, Kind.PACKET_RECEIVED, Kind.DPD_PROBE})
_MAX_CACHE = 100_000
_CHUNK = 1 << 23
#: Worker processes: one per CPU this process may run on, at least two (the parent's own work, keeping
#: events in order, then runs beside them) and at most four (past that the parent is the bottleneck).
_WORKERS = min(4, max(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 2))


class Verdict(enum.Enum):
    OTHER = "not a record"
    HEXDUMP = "hexdump"
    KNOWN = "known"
    WANTED = "wanted"


@dataclass(slots=True)
class ChunkResult:
    """What one chunk held: counts, and the wanted records as (line number, record text with continuation).

    Line numbers count from 1 at the chunk's start; ``offset`` (set in file order) makes them global.
    A reader given to :func:`scan_counted` turns ``wanted`` into ``read`` (whatever it makes of them)
    in the worker process, so that only its result crosses back.
    """

    records: int = 0
    hexdump_records: int = 0
    recognised: int = 0
    lines: int = 0
    wanted: list[tuple[int, bytes]] = field(default_factory=list)
    offset: int = 0
    read: Any = None


#: Reads one chunk's wanted records (sets ``read``, may clear ``wanted``); runs where the chunk was scanned.
Reader = Callable[[ChunkResult], None]


class Sorter:
    """Judges record texts, once per distinct text (or text shape)."""

    def __init__(self) -> None:
        self.matcher = matcher()
        self.events = event_index()
        self.verdicts: dict[bytes, Verdict] = {}
        #: Verdicts by text shape: kept when the texts' cache is cleared, so a text is judged once per shape.
        self.by_shape: dict[bytes, Verdict] = {}

    def verdict(self, text: bytes) -> Verdict:
        verdict = self.verdicts.get(text)
        if verdict is None:
            shape = _SHAPE.sub(b"0", text)
            verdict = self.by_shape.get(shape)
            if verdict is None:
                verdict = self._judge(text)
                if len(self.by_shape) > _MAX_CACHE:
                    self.by_shape.clear()
                self.by_shape[shape] = verdict
            if len(self.verdicts) > _MAX_CACHE:  # texts with cookies and SPIs are seldom seen twice
                self.verdicts.clear()
            self.verdicts[text] = verdict
        return verdict

    def _judge(self, text: bytes) -> Verdict:
        body = _BODY.match(text)
        if body is None:
            return Verdict.OTHER
        message = body.group("msg")
        if not message.strip():
            return Verdict.HEXDUMP
        if find_glue(message):
            return Verdict.WANTED
        decoded = message.decode("utf-8", "surrogateescape").rstrip()
        found = self.matcher.match(decoded)
        if found is None:
            return Verdict.KNOWN if decoded in PRINTED else Verdict.WANTED
        spec = self.events.get(found[0].index)
        return Verdict.WANTED if spec is not None and spec.kind not in COUNTED_ONLY else Verdict.KNOWN

    def scan(self, buf: bytes, fmt: LineFormat) -> ChunkResult:
        """Count one chunk (it ends with a line end) and cut out its wanted records.

        Known texts are the bulk and are not counted one by one: only the others (wanted, hexdump
        openers, lines that are no record) are picked out and counted; the known are the rest.
        """
        texts = FAST_TEXTS[fmt.name].findall(buf)
        verdicts = {text: verdict for text in set(texts) if (verdict := self.verdict(text)) is not Verdict.KNOWN}
        picked = list(filter(verdicts.__contains__, texts))
        hexdumps = sum(picked.count(text) for text, verdict in verdicts.items() if verdict is Verdict.HEXDUMP)
        known = len(texts) - len(picked)
        wanted = {text for text, verdict in verdicts.items() if verdict is Verdict.WANTED}
        cut, lines = _cut(buf, fmt, filter(wanted.__contains__, picked))
        return ChunkResult(known + hexdumps, hexdumps, known, lines, cut)


def _cut(buf: bytes, fmt: LineFormat, texts: Iterator[bytes]) -> tuple[list[tuple[int, bytes]], int]:
    """Each wanted text's record line (plus continuation lines) with its line number, in order;
    and the chunk's line count (its line ends are counted once, on the way).

    A text is found where it follows a line's time stamp (``_STAMP`` bytes) and runs to the line end;
    the short ``starts`` regex confirms the stamp (the rest of the format's regex is optional).
    """
    starts = _RECORD_START[fmt.name]
    find, count, at_start = buf.find, buf.count, starts.match
    cut: list[tuple[int, bytes]] = []
    pos = counted = 0
    line = 1
    for text in texts:
        end = len(text)
        index = find(text, pos)
        while index >= 0:
            start = index - _STAMP
            if (start >= 0 and buf[index + end : index + end + 1] == b"\n" and (start == 0 or buf[start - 1] == 10)
                    and at_start(buf, start)):
                break
            index = find(text, index + 1)
        if index < 0:
            continue
        line += count(b"\n", counted, start)
        counted = start
        pos = index + end + 1
        if buf[pos + 19 : pos + 21] == b": ":  # the next line is a record: no continuation (the usual case)
            stop = pos
        else:
            following = starts.search(buf, pos)
            stop = following.start() if following else len(buf)
        cut.append((line, buf[start:stop]))
    return cut, line - 1 + count(b"\n", counted)


def scan_counted(stream: BinaryIO, path: Path, fmt: LineFormat, *, compressed: bool,
                 reader: Reader | None = None) -> Iterator[ChunkResult]:
    """Every chunk of the file, counted, in file order (``offset`` set); ``reader`` runs on each
    chunk in the process that scanned it (a forked worker inherits the reader's state as it was)."""
    if compressed or _WORKERS < 2 or not hasattr(os, "fork"):
        sorter = Sorter()
        for buf, first_line, _ in chunks(stream, _CHUNK):
            result = sorter.scan(buf, fmt)
            result.offset = first_line - 1
            if reader is not None:
                reader(result)
            yield result
        return
    ranges = _ranges(path, _CHUNK)
    if ranges is None:  # a line longer than MAX_LINE: the sequential reader keeps only its start
        yield from scan_counted(stream, path, fmt, compressed=True, reader=reader)
        return
    line = 1
    for result in _forked(path, ranges, fmt, reader):
        result.offset = line - 1
        line += result.lines
        yield result


def _ranges(path: Path, size: int) -> list[tuple[int, int]] | None:
    """Byte ranges of about ``size`` that start and end at line boundaries; None when a line is
    longer than MAX_LINE (no range may hold a gigantic line whole)."""
    total = os.path.getsize(path)
    bounds = [0]
    with path.open("rb") as fh:
        while bounds[-1] + size < total:
            fh.seek(bounds[-1] + size)
            rest = fh.readline(MAX_LINE)
            if len(rest) == MAX_LINE and not rest.endswith(b"\n"):
                return None
            bounds.append(min(total, bounds[-1] + size + len(rest)))
    if bounds[-1] < total:
        bounds.append(total)
    return list(pairwise(bounds))


def _forked(path: Path, ranges: list[tuple[int, int]], fmt: LineFormat, reader: Reader | None) -> Iterator[ChunkResult]:
    """The ranges' results in order, from ``_WORKERS`` forked children: child k scans ranges k,
    k + _WORKERS, ... and writes each result, pickled, to its own pipe (a full pipe holds it back).
    A failure in a child is raised here; the children are gone when this ends, however it ends."""
    children: list[tuple[int, BinaryIO]] = []
    try:
        for k in range(_WORKERS):
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: never returns
                os.close(read_end)
                _child(os.fdopen(write_end, "wb"), path, ranges[k::_WORKERS], fmt, reader)
            os.close(write_end)
            children.append((pid, os.fdopen(read_end, "rb")))
        for index in range(len(ranges)):
            try:
                status, payload = pickle.load(children[index % _WORKERS][1])
            except EOFError:
                raise OSError("a worker process reading the file ended without its result (killed, or out of "
                              "memory?)") from None
            if status == "error":
                raise payload
            yield payload
    finally:
        for pid, stream in children:
            stream.close()
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def _child(out: BinaryIO, path: Path, ranges: list[tuple[int, int]], fmt: LineFormat,
           reader: Reader | None) -> NoReturn:
    code = 0
    try:
        sorter = Sorter()
        with path.open("rb") as fh:
            for start, end in ranges:
                fh.seek(start)
                buf = fh.read(end - start)
                result = sorter.scan(buf if buf.endswith(b"\n") else buf + b"\n", fmt)
                if reader is not None:
                    reader(result)
                pickle.dump(("ok", result), out, pickle.HIGHEST_PROTOCOL)
    except BaseException as err:  # whatever it was, the parent raises it
        code = 1
        with contextlib.suppress(BaseException):
            try:
                pickle.dump(("error", err), out, pickle.HIGHEST_PROTOCOL)
            except Exception:  # an exception that does not pickle
                pickle.dump(("error", RuntimeError(f"{type(err).__name__}: {err}")), out, pickle.HIGHEST_PROTOCOL)
    finally:
        with contextlib.suppress(BaseException):
            out.close()
        os._exit(code)
