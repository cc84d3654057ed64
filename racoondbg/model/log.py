"""racoon logs: records, typed events and negotiations."""

from __future__ import annotations

from dataclasses import dataclass, field

from racoondbg.model.base import Location, ParseError


@dataclass(slots=True)
class LogAnalysis:
    """What one racoon log said, reduced to events and negotiations."""

    location: Location
    flavour: str | None = None
    errors: list[ParseError] = field(default_factory=list)
