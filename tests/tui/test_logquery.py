"""Filters, folds, time jumps and search over a log, checked against a brute-force reading."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from racoondbg.tui.logindex import LogIndex
from racoondbg.tui.logquery import (
    HEX_LINE,
    LEVELS,
    LogFilter,
    Projection,
    compile_user_pattern,
    level_of,
    line_at_time,
    parse_time_query,
    search,
    time_key,
)

FIXTURE = Path(__file__).parent.parent / "fixtures" / "tui" / "racoon.log"


def _index(path: Path) -> LogIndex:
    index = LogIndex(path)
    index.build()
    return index


def _expected(lines: list[str], flt: LogFilter) -> list[int]:
    """Which lines a filter keeps, the slow and obvious way."""

    in_dump = [False] * len(lines)  # a dump line follows its opener (ending in a space) or another dump line
    for n, line in enumerate(lines):
        in_dump[n] = bool(HEX_LINE.match(line)) and n > 0 and (lines[n - 1].endswith(" ") or in_dump[n - 1])

    def keep(n: int, line: str) -> bool:
        if flt.fold_hex and in_dump[n]:
            return False
        if flt.min_level and level_of(line) not in LEVELS[: LEVELS.index(flt.min_level) + 1]:
            return False
        if flt.include and not any(compile_user_pattern(p).search(line.encode()) for p in flt.include):
            return False
        return not any(compile_user_pattern(p).search(line.encode()) for p in flt.exclude)

    return [n for n, line in enumerate(lines) if keep(n, line)]


FILTERS = [
    LogFilter(),
    LogFilter(fold_hex=False, min_level="ERROR"),
    LogFilter(min_level="WARNING"),
    LogFilter(min_level="INFO"),
    LogFilter(include=("10\\.3\\.0\\.1",)),
    LogFilter(include=("resend", "NOTIFICATION")),
    LogFilter(exclude=("debug",)),
    LogFilter(min_level="DEBUG", exclude=("resend",), fold_hex=False),
]


@pytest.mark.parametrize("flt", FILTERS, ids=lambda f: f.describe())
@pytest.mark.parametrize("chunk", [1 << 20, 200, 37])
def test_projection_keeps_exactly_the_filtered_lines(flt: LogFilter, chunk: int) -> None:
    lines = FIXTURE.read_text().splitlines()
    projection = Projection(_index(FIXTURE), flt, chunk=chunk)
    projection.extend()
    expected = _expected(lines, flt)
    assert [projection.line_of(r) for r in range(projection.rows)] == expected
    for row, line in enumerate(expected):
        assert projection.row_of(line) == (row, True)


def test_fold_counts_the_hidden_dump_lines() -> None:
    projection = Projection(_index(FIXTURE), LogFilter())
    projection.extend()
    opener = FIXTURE.read_text().splitlines().index("2002-10-22 21:14:07: DEBUG: ")
    row, exact = projection.row_of(opener)
    assert exact
    assert projection.hidden_after(row) == 3
    assert projection.row_of(opener + 1) == (row + 1, False)  # a folded line → the next shown row


def test_level_filter_reads_level_words_not_syslog_priority(tmp_path: Path) -> None:
    path = tmp_path / "messages"
    path.write_text(
        "Mar  1 10:00:05 gw racoon: INFO: initiate new phase 1 negotiation: 192.0.2.1[500]<=>198.51.100.7[500]\n"
        "Mar  1 10:00:35 gw racoon: ERROR: phase1 negotiation failed due to time up. 1f2e3d4c5b6a7988:00000000\n"
        "Mar  1 10:00:35 gw racoon: [198.51.100.7] WARNING: no ERROR: here is a warning\n"
        "Mar  1 10:00:36 gw sshd[4]: Accepted publickey for root\n"
    )
    projection = Projection(_index(path), LogFilter(min_level="ERROR"))
    projection.extend()
    assert [projection.line_of(r) for r in range(projection.rows)] == [1, 2]  # "ERROR: " anywhere counts
    assert level_of("Mar  1 10:00:35 gw racoon: [198.51.100.7] WARNING: x") == "WARNING"


def test_projection_follows_a_growing_file(tmp_path: Path) -> None:
    path = tmp_path / "racoon.log"
    path.write_text("2014-03-01 10:00:00: INFO: a\n2014-03-01 10:00:00: DEBUG: \n0a0b0c0d")
    index = _index(path)
    projection = Projection(index, LogFilter())
    projection.extend()
    assert projection.rows == 2  # the unfinished last line continues a dump: folded already
    with path.open("a") as fh:
        fh.write(" 01020304\n2014-03-01 10:00:01: ERROR: b\n")
    index.update()
    projection.extend()
    assert [index.line(projection.line_of(r)) for r in range(projection.rows)] == [
        "2014-03-01 10:00:00: INFO: a", "2014-03-01 10:00:00: DEBUG: ", "2014-03-01 10:00:01: ERROR: b"]
    with path.open("a") as fh:
        fh.write("2014-03-01 10:00:02: INFO: being writ")
    index.update()
    projection.extend()
    assert projection.rows == 4  # an unfinished ordinary line shows at once
    assert index.line(projection.line_of(3)) == "2014-03-01 10:00:02: INFO: being writ"


SAMPLE_LINES = [
    "2014-03-01 10:00:00: DEBUG: ", "2014-03-01 10:00:00: INFO: begin Aggressive mode.", "0a0b0c0d 01020304",
    "deadbeef", "2014-03-01 10:00:00: DEBUG: SKEYID computed: ", "2014-03-01 10:00:01: ERROR: phase1 failed.", "",
    "Mar  1 10:00:00 gw racoon: NOTIFY: x",
]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(SAMPLE_LINES), max_size=40), st.sampled_from(FILTERS), st.integers(5, 80))
def test_projection_matches_brute_force_on_any_mix(tmp_path_factory: pytest.TempPathFactory, lines: list[str],
                                                   flt: LogFilter, chunk: int) -> None:
    path = tmp_path_factory.mktemp("log") / "racoon.log"
    path.write_text("".join(f"{line}\n" for line in lines))
    projection = Projection(_index(path), flt, chunk=chunk)
    projection.extend()
    assert [projection.line_of(r) for r in range(projection.rows)] == _expected(lines, flt)


def test_time_keys_and_queries() -> None:
    assert time_key("2014-03-01 10:00:05: INFO: x") == (2014, 3, 1, 10, 0, 5)
    assert time_key("Mar  1 10:00:05 gw racoon: INFO: x") == (0, 3, 1, 10, 0, 5)
    assert time_key("0a0b0c0d") is None
    ref = (2002, 10, 22, 21, 14, 2)
    assert parse_time_query("21:15", ref) == (2002, 10, 22, 21, 15, 0)
    assert parse_time_query("21:15:03", ref) == (2002, 10, 22, 21, 15, 3)
    assert parse_time_query("2003-01-02 03:04", ref) == (2003, 1, 2, 3, 4, 0)
    assert parse_time_query("10-23 01:00", ref) == (2002, 10, 23, 1, 0, 0)
    assert parse_time_query("Oct 23 01:00", ref) == (2002, 10, 23, 1, 0, 0)
    assert parse_time_query("yesterday", ref) is None
    assert parse_time_query("Foo 1 10:00", ref) is None


def test_jump_to_time_finds_the_first_line_at_or_after() -> None:
    index = _index(FIXTURE)
    lines = FIXTURE.read_text().splitlines()
    n = line_at_time(index, (2002, 10, 22, 21, 14, 30))
    assert lines[n].startswith("2002-10-22 21:14:37: DEBUG: resend")
    assert line_at_time(index, (2002, 10, 22, 21, 0, 0)) == 0
    assert line_at_time(index, (2002, 10, 22, 21, 15, 3)) == lines.index(
        "2002-10-22 21:15:03: DEBUG: ===")


def test_search_forward_backward_wraps_and_skips_hidden_lines() -> None:
    index = _index(FIXTURE)
    lines = FIXTURE.read_text().splitlines()
    projection = Projection(index, LogFilter())
    projection.extend()
    failed = [n for n, line in enumerate(lines) if re.search("failed", line)]
    pattern = compile_user_pattern("failed")
    assert search(projection, pattern, 0) == failed[0]
    assert search(projection, pattern, failed[0]) == failed[1]
    assert search(projection, pattern, failed[-1]) == failed[0]  # wraps
    assert search(projection, pattern, failed[1], backwards=True) == failed[0]
    assert search(projection, pattern, failed[0], backwards=True) == failed[-1]  # wraps backwards
    assert search(projection, compile_user_pattern("^4f2e9d1c 07a3b588"), 0) is None  # inside a folded dump
    assert search(projection, compile_user_pattern("NO-PROPOSAL"), 0) is not None
    assert search(projection, compile_user_pattern("no-proposal"), 0) is not None  # smart case
    assert search(projection, compile_user_pattern("No-Proposal"), 0) is None


def test_level_cycle() -> None:
    seen = []
    flt = LogFilter()
    for _ in range(6):
        flt = flt.next_level()
        seen.append(flt.min_level)
    assert seen == ["DEBUG", "INFO", "NOTIFY", "WARNING", "ERROR", None]
