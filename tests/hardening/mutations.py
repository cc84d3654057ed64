"""Structure-aware mutations of real inputs, as Hypothesis strategies.

A fuzzed input starts from a seed (a fixture or a planted sample of the kind under test) and gets
one to four edits: line-level ones (drop, duplicate, swap, splice in a line of another seed, cut a
line short), token-level ones (numbers made huge, negative or empty; words doubled), byte-level
ones (flips, random garbage, lying 16/32-bit fields for binary formats), encodings (Latin-1 and
invalid UTF-8 bytes, UTF-16, a BOM, CR/CRLF line ends), truncation and compression (gzip, bzip2,
truncated gzip). Hypothesis shrinks a failure down to the smallest edit list that still fails.
"""

from __future__ import annotations

import bz2
import gzip
import re
from collections.abc import Callable, Sequence

from hypothesis import strategies as st

_NUMBER = re.compile(rb"\d+")
_EXTREMES = (b"0", b"-1", b"4294967295", b"4294967296", b"18446744073709551616", b"9" * 40, b"", b"0x", b"-0")
_FIELDS = (b"\x00\x00", b"\xff\xff", b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"\x00\x01",
           b"\x80\x00\x00\x00")
_NASTY_TEXT = (b"\x00", b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\xe2\x80\xae", b"\x1b[31m", b"\r", b"\t" * 64,
               b"{" * 200, b"}" * 50, b'"', b"\\", b";" * 10, b"%s%n", "é".encode("latin-1"))

Edit = Callable[[bytes, Sequence[bytes]], bytes]


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True) or [b""]


def edits() -> st.SearchStrategy[Edit]:
    """One edit; an edit is a function of (data, other seeds) so it can splice."""
    idx = st.integers(min_value=0, max_value=1 << 20)

    def truncate(i: int) -> Edit:
        return lambda d, _o: d[: i % (len(d) + 1)]

    def drop_lines(i: int, n: int) -> Edit:
        def f(d: bytes, _o: Sequence[bytes]) -> bytes:
            lines = _lines(d)
            start = i % len(lines)
            return b"".join(lines[:start] + lines[start + n:])
        return f

    def dup_line(i: int, times: int) -> Edit:
        def f(d: bytes, _o: Sequence[bytes]) -> bytes:
            lines = _lines(d)
            at = i % len(lines)
            return b"".join(lines[:at] + [lines[at]] * times + lines[at:])
        return f

    def swap_lines(i: int, j: int) -> Edit:
        def f(d: bytes, _o: Sequence[bytes]) -> bytes:
            lines = _lines(d)
            a, b = i % len(lines), j % len(lines)
            lines[a], lines[b] = lines[b], lines[a]
            return b"".join(lines)
        return f

    def splice(i: int, j: int, k: int, n: int) -> Edit:
        def f(d: bytes, others: Sequence[bytes]) -> bytes:
            if not others:
                return d
            donor = _lines(others[k % len(others)])
            lines = _lines(d)
            at, start = i % (len(lines) + 1), j % len(donor)
            return b"".join(lines[:at] + donor[start:start + n] + lines[at:])
        return f

    def splice_bytes(i: int, j: int, k: int, n: int) -> Edit:
        def f(d: bytes, others: Sequence[bytes]) -> bytes:
            donor = others[k % len(others)] if others else d
            at, start = i % (len(d) + 1), j % (len(donor) + 1)
            return d[:at] + donor[start:start + n] + d[at:]
        return f

    def cut_line(i: int, j: int) -> Edit:
        def f(d: bytes, _o: Sequence[bytes]) -> bytes:
            lines = _lines(d)
            at = i % len(lines)
            lines[at] = lines[at][: j % (len(lines[at]) + 1)]
            return b"".join(lines)
        return f

    def number(i: int, value: bytes) -> Edit:
        def f(d: bytes, _o: Sequence[bytes]) -> bytes:
            found = list(_NUMBER.finditer(d))
            if not found:
                return d
            m = found[i % len(found)]
            return d[: m.start()] + value + d[m.end():]
        return f

    def insert(i: int, blob: bytes) -> Edit:
        return lambda d, _o: d[: i % (len(d) + 1)] + blob + d[i % (len(d) + 1):]

    def overwrite(i: int, blob: bytes) -> Edit:
        def f(d: bytes, _o: Sequence[bytes]) -> bytes:
            if not d:
                return blob
            at = i % len(d)
            return d[:at] + blob + d[at + len(blob):]
        return f

    def flip(i: int, mask: int) -> Edit:
        def f(d: bytes, _o: Sequence[bytes]) -> bytes:
            if not d:
                return d
            at = i % len(d)
            return d[:at] + bytes([d[at] ^ mask]) + d[at + 1:]
        return f

    def encode(how: str) -> Edit:
        def f(d: bytes, _o: Sequence[bytes]) -> bytes:
            text = d.decode("utf-8", "replace")
            return {
                "latin1": lambda: text.replace("e", "é").encode("latin-1", "replace"),
                "utf16": lambda: text.encode("utf-16"),
                "bom": lambda: b"\xef\xbb\xbf" + d,
                "crlf": lambda: d.replace(b"\n", b"\r\n"),
                "cr": lambda: d.replace(b"\n", b"\r"),
                "nonl": lambda: d.replace(b"\n", b" "),
                "tabs": lambda: d.replace(b"\t", b" ").replace(b"  ", b"\t"),
            }[how]()
        return f

    return st.one_of(
        st.builds(truncate, idx),
        st.builds(drop_lines, idx, st.integers(1, 8)),
        st.builds(dup_line, idx, st.sampled_from([2, 3, 50])),
        st.builds(swap_lines, idx, idx),
        st.builds(splice, idx, idx, idx, st.integers(1, 6)),
        st.builds(splice_bytes, idx, idx, idx, st.integers(1, 512)),
        st.builds(cut_line, idx, idx),
        st.builds(number, idx, st.sampled_from(_EXTREMES)),
        st.builds(insert, idx, st.sampled_from(_NASTY_TEXT) | st.binary(min_size=1, max_size=64)),
        st.builds(overwrite, idx, st.sampled_from(_FIELDS)),
        st.builds(flip, idx, st.integers(1, 255)),
        st.builds(encode, st.sampled_from(["latin1", "utf16", "bom", "crlf", "cr", "nonl", "tabs"])),
    )


def _wrap(data: bytes, how: str) -> bytes:
    if how == "gzip":
        return gzip.compress(data, mtime=0)
    if how == "gzip-truncated":
        packed = gzip.compress(data, mtime=0)
        return packed[: max(10, len(packed) * 2 // 3)]
    if how == "gzip-corrupt":
        packed = bytearray(gzip.compress(data, mtime=0))
        if len(packed) > 20:
            packed[12] ^= 0xFF
        return bytes(packed)
    if how == "bzip2":
        return bz2.compress(data)
    return data


@st.composite
def mutated(draw: st.DrawFn, seeds: Sequence[bytes], others: Sequence[bytes] = ()) -> bytes:
    """A seed with one to four edits, sometimes compressed (or compressed and broken)."""
    data = draw(st.sampled_from(list(seeds)))
    donors = [*seeds, *others]
    for edit in draw(st.lists(edits(), min_size=1, max_size=4)):
        data = edit(data, donors)
    how = draw(st.sampled_from(["plain"] * 12 + ["gzip", "gzip-truncated", "gzip-corrupt", "bzip2"]))
    return _wrap(data, how)


def garbage() -> st.SearchStrategy[bytes]:
    """Binary garbage, sometimes behind a magic number that makes a sniffer look twice."""
    magic = st.sampled_from([b"", b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x0a\x0d\x0d\x0a", b"\x1f\x8b",
                             b"BZh9", b"-----BEGIN CERTIFICATE-----\n", b"remote ", b"spdadd ",
                             b"2014-03-01 10:00:05: ", b"src 192.0.2.1 dst ", b"\x30\x82"])
    return st.builds(lambda m, body: m + body, magic, st.binary(max_size=4096))
