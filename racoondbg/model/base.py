"""Locations, parse errors and secret tags: what every model object shares."""

from __future__ import annotations

import hashlib
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


class ParseError(Exception):
    """The one exception a parser raises for bad input; lenient parsers collect them instead."""

    def __init__(self, location: Location, message: str, hint: str | None = None) -> None:
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
