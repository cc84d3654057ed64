"""``racoondbg diagnose --tui``: what it hands the TUI (the app itself is not run)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from racoondbg.cli import cli
from racoondbg.tui.session import Session


@pytest.fixture
def launched(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record what `diagnose --tui` would open, and check while it is "open" that its files are there."""
    calls: list[dict[str, Any]] = []

    class FakeApp:
        def run(self) -> None:
            call = calls[-1]
            session = Session(*call["args"], roots=call["roots"], log_files=list(call["logs"]))
            call["resolved"] = {name: session.resolve(name) for name in
                                ("/etc/racoon/racoon.conf", "setkey -D", "setkey -DP", "/etc/racoon/psk.txt")}
            call["exists"] = {name: bool(path and path.is_file()) for name, path in call["resolved"].items()}
            call["config_view"] = session.text_inputs()

    def fake_make_app(*args: Any, **kwargs: Any) -> FakeApp:
        calls.append({"args": args, **kwargs})
        return FakeApp()

    monkeypatch.setattr("racoondbg.tui.make_app", fake_make_app)
    return calls


def test_diagnose_tui_opens_the_collection(launched: list[dict[str, Any]], sysroot: Callable[[str], Path]) -> None:
    result = CliRunner().invoke(cli, ["diagnose", "--root", str(sysroot("linux-setkey")), "--tui",
                                      "--ignore", "RDB530"])
    assert result.exit_code == 0, result.output
    [call] = launched
    evidence, outcome = call["args"]
    assert evidence.host.platform == "linux" and call["title"] == "racoondbg diagnose: gw-a"
    assert {f.slug for f in outcome.findings} == {"ip-forwarding-off"}  # --ignore is honoured
    assert all(call["exists"].values()), call["resolved"]
    [log] = call["logs"]  # racoon's log came from the journal: the Log view opens that output
    assert log.name.startswith("journalctl --no-pager -o short -u racoon --since ")
    assert ("/etc/racoon/racoon.conf", "conf") in call["config_view"]
    assert ("setkey -DP", "spd") in call["config_view"]
    assert not any(p.exists() for p in call["resolved"].values() if p)  # the work directory is gone afterwards
