"""Pilot tests: drive each view with keys, the way a user would, at 80x24 and bigger."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from racoondbg.engine import Result
from racoondbg.evidence import Evidence
from racoondbg.tui import app as app_module
from racoondbg.tui.helpscreen import HelpScreen
from racoondbg.tui.views.config import ConfigView
from racoondbg.tui.views.findings import FindingsView
from racoondbg.tui.views.log import LogView
from tests.tui.conftest import Scenario, ask, crumbs, run_async, screen_text, settle, started, wait_for


@run_async
async def test_open_a_finding_jump_to_its_config_line_and_back(scenario: Scenario) -> None:
    app = scenario.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        findings = app.query_one(FindingsView)
        assert app.active_tab == "findings"
        assert findings.selected is not None and findings.selected.code == "RDB102"
        assert "RDB102 proposal-mismatch-ph1" in crumbs(app)
        await pilot.press("enter")
        config = app.query_one(ConfigView)
        await wait_for(pilot, lambda: app.active_tab == "config" and config.lines.cursor == 12)
        assert config.name_shown == "scenario/racoon.conf"
        assert crumbs(app).endswith("scenario/racoon.conf:13")
        assert "RDB102" in str(app.query_one("#config-detail").render())
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.active_tab == "findings")
        assert findings.selected.code == "RDB102"


@run_async
async def test_evidence_list_jumps_to_the_log_line(scenario: Scenario) -> None:
    app = scenario.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        await pilot.press("e", "down", "enter")
        log = app.query_one(LogView)
        await wait_for(pilot, lambda: app.active_tab == "log")
        await wait_for(pilot, lambda: log.current_line() == 32)
        assert "NO-PROPOSAL-CHOSEN" in log.index.line(32)
        assert crumbs(app).endswith("scenario/racoon.log › line 33")


@run_async
async def test_marked_config_line_opens_its_finding(scenario: Scenario) -> None:
    app = scenario.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot)
        await pilot.press("6")
        await wait_for(pilot, lambda: app.focused is app.query_one(ConfigView).lines)
        config = app.query_one(ConfigView)
        await pilot.press("n")
        assert config.lines.cursor == 10  # line 11: the info finding
        await pilot.press("n")
        assert config.lines.cursor == 12
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.active_tab == "findings")
        assert app.query_one(FindingsView).selected.code == "RDB102"


@run_async
async def test_findings_search_and_coverage(scenario: Scenario) -> None:
    app = scenario.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        await ask(pilot, "slash", "retransmit")
        await settle(pilot, app)
        findings = app.query_one(FindingsView)
        assert findings.selected.code == "RDB301"
        await pilot.press("c")
        await settle(pilot, app)
        text = findings.query_one("#finding-text").source  # type: ignore[attr-defined]
        assert "4 could not" in text and "setkey -DP" in text and "`duplicate-sa`" in text


@run_async
async def test_log_filters_hex_folds_search_and_time_jumps(scenario: Scenario) -> None:
    app = scenario.app()
    lines = (scenario.root / "racoon.log").read_text().splitlines()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        await pilot.press("5")
        log = app.query_one(LogView)
        await wait_for(pilot, lambda: log.index is not None and log.index.done.is_set())
        folded = log.projection.rows
        assert folded == len(lines) - 6  # the six hex-dump lines are folded
        await pilot.press(*"lllll")  # all → DEBUG → INFO → NOTIFY → WARNING → ERROR
        await wait_for(pilot, lambda: log.filter.min_level == "ERROR" and log.projection.rows == 4)
        shown = [log.index.line(log.projection.line_of(r)) for r in range(log.projection.rows)]
        assert all("ERROR: " in line for line in shown)
        await pilot.press("c")
        await ask(pilot, "i", "resend")
        await wait_for(pilot, lambda: log.projection.rows == 3)
        await pilot.press("c")
        await ask(pilot, "o", "debug")
        await wait_for(pilot, lambda: log.filter.exclude == ("debug",) and log.projection.processed == len(lines))
        assert log.projection.rows == sum(1 for line in lines if "DEBUG" not in line) - 6
        await pilot.press("x")  # unfold: the dump lines come back (still not shown in clear)
        await wait_for(pilot, lambda: not log.filter.fold_hex and log.projection.processed == len(lines))
        assert log.projection.rows == sum(1 for line in lines if "DEBUG" not in line)
        await pilot.press("c")
        await wait_for(pilot, lambda: log.projection.rows == len(lines))
        log.lines.goto(13)
        await wait_for(pilot, lambda: log.current_line() == 13)
        screen = screen_text(app)
        assert "hex dump line, 32 bytes hidden" in screen
        assert "4f2e9d1c 07a3b588" not in screen  # dumps hold keys in -d logs: never shown without --show-keys
        await pilot.press("x")
        await wait_for(pilot, lambda: log.filter.fold_hex and log.projection.rows == len(lines) - 6)
        await pilot.press("home")
        await wait_for(pilot, lambda: log.current_line() == 0)
        await ask(pilot, "slash", "time up")
        await wait_for(pilot, lambda: log.current_line() == 19)
        await pilot.press("n")
        await wait_for(pilot, lambda: log.current_line() == 21)
        await pilot.press("N")
        await wait_for(pilot, lambda: log.current_line() == 19)
        await ask(pilot, "g", "21:15:03")
        await wait_for(pilot, lambda: log.current_line() == 27)
        await ask(pilot, "g", "3")
        await wait_for(pilot, lambda: log.current_line() == 2)


@run_async
async def test_follow_mode_reads_new_lines_and_reruns_the_analysis(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "REANALYSIS_DELAY", 0.05)
    runs: list[int] = []

    def analyse() -> tuple[Evidence, Result]:
        runs.append(1)
        return scenario.evidence, scenario.result

    app = scenario.app(analyse=analyse)
    path: Path = scenario.root / "racoon.log"
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        await pilot.press("5")
        log = app.query_one(LogView)
        await wait_for(pilot, lambda: log.index is not None and log.index.done.is_set())
        await pilot.press("F")
        assert log.follow
        before, analyses = log.projection.rows, app.analyses
        with path.open("a") as fh:
            fh.write("2002-10-22 21:16:00: INFO: IPsec-SA request for 10.3.0.1 queued due to no phase1 found.\n")
            fh.write("2002-10-22 21:16:00: DEBUG: \n0a0b0c0d 01020304\n")
        await wait_for(pilot, lambda: log.projection.rows == before + 2)
        assert log.lines.cursor == log.projection.rows - 1
        assert "line 37" in crumbs(app)
        await wait_for(pilot, lambda: app.analyses > analyses)
        assert runs


@run_async
async def test_analysis_in_the_background_then_findings_appear(scenario: Scenario) -> None:
    gate = threading.Event()

    def analyse() -> tuple[Evidence, Result]:
        gate.wait(5)
        return scenario.evidence, scenario.result

    from racoondbg.sources import Source
    from racoondbg.tui import make_app

    app = make_app(analyse=analyse, roots=[Source(scenario.root, "scenario")],
                   logs=[Source(scenario.root / "racoon.log", scenario.log)])
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        assert app.active_tab == "log"  # a log is readable before the analysis is done
        assert app.query_one(FindingsView).selected is None
        gate.set()
        await wait_for(pilot, lambda: app.analyses == 1)
        assert app.query_one(FindingsView).selected.code == "RDB102"


@run_async
async def test_help_theme_palette_and_empty_views(scenario: Scenario) -> None:
    app = scenario.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        await pilot.press("question_mark")
        await settle(pilot, app)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen))
        await started(pilot)
        assert app.theme == "textual-dark"
        await pilot.press("t")
        assert app.theme == "textual-light"
        await pilot.press("4")
        await wait_for(pilot, lambda: app.active_tab == "policies")
        assert "No SPD/SAD evidence loaded" in screen_text(app)
        commands = [c.title for c in app.get_system_commands(app.screen)]
        assert "RDB102 proposal-mismatch-ph1" in commands and "View: Log" in commands


@run_async
async def test_psk_keys_are_redacted_in_the_config_view(scenario: Scenario) -> None:
    (scenario.root / "psk.txt").write_text("# peers\n10.3.0.1\tsecret-wireless-key\n")
    scenario.evidence.inputs.append(type(scenario.evidence.inputs[0])("scenario/psk.txt", "psk"))
    app = scenario.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        config = app.query_one(ConfigView)
        assert config.open_file("scenario/psk.txt", 2)
        await pilot.press("6")
        await settle(pilot, app)
        screen = screen_text(app)
        assert "secret-wireless-key" not in screen and "secret:" in screen
