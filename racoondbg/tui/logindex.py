"""A line index over a log file of any size: the engine under the Log view.

The file is never read whole and never memory-mapped (a log truncated under a mapping can kill
the process; lnav avoids mmap for that reason). A background thread counts line breaks block by
block: for every 64 KiB block the index keeps only the number of line breaks before it, so a
1 GB log costs about 128 KiB of index. A line is found by a binary search over the blocks and read
with ``os.pread``; the break positions of recently used blocks and the recently read lines sit in
small LRU caches.

Compressed logs are first copied, decompressed, to a private spool file (the same thread does it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from array import array
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Generic, TypeVar

from racoondbg.sources import compression, open_binary

#: Size of an index block; the index keeps one integer per block.
BLOCK = 1 << 16
#: How much the indexing thread reads at once (a multiple of BLOCK).
CHUNK = 1 << 23
#: Longest line returned whole; longer lines are cut (a log line that long is garbage anyway).
MAX_LINE = 1 << 16

K = TypeVar("K")
V = TypeVar("V")


class LRU(Generic[K, V]):
    """A small least-recently-used cache."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.size:
            self._data.popitem(last=False)

    def clear(self) -> None:
        self._data.clear()


class LogIndex:
    """Line access to one (possibly growing) file.

    ``line_count`` grows while :meth:`build` runs in its thread; every method may be called from
    the UI thread meanwhile. :meth:`update` indexes what was appended since (follow mode) and
    starts over when the file shrank (rotation).
    """

    def __init__(self, path: Path, name: str | None = None) -> None:
        self.source_path = Path(path)
        self.name = name or str(path)
        self.path = self.source_path
        self._spool: Path | None = None
        self._fd: int | None = None
        self._lock = threading.Lock()
        self._cum = array("Q", [0])  # line breaks before each full block
        self._tail_breaks = 0  # line breaks in the partial block after the last full one
        self._size = 0  # bytes indexed
        self._last_byte = b"\n"
        self.generation = 0  # bumped when the file is re-indexed from scratch
        self.done = threading.Event()
        self.error: str | None = None
        self._blocks: LRU[int, array[int]] = LRU(64)
        self._lines: LRU[int, str] = LRU(4096)

    # -- indexing ---------------------------------------------------------------------------------

    def build(self, progress: Callable[[float], None] | None = None, stop: threading.Event | None = None) -> None:
        """Index the whole file (run it in a thread); ``progress`` gets the fraction done."""
        try:
            self._open()
            self._scan(progress, stop)
        except OSError as err:
            self.error = err.strerror or str(err)
        finally:
            self.done.set()

    def update(self) -> bool:
        """Index bytes appended since the last scan; True when the file changed."""
        if self._fd is None or self._spool is not None:
            return False
        try:
            size = os.fstat(self._fd).st_size
            if os.stat(self.path).st_ino != os.fstat(self._fd).st_ino:
                size = -1  # replaced by rotation: reopen
        except OSError:
            return False
        if size == self._size:
            return False
        if size < self._size:
            self._reset()
            self._open()
        self._scan(None, None)
        return True

    def _open(self) -> None:
        if self._fd is not None:
            return
        if compression(self.source_path):
            fd, spool = tempfile.mkstemp(prefix="racoondbg-log-")
            os.close(fd)
            self._spool = Path(spool)
            with open_binary(self.source_path) as src, self._spool.open("wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK)
            self.path = self._spool
        self._fd = os.open(self.path, os.O_RDONLY)

    def _reset(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
            self._fd = None
            self._cum = array("Q", [0])
            self._tail_breaks = 0
            self._size = 0
            self._last_byte = b"\n"
            self._blocks.clear()
            self._lines.clear()
            self.generation += 1

    def _scan(self, progress: Callable[[float], None] | None, stop: threading.Event | None) -> None:
        assert self._fd is not None
        total = os.fstat(self._fd).st_size
        offset = (len(self._cum) - 1) * BLOCK
        while offset < total:
            if stop is not None and stop.is_set():
                return
            data = os.pread(self._fd, min(CHUNK, total - offset), offset)
            if not data:
                break
            full = len(data) - len(data) % BLOCK
            counts = [data.count(b"\n", i, i + BLOCK) for i in range(0, full, BLOCK)]
            tail = data.count(b"\n", full)
            with self._lock:
                for count in counts:
                    self._cum.append(self._cum[-1] + count)
                self._tail_breaks = tail
                self._size = offset + len(data)
                self._last_byte = data[-1:]
            offset += full if full else len(data)
            if not full:
                break
            if progress is not None:
                progress(min(1.0, offset / total) if total else 1.0)
        if progress is not None:
            progress(1.0)

    def close(self) -> None:
        self._reset()
        if self._spool is not None:
            with contextlib.suppress(OSError):
                self._spool.unlink()

    # -- reading ----------------------------------------------------------------------------------

    @property
    def size(self) -> int:
        return self._size

    @property
    def breaks(self) -> int:
        with self._lock:
            return self._cum[-1] + self._tail_breaks

    @property
    def line_count(self) -> int:
        """Lines indexed so far; a last line without a line break counts."""
        with self._lock:
            breaks = self._cum[-1] + self._tail_breaks
            return breaks + (1 if self._size and self._last_byte != b"\n" else 0)

    def _break_offsets(self, block: int) -> array[int]:
        """Absolute offsets of the line breaks inside ``block``."""
        cached = self._blocks.get(block)
        if cached is not None:
            return cached
        assert self._fd is not None
        start = block * BLOCK
        data = os.pread(self._fd, min(BLOCK, self._size - start), start)
        found = array("Q")
        pos = data.find(b"\n")
        while pos >= 0:
            found.append(start + pos)
            pos = data.find(b"\n", pos + 1)
        if block < len(self._cum) - 1:  # a full block never changes; the partial one may grow
            self._blocks.put(block, found)
        return found

    def _break_at(self, k: int) -> int:
        """Byte offset of the k-th (0-based) line break."""
        with self._lock:
            block = bisect_right(self._cum, k) - 1
            before = self._cum[block]
        return self._break_offsets(block)[k - before]

    def span(self, n: int) -> tuple[int, int]:
        """Byte range ``[start, end)`` of line ``n`` (0-based), without its line break."""
        breaks = self.breaks
        start = 0 if n == 0 else self._break_at(n - 1) + 1
        end = self._break_at(n) if n < breaks else self._size
        return start, end

    def line(self, n: int) -> str:
        """Line ``n`` (0-based) as text; undecodable bytes are replaced, never raised."""
        cached = self._lines.get(n)
        if cached is not None:
            return cached
        if self._fd is None or not 0 <= n < self.line_count:
            return ""
        start, end = self.span(n)
        data = os.pread(self._fd, min(end - start, MAX_LINE), start)
        text = data.decode("utf-8", "replace").rstrip("\r")
        if end - start > MAX_LINE:
            text += " …"
        if n < self.breaks:  # a line with its break is final; the last one may still grow
            self._lines.put(n, text)
        return text

    def chunks(self, first_line: int = 0, size: int = CHUNK) -> Iterator[tuple[int, bytes]]:
        """The indexed text from ``first_line`` on, as ``(line number, bytes)`` pieces.

        Every piece but the last ends with a line break (a line longer than ``size`` makes its
        piece longer); the last one may end inside an unfinished line.
        """
        fd = self._fd
        if fd is None:
            return
        line = first_line
        offset = 0 if line == 0 else self._break_at(line - 1) + 1 if line <= self.breaks else self._size
        end = self._size
        while offset < end:
            try:
                data = os.pread(fd, min(size, end - offset), offset)
                while b"\n" not in data and offset + len(data) < end:
                    more = os.pread(fd, min(size, end - offset - len(data)), offset + len(data))
                    if not more:
                        break
                    data += more
            except OSError:  # closed under us (the view went away, or the file was rotated)
                return
            if not data or fd != self._fd:
                return
            cut = data.rfind(b"\n") + 1
            if cut == 0 or offset + len(data) >= end:
                cut = len(data)
            piece = data[:cut]
            yield line, piece
            line += piece.count(b"\n")
            offset += cut
