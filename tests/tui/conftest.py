"""A small racoon scenario for the TUI tests: the demo's racoon.conf, a log, and pinned findings.

The findings are written here, not produced by the rules, so the TUI tests (and snapshots) do not
change when rules are added or reworded.
"""

from __future__ import annotations

import asyncio
import functools
import html
import re
import shutil
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path

import pytest

from racoondbg.engine import Coverage, Result
from racoondbg.evidence import Evidence, InputInfo
from racoondbg.model.finding import EvidenceRef, Finding, Severity
from racoondbg.sources import Source
from racoondbg.tui import make_app
from racoondbg.tui.app import RacoonApp

FIXTURES = Path(__file__).parent.parent / "fixtures" / "tui"


def run_async(test: Callable[..., Coroutine[object, object, None]]) -> Callable[..., None]:
    """Run an ``async def`` test in its own event loop (no asyncio plugin is needed)."""

    @functools.wraps(test)
    def wrapper(*args: object, **kwargs: object) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


@dataclass
class Scenario:
    root: Path
    conf: str
    log: str
    evidence: Evidence
    result: Result

    def app(self, **kwargs: object) -> RacoonApp:
        kwargs.setdefault("roots", [Source(self.root, "scenario")])
        kwargs.setdefault("logs", [Source(self.root / "racoon.log", self.log)])
        return make_app(self.evidence, self.result, **kwargs)  # type: ignore[arg-type]


def pinned_findings(conf: str, log: str) -> list[Finding]:
    return [
        Finding("RDB102", "proposal-mismatch-ph1", Severity.ERROR, "No common phase-1 proposal",
                "10.3.0.1 rejected every phase-1 proposal: we offer only AES-256 (rijndael 256)",
                (EvidenceRef(conf, 13, excerpt="encryption_algorithm rijndael 256;"),
                 EvidenceRef(log, 33, excerpt="notification NO-PROPOSAL-CHOSEN received in phase1 exchange.")),
                "encryption_algorithm 3des, rijndael 256;", "10.3.0.1"),
        Finding("RDB301", "ph1-retransmit-timeout", Severity.WARNING, "Phase 1 never answered",
                "10.3.0.1 did not answer the first aggressive-mode message (3 resends, 40 s)",
                (EvidenceRef(log, 22, excerpt="phase1 negotiation failed due to time up."),),
                "Check that UDP 500 reaches 10.3.0.1 and that racoon runs there.", "10.3.0.1"),
        Finding("RDB105", "lifetime-short", Severity.INFO, "Short phase-1 lifetime",
                "phase-1 lifetime is 60 min; peers often propose 8 h", (EvidenceRef(conf, 11),), None, None),
    ]


@pytest.fixture
def scenario(tmp_path: Path) -> Scenario:
    root = tmp_path / "scenario"
    shutil.copytree(FIXTURES, root)
    conf, log = "scenario/racoon.conf", "scenario/racoon.log"
    evidence = Evidence(inputs=[InputInfo(conf, "conf"), InputInfo(log, "log")])
    coverage = Coverage(ran=["proposal-mismatch-ph1", "ph1-retransmit-timeout"],
                        skipped=[("spd-sad-mode-mismatch", ["spd", "sad"]), ("duplicate-sa", ["sad"]),
                                 ("nat-t-mismatch", ["pcap"]), ("psk-not-found", ["psk|log"])])
    return Scenario(root, conf, log, evidence, Result(pinned_findings(conf, log), coverage))


_SVG_TEXT = re.compile(r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>')


def screen_text(app: RacoonApp) -> str:
    """What the screen shows, as plain text lines (read back from Textual's SVG screenshot)."""
    rows: dict[float, list[tuple[float, str]]] = {}
    for match in _SVG_TEXT.finditer(app.export_screenshot()):
        rows.setdefault(float(match.group(2)), []).append((float(match.group(1)), html.unescape(match.group(3))))
    lines = []
    for y in sorted(rows):
        line = ""
        for x, text in sorted(rows[y]):
            line = line.ljust(round(x / 12.2)) + text
        lines.append(line.replace("\xa0", " ").rstrip())
    return "\n".join(lines)
