"""Findings: what a rule reports, with the evidence that shows it and the fix."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from racoondbg.model.base import Location


class Severity(enum.IntEnum):
    """Ordered so that ``a >= b`` means *a is at least as bad as b*."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        return cls[text.strip().upper()]


@dataclass(frozen=True, slots=True)
class EvidenceRef:
    """One piece of evidence a finding points at: a file line, a capture frame, a policy or an SA."""

    path: str
    line: int | None = None
    frame: int | None = None
    excerpt: str | None = None
    note: str | None = None

    @classmethod
    def at(cls, location: Location, excerpt: str | None = None, note: str | None = None) -> EvidenceRef:
        return cls(location.path, location.line, location.frame, excerpt, note)

    def where(self) -> str:
        if self.frame is not None:
            return f"{self.path}#frame {self.frame}"
        if self.line is not None:
            return f"{self.path}:{self.line}"
        return self.path


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule's verdict about one thing, ready to show."""

    code: str
    slug: str
    severity: Severity
    title: str
    message: str
    evidence: tuple[EvidenceRef, ...] = ()
    fix: str | None = None
    peer: str | None = None
    debug: str | None = field(default=None, compare=False)

    def sort_key(self) -> tuple[int, str, str, str]:
        first = self.evidence[0].where() if self.evidence else ""
        return (-int(self.severity), self.code, first, self.message)
