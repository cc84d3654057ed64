"""Copying the recent part of a log, streaming: racoon's own file, a syslog file, journal output.

A record is kept when its time is at or after ``since``; lines without a time of their own
(hex dumps, continuation lines) follow the record before them. Shared syslog files are reduced to
racoon's lines. With a sysroot (a disk image, not a live box) "the last hour" means the last hour
*of the log*, since the clock of the image stopped when it was taken.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from racoondbg.sources import open_text

_RACOON_TS = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d): ")
_ISO_TS = re.compile(r"^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)")
_SYSLOG_TS = re.compile(r"^([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) ")
_LOGCAT_TS = re.compile(r"^(\d\d-\d\d \d\d:\d\d:\d\d)\.\d+ ")
_RACOON_TAG = re.compile(r"\bracoon(?:\[\d+\])?:|[IWEDV]/racoon|\s[IWEDV] racoon\s")


def line_time(line: str, year: int) -> datetime | None:
    """The time a log line carries, in any of the layouts racoon's logs come in."""
    try:
        if m := _RACOON_TS.match(line) or _ISO_TS.match(line):
            return datetime.fromisoformat(m.group(1).replace("T", " "))
        if m := _SYSLOG_TS.match(line):
            return datetime.strptime(f"{year} {m.group(1)}", "%Y %b %d %H:%M:%S")
        if m := _LOGCAT_TS.match(line):
            return datetime.strptime(f"{year}-{m.group(1)}", "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return None


def _lines(path: Path) -> Iterator[str]:
    with open_text(path) as fh:
        yield from fh


def last_time(path: Path, year: int) -> datetime | None:
    last = None
    for line in _lines(path):
        when = line_time(line, year)
        if when is not None:
            last = when
    return last


def copy_recent(src: Path, out: TextIO, *, since: datetime | None, window: timedelta | None,
                year: int, racoon_only: bool) -> int:
    """Copy the lines of ``src`` from ``since`` on (or, given ``window``, from the log's own last
    time minus ``window``); returns the number of lines written."""
    if since is None and window is not None:
        end = last_time(src, year)
        since = end - window if end else None
    keep = since is None
    written = 0
    for line in _lines(src):
        when = line_time(line, year)
        if when is not None:
            keep = since is None or when >= since
            if keep and racoon_only and not _RACOON_TAG.search(line):
                keep = False
        elif racoon_only and not written:
            keep = False
        if keep:
            out.write(line if line.endswith("\n") else line + "\n")
            written += 1
    return written


def syslog_targets(conf_text: str) -> list[str]:
    """Files a syslog.conf sends racoon's messages to (a ``!racoon`` block), in order."""
    targets: list[str] = []
    in_racoon = False
    for raw in conf_text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("!", "+")):
            progs = line[1:].strip()
            in_racoon = "racoon" in progs.split(",")
            continue
        if in_racoon:
            target = line.split()[-1].lstrip("-")
            if target.startswith("/"):
                targets.append(target)
    return targets
