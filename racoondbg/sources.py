"""Opening inputs: plain, gzip, bzip2 or stdin, by content and never by name."""

from __future__ import annotations

import bz2
import errno
import gzip
import io
import shutil
import sys
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, AnyStr, BinaryIO, TypeVar

T = TypeVar("T")

#: How much of a file the sniffers see.
HEAD_BYTES = 64 * 1024

#: Decompression bounds (bombs): a compressed input may expand to MAX_EXPANSION times its size on
#: disk, always at least EXPANSION_ALLOWANCE bytes and never more than MAX_DECOMPRESSED_BYTES.
#: Real racoon logs gzip 10-40x; DEFLATE tops out near 1030x and bzip2 far beyond.
MAX_EXPANSION = 200
EXPANSION_ALLOWANCE = 64 * 1024**2
MAX_DECOMPRESSED_BYTES = 8 * 1024**3

#: Longest line a line-oriented parser holds (racoon's own buffers are far shorter: psk.txt lines
#: 1 KiB, log lines a few KiB). The rest of a longer line is read and dropped, never kept.
MAX_LINE = 64 * 1024

#: The most a parser that takes its input in whole (racoon.conf and its includes) reads: a
#: racoon.conf of 10 000 remotes is about 1 MiB.
MAX_WHOLE_TEXT = 16 * 1024 * 1024

#: How much a read without a size asks of the decompressor at a time.
_CHUNK = 1 << 20

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


class InputTooLarge(OSError):
    """A compressed input expands beyond the bounds above (a decompression bomb, or a corrupt file)."""


class CorruptCompressedInput(OSError):
    """A gzip/bzip2 stream that is truncated or damaged (``EOFError`` and ``zlib.error`` made OSErrors)."""


def decompression_limit(compressed_size: int) -> int:
    """How many decompressed bytes a compressed input of ``compressed_size`` bytes may yield."""
    return min(MAX_DECOMPRESSED_BYTES, max(EXPANSION_ALLOWANCE, MAX_EXPANSION * compressed_size))


class BoundedReader(io.BufferedIOBase):
    """A decompressing stream that raises :class:`InputTooLarge` instead of reading past ``limit``.

    Every read asks the decompressor for at most ``limit + 1 - position`` bytes, so not even a
    single ``read()`` or ``readline()`` of a bomb can make us hold more than ``limit`` bytes.
    A truncated or damaged stream raises :class:`CorruptCompressedInput`, an ``OSError`` like
    every other unreadable input, never ``EOFError`` or ``zlib.error``.
    """

    def __init__(self, inner: BinaryIO, limit: int, name: str) -> None:
        super().__init__()
        self._inner = inner
        self.limit = limit
        self.name = name

    def _room(self, size: int | None) -> int:
        room = self.limit + 1 - self._inner.tell()
        if room <= 0:
            self._too_large()
        return room if size is None or size < 0 else min(size, room)

    def _checked(self, data: bytes) -> bytes:
        if self._inner.tell() > self.limit:
            self._too_large()
        return data

    def _decompress(self, call: Callable[[int], T], arg: int) -> T:
        try:
            return call(arg)
        except (EOFError, zlib.error) as err:
            raise CorruptCompressedInput(errno.EIO, f"compressed data is truncated or damaged ({err})",
                                         self.name) from err

    def _too_large(self) -> None:
        raise InputTooLarge(
            errno.EFBIG,
            f"decompresses to more than {self.limit} bytes, the bound for a compressed input of its size"
            " (a decompression bomb or a corrupt file)",
            self.name,
        )

    def read(self, size: int | None = -1) -> bytes:
        if size is not None and size >= 0:
            return self._checked(self._decompress(self._inner.read, self._room(size)))
        parts = []
        while chunk := self._checked(self._decompress(self._inner.read, min(_CHUNK, self._room(None)))):
            parts.append(chunk)
        return b"".join(parts)

    def read1(self, size: int = -1) -> bytes:
        return self.read(_CHUNK if size < 0 else size)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        return self._checked(self._decompress(self._inner.readline, self._room(size)))

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._inner.seekable()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_END:
            raise io.UnsupportedOperation("cannot seek from the end of a compressed input")
        target = offset + (self._inner.tell() if whence == io.SEEK_CUR else 0)
        if target > self.limit:
            self._too_large()
        return self._decompress(self._inner.seek, target)

    def tell(self) -> int:
        return self._inner.tell()

    def close(self) -> None:
        self._inner.close()
        super().close()


@contextmanager
def open_binary(path: Path) -> Iterator[BinaryIO]:
    """Open a file for streaming reads, decompressing gzip/bzip2 transparently (and boundedly)."""
    kind = compression(path)
    fh: BinaryIO
    if kind in ("gzip", "bzip2"):
        inner = gzip.open(path, "rb") if kind == "gzip" else bz2.open(path, "rb")
        limit = decompression_limit(path.stat().st_size)
        fh = BoundedReader(inner, limit, str(path))  # type: ignore[arg-type,assignment]
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


def bounded_lines(fh: IO[AnyStr], limit: int = MAX_LINE) -> Iterator[AnyStr]:
    """The lines of a text or binary file, like ``for line in fh``, in bounded memory.

    A line longer than ``limit`` is cut to its first ``limit`` characters and its rest is read and
    dropped: the cut line is the only one, besides a last line without a newline, that does not
    end with a line end. A 2 GB line (a NUL-filled hole after a crash) costs time, never memory.
    """
    ends = ("\n", "\r", b"\n", b"\r")
    while line := fh.readline(limit):
        if len(line) == limit and line[-1:] not in ends:
            while (rest := fh.readline(limit)) and len(rest) == limit and rest[-1:] not in ends:
                pass
        yield line


def read_text(path: Path, limit: int = MAX_WHOLE_TEXT) -> str:
    """The whole (decompressed) text of a small input, for parsers that need it at once.

    Raises ``OSError`` for what is not a regular file (``include "/dev/zero"``, a FIFO) and
    :class:`InputTooLarge` beyond ``limit`` characters, rather than reading without end.
    """
    if not path.is_file():
        raise OSError(errno.EINVAL, "not a regular file; not read", str(path))
    too_large = InputTooLarge(errno.EFBIG, f"larger than {limit} bytes, too large for this kind of input", str(path))
    if compression(path) is None and path.stat().st_size > limit:
        raise too_large
    with open_text(path) as fh:
        text = fh.read(limit + 1)
    if len(text) > limit:
        raise too_large
    return text


def read_head(path: Path, size: int = HEAD_BYTES) -> bytes:
    """The first ``size`` bytes of the (decompressed) content; b"" when that fails."""
    try:
        with open_binary(path) as fh:
            return fh.read(size)
    except (OSError, EOFError, ValueError):
        return b""


def spool_stdin(directory: Path | None = None) -> Source:
    """Copy standard input to a private temporary file so it can be sniffed and read twice."""
    return _spool(sys.stdin.buffer, "<stdin>", directory)


def spool(source: Source, directory: Path | None = None) -> Source:
    """Copy a pipe (``<(setkey -D)``, a FIFO) to a private temporary file, keeping its name."""
    with source.path.open("rb") as fh:
        return _spool(fh, source.name, directory)


def _spool(stream: BinaryIO, name: str, directory: Path | None) -> Source:
    copy = tempfile.NamedTemporaryFile(prefix="racoondbg-spool-", dir=directory, delete=False)
    with copy:
        shutil.copyfileobj(stream, copy)
    return Source(Path(copy.name), name)
