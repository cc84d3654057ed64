"""Locations, parse errors and secret tags: what every model object shares."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Location:
    """Where a parsed object came from: a file and a line (text inputs) or a frame (captures).

    ``line`` and ``column`` are 1-based. ``end_line`` covers multi-line objects (a SAD entry,
    a hexdump record). ``frame`` is the 1-based frame number in a capture.
    """

    path: str
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    frame: int | None = None

    def __str__(self) -> str:
        if self.frame is not None:
            return f"{self.path}#frame {self.frame}"
        if self.line is None:
            return self.path
        if self.column is None:
            return f"{self.path}:{self.line}"
        return f"{self.path}:{self.line}:{self.column}"


#: What key material looks like when an error or a finding quotes an input line: two or more
#: 8-digit hex words (setkey -D key lines, racoon -d hexdumps), long 0x hex (setkey scripts,
#: ip xfrm) and the quoted ASCII key after `-E alg` / `-A alg` in a setkey script.
_KEY_SHAPES = re.compile(
    r"\b[0-9a-fA-F]{8}(?:[ \t]+[0-9a-fA-F]{2,8}\b)+"
    r"|\b0x[0-9a-fA-F]{16,}"
    r"|(?<=-[EA])(?P<alg>[ \t]+[\w-]+[ \t]+)\"[^\"\n]*\"?"
)


def redact_secrets(text: str) -> str:
    """``text`` with anything shaped like key material replaced by ``[redacted]``.

    For quotes of input lines in errors and findings: SPIs, cookies, addresses and secret tags
    keep their shape; hexdumps and keys do not. ``--show-keys`` output does not go through here.
    """
    return _KEY_SHAPES.sub(lambda m: f"{m.group('alg')}[redacted]" if m.group("alg") else "[redacted]", text)


class ParseError(Exception):
    """The one exception a parser raises for bad input; lenient parsers collect them instead.

    Message and hint are redacted (:func:`redact_secrets`): an error quoting a key line of a
    setkey dump or a hexdump of a log must not print the key.
    """

    def __init__(self, location: Location, message: str, hint: str | None = None) -> None:
        message = redact_secrets(message)
        hint = redact_secrets(hint) if hint else hint
        super().__init__(f"{location}: {message}")
        self.location = location
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        """The error as one line, the way the CLI prints it."""
        text = f"{self.location}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text


def secret_tag(secret: bytes | str) -> str:
    """A stable short tag for a secret: equal secrets give equal tags, the secret itself never shows.

    Used for ESP/AH keys, pre-shared keys and anything a hexdump may hold, so that two peers'
    keys can be compared without revealing them.
    """
    data = secret.encode("utf-8", "surrogateescape") if isinstance(secret, str) else secret
    return "secret:" + hashlib.sha256(b"racoondbg-secret-tag\0" + data).hexdigest()[:12]
