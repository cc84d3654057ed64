"""Opening inputs: plain, gzip, bzip2 or stdin, by content and never by name."""

from __future__ import annotations

import bz2
import gzip
import io
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

#: How much of a file the sniffers see.
HEAD_BYTES = 64 * 1024

_GZIP_MAGIC = b"\x1f\x8b"
_BZIP2_MAGIC = b"BZh"


@dataclass(frozen=True, slots=True)
class Source:
    """One input: where it is on disk and the name findings should use for it."""

    path: Path
    name: str

    @classmethod
    def of(cls, path: str | Path) -> Source:
        return cls(Path(path), str(path))


def compression(path: Path) -> str | None:
    """``"gzip"``, ``"bzip2"`` or None, from the file's first bytes."""
    with path.open("rb") as fh:
        magic = fh.read(3)
    if magic.startswith(_GZIP_MAGIC):
        return "gzip"
    if magic.startswith(_BZIP2_MAGIC) and len(magic) == 3:
        return "bzip2"
    return None


@contextmanager
def open_binary(path: Path) -> Iterator[BinaryIO]:
    """Open a file for streaming reads, decompressing gzip/bzip2 transparently."""
    kind = compression(path)
    fh: BinaryIO
    if kind == "gzip":
        fh = gzip.open(path, "rb")  # type: ignore[assignment]
    elif kind == "bzip2":
        fh = bz2.open(path, "rb")  # type: ignore[assignment]
    else:
        fh = path.open("rb")
    try:
        yield fh
    finally:
        fh.close()


@contextmanager
def open_text(path: Path) -> Iterator[io.TextIOWrapper]:
    """Open a (possibly compressed) file as text; undecodable bytes never raise."""
    with open_binary(path) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline="")
        try:
            yield text
        finally:
            text.detach()


def read_head(path: Path, size: int = HEAD_BYTES) -> bytes:
    """The first ``size`` bytes of the (decompressed) content; b"" when that fails."""
    try:
        with open_binary(path) as fh:
            return fh.read(size)
    except (OSError, EOFError, ValueError):
        return b""


def spool_stdin(directory: Path | None = None) -> Source:
    """Copy standard input to a private temporary file so it can be sniffed and read twice."""
    spool = tempfile.NamedTemporaryFile(prefix="racoondbg-stdin-", dir=directory, delete=False)
    with spool:
        shutil.copyfileobj(sys.stdin.buffer, spool)
    return Source(Path(spool.name), "<stdin>")
