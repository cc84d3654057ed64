"""Hostile bytes in inputs (and in file names) never reach the terminal raw and never crash output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from racoondbg.report import printable
from tests.hardening.harness import analyze_checked
from tests.hardening.stubs import MAGIC

ESCAPES = "\x1b]0;pwned\x07\x1b[2J\r\x9b31m"


def test_printable_escapes_controls_and_undecodable_bytes() -> None:
    assert printable("a\tb\nc") == "a\tb\nc"
    assert printable("x\x1b[2Jy\x07\r") == "x\\x1b[2Jy\\x07\\x0d"
    assert printable("caf\udcc3\udca9 \x9b") == "caf\\xc3\\xa9 \\x9b"
    assert printable("lone \ud800") == "lone \\ud800"
    assert printable("naïve ✓") == "naïve ✓"


@pytest.mark.parametrize("fmt", ["text", "json", "json-lines", "sarif"])
def test_escape_sequences_in_file_names_and_contents(tmp_path: Path, fmt: str) -> None:
    evil = tmp_path / f"evil{ESCAPES}.log"
    evil.write_bytes(b"not a racoon file " + ESCAPES.encode() + b"\xff\xfe\n")
    run = analyze_checked([str(evil)], fmt=fmt)
    if fmt == "json":
        assert json.loads(run.stdout)["inputs"][0]["path"] == str(evil)  # JSON keeps it, escaped


@pytest.mark.usefixtures("stub_kinds")
@pytest.mark.parametrize("fmt", ["text", "json", "json-lines", "sarif"])
def test_undecodable_bytes_in_errors_print_without_crashing(tmp_path: Path, fmt: str) -> None:
    """Parsers keep undecodable bytes as surrogate escapes; every format must still print."""
    bad = tmp_path / "bad\udcff\udcfe.log".encode("utf-8", "surrogateescape").decode("utf-8", "surrogateescape")
    bad.write_bytes(MAGIC + b"caf\xc3 \x00\xff\n")
    run = analyze_checked([str(bad)], fmt=fmt)
    assert run.code == 3
    assert "\\xff" in run.stdout + run.stderr or "\\udcff" in run.stdout + run.stderr
