"""What the Log view shows of a :class:`LogIndex`: filters, folded hex dumps, search and time jumps.

A :class:`Projection` maps the rows on screen to lines of the file. It is kept as *runs* of
consecutive visible lines (two integers per run), built chunk by chunk in a background thread
with compiled regexes over whole chunks, so folding the hex dumps of a gigabyte ``-ddd`` log costs
one run per dump, not one entry per line. Nothing here depends on the log parser: levels are the
level words in the text (``ERROR:``, ``WARNING:`` ...), times are the leading timestamps.
"""

from __future__ import annotations

import re
import threading
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from racoondbg.tui.logindex import LogIndex

#: racoon's level words, most severe first (ipsec-tools 0.7 and later).
LEVELS = ("ERROR", "WARNING", "NOTIFY", "INFO", "DEBUG", "DEBUG2")
LEVEL_WORD = re.compile(r"(?:^|[\s:\]])(ERROR|WARNING|NOTIFY|INFO|DEBUG2?): ")
HEX_LINE = re.compile(r"^[0-9a-f]{2,8}(?: [0-9a-f]{2,8})*$")
_HEX_RUN = re.compile(rb"(?:[0-9a-f]{2,8}(?: [0-9a-f]{2,8})*\n)+")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)}
_TS_ISO = re.compile(r"^(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)")
_TS_SYSLOG = re.compile(r"^([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d)")
_TIME_QUERY = re.compile(
    r"(?:(?:(\d{4})-)?(\d\d)-(\d\d)[ T]|([A-Z][a-z]{2}) +(\d{1,2}) +)?(\d{1,2}):(\d\d)(?::(\d\d))?"
)

Run = tuple[int, int]  # [start, end) in lines
TimeKey = tuple[int, int, int, int, int, int]


def level_of(line: str) -> str | None:
    """The racoon level word of a line, if it has one."""
    match = LEVEL_WORD.search(line[:160])
    return match.group(1) if match else None


def compile_user_pattern(pattern: str) -> re.Pattern[bytes]:
    """A user's regex for bytes, smart-case: case-insensitive unless it has a capital letter.

    Raises ``re.error`` for a bad pattern.
    """
    flags = re.M if any(c.isupper() for c in pattern) else re.M | re.I
    return re.compile(pattern.encode("utf-8", "surrogateescape"), flags)


@dataclass(frozen=True, slots=True)
class LogFilter:
    """What to hide. ``min_level`` keeps lines whose level word is at least that severe."""

    min_level: str | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    fold_hex: bool = True

    @property
    def identity(self) -> bool:
        return not (self.min_level or self.include or self.exclude or self.fold_hex)

    def next_level(self) -> LogFilter:
        """The next level threshold in the cycle all → DEBUG → INFO → NOTIFY → WARNING → ERROR → all."""
        order = [None, "DEBUG", "INFO", "NOTIFY", "WARNING", "ERROR"]
        return replace(self, min_level=order[(order.index(self.min_level) + 1) % len(order)])

    def describe(self) -> str:
        parts = []
        if self.min_level:
            parts.append(f"level ≥ {self.min_level}")
        parts += [f"+/{p}/" for p in self.include]
        parts += [f"-/{p}/" for p in self.exclude]
        if not self.fold_hex:
            parts.append("hex unfolded")
        return ", ".join(parts) or "no filter"


def _lines_matching(pattern: re.Pattern[bytes], piece: bytes) -> list[int]:
    """Relative numbers of the lines of ``piece`` where ``pattern`` matches (each line once)."""
    found: list[int] = []
    line = 0
    counted_to = 0
    pos = 0
    while True:
        match = pattern.search(piece, pos)
        if match is None:
            return found
        start = match.start()
        line += piece.count(b"\n", counted_to, start)
        counted_to = start
        found.append(line)
        eol = piece.find(b"\n", start)
        if eol < 0:
            return found
        pos = eol + 1
        line += 1
        counted_to = pos


def _runs_of(lines: Iterable[int]) -> list[Run]:
    runs: list[Run] = []
    for n in lines:
        if runs and runs[-1][1] == n:
            runs[-1] = (runs[-1][0], n + 1)
        else:
            runs.append((n, n + 1))
    return runs


def _intersect(a: list[Run], b: list[Run]) -> list[Run]:
    out: list[Run] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _subtract(a: list[Run], b: list[Run]) -> list[Run]:
    out: list[Run] = []
    j = 0
    for start, end in a:
        while j < len(b) and b[j][1] <= start:
            j += 1
        k = j
        while k < len(b) and b[k][0] < end:
            if b[k][0] > start:
                out.append((start, b[k][0]))
            start = max(start, b[k][1])
            k += 1
        if start < end:
            out.append((start, end))
    return out


def _hex_runs(piece: bytes, continuing: bool) -> list[Run]:
    """Runs of hex-dump lines.

    A dump follows the line that opens it, which ends in a space (``DEBUG: `` and the line
    break), or continues one from the previous piece (``continuing``). Only those places are
    tried, which is several times faster than a multi-line regex over the whole piece.
    """
    runs: list[Run] = []
    line = 0
    counted_to = 0
    start = 0 if continuing else _next_opening(piece, 0)
    while start >= 0:
        match = _HEX_RUN.match(piece, start)
        if match is not None:
            line += piece.count(b"\n", counted_to, match.start())
            length = piece.count(b"\n", match.start(), match.end())
            runs.append((line, line + length))
            line += length
            counted_to = match.end()
        start = _next_opening(piece, start)
    return runs


def _next_opening(piece: bytes, start: int) -> int:
    found = piece.find(b" \n", start)
    return found + 2 if found >= 0 else -1


class Projection:
    """Rows on screen ↔ lines in the file, for one :class:`LogFilter`; grows while built."""

    def __init__(self, index: LogIndex, flt: LogFilter, chunk: int = 1 << 20) -> None:
        self.index = index
        self.filter = flt
        self.chunk = chunk
        self._lock = threading.Lock()
        self._run_line = array("Q")
        self._run_row = array("Q")
        self._rows = 0
        self._tail = 0  # 1 when the file's unfinished last line is shown (it may still change)
        self.processed = 0  # complete lines of the file looked at so far
        self._in_dump = False  # the last line looked at opens or continues a hex dump
        levels = LEVELS[: LEVELS.index(flt.min_level) + 1] if flt.min_level else ()
        self._level = (
            re.compile(rb"(?<![^\s:\]])(?:" + b"|".join(w.encode() for w in levels) + rb"): ")
            if levels else None
        )
        self._include = [compile_user_pattern(p) for p in flt.include]
        self._exclude = [compile_user_pattern(p) for p in flt.exclude]

    @property
    def rows(self) -> int:
        if self.filter.identity:
            return self.index.line_count
        return self._rows + self._tail

    def line_of(self, row: int) -> int:
        if self.filter.identity:
            return row
        with self._lock:
            if row >= self._rows:
                return self.processed
            i = bisect_right(self._run_row, row) - 1
            return int(self._run_line[i] + (row - self._run_row[i])) if i >= 0 else 0

    def row_of(self, line: int) -> tuple[int, bool]:
        """The row showing ``line``, or the next visible one; ``exact`` says which."""
        if self.filter.identity:
            return line, True
        with self._lock:
            i = bisect_right(self._run_line, line) - 1
            if i < 0:
                return 0, False
            end_row = self._run_row[i + 1] if i + 1 < len(self._run_row) else self._rows
            offset = line - self._run_line[i]
            if self._run_row[i] + offset < end_row:
                return int(self._run_row[i] + offset), True
            return int(end_row), False

    def hidden_after(self, row: int) -> int:
        """How many lines are hidden between this row's line and the next row's."""
        if self.filter.identity or row + 1 >= self.rows:
            return 0
        return self.line_of(row + 1) - self.line_of(row) - 1

    def extend(self, stop: threading.Event | None = None, progress: Callable[[int], None] | None = None) -> bool:
        """Look at the lines indexed since the last call; True when rows were added."""
        if self.filter.identity:
            self.processed = self.index.line_count
            return True
        added = False
        final = self.index.done.is_set()
        tail = 0
        for first, piece in self.index.chunks(self.processed, self.chunk):
            if stop is not None and stop.is_set():
                break
            count = piece.count(b"\n")
            unfinished = b""
            if not piece.endswith(b"\n"):
                unfinished = piece[piece.rfind(b"\n") + 1 :]
                piece = piece[: len(piece) - len(unfinished)]
            if count:
                added |= self._add(first, self._visible(piece, count, self._in_dump))
                self.processed = first + count
                self._in_dump = self._ends_in_dump(piece, count)
            if unfinished and final and self._visible(unfinished + b"\n", 1, self._in_dump):
                tail = 1
            if progress is not None:
                progress(self.processed)
        added |= tail != self._tail
        self._tail = tail
        return added

    def _visible(self, piece: bytes, count: int, continuing: bool) -> list[Run]:
        runs: list[Run] = [(0, count)]
        if self._level is not None:
            runs = _intersect(runs, _runs_of(_lines_matching(self._level, piece)))
        if self._include:
            hits = sorted({n for p in self._include for n in _lines_matching(p, piece)})
            runs = _intersect(runs, _runs_of(hits))
        if self._exclude:
            hits = sorted({n for p in self._exclude for n in _lines_matching(p, piece)})
            runs = _subtract(runs, _runs_of(hits))
        if self.filter.fold_hex:
            runs = _subtract(runs, _hex_runs(piece, continuing))
        return runs

    def _ends_in_dump(self, piece: bytes, count: int) -> bool:
        if not self.filter.fold_hex:
            return False
        if piece.endswith(b" \n"):
            return True
        last = piece[piece.rfind(b"\n", 0, len(piece) - 1) + 1 :]
        if not _HEX_RUN.fullmatch(last):
            return False
        return any(end == count for _, end in _hex_runs(piece, self._in_dump)[-1:])

    def _add(self, first: int, runs: list[Run]) -> bool:
        with self._lock:
            for start, end in runs:
                line = first + start
                if self._run_line and self._run_line[-1] + (self._rows - self._run_row[-1]) == line:
                    self._rows += end - start
                    continue
                self._run_line.append(line)
                self._run_row.append(self._rows)
                self._rows += end - start
        return bool(runs)


# -- time ------------------------------------------------------------------------------------------


def time_key(line: str) -> TimeKey | None:
    """A sortable key of a line's leading timestamp (file ``2014-03-01 10:00:05:`` or syslog ``Mar  1``)."""
    m = _TS_ISO.match(line)
    if m:
        y, mo, d, h, mi, s = map(int, m.groups())
        return (y, mo, d, h, mi, s)
    m = _TS_SYSLOG.match(line)
    if m and m.group(1) in _MONTHS:
        return (0, _MONTHS[m.group(1)], int(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(5)))
    return None


def parse_time_query(text: str, reference: TimeKey | None) -> TimeKey | None:
    """What the user typed after ``g``: ``10:05``, ``10:05:30``, ``2014-03-01 10:05``, ``Mar 1 10:05``.

    Missing date parts come from ``reference`` (the log's first timestamp).
    """
    text = text.strip()
    m = _TIME_QUERY.fullmatch(text)
    if not m:
        return None
    year, month, day, mon_name, mon_day, hour, minute, second = m.groups()
    ref = reference or (datetime.now().year, 1, 1, 0, 0, 0)
    y, mo, d = ref[0], ref[1], ref[2]
    if month:
        mo, d = int(month), int(day)
        if year:
            y = int(year)
    elif mon_name:
        if mon_name not in _MONTHS:
            return None
        mo, d = _MONTHS[mon_name], int(mon_day)
    return (y, mo, d, int(hour), int(minute), int(second or 0))


def first_time(index: LogIndex, scan: int = 2000) -> TimeKey | None:
    for n in range(min(scan, index.line_count)):
        key = time_key(index.line(n))
        if key is not None:
            return key
    return None


def _timed_line_from(index: LogIndex, n: int, limit: int, scan: int = 400) -> tuple[int, TimeKey | None]:
    for m in range(n, min(n + scan, limit)):
        key = time_key(index.line(m))
        if key is not None:
            return m, key
    return n, None


def line_at_time(index: LogIndex, target: TimeKey) -> int:
    """The first line stamped at or after ``target`` (binary search; lines without a stamp are skipped)."""
    lo, hi = 0, index.line_count
    while lo < hi:
        mid = (lo + hi) // 2
        at, key = _timed_line_from(index, mid, hi)
        if key is None:
            hi = mid
        elif key < target:
            lo = at + 1
        else:
            hi = mid
    return min(_timed_line_from(index, lo, index.line_count)[0], max(index.line_count - 1, 0))


# -- search ----------------------------------------------------------------------------------------


def search(
    projection: Projection, pattern: re.Pattern[bytes], from_line: int, *, backwards: bool = False,
    stop: threading.Event | None = None,
) -> int | None:
    """The next visible line after (or before) ``from_line`` that matches, wrapping around once."""
    index = projection.index

    def visible(line: int) -> bool:
        return projection.row_of(line)[1]

    if not backwards:
        for first, piece in index.chunks(from_line + 1):
            if stop is not None and stop.is_set():
                return None
            for rel in _lines_matching(pattern, piece):
                if visible(first + rel):
                    return first + rel
        for first, piece in index.chunks(0):
            if first > from_line or (stop is not None and stop.is_set()):
                return None
            for rel in _lines_matching(pattern, piece):
                if first + rel <= from_line and visible(first + rel):
                    return first + rel
        return None
    before: int | None = None  # the last match above from_line
    last: int | None = None  # the last match in the file (wrapping around)
    for first, piece in index.chunks(0):
        if stop is not None and stop.is_set():
            return None
        for rel in _lines_matching(pattern, piece):
            line = first + rel
            if line >= from_line and before is not None:
                return before
            if visible(line):
                last = line
                if line < from_line:
                    before = line
    return before if before is not None else last
