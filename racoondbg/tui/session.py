"""What the TUI shows, independent of any widget: the evidence, the findings, and where files are.

Findings and model objects name their files by *source name* (what the user typed, or
``demo/racoon.conf`` for the demo); :meth:`Session.resolve` turns such a name back into the file
on disk so that a view can show the line the evidence points at.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from racoondbg.engine import Result
from racoondbg.evidence import Evidence
from racoondbg.inputs import input_kinds
from racoondbg.model.finding import EvidenceRef, Finding
from racoondbg.sources import Source, read_head

Analyse = Callable[[], "tuple[Evidence, Result]"]

#: Inputs whose text the Config view can show, with the part names of :class:`Evidence`.
TEXT_KINDS = ("conf", "spd", "sad", "script", "psk")
_LOG_LINE = re.compile(rb"(?m)^.{0,80}?\b(?:ERROR|WARNING|NOTIFY|INFO|DEBUG2?): ")
_MAX_LOG_WALK = 500


@dataclass(slots=True)
class Session:
    """The state every view reads. ``analyse`` (re)loads the evidence and runs the rules."""

    evidence: Evidence | None = None
    result: Result | None = None
    analyse: Analyse | None = None
    roots: Sequence[Source] = ()
    log_files: list[Source] = field(default_factory=list)
    show_keys: bool = False
    title: str = "racoondbg"

    @property
    def ready(self) -> bool:
        return self.evidence is not None and self.result is not None

    @property
    def findings(self) -> list[Finding]:
        return list(self.result.findings) if self.result else []

    def update(self, evidence: Evidence, result: Result) -> None:
        self.evidence, self.result = evidence, result
        for source in self._logs_in_evidence():
            if all(source.name != known.name for known in self.log_files):
                self.log_files.append(source)

    def resolve(self, name: str) -> Path | None:
        """The file on disk behind a source name, or None (stdin, bundle members)."""
        for root in self.roots:
            base = root.name.rstrip("/")
            if name == root.name:
                return root.path
            if name.startswith(base + "/"):
                candidate = root.path / name[len(base) + 1 :]
                if candidate.is_file():
                    return candidate
        if "!" not in name and not name.startswith("<") and os.path.isfile(name):
            return Path(name)
        return None

    def kind_of(self, name: str) -> str | None:
        """The input kind (``conf``, ``log``...) the loader gave this source name."""
        if self.evidence is not None:
            for info in self.evidence.inputs:
                if info.path == name:
                    return _part_of(info.kind)
        if any(s.name == name for s in self.log_files):
            return "log"
        return None

    def text_inputs(self) -> list[tuple[str, str]]:
        """(name, part) of every input the Config view can show, racoon.conf first."""
        if self.evidence is None:
            return []
        found = [(i.path, _part_of(i.kind)) for i in self.evidence.inputs]
        shown = [(n, p) for n, p in found if p in TEXT_KINDS and self.resolve(n) is not None]
        return sorted(shown, key=lambda item: (TEXT_KINDS.index(item[1]), item[0]))

    def findings_by_line(self, name: str) -> dict[int, list[Finding]]:
        """Findings whose evidence points at a line of this file."""
        marks: dict[int, list[Finding]] = defaultdict(list)
        for finding in self.findings:
            for ref in finding.evidence:
                if ref.path == name and ref.line is not None and finding not in marks[ref.line]:
                    marks[ref.line].append(finding)
        return dict(marks)

    def refs_to(self, name: str) -> Iterator[tuple[Finding, EvidenceRef]]:
        for finding in self.findings:
            for ref in finding.evidence:
                if ref.path == name:
                    yield finding, ref

    def _logs_in_evidence(self) -> Iterator[Source]:
        if self.evidence is None:
            return
        for info in self.evidence.inputs:
            if _part_of(info.kind) == "log":
                path = self.resolve(info.path)
                if path is not None:
                    yield Source(path, info.path)


def _part_of(kind_name: str) -> str:
    for kind in input_kinds():
        if kind.name == kind_name:
            return kind.part
    return kind_name


def looks_like_log(source: Source) -> bool:
    """Whether a file is a racoon log: the log parser's sniffer when installed, else level words."""
    head = read_head(source.path)
    kinds = [k for k in input_kinds() if k.part == "log"]
    if kinds:
        return any(_sniff(k.sniff, source, head) for k in kinds)
    return len(_LOG_LINE.findall(head[:16384])) >= 2


def _sniff(sniff: Callable[[Source, bytes], int], source: Source, head: bytes) -> bool:
    try:
        return sniff(source, head) > 0
    except Exception:  # a sniffer must never stop the TUI
        return False


def find_logs(paths: Sequence[Source], explicit: Sequence[Source] = ()) -> list[Source]:
    """The racoon logs among the inputs (files, and files in directories), before any analysis.

    The Log view opens these at once, whatever the log parser makes of them.
    """
    logs = list(explicit)
    seen = 0
    for source in paths:
        if source.path.is_file():
            candidates = [source]
        elif source.path.is_dir():
            candidates = [
                Source(Path(dirpath) / f, f"{source.name.rstrip('/')}/{Path(dirpath, f).relative_to(source.path)}")
                for dirpath, _dirs, files in sorted(os.walk(source.path)) for f in sorted(files)
            ]
        else:
            continue
        for candidate in candidates:
            seen += 1
            if seen > _MAX_LOG_WALK:
                return logs
            if looks_like_log(candidate) and all(candidate.name != s.name for s in logs):
                logs.append(candidate)
    return logs
