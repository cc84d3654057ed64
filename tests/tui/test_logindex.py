"""The line index: exact lines at any position, growth, rotation, compression, odd endings."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import pytest

from racoondbg.tui import logindex
from racoondbg.tui.logindex import LogIndex


def _lines(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    return [f"2014-03-01 10:00:{i % 60:02d}: INFO: line {i} " + "x" * rng.randrange(0, 300) for i in range(n)]


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny blocks and chunks so that lines straddle every boundary."""
    monkeypatch.setattr(logindex, "BLOCK", 64)
    monkeypatch.setattr(logindex, "CHUNK", 256)


def _built(path: Path) -> LogIndex:
    index = LogIndex(path)
    index.build()
    assert index.done.is_set() and index.error is None
    return index


@pytest.mark.usefixtures("small_blocks")
def test_every_line_is_read_back_exactly(tmp_path: Path) -> None:
    lines = _lines(400)
    path = tmp_path / "racoon.log"
    path.write_text("\n".join(lines) + "\n")
    index = _built(path)
    assert index.line_count == 400
    for n in [*range(len(lines)), 0, 399, 123]:
        assert index.line(n) == lines[n]
    assert index.line(400) == ""
    assert index.span(1) == (len(lines[0]) + 1, len(lines[0]) + 1 + len(lines[1]))


@pytest.mark.usefixtures("small_blocks")
def test_chunks_cover_the_file_from_any_line(tmp_path: Path) -> None:
    lines = _lines(200)
    path = tmp_path / "racoon.log"
    path.write_text("\n".join(lines) + "\n")
    index = _built(path)
    for first in (0, 1, 57, 199):
        pieces = list(index.chunks(first, 300))
        assert b"".join(p for _, p in pieces).decode().splitlines() == lines[first:]
        assert all(p.endswith(b"\n") for _, p in pieces)
        line = first
        for start, piece in pieces:
            assert start == line
            line += piece.count(b"\n")


def test_last_line_without_break_and_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_text("one\ntwo\nthree")
    index = _built(path)
    assert index.line_count == 3
    assert [index.line(n) for n in range(3)] == ["one", "two", "three"]
    empty = tmp_path / "empty.log"
    empty.write_text("")
    assert _built(empty).line_count == 0


def test_crlf_and_bad_bytes_never_raise(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_bytes(b"first\r\n\xff\xfe racoon\r\n")
    index = _built(path)
    assert index.line(0) == "first"
    assert index.line(1) == "\ufffd\ufffd racoon"


@pytest.mark.usefixtures("small_blocks")
def test_growth_is_indexed_and_a_partial_line_completes(tmp_path: Path) -> None:
    path = tmp_path / "racoon.log"
    path.write_text("a\nb\npartial")
    index = _built(path)
    assert index.line(2) == "partial"
    assert index.update() is False
    with path.open("a") as fh:
        fh.write(" line\n" + "\n".join(_lines(50)) + "\n")
    assert index.update() is True
    assert index.line_count == 53
    assert index.line(2) == "partial line"
    assert index.line(52) == _lines(50)[49]


def test_truncation_starts_over(tmp_path: Path) -> None:
    path = tmp_path / "racoon.log"
    path.write_text("\n".join(_lines(100)) + "\n")
    index = _built(path)
    generation = index.generation
    path.write_text("new\n")
    assert index.update() is True
    assert index.generation == generation + 1
    assert index.line_count == 1 and index.line(0) == "new"


def test_gzip_log_is_spooled_and_cleaned_up(tmp_path: Path) -> None:
    lines = _lines(300)
    path = tmp_path / "racoon.log.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    index = _built(path)
    assert index.line_count == 300 and index.line(299) == lines[299]
    spool = index.path
    assert spool != path and spool.exists()
    index.close()
    assert not spool.exists()


def test_missing_file_is_an_error_not_an_exception(tmp_path: Path) -> None:
    index = LogIndex(tmp_path / "gone.log")
    index.build()
    assert index.done.is_set() and index.error
    assert index.line_count == 0 and index.line(0) == ""


def test_index_memory_is_per_block_not_per_line(tmp_path: Path) -> None:
    path = tmp_path / "racoon.log"
    path.write_text("x\n" * 200_000)
    index = _built(path)
    assert index.line_count == 200_000
    assert len(index._cum) == 400_000 // logindex.BLOCK + 1
