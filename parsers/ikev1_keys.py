"""IKEv1 phase-1 encryption keys the user supplies to decrypt a capture (``--ike-keys FILE``).

Two kinds of file are read:

* Wireshark's ``ikev1_decryption_table`` (Preferences > Protocols > ISAKMP > IKEv1 Decryption
  Table): one SA per line, the initiator cookie (8 bytes) and the encryption key in hex, separated
  by a comma (Wireshark's own format, fields optionally quoted) or white space; ``#`` comments.
* A racoon log written with ``-d``/``-ddd``: racoon prints the keying material as hexdumps after
  ``final encryption key computed:`` (or just ``SKEYID_e computed:``) and the phase-1 ``IV
  computed:``. The cookie is taken from the last packet hexdump before the key (the message that
  carried the peer's KE) or else from the next ``ISAKMP-SA established ... spi:I:R`` line.

Keys are secrets: they live only in :class:`IkeKey` (``repr=False``), never in a message, an error
or the capture model. Nothing here is used unless decryption was asked for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from racoondbg.model.base import Location, ParseError
from racoondbg.sources import Source, open_binary, open_text

from .log_lines import HEX_LINE, detect

#: Key lengths any IKEv1 cipher uses (DES 8 .. AES-256 32, Blowfish up to 56) and SKEYID_e up to SHA-512.
MAX_KEY_BYTES = 64
#: Bad key-table rows reported before the rest of the file is given up.
MAX_ERRORS = 20
_HEX = re.compile(r"[0-9A-Fa-f]+")
_TABLE_ROW = re.compile(r'^\s*"?(?:0x)?([0-9A-Fa-f:]*)"?\s*[,;\s]\s*"?(?:0x)?([0-9A-Fa-f:]*)"?\s*$')
_ESTABLISHED = re.compile(r"ISAKMP-SA established .*?spi:([0-9a-f]{16}):([0-9a-f]{16})")
_PACKET = re.compile(r"\d+ bytes message received from|\d+ times of \d+ bytes message will be sent to|"
                     r"^\d+ bytes from \S+ to \S+")
_KEY_LABELS = (
    (re.compile(r"(?:final )?encryption key computed"), "key"),
    (re.compile(r"^SKEYID_e computed"), "skeyid_e"),
    (re.compile(r"^IV computed"), "iv"),
)


@dataclass(frozen=True, slots=True)
class IkeKey:
    """The phase-1 encryption key of one ISAKMP SA, found at ``location``.

    ``kind`` is ``"key"`` (the cipher key, as Wireshark's table holds it) or ``"skeyid_e"`` (the
    key must still be cut or stretched to the cipher's length). ``iv`` is racoon's phase-1 IV, when
    its log printed one (used when the capture lacks the KE payloads).
    """

    icookie: str
    secret: bytes = field(repr=False)
    kind: str
    location: Location
    iv: bytes | None = field(default=None, repr=False)


@dataclass(slots=True)
class IkeKeys:
    """Every key found in the ``--ike-keys`` files, by initiator cookie (hex)."""

    keys: dict[str, list[IkeKey]] = field(default_factory=dict)
    errors: list[ParseError] = field(default_factory=list)

    def add(self, key: IkeKey) -> None:
        known = self.keys.setdefault(key.icookie, [])
        if all(k.secret != key.secret for k in known):
            known.append(key)

    def for_cookie(self, icookie: str) -> list[IkeKey]:
        return self.keys.get(icookie, [])

    def __len__(self) -> int:
        return sum(len(v) for v in self.keys.values())


def load_keys(paths: Iterable[str | Path]) -> IkeKeys:
    """Read every key file; unreadable files and bad lines become errors, never exceptions."""
    out = IkeKeys()
    for path in paths:
        source = Source.of(str(path))
        try:
            found = _read_file(source, out.errors)
        except (OSError, ValueError, EOFError) as err:
            reason = getattr(err, "strerror", None) or err
            out.errors.append(ParseError(Location(source.name), f"cannot read the IKE key file: {reason}"))
            continue
        for key in found:
            out.add(key)
    return out


def _read_file(source: Source, errors: list[ParseError]) -> list[IkeKey]:
    """The keys of one file: a racoon log (recognised by its record prefixes) or a key table."""
    with open_binary(source.path) as fh:
        head = fh.read(65536)
    fmt, count = detect(head)
    with open_text(source.path) as text:  # streamed: racoon -d logs can be big
        if fmt is None or not count or fmt.name == "bare":
            return list(read_key_table(text, source.name, errors))
        found = list(keys_from_racoon_log(text, source.name))
    if not found:
        errors.append(ParseError(Location(source.name), "this racoon log prints no encryption keys",
                                 "racoon prints them only when started with -d (or with `log debug;`)"))
    return found


def _hex(value: str) -> bytes | None:
    value = value.replace(":", "")
    if not value or len(value) % 2 or not _HEX.fullmatch(value):
        return None
    return bytes.fromhex(value)


def read_key_table(lines: Iterable[str], name: str, errors: list[ParseError]) -> Iterator[IkeKey]:
    """Rows of a Wireshark ``ikev1_decryption_table`` (or ``icookie,key`` / ``icookie key``).

    At most :data:`MAX_ERRORS` bad rows are reported (a wrong file given as the key table).
    """
    first_error = len(errors)
    for number, line in enumerate(lines, 1):
        if len(errors) - first_error >= MAX_ERRORS:
            errors.append(ParseError(Location(name, line=number), "more rows that are not IKEv1 keys: not read"))
            return
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = Location(name, line=number)
        row = _TABLE_ROW.match(line)
        if row is None:
            errors.append(ParseError(where, "not an IKEv1 key table row",
                                     "write one SA per line: initiator cookie (16 hex digits), then the key in hex"))
            continue
        cookie, key = _hex(row.group(1)), _hex(row.group(2))
        if cookie is None or len(cookie) != 8:
            errors.append(ParseError(where, "the initiator cookie must be 8 bytes (16 hex digits)"))
        elif key is None or not 8 <= len(key) <= MAX_KEY_BYTES:
            errors.append(ParseError(where, "the encryption key must be 8 to 64 bytes in hex",
                                     "copy racoon's `final encryption key computed:` dump, without spaces"))
        else:
            yield IkeKey(cookie.hex(), key, "key", where)


def keys_from_racoon_log(lines: Iterable[str], name: str) -> Iterator[IkeKey]:
    """The keys a racoon -d log prints, each tied to the initiator cookie of its ISAKMP SA."""
    scanner = _LogKeyScanner(name)
    for number, line in enumerate(lines, 1):
        yield from scanner.line(number, line)
    yield from scanner.flush()


class _LogKeyScanner:
    """Walks racoon records and their hexdump lines, remembering the last packet's cookie."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.label: str | None = None  # what the hexdump being read holds: key, skeyid_e, iv, packet
        self.dump = bytearray()
        self.dump_line = 0
        self.cookie: str | None = None  # initiator cookie of the last packet dump
        self.found: dict[str, tuple[bytes, int]] = {}  # key/skeyid_e/iv of the SA being set up
        self.waiting: list[IkeKey] = []  # keys seen before any packet dump: wait for "established"

    def line(self, number: int, line: str) -> Iterator[IkeKey]:
        stripped = line.rstrip("\r\n")
        if self.label and HEX_LINE.fullmatch(stripped.encode("ascii", "replace")):
            self.dump += bytes.fromhex(stripped.replace(" ", "")) if len(stripped.replace(" ", "")) % 2 == 0 else b""
            return
        yield from self._end_dump()
        message = _message(stripped)
        if message is None:
            return
        if not message.strip():  # the empty record that opens a plogdump: keep the label
            return
        self.label = None
        if _PACKET.search(message):
            self.label, self.dump_line = "packet", number
        for pattern, label in _KEY_LABELS:
            if pattern.search(message):
                self.label, self.dump_line = label, number
        established = _ESTABLISHED.search(message)
        if established:
            yield from self._emit(None, established.group(1))
            for key in self.waiting:
                yield IkeKey(established.group(1), key.secret, key.kind, key.location, key.iv)
            self.waiting = []

    def flush(self) -> Iterator[IkeKey]:
        yield from self._end_dump()
        yield from self._emit(None, None)

    def _end_dump(self) -> Iterator[IkeKey]:
        label, data = self.label, bytes(self.dump)
        self.dump = bytearray()
        if not data or label is None:
            return
        self.label = None
        if label == "packet":
            if len(data) >= 28:
                self.cookie = data[:8].hex()
        elif label == "iv":
            yield from self._emit(data, None)
        elif 8 <= len(data) <= MAX_KEY_BYTES and (label == "key" or "key" not in self.found):
            self.found[label] = (data, self.dump_line)

    def _emit(self, iv: bytes | None, established: str | None) -> Iterator[IkeKey]:
        """The SA's key is complete (its IV, its ``established`` line or the log's end): emit it."""
        kind = "key" if "key" in self.found else "skeyid_e"
        chosen = self.found.get(kind)
        if chosen is None:
            return
        self.found = {}
        cookie = self.cookie or established
        key = IkeKey(cookie or "", chosen[0], kind, Location(self.name, line=chosen[1]), iv)
        if cookie:
            yield key
        else:
            self.waiting.append(key)


def _message(line: str) -> str | None:
    """The message part of a racoon record line, or None when the line is not a record."""
    for marker in ("DEBUG: ", "DEBUG2: ", "INFO: ", "NOTIFY: ", "WARNING: ", "ERROR: "):
        at = line.find(marker)
        if at >= 0:
            rest = line[at + len(marker):]
            loc = re.match(r"[\w.+-]+\.[cly]:\d+(?::\w*\(\))?: ", rest)
            return rest[loc.end():] if loc else rest
    for marker in ("DEBUG:", "DEBUG2:"):
        if line.endswith(marker):
            return ""
    return None
