"""Decompression bombs and broken compressed inputs: bounded bytes, bounded memory, OSErrors only."""

from __future__ import annotations

import bz2
import gzip
import io
import tracemalloc
import zlib
from pathlib import Path

import pytest

from racoondbg import sources
from racoondbg.sources import (
    EXPANSION_ALLOWANCE,
    MAX_DECOMPRESSED_BYTES,
    MAX_EXPANSION,
    CorruptCompressedInput,
    InputTooLarge,
    decompression_limit,
    open_binary,
    open_text,
    read_head,
)

MiB = 1024 * 1024


def gzip_of_zeros(path: Path, size: int, line: bytes = b"") -> Path:
    """A gzip file of ``size`` bytes of zeros (optionally lines), written without holding it in memory."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = (line or b"\0") * (MiB // max(1, len(line)))
    with path.open("wb") as out:
        for _ in range(size // len(block)):
            out.write(packer.compress(block))
        out.write(packer.flush())
    return path


def test_the_bounds_are_what_the_code_says() -> None:
    assert decompression_limit(0) == EXPANSION_ALLOWANCE
    assert decompression_limit(10 * MiB) == MAX_EXPANSION * 10 * MiB
    assert decompression_limit(10**12) == MAX_DECOMPRESSED_BYTES


def test_gzip_bomb_stops_at_its_bound_and_holds_little_memory(tmp_path: Path) -> None:
    bomb = gzip_of_zeros(tmp_path / "racoon.log.gz", 160 * MiB)
    assert bomb.stat().st_size < MiB  # 160 MiB of zeros in a few hundred KiB: >200x
    limit = decompression_limit(bomb.stat().st_size)
    tracemalloc.start()
    try:
        with open_binary(bomb) as fh, pytest.raises(InputTooLarge) as caught:
            while fh.read(256 * 1024):
                pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * MiB
    assert isinstance(caught.value, OSError) and str(limit) in str(caught.value)


def test_one_unbounded_read_or_readline_of_a_bomb_never_exceeds_the_bound(tmp_path: Path) -> None:
    bomb = gzip_of_zeros(tmp_path / "bomb.gz", 128 * MiB)
    limit = decompression_limit(bomb.stat().st_size)
    for method in ("read", "readline"):
        tracemalloc.start()
        try:
            with open_binary(bomb) as fh, pytest.raises(InputTooLarge):
                getattr(fh, method)()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 2 * limit + 4 * MiB, method


def test_text_reading_of_a_line_bomb_raises_an_oserror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "EXPANSION_ALLOWANCE", 4 * MiB)
    bomb = gzip_of_zeros(tmp_path / "bomb.gz", 32 * MiB, line=b"2014-03-01 10:00:05: INFO: x\n")
    with open_text(bomb) as fh, pytest.raises(OSError, match="decompresses to more than"):
        for _line in fh:
            pass


def test_bzip2_bomb_is_bounded_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "EXPANSION_ALLOWANCE", 2 * MiB)
    bomb = tmp_path / "bomb.bz2"
    bomb.write_bytes(bz2.compress(b"\0" * (16 * MiB)))
    with open_binary(bomb) as fh, pytest.raises(InputTooLarge):
        fh.read()


def test_an_honest_compressed_log_reads_whole(tmp_path: Path) -> None:
    text = b"".join(b"2014-03-01 10:00:%02d: INFO: line %d\n" % (i % 60, i) for i in range(50000))
    path = tmp_path / "racoon.log.gz"
    path.write_bytes(gzip.compress(text))
    with open_binary(path) as fh:
        assert fh.read() == text
    with open_text(path) as fh:
        assert sum(1 for _ in fh) == 50000
    with open_binary(path) as fh:  # seeking back (a second pass) works
        fh.read(1000)
        fh.seek(0)
        assert fh.read(20) == text[:20]


@pytest.mark.parametrize("damage", ["truncated", "flipped", "bad-bz2-tail"])
def test_damaged_compressed_input_is_an_oserror(tmp_path: Path, damage: str) -> None:
    text = b"".join(b"2014-03-01 10:00:05: INFO: message %d with some words\n" % i for i in range(20000))
    if damage == "bad-bz2-tail":
        data = bz2.compress(text)[:-40]
    else:
        data = bytearray(gzip.compress(text))
        if damage == "truncated":
            data = data[: len(data) // 2]
        else:
            data[len(data) // 2] ^= 0x55
    path = tmp_path / "damaged"
    path.write_bytes(bytes(data))
    with pytest.raises(OSError), open_text(path) as fh:
        for _line in fh:
            pass
    assert isinstance(read_head(path, 100), bytes)


def test_corrupt_deflate_block_becomes_corrupt_compressed_input(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\xff" * 64)  # invalid block type
    with open_binary(path) as fh, pytest.raises(CorruptCompressedInput):
        fh.read()


def test_bounded_reader_keeps_the_io_interface(tmp_path: Path) -> None:
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(b"a\nbb\nccc\n"))
    with open_binary(path) as fh:
        assert isinstance(fh, io.BufferedIOBase) and fh.readable()
        buf = bytearray(3)
        assert fh.readinto(buf) == 3 and bytes(buf) == b"a\nb"
        assert fh.readline() == b"b\n"
        assert fh.tell() == 5
        assert list(fh) == [b"ccc\n"]
        with pytest.raises(io.UnsupportedOperation):
            fh.seek(0, io.SEEK_END)
