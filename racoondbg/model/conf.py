"""racoon.conf as a typed tree (filled in by parsers/racoon_conf.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from racoondbg.model.base import Location, ParseError


@dataclass(slots=True)
class RacoonConf:
    """A parsed racoon.conf with its includes followed.

    ``paths`` maps a ``path`` directive's kind (``certificate``, ``pre_shared_key``, ...) to its value
    as written; :mod:`racoondbg.evidence` resolves it against the config's directory or ``--root``.
    """

    location: Location
    paths: dict[str, str] = field(default_factory=dict)
    errors: list[ParseError] = field(default_factory=list)
    flavour: str | None = None
