"""Kernel IPsec state: security policies (SPD) and security associations (SAD)."""

from __future__ import annotations

from dataclasses import dataclass, field

from racoondbg.model.base import Location, ParseError


@dataclass(slots=True)
class SpdDump:
    """The SPD as `setkey -DP` or `ip xfrm policy` showed it."""

    location: Location
    flavour: str | None = None
    errors: list[ParseError] = field(default_factory=list)


@dataclass(slots=True)
class SadDump:
    """The SAD as `setkey -D` or `ip xfrm state` showed it."""

    location: Location
    flavour: str | None = None
    errors: list[ParseError] = field(default_factory=list)


@dataclass(slots=True)
class SetkeyScript:
    """What a `setkey -c`/`-f` script (or a shell script feeding setkey) installs."""

    location: Location
    flavour: str | None = None
    errors: list[ParseError] = field(default_factory=list)
