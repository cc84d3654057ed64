"""bounded_lines and read_text: a gigantic line or file costs time or an error, never memory."""

from __future__ import annotations

import gzip
import io
import os
import tracemalloc
from pathlib import Path

import pytest

from racoondbg.sources import (
    MAX_LINE,
    MAX_WHOLE_TEXT,
    InputTooLarge,
    bounded_lines,
    open_binary,
    open_text,
    read_text,
)


def test_ordinary_lines_are_unchanged() -> None:
    text = "a\nbb\r\nccc\rdddd"
    assert list(bounded_lines(io.StringIO(text, newline=""))) == list(io.StringIO(text, newline=""))
    data = b"x\ny\n\nz"
    assert list(bounded_lines(io.BytesIO(data))) == [b"x\n", b"y\n", b"\n", b"z"]


def test_a_long_line_is_cut_and_the_next_line_survives() -> None:
    fh = io.StringIO("head\n" + "x" * 100 + "\ntail\n")
    assert list(bounded_lines(fh, limit=10)) == ["head\n", "x" * 10, "tail\n"]
    fh2 = io.BytesIO(b"y" * 30 + b"\n")  # exactly a multiple of the limit, then the end of line
    assert list(bounded_lines(fh2, limit=10)) == [b"y" * 10]


def test_a_sparse_64_mib_line_holds_no_memory(tmp_path: Path) -> None:
    path = tmp_path / "holey.log"
    with path.open("wb") as fh:
        fh.write(b"2014-03-01 10:00:05: INFO: before\n")
        fh.seek(64 * 1024 * 1024, os.SEEK_CUR)
        fh.write(b"\n2014-03-01 10:00:06: INFO: after\n")
    for opener in (open_text, open_binary):
        tracemalloc.start()
        try:
            with opener(path) as fh:
                lines = list(bounded_lines(fh))  # type: ignore[arg-type]
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert len(lines) == 3 and "after" in str(lines[2])
        assert len(lines[1]) == MAX_LINE
        assert peak < 16 * MAX_LINE


def test_read_text_refuses_devices_fifos_and_giants(tmp_path: Path) -> None:
    small = tmp_path / "racoon.conf"
    small.write_text('remote anonymous { exchange_mode main; }\n')
    assert read_text(small) == 'remote anonymous { exchange_mode main; }\n'
    with pytest.raises(OSError, match="not a regular file"):
        read_text(Path("/dev/zero"))
    fifo = tmp_path / "fifo.conf"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        read_text(fifo)
    sparse = tmp_path / "huge.conf"
    with sparse.open("wb") as fh:
        fh.truncate(MAX_WHOLE_TEXT + 1)
    with pytest.raises(InputTooLarge):
        read_text(sparse)
    packed = tmp_path / "huge.conf.gz"
    packed.write_bytes(gzip.compress(b"#" * 2048, mtime=0))
    with pytest.raises(InputTooLarge):
        read_text(packed, limit=1024)
