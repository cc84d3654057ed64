"""SVG snapshots of the main screens on the demo (racoon.conf of the 2002 iBook, pinned findings).

Few on purpose: snapshots break on any pixel. Update them with
``pytest tests/tui/test_snapshots.py --snapshot-update`` and look at the report.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from racoondbg.cli import demo_dir
from racoondbg.engine import Coverage, Result
from racoondbg.evidence import Evidence, InputInfo
from racoondbg.sources import Source
from racoondbg.tui import make_app
from racoondbg.tui.app import RacoonApp
from racoondbg.tui.views.log import LogView
from tests.tui.conftest import FIXTURES, pinned_findings


@pytest.fixture
def demo_app(tmp_path: Path) -> RacoonApp:
    root = tmp_path / "demo"
    root.mkdir()
    shutil.copy(demo_dir() / "racoon.conf", root / "racoon.conf")
    shutil.copy(FIXTURES / "racoon.log", root / "racoon.log")
    conf, log = "demo/racoon.conf", "demo/racoon.log"
    evidence = Evidence(inputs=[InputInfo(conf, "conf"), InputInfo(log, "log")])
    result = Result(pinned_findings(conf, log), Coverage(ran=["a"], skipped=[("duplicate-sa", ["sad"])]))
    return make_app(evidence, result, roots=[Source(root, "demo")], logs=[Source(root / "racoon.log", log)],
                    title="racoondbg demo")


async def _log_ready(pilot: Any) -> None:
    await pilot.press("5")
    view = pilot.app.query_one(LogView)
    while view.index is None or not view.index.done.is_set() or view.projection.rows != 29:
        await pilot.pause(0.05)
    view.lines.goto(20)
    await pilot.pause(0.3)  # one status tick


def test_findings_screen(snap_compare: Any, demo_app: RacoonApp) -> None:
    assert snap_compare(demo_app, terminal_size=(80, 24))


def test_config_screen_light(snap_compare: Any, demo_app: RacoonApp) -> None:
    assert snap_compare(demo_app, press=["enter", "t"], terminal_size=(80, 24))


def test_log_screen(snap_compare: Any, demo_app: RacoonApp) -> None:
    assert snap_compare(demo_app, run_before=_log_ready, terminal_size=(100, 30))
