"""Certificate directories and pre-shared key files, as racoon sees them."""

from __future__ import annotations

from dataclasses import dataclass, field

from racoondbg.model.base import Location, ParseError


@dataclass(slots=True)
class CertStore:
    """The directory named by `path certificate`."""

    location: Location
    flavour: str | None = None
    errors: list[ParseError] = field(default_factory=list)


@dataclass(slots=True)
class PskFile:
    """psk.txt: identifiers and (never shown) keys."""

    location: Location
    flavour: str | None = None
    errors: list[ParseError] = field(default_factory=list)
