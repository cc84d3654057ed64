"""psk.txt (`path pre_shared_key`): identifier + key lines, read exactly as racoon's getpsk() reads them.

A line starting with ``#`` is a comment. The identifier runs up to the first white space; the
key is everything after the following white space up to the newline — trailing blanks and a
``\\r`` from DOS line endings included. A key starting with ``0x`` is hex. racoon takes the first
line whose identifier equals the one it looks up. Keys are kept only as secret tags.
"""

from __future__ import annotations

import ipaddress
import os
import re
import stat

from racoondbg.inputs import InputKind, LoadOptions
from racoondbg.model.base import Location, ParseError, secret_tag
from racoondbg.model.certs import FileFacts, PskEntry, PskFile
from racoondbg.sources import Source, bounded_lines, open_binary

from .certs import host_path

#: C isspace(): what separates the identifier from the key.
_SPACE = b" \t\n\v\f\r"
#: racoon reads lines with fgets() into a 1024-byte buffer.
LINE_BUFFER = 1024
_FQDN = re.compile(r"^(?:\*\.)?(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?\.)+[A-Za-z][A-Za-z0-9-]*\.?$")
_USER_FQDN = re.compile(r"^[^\s@]+@[^\s@]+$")
_HEX = re.compile(rb"^[0-9a-fA-F]*$")


def split_line(line: bytes) -> tuple[bytes, bytes] | None:
    """(identifier, key) as racoon splits a line (without its ``\\n``), or None when racoon skips it."""
    if line.startswith(b"#"):
        return None
    end = 0
    while end < len(line) and line[end] not in _SPACE:
        end += 1
    start = end
    while start < len(line) and line[start] in _SPACE:
        start += 1
    if end == len(line) or start == len(line):
        return None
    return line[:end], line[start:]


def key_bytes(key: bytes) -> tuple[bytes, bool, bool]:
    """What racoon uses as the key: (bytes, is_hex, hex_is_bad)."""
    if not key.startswith(b"0x"):
        return key, False, False
    digits = key[2:]
    if _HEX.match(digits) and len(digits) % 2 == 0:
        return bytes.fromhex(digits.decode("ascii")), True, False
    return key, True, True


def _entry(identifier: bytes, key: bytes, loc: Location, show_keys: bool) -> PskEntry:
    used, is_hex, bad_hex = key_bytes(key)
    text = key.rstrip(b"\r")
    return PskEntry(
        identifier=identifier.decode("utf-8", "surrogateescape"),
        key_tag=secret_tag(used),
        location=loc,
        hex=is_hex,
        bad_hex=bad_hex,
        trailing_space=text != text.rstrip(b" \t"),
        carriage_return=key.endswith(b"\r"),
        quoted=len(text) >= 2 and text[:1] in b"\"'" and text[-1:] == text[:1],
        key=key.decode("utf-8", "backslashreplace") if show_keys else None,
    )


def parse_lines(lines: list[bytes], name: str, show_keys: bool = False) -> tuple[list[PskEntry], list[ParseError]]:
    entries: list[PskEntry] = []
    errors: list[ParseError] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.removesuffix(b"\n")
        loc = Location(name, number)
        if len(raw) >= LINE_BUFFER:
            errors.append(ParseError(loc, f"line longer than {LINE_BUFFER - 1} bytes; racoon splits it"))
        parts = split_line(line)
        if parts is None:
            if line.strip(_SPACE) and not line.startswith(b"#"):
                errors.append(ParseError(loc, "identifier without a key; racoon ignores this line"))
            continue
        if not parts[0]:
            errors.append(ParseError(loc, "line starts with white space; racoon reads an empty identifier",
                                     "remove the leading blanks"))
            continue
        entries.append(_entry(parts[0], parts[1], loc, show_keys))
    return entries, errors


def _facts(path: os.PathLike[str]) -> tuple[FileFacts, bool, int | None]:
    link = os.lstat(path)
    info = os.stat(path)
    link_text = os.readlink(path) if stat.S_ISLNK(link.st_mode) else None
    facts = FileFacts.of_mode(info.st_mode, info.st_uid, info.st_gid, link_text)
    try:
        directory_uid: int | None = os.stat(os.path.dirname(os.path.abspath(path))).st_uid
    except OSError:
        directory_uid = None
    return facts, stat.S_ISREG(info.st_mode), directory_uid


def load(source: Source, options: LoadOptions) -> PskFile:
    with open_binary(source.path) as fh:
        lines = list(bounded_lines(fh))
    entries, errors = parse_lines(lines, source.name, options.show_keys)
    facts, regular, directory_uid = _facts(source.path)
    flavour = "crlf" if any(e.carriage_return for e in entries) else None
    return PskFile(Location(source.name), flavour, errors, entries, facts, regular, directory_uid,
                   host_path(source.path, options.root))


def looks_like_identifier(text: str) -> bool:
    if text == "*" or _FQDN.match(text) or _USER_FQDN.match(text):
        return True
    try:
        ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    return True


def sniff(source: Source, head: bytes) -> int:
    """Lines of `<address|fqdn|user@fqdn> <key>`, nothing else (a config, log or script never is)."""
    good = bad = 0
    for line in head.split(b"\n")[:200]:
        if not line.strip(_SPACE) or line.startswith(b"#"):
            continue
        parts = split_line(line)
        if parts is not None and looks_like_identifier(parts[0].decode("utf-8", "replace")):
            good += 1
        else:
            bad += 1
    if good == 0 or bad * 5 > good:
        return 0
    return 80 if bad == 0 else 50


INPUT_KINDS = [
    InputKind(
        name="psk",
        part="psk",
        description="pre-shared key file (path pre_shared_key): identifiers only, keys shown as tags",
        sniff=sniff,
        load=load,
        aliases=("psk.txt",),
    )
]
