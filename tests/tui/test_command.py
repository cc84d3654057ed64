"""``racoondbg tui`` and ``racoondbg demo --tui``: what they hand the app (the app itself is not run)."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from racoondbg.cli import cli
from racoondbg.engine import Result
from racoondbg.evidence import Evidence
from racoondbg.sources import Source
from racoondbg.tui import session as session_module
from racoondbg.tui.session import Session, find_logs
from tests.tui.conftest import FIXTURES


@pytest.fixture
def launched(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record what the commands would open instead of opening it."""
    calls: list[dict[str, Any]] = []

    class FakeApp:
        def run(self) -> None:
            calls[-1]["ran"] = True

    def fake_make_app(*args: Any, **kwargs: Any) -> FakeApp:
        calls.append({"args": args, **kwargs})
        return FakeApp()

    monkeypatch.setattr("racoondbg.tui.make_app", fake_make_app)
    return calls


def test_tui_needs_an_input() -> None:
    result = CliRunner().invoke(cli, ["tui"])
    assert result.exit_code == 2 and "give at least one input" in result.output


def test_tui_opens_the_logs_at_once_and_analyses_in_the_background(
    tmp_path: Path, launched: list[dict[str, Any]]
) -> None:
    shutil.copytree(FIXTURES, tmp_path / "case")
    result = CliRunner().invoke(cli, ["tui", str(tmp_path / "case"), "--theme", "light"])
    assert result.exit_code == 0, result.output
    call = launched[0]
    assert call["ran"] and call["theme"] == "light" and call["args"] == (None, None)
    assert [s.name for s in call["logs"]] == [f"{tmp_path / 'case'}/racoon.log"]
    evidence, outcome = call["analyse"]()
    assert isinstance(evidence, Evidence) and isinstance(outcome, Result)
    assert [s.name for s in call["roots"]] == [str(tmp_path / "case")]


def test_demo_tui_passes_the_analysed_demo(launched: list[dict[str, Any]]) -> None:
    result = CliRunner().invoke(cli, ["demo", "--tui"])
    assert result.exit_code == 0, result.output
    call = launched[0]
    evidence, outcome = call["args"]
    assert isinstance(evidence, Evidence) and isinstance(outcome, Result)
    assert call["title"] == "racoondbg demo" and call["roots"][0].name == "demo"


def test_find_logs_sniffs_content_not_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session_module, "input_kinds", lambda: ())  # the level-word fallback
    shutil.copy(FIXTURES / "racoon.log", tmp_path / "messages.txt")
    with gzip.open(tmp_path / "old.gz", "wb") as fh:
        fh.write((FIXTURES / "racoon.log").read_bytes())
    shutil.copy(FIXTURES / "racoon.conf", tmp_path / "racoon.log")  # a config, whatever its name
    found = find_logs([Source(tmp_path, "case")])
    assert sorted(s.name for s in found) == ["case/messages.txt", "case/old.gz"]


def test_session_resolves_source_names_to_files(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "racoon.conf").write_text("path certificate \"/etc/racoon/certs\";\n")
    session = Session(roots=[Source(tmp_path, "demo")])
    assert session.resolve("demo/sub/racoon.conf") == tmp_path / "sub" / "racoon.conf"
    assert session.resolve("demo/missing.conf") is None
    assert session.resolve("bundle.tar.gz!racoon.conf") is None
    assert session.resolve("<stdin>") is None
    assert session.resolve(str(tmp_path / "sub" / "racoon.conf")) == tmp_path / "sub" / "racoon.conf"
