"""No ESP/AH key from any kernel fixture reaches any output, unless --show-keys."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from racoondbg.cli import cli, demo_dir

FIXTURES = Path(__file__).parent / "fixtures"
_SETKEY_KEY = re.compile(r"^\t[EA]: [\w-]+ ((?: [0-9a-f]{8})+)\n((?: [0-9a-f]{8})+\n)*", re.M)
_XFRM_KEY = re.compile(r"^\t(?:enc|auth|auth-trunc|aead) \S+ 0x([0-9a-fA-F]+)", re.M)
_SCRIPT_KEY = re.compile(r'-[EA]\s+[\w-]+\s+(0x[0-9a-fA-F]+|"[^"]*")')


def secrets_in(text: str) -> list[str]:
    found = ["".join(m.group(0).split()[2:]) for m in _SETKEY_KEY.finditer(text)]
    found += [m[1].lower() for m in _XFRM_KEY.finditer(text)]
    found += [m[1].removeprefix("0x").strip('"') for m in _SCRIPT_KEY.finditer(text)]
    return [s for s in found if len(s) >= 8]


def inputs() -> list[Path]:
    roots = [FIXTURES / "kernel", FIXTURES / "rules", FIXTURES / "scripts", demo_dir()]
    files = [p for root in roots for p in root.rglob("*") if p.is_file() and p.suffix != ".json"]
    return sorted(p for p in files if secrets_in(p.read_text(errors="replace")))


INPUTS = inputs()


def test_the_fixtures_do_hold_keys() -> None:
    assert len(INPUTS) >= 20


def _leaks(output: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s in output or s[:8] in output]


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: str(p.relative_to(p.parents[2])))
def test_no_key_in_any_output_format(path: Path) -> None:
    secrets = secrets_in(path.read_text(errors="replace"))
    runner = CliRunner()
    for fmt in ("text", "json", "json-lines", "sarif"):
        result = runner.invoke(cli, ["analyze", "--format", fmt, "--color", "never", str(path)])
        assert not _leaks(result.output, secrets), (fmt, _leaks(result.output, secrets))
    result = runner.invoke(cli, ["analyze", "--format", "text", "-v", str(path.parent)])
    assert not _leaks(result.output, secrets)


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: str(p.relative_to(p.parents[2])))
def test_parse_redacts_unless_show_keys(path: Path) -> None:
    secrets = secrets_in(path.read_text(errors="replace"))
    kind = {"sad": "sad", "spd": "spd", "xfrm": "xfrm"}.get(path.relative_to(FIXTURES).parts[1]
                                                             if FIXTURES in path.parents else "", None)
    if kind is None:
        kind = "xfrm" if path.read_text().startswith("src ") else (
            "sad" if re.search(r"^\t(esp|ah|ipcomp)(-udp)? mode=", path.read_text(), re.M) else "setkey-script")
    runner = CliRunner()
    hidden = runner.invoke(cli, ["parse", kind, str(path)])
    assert "secret:" in hidden.output and not _leaks(hidden.output, secrets)
    shown = runner.invoke(cli, ["parse", "--show-keys", kind, str(path)])
    assert all(s.lower() in shown.output.lower() for s in secrets)
