"""The counted fast path for big racoon -d files: count every record, read only the ones that matter.

A -ddd log is mostly hexdumps and DEBUG chatter. Each chunk's record texts are pulled out by one
regex pass, counted with :class:`collections.Counter`, and judged once per distinct text (cached):
hexdump opener, known boring message, or *wanted* (an event, unknown text, glued lines). Only the
wanted records — with their line numbers and continuation lines — go on to the full parser, which
reads them where the chunk was scanned (the ``reader``) and hands back their events. Plain files are
cut into ranges scanned by two worker processes; compressed input is scanned in order.
"""

from __future__ import annotations

import enum
import multiprocessing
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any, BinaryIO

from racoondbg.model.log import Kind
from racoondbg.sources import MAX_LINE

from .log_lines import FORMATS_BY_NAME, LineFormat, chunks, find_glue
from .log_messages import event_index, matcher

#: One regex pulls, from a whole chunk, every line's text after the first ": " (``[addr] LEVEL: msg``).
FAST_TEXTS = {"file": re.compile(rb": ([^\n]*)")}
_RECORD_START = {"file": re.compile(rb"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d: ", re.M)}
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
_WORKERS = 2


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

    def verdict(self, text: bytes) -> Verdict:
        verdict = self.verdicts.get(text)
        if verdict is None:
            shape = _SHAPE.sub(b"0", text)
            verdict = self.verdicts.get(shape)
            if verdict is None:
                verdict = self._judge(text)
                self.verdicts[shape] = verdict
            if len(self.verdicts) > _MAX_CACHE:
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

    def scan(self, buf: bytes, first_line: int, lines: int, fmt: LineFormat) -> ChunkResult:
        """Count one chunk and cut out its wanted records."""
        result = ChunkResult(lines=lines)
        texts = FAST_TEXTS[fmt.name].findall(buf)
        wanted: set[bytes] = set()
        for text, count in Counter(texts).items():
            verdict = self.verdict(text)
            if verdict is Verdict.WANTED:
                wanted.add(text)
            elif verdict is not Verdict.OTHER:
                result.records += count
                if verdict is Verdict.HEXDUMP:
                    result.hexdump_records += count
                else:
                    result.recognised += count
        if wanted:
            result.wanted = list(_cut(buf, first_line, fmt, filter(wanted.__contains__, texts)))
        return result


def _cut(buf: bytes, first_line: int, fmt: LineFormat, texts: Iterator[bytes]) -> Iterator[tuple[int, bytes]]:
    """Each wanted text's record line (plus continuation lines) and its line number, in order."""
    starts = _RECORD_START[fmt.name]
    pos = counted = 0
    line = first_line
    for text in texts:
        found = _locate(buf, starts, text, pos)
        if found is None:
            continue
        start, end = found
        line += buf.count(b"\n", counted, start)
        counted = start
        pos = end + 1
        if buf[pos + 19 : pos + 21] == b": ":  # the next line is a record: no continuation (the usual case)
            stop = pos
        else:
            following = starts.search(buf, pos)
            stop = following.start() if following else len(buf)
        yield line, buf[start:stop]


def _locate(buf: bytes, starts: re.Pattern[bytes], text: bytes, pos: int) -> tuple[int, int] | None:
    """Start and end of the record line that ends with ``text``, at or after ``pos``.

    A line is a record when it opens with the format's time stamp: the rest of the format's regex
    is optional and runs to the line end, so the short ``starts`` regex is all the test needs.
    """
    while (index := buf.find(text, pos)) >= 0:
        end = index + len(text)
        if buf[end : end + 1] == b"\n":
            start = buf.rfind(b"\n", 0, index) + 1
            if starts.match(buf, start):
                return start, end
        pos = index + 1
    return None


def scan_counted(stream: BinaryIO, path: Path, fmt: LineFormat, *, compressed: bool,
                 reader: Reader | None = None) -> Iterator[ChunkResult]:
    """Every chunk of the file, counted, in file order (``offset`` set); ``reader`` runs on each
    chunk in the process that scanned it (a forked worker inherits the reader's state as it was)."""
    if compressed or _WORKERS < 2 or "fork" not in multiprocessing.get_all_start_methods():
        sorter = Sorter()
        for buf, first_line, lines in chunks(stream, _CHUNK):
            result = sorter.scan(buf, 1, lines, fmt)
            result.offset = first_line - 1
            if reader is not None:
                reader(result)
            yield result
        return
    ranges = _ranges(path, _CHUNK)
    if ranges is None:  # a line longer than MAX_LINE: the sequential reader keeps only its start
        yield from scan_counted(stream, path, fmt, compressed=True, reader=reader)
        return
    context = multiprocessing.get_context("fork")
    line = 1
    with context.Pool(_WORKERS, initializer=_init_worker, initargs=(reader,)) as pool:
        for result in pool.imap(_scan_range, [(str(path), start, end, fmt.name) for start, end in ranges]):
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


_SORTER: Sorter | None = None
_READER: Reader | None = None


def _init_worker(reader: Reader | None) -> None:
    global _SORTER, _READER
    _SORTER = Sorter()
    _READER = reader


def _scan_range(task: tuple[str, int, int, str]) -> ChunkResult:
    path, start, end, name = task
    with open(path, "rb") as fh:
        fh.seek(start)
        buf = fh.read(end - start)
    if not buf.endswith(b"\n"):
        buf += b"\n"
    assert _SORTER is not None
    result = _SORTER.scan(buf, 1, buf.count(b"\n"), FORMATS_BY_NAME[name])
    if _READER is not None:
        _READER(result)
    return result
