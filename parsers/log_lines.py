"""Where a racoon log line starts and what its prefix says: every output path racoon's text takes.

Each :class:`LineFormat` is one compiled regex for the first line of a record (time, host, pid,
``[addr]``, level, ``file.c:N:func()`` and the message). :func:`scan` runs it over big buffers
with ``finditer`` so that hexdump lines and other programs' lines are skipped inside the regex
engine; only the gaps between records get a (cheap) second look: hexdump, wrapped paste line, or
a line to ignore.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import BinaryIO

from racoondbg.sources import MAX_LINE

_BODY = (
    rb"(?:(?P<its>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d): )?"
    rb"(?:\[(?P<tag>[^\]\n]{1,64})\]: )?"
    rb"(?:\[(?P<addr>[0-9A-Fa-f]*[.:][0-9A-Fa-f.:]*(?:%[\w.-]+)?)\] )?"
    rb"(?:\[(?P<pid2>\d+)\] )?"
    rb"(?:(?P<level>ERROR|WARNING|NOTIFY|INFO|DEBUG2?):(?: |$))?"
    rb"(?:(?P<loc>[\w.+-]+\.[cly]:\d+(?::\w*\(\))?): )?"
    rb"(?P<msg>[^\n]*)"
)
_MONTHS = b"Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
_MONTH_NUMBER = {name: i + 1 for i, name in enumerate(_MONTHS.decode().split("|"))}
_ISO = rb"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?"
_LOGCAT_TAGS = rb"racoon|LegacyVpnRunner|mtpd|KeyStore|keystore|Vpn"
_LOGCAT_LEVEL = {"V": "DEBUG", "D": "DEBUG", "I": "INFO", "W": "WARNING", "E": "ERROR", "F": "ERROR"}
_UNIFIED_LEVEL = {"Error": "ERROR", "Fault": "ERROR", "Default": "NOTIFY", "Info": "INFO", "Debug": "DEBUG"}

#: A hexdump continuation line: 4-byte words in lowercase hex, 8 per line.
HEX_LINE = re.compile(rb"[0-9a-f]{2,16}(?: [0-9a-f]{2,8}){0,7} ?\r?")
_HEX_GAP = re.compile(rb"(?:[0-9a-f]{2,16}(?: [0-9a-f]{2,8}){0,7} ?\r?\n)*\Z")
#: Lines of other programs in a syslog-like file, or blank lines: skipped, never joined.
_FOREIGN = re.compile(
    rb"(?:(?:" + _MONTHS + rb") [ \d]\d \d\d:\d\d:\d\d |" + _ISO + rb" |<\d+>|\d\d-\d\d \d\d:\d\d:\d\d\.\d+ "
    rb"|[VDIWEF]/|-- |\s*\r?$|racoon: )"
)
#: A racoon file/stdout timestamp inside a line: a message without newline glued to the next one.
GLUE = re.compile(rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d: (?:\[[^\]\n]*\] )?(?:ERROR|WARNING|NOTIFY|INFO|DEBUG2?): ")
_GLUE_COLON = 19  # where the ": " after the time stamp sits in a GLUE match


def find_glue(message: bytes, pos: int = 1) -> re.Match[bytes] | None:
    """``GLUE.search(message, pos)``, tried only where a ": " could end a time stamp (a search from
    every digit of a message full of addresses is what made it slow)."""
    colon = message.find(b": ", pos + _GLUE_COLON)
    while colon >= 0:
        glue = GLUE.match(message, colon - _GLUE_COLON)
        if glue is not None:
            return glue
        colon = message.find(b": ", colon + 1)
    return None


@dataclass(frozen=True, slots=True)
class LineFormat:
    """One way racoon's text reaches a file: the record regex and how to read its time."""

    name: str
    description: str
    regex: re.Pattern[bytes]
    has_year: bool
    glue: bool = False
    #: The regex's group names (looked up once, not per record).
    fields: frozenset[str] = frozenset()


def _format(name: str, description: str, prefix: bytes, *, has_year: bool, glue: bool = False) -> LineFormat:
    regex = re.compile(rb"^" + prefix + _BODY, re.M)
    return LineFormat(name, description, regex, has_year, glue, frozenset(regex.groupindex))


FORMATS: tuple[LineFormat, ...] = (
    _format("file", "racoon -l FILE / -F stdout (YYYY-MM-DD HH:MM:SS: ...)",
            rb"(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d): ", has_year=True, glue=True),
    _format("syslog", "BSD syslog / rsyslog / journalctl short / macOS system.log / pfSense clog",
            rb"(?P<mon>" + _MONTHS + rb") {1,2}(?P<day>\d{1,2}) (?P<hms>\d\d:\d\d:\d\d)(?:\.\d+)? "
            rb"(?:(?P<host>[^\s\[:]+) )?(?:racoon|racoon2?-?\w*)(?:\[(?P<pid>\d+)\])?: ", has_year=False, glue=True),
    _format("iso", "rsyslog RFC 3339 / journalctl -o short-iso",
            rb"(?P<iso>" + _ISO + rb") (?P<host>\S+) racoon(?:\[(?P<pid>\d+)\])?: ", has_year=True, glue=True),
    _format("rfc5424", "RFC 5424 syslog",
            rb"<\d+>1 (?P<iso>" + _ISO + rb") (?P<host>\S+) racoon (?P<pid>\d+|-) \S+ (?:-|(?:\[[^\]\n]*\])+) ",
            has_year=True),
    _format("logcat", "Android logcat -v brief / time",
            rb"(?:(?P<md>\d\d-\d\d) (?P<hms>\d\d:\d\d:\d\d)\.\d+ )?(?P<lvl>[VDIWEF])/(?P<ltag>" + _LOGCAT_TAGS
            + rb") *\( *(?P<pid>\d+)\): ", has_year=False),
    _format("threadtime", "Android logcat -v threadtime",
            rb"(?P<md>\d\d-\d\d) (?P<hms>\d\d:\d\d:\d\d)\.\d+ +(?P<pid>\d+) +\d+ (?P<lvl>[VDIWEF]) (?P<ltag>"
            + _LOGCAT_TAGS + rb") *: ", has_year=False),
    _format("unified", "macOS `log show` (unified logging)",
            rb"(?P<iso>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+[+-]\d{4}) +0x[0-9a-f]+ +(?P<ulvl>\w+) +0x[0-9a-f]+ +"
            rb"(?P<pid>\d+) +\d+ +racoon: ", has_year=True),
    _format("bare", "racoon text without a timestamp (copied from a GUI or a mail)",
            rb"(?=(?:\[[^\]\n]+\] )?(?:ERROR|WARNING|NOTIFY|INFO|DEBUG2?): )", has_year=False),
)
FORMATS_BY_NAME = {f.name: f for f in FORMATS}


def detect(head: bytes) -> tuple[LineFormat | None, int]:
    """The line format most lines of ``head`` have, and how many matched."""
    best: tuple[int, LineFormat | None] = (0, None)
    for fmt in FORMATS:
        count = sum(1 for m in fmt.regex.finditer(head) if fmt.name != "bare" or m.group("level"))
        if count > best[0]:
            best = (count, fmt)
    return best[1], best[0]


@dataclass(slots=True)
class RawRecord:
    """A record as found in the text; the parser turns it into a LogRecord."""

    line: int
    end_line: int
    fmt: LineFormat
    match: re.Match[bytes]
    message: bytes
    hexdump_lines: int = 0
    wrapped: bytes = b""


class Clock:
    """Turns a record's time fields into a datetime, inferring the year for syslog-style lines.

    Year roll-over (December → January) moves the year on; ``rollovers`` tells the caller how many
    happened, so that times can be shifted back when the file's end must fall in ``year``.
    """

    def __init__(self, year: int) -> None:
        self.year = year
        self.rollovers = 0
        self._last_month = 0
        self._cache: dict[bytes, datetime | None] = {}

    def time(self, fmt: LineFormat, m: re.Match[bytes]) -> datetime | None:
        key = m.group(0)[:40] if fmt.name in ("syslog", "logcat", "threadtime") else b""
        reader = _READERS.get(fmt.name)
        if reader is None:
            return None
        if key:
            month = _month_of(fmt, m)
            if month and month < self._last_month and self._last_month - month >= 6:
                self.year += 1
                self.rollovers += 1
                self._cache.clear()
            if month:
                self._last_month = month
        stamp = _stamp(fmt, m)
        if stamp is None:
            return None
        cached = self._cache.get(stamp)
        if cached is None and stamp not in self._cache:
            if len(self._cache) > 4096:
                self._cache.clear()
            cached = reader(m, self.year)
            self._cache[stamp] = cached
        return cached


def _stamp(fmt: LineFormat, m: re.Match[bytes]) -> bytes | None:
    for name in ("ts", "iso"):
        if name in fmt.fields:
            return m.group(name)
    if fmt.name == "syslog":
        return m.group("mon") + m.group("day") + m.group("hms")
    if m.group("md") is None:
        return None
    return m.group("md") + m.group("hms")


def _month_of(fmt: LineFormat, m: re.Match[bytes]) -> int:
    if fmt.name == "syslog":
        return _MONTH_NUMBER[m.group("mon").decode()]
    md = m.group("md")
    return int(md[:2]) if md else 0


def _read_ts(m: re.Match[bytes], year: int) -> datetime | None:
    return parse_stamp(m.group("ts"))


def parse_stamp(ts: bytes) -> datetime | None:
    """racoon's own ``YYYY-MM-DD HH:MM:SS`` time."""
    try:
        return datetime(int(ts[0:4]), int(ts[5:7]), int(ts[8:10]), int(ts[11:13]), int(ts[14:16]), int(ts[17:19]))
    except ValueError:
        return None


def _read_iso(m: re.Match[bytes], year: int) -> datetime | None:
    text = m.group("iso").decode().replace(" ", "T")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    # racoon's own times are local and naive; keep every time naive so logs can be merged
    return value.replace(tzinfo=None) if value.tzinfo is None else _naive(value)


def _naive(value: datetime) -> datetime:
    offset = value.utcoffset() or timedelta(0)
    return value.astimezone(timezone(offset)).replace(tzinfo=None)


def _read_syslog(m: re.Match[bytes], year: int) -> datetime | None:
    try:
        hms = m.group("hms").decode()
        return datetime(year, _MONTH_NUMBER[m.group("mon").decode()], int(m.group("day")),
                        int(hms[:2]), int(hms[3:5]), int(hms[6:8]))
    except ValueError:
        return None


def _read_logcat(m: re.Match[bytes], year: int) -> datetime | None:
    md = m.group("md")
    if md is None:
        return None
    try:
        hms = m.group("hms").decode()
        return datetime(year, int(md[:2]), int(md[3:5]), int(hms[:2]), int(hms[3:5]), int(hms[6:8]))
    except ValueError:
        return None


_READERS: dict[str, Callable[[re.Match[bytes], int], datetime | None]] = {
    "file": _read_ts, "iso": _read_iso, "rfc5424": _read_iso, "unified": _read_iso, "syslog": _read_syslog,
    "logcat": _read_logcat, "threadtime": _read_logcat,
}


def level_of(fmt: LineFormat, m: re.Match[bytes]) -> str | None:
    """The level word, or the logcat/unified-log priority mapped onto racoon's level names."""
    level = m.group("level")
    if level:
        return level.decode()
    if "lvl" in fmt.fields:
        return _LOGCAT_LEVEL.get(m.group("lvl").decode())
    if "ulvl" in fmt.fields:
        return _UNIFIED_LEVEL.get(m.group("ulvl").decode())
    return None


def chunks(stream: BinaryIO, chunk_size: int = 1 << 22) -> Iterator[tuple[bytes, int, int]]:
    """The stream in big pieces that end at a line end: ``(piece, first line number, newline count)``."""
    line = 1
    carry = b""
    while True:
        data = stream.read(chunk_size)
        buf = carry + data if carry else data
        if not data:
            if buf:
                yield (buf if buf.endswith(b"\n") else buf + b"\n"), line, buf.count(b"\n") + 1
            return
        cut = buf.rfind(b"\n") + 1
        if cut == 0:  # no line end yet: keep at most MAX_LINE bytes of a gigantic line
            carry = buf[:MAX_LINE]
            continue
        carry = buf[cut:]
        piece = buf[:cut] if carry else buf
        lines = piece.count(b"\n")
        yield piece, line, lines
        line += lines


def scan(stream: BinaryIO, fmt: LineFormat, chunk_size: int = 1 << 22) -> Iterator[RawRecord]:
    """Every record of ``stream`` in order, with its line numbers, hexdump and wrapped lines.

    Memory is bounded by ``chunk_size`` plus one pending record, whatever the file size.
    """
    regex = fmt.regex
    pending: RawRecord | None = None
    for buf, line, _ in chunks(stream, chunk_size):
        pos = 0  # start of the text not yet given to a record
        for m in regex.finditer(buf):
            start = m.start()
            if start > pos:
                gap = buf[pos:start]
                if pending is not None:
                    attach(pending, gap, line)
                line += gap.count(b"\n")
            if pending is not None:
                yield pending
            pending = RawRecord(line, line, fmt, m, m.group("msg"))
            if fmt.glue:
                for glued in unglue(pending):
                    yield pending
                    pending = glued
            pos = m.end() + 1
            line += 1
        if len(buf) > pos and pending is not None:
            attach(pending, buf[pos:], line)
    if pending is not None:
        yield pending


def unglue(record: RawRecord) -> Iterator[RawRecord]:
    """Records glued onto this one (racoon messages without a trailing newline), one by one."""
    file_format = FORMATS[0]
    while (glue := find_glue(record.message)) is not None:
        m = file_format.regex.match(record.message[glue.start() :])
        if m is None:
            return
        record.message = record.message[: glue.start()]
        record = RawRecord(record.line, record.line, file_format, m, m.group("msg"))
        yield record


def attach(record: RawRecord, gap: bytes, first_line: int) -> None:
    """Lines between two records: hexdump lines and wrapped text join the record before them."""
    if _HEX_GAP.match(gap):
        lines = gap.count(b"\n")
        record.hexdump_lines += lines
        record.end_line = first_line + lines - 1
        return
    number = first_line
    for text in gap.split(b"\n")[:-1]:
        if HEX_LINE.fullmatch(text):
            record.hexdump_lines += 1
            record.end_line = number
        elif not _FOREIGN.match(text) and not record.hexdump_lines and record.end_line >= number - 1:
            record.wrapped += (b"" if record.message.endswith(b" ") or record.wrapped.endswith(b" ") else b" ")
            record.wrapped += text.strip()
            record.end_line = number
        number += 1
