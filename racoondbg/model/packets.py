"""ISAKMP captures: messages and exchanges."""

from __future__ import annotations

from dataclasses import dataclass, field

from racoondbg.model.base import Location, ParseError


@dataclass(slots=True)
class Capture:
    """One pcap/pcapng file, decoded to ISAKMP messages grouped into exchanges."""

    location: Location
    flavour: str | None = None
    errors: list[ParseError] = field(default_factory=list)
