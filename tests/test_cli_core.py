from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from click.testing import CliRunner

from racoondbg.cli import cli
from racoondbg.evidence import load_evidence
from racoondbg.sources import Source


def invoke(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=input)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_missing_input_is_exit_3_with_a_one_line_error(tmp_path: Path) -> None:
    code, out, err = invoke("analyze", "--format", "json", str(tmp_path / "nope.conf"))
    assert code == 3
    doc = json.loads(out)
    assert doc["schema"] == "racoondbg/1"
    assert doc["errors"][0]["path"].endswith("nope.conf")
    assert len(err.strip().splitlines()) == 1 and "nope.conf" in err


def test_unrecognised_input_is_reported_not_failed(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("shopping list: milk, eggs\n")
    code, out, _ = invoke("analyze", "--format", "json", str(junk))
    assert code == 0
    doc = json.loads(out)
    assert doc["inputs"] == [{"path": str(junk), "kind": "unknown", "flavour": None}]
    assert "not recognised" in doc["errors"][0]["message"]


def test_no_input_is_a_usage_error() -> None:
    code, _, err = invoke("analyze")
    assert code == 2 and "at least one input" in err


def test_explain_unknown_rule_is_a_usage_error() -> None:
    code, _, _ = invoke("explain", "RDB999")
    assert code == 2


def test_bundle_members_never_escape_the_work_directory(tmp_path: Path) -> None:
    bundle = tmp_path / "evil.tar.gz"
    with tarfile.open(bundle, "w:gz") as tar:
        for name in ("../../escape.txt", "/etc/absolute.txt", "ok/notes.txt"):
            data = b"hello\n"
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("ok/link")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/shadow"
        tar.addfile(link)
    work = tmp_path / "work"
    work.mkdir()
    ev = load_evidence([Source(bundle, "evil.tar.gz")], workdir=work)
    assert not (tmp_path / "escape.txt").exists()
    written = [p for p in work.rglob("*") if p.is_file()]
    assert len(written) == 3
    assert all(work in p.parents for p in written)
    assert not any(p.is_symlink() for p in work.rglob("*"))
    assert ev.errors == []  # plain-text members are simply not recognised, silently
