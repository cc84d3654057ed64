from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from rich.console import Console

from racoondbg.cli import cli
from racoondbg.evidence import Evidence
from racoondbg.timeline import render_captures

FIXTURES = Path(__file__).parent / "fixtures"
DEMO = Path(__file__).parent.parent / "racoondbg" / "demo" / "racoon.log"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["timeline", "--color", "never", *args])
    return result.exit_code, result.output


def test_timeline_shows_negotiations_per_pair_with_failures() -> None:
    code, out = run(str(DEMO))
    assert code == 0
    assert "10.3.0.1 ↔ 10.3.0.2" in out
    assert out.count("P1 ↻ superseded") == 3 and "P1 ✔ established in 10 s" in out
    assert "caught signal 1" in out and "[line 4]" in out


def test_both_peers_logs_are_merged_by_time(tmp_path: Path) -> None:
    initiator = tmp_path / "gw-a.log"
    responder = tmp_path / "gw-b.log"
    initiator.write_text(
        "2014-03-01 10:00:05: INFO: initiate new phase 1 negotiation: 192.0.2.1[500]<=>198.51.100.7[500]\n"
        "2014-03-01 10:00:07: ERROR: phase1 negotiation failed due to time up. 1f2e3d4c5b6a7988:aa00000000000001\n")
    responder.write_text(
        "2014-03-01 10:00:06: INFO: respond new phase 1 negotiation: 198.51.100.7[500]<=>192.0.2.1[500]\n"
        "2014-03-01 10:00:06: ERROR: couldn't find the pskey for 192.0.2.1.\n")
    code, out = run(str(responder), str(initiator))
    assert code == 0
    assert out.count("192.0.2.1 ↔ 198.51.100.7") == 1
    body = out.split("192.0.2.1 ↔ 198.51.100.7", 1)[1]
    assert body.index("gw-a.log:1") < body.index("gw-b.log:1")
    assert "✘ timeout" in body and "couldn't find the pskey" in body


def test_no_log_is_an_input_error(tmp_path: Path) -> None:
    junk = tmp_path / "x.txt"
    junk.write_text("hello\n")
    code, _ = run(str(junk))
    assert code == 3


def test_captures_use_the_ladder_when_present(monkeypatch: Any) -> None:
    console = Console(record=True, width=100, color_system=None)
    ev = Evidence(captures=["capture-1"])  # type: ignore[list-item]
    monkeypatch.setitem(sys.modules, "racoondbg.ladder", None)
    render_captures(ev, console)
    assert "not supported by `timeline` yet" in console.export_text()
    drawn: list[object] = []
    ladder = types.ModuleType("racoondbg.ladder")
    ladder.render_capture_ladder = lambda capture, c: drawn.append(capture)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "racoondbg.ladder", ladder)
    render_captures(ev, console)
    assert drawn == ["capture-1"]


def test_analyze_accepts_since_and_until() -> None:
    result = CliRunner().invoke(cli, ["analyze", "--format", "json", "--since", "2002-10-19 02:10:50",
                                      "--until", "2002-10-19 02:12:00", str(DEMO)])
    assert result.exit_code in (0, 1)
    slugs = [f["slug"] for f in json.loads(result.output)["findings"]]
    assert "negotiation-restart-loop" not in slugs and "slow-negotiation" in slugs
