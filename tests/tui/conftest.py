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
from textual.widgets import Input

from racoondbg.cli import demo_dir
from racoondbg.engine import Coverage, Result, run
from racoondbg.evidence import Evidence, InputInfo, load_evidence
from racoondbg.inputs import LoadOptions
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


@functools.cache
def demo_evidence() -> tuple[Evidence, Result]:
    base = demo_dir()
    evidence = load_evidence([Source(base, "demo")], options=LoadOptions(root=base / "sysroot"))
    return evidence, run(evidence)


def demo_app() -> RacoonApp:
    return make_app(*demo_evidence(), roots=[Source(demo_dir(), "demo")], title="racoondbg demo")


@pytest.fixture
def capture_app(tmp_path: Path) -> RacoonApp:
    shutil.copy(FIXTURES / "mm5-unanswered.pcap", tmp_path / "ike.pcap")
    source = Source(tmp_path / "ike.pcap", "ike.pcap")
    evidence = load_evidence([source])
    return make_app(evidence, run(evidence), roots=[source])


def crumbs(app: RacoonApp) -> str:
    return str(app.query_one("#crumbs").render())


async def settle(pilot: object, app: RacoonApp, seconds: float = 0.05) -> None:
    """Let threads finish their work and the app refresh."""
    await asyncio.sleep(seconds)
    await pilot.pause()  # type: ignore[attr-defined]


async def started(pilot: object) -> None:
    """Wait until the app has mounted and the first view holds the keyboard."""
    app = pilot.app  # type: ignore[attr-defined]
    await wait_for(pilot, lambda: app.focused is not None and app.view() in app.focused.ancestors_with_self)


async def ask(pilot: object, key: str, answer: str) -> None:
    """Open a prompt with ``key``, type the answer, press Enter."""
    await pilot.press(key)  # type: ignore[attr-defined]
    app = pilot.app  # type: ignore[attr-defined]
    await wait_for(pilot, lambda: app.focused is app.query_one("#prompt-input", Input))
    await pilot.press(*answer, "enter")  # type: ignore[attr-defined]


async def wait_for(pilot: object, condition: object, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():  # type: ignore[operator]
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)
        await pilot.pause()  # type: ignore[attr-defined]
