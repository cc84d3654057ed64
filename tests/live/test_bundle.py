"""collect -> analyze gives diagnose's findings; no planted secret survives in a bundle or a report."""

from __future__ import annotations

import json
import re
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from racoondbg.cli import cli
from racoondbg.evidence import load_evidence
from racoondbg.report import FORMATS
from racoondbg.sources import Source
from tests.live.conftest import PLATFORMS, SYSROOTS


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code in (0, 1), result.output
    return result.stdout


def planted_secrets(root: Path) -> set[str]:
    """Every secret the sysroot holds: keys in SAD dumps, psk.txt keys, private keys, log hex dumps."""
    secrets: set[str] = set()
    commands = root / ".racoondbg" / "commands"
    for name in ("setkey-D.out", "ip-xfrm-state.out"):
        path = commands / name
        if path.is_file():
            text = path.read_text()
            for m in re.finditer(r"^\t[EA]: \S+  (.*)$", text, re.M):
                secrets.update(m.group(1).split())
            secrets.update(re.findall(r"\b0x([0-9a-f]{16,})\b", text))
    for path in root.rglob("psk.txt"):
        for line in path.read_text().splitlines():
            fields = line.split(None, 1)
            if len(fields) == 2 and not line.startswith("#"):
                secrets.add(fields[1].strip().strip('"'))
    for path in root.rglob("*.key"):
        secrets.update(line for line in path.read_text().splitlines()[1:-1] if len(line) > 40)
    for path in root.rglob("*.log"):
        secrets.update(w for w in re.findall(r"^[0-9a-f]{8}(?: [0-9a-f]{2,8})+ *$", path.read_text(), re.M))
    return {s.strip() for s in secrets if len(s.strip()) >= 8}


def test_the_secret_list_is_not_empty() -> None:
    found = {p: planted_secrets(SYSROOTS / p) for p in PLATFORMS}
    assert all(len(v) >= 3 for v in found.values()), {k: len(v) for k, v in found.items()}


def normalised(doc: dict, prefix: str) -> list[tuple]:  # type: ignore[type-arg]
    return sorted(
        (f["code"], f["message"].replace(prefix, ""),
         tuple((e["path"].replace(prefix, ""), e["line"], e["excerpt"]) for e in f["evidence"]), f["fix"])
        for f in doc["findings"]
    )


@pytest.mark.parametrize("platform", PLATFORMS)
def test_round_trip_and_no_secret_anywhere(platform: str, tmp_path: Path, sysroot: Callable[[str], Path]) -> None:
    root = sysroot(platform)
    bundle, directory = tmp_path / f"{platform}.tar.gz", tmp_path / f"{platform}-dir"
    invoke("collect", "--root", str(root), "-o", str(bundle))
    invoke("collect", "--root", str(root), "-o", str(directory))
    live = json.loads(invoke("diagnose", "--root", str(root), "--format", "json"))
    packed = json.loads(invoke("analyze", str(bundle), "--format", "json"))
    unpacked = json.loads(invoke("analyze", str(directory), "--format", "json"))
    assert normalised(packed, f"{bundle}!") == normalised(live, "")
    assert normalised(unpacked, f"{directory}!") == normalised(live, "")
    assert [i["kind"] for i in packed["inputs"]] == [i["kind"] for i in live["inputs"]]
    assert [i["kind"] for i in unpacked["inputs"]] == [i["kind"] for i in live["inputs"]]

    texts = {}
    with tarfile.open(bundle) as tar:
        for member in tar.getmembers():
            extracted = tar.extractfile(member) if member.isfile() else None
            if extracted is not None:
                texts[f"bundle:{member.name}"] = extracted.read().decode("utf-8", "replace")
    assert "racoondbg-manifest.json" in {name.split(":", 1)[1] for name in texts}
    for fmt in FORMATS:
        texts[f"diagnose --format {fmt}"] = invoke("diagnose", "--root", str(root), "--format", fmt, "-v",
                                                   "--color", "never") if fmt == "text" else invoke(
            "diagnose", "--root", str(root), "--format", fmt)
        texts[f"analyze --format {fmt}"] = invoke("analyze", str(bundle), "--format", fmt)
    texts["timeline -v"] = invoke("timeline", "-v", "--color", "never", str(bundle))
    for path in directory.rglob("*"):
        if path.is_file():
            texts[f"collection:{path.relative_to(directory)}"] = path.read_text("utf-8", "replace")
    for secret in planted_secrets(root):
        leaks = [name for name, text in texts.items() if secret in text]
        assert not leaks, f"{secret!r} leaked into {leaks}"


def test_no_redact_keeps_secrets_when_asked(tmp_path: Path) -> None:
    invoke("collect", "--root", str(SYSROOTS / "linux-setkey"), "-o", str(tmp_path / "c"), "--no-redact")
    assert "linux-setkey-Tr0ub4dor&3" in (tmp_path / "c/root/etc/racoon/psk.txt").read_text()
    assert "5ec0a1d2" in (tmp_path / "c/commands/setkey-D.out").read_text()


def test_collect_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "b.tar.gz"
    target.write_bytes(b"precious")
    result = CliRunner().invoke(cli, ["collect", "--root", str(SYSROOTS / "netbsd"), "-o", str(target)])
    assert result.exit_code == 2 and target.read_bytes() == b"precious"


def test_two_bundles_make_a_peer(tmp_path: Path, sysroot: Callable[[str], Path]) -> None:
    a, b = tmp_path / "freebsd.tar.gz", tmp_path / "netbsd.tar.gz"
    invoke("collect", "--root", str(sysroot("freebsd")), "-o", str(a))
    invoke("collect", "--root", str(sysroot("netbsd")), "-o", str(b))
    ev = load_evidence([Source.of(a), Source.of(b)])
    assert ev.host.platform == "freebsd" and [p.host.platform for p in ev.peers] == ["netbsd"]
    assert ev.has("peers") and not ev.peers[0].peers
    doc = json.loads(invoke("analyze", str(a), str(b), "--format", "json"))
    where = {(f["slug"], f["evidence"][0]["path"].split("!")[0]) for f in doc["findings"] if f["severity"] != "info"}
    assert where == {("ike-port-in-use", str(a)), ("racoon-not-running", str(b))}


def test_bundle_members_cannot_escape(tmp_path: Path) -> None:
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        for name, target in (("certs/up", "../../../../etc/passwd"), ("certs/abs", "/etc/shadow")):
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    work = tmp_path / "work"
    work.mkdir()
    load_evidence([Source.of(evil)], workdir=work)
    assert not [p for p in work.rglob("*") if p.is_symlink()]


def test_the_manifest_is_the_first_member(tmp_path: Path) -> None:
    bundle = tmp_path / "b.tar.gz"
    invoke("collect", "--root", str(SYSROOTS / "netbsd"), "-o", str(bundle))
    with tarfile.open(bundle) as tar:
        assert tar.getnames()[0] == "racoondbg-manifest.json"


def test_nothing_stays_behind_in_tmp(tmp_path: Path, sysroot: Callable[[str], Path]) -> None:
    """An unpacked bundle (here one with keys in clear) and diagnose's collection are gone after the run."""
    import os
    import subprocess
    import sys

    bundle = tmp_path / "clear.tar.gz"
    invoke("collect", "--root", str(sysroot("linux-setkey")), "-o", str(bundle), "--no-redact")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    for args in (["analyze", str(bundle)], ["diagnose", "--root", str(sysroot("netbsd"))]):
        proc = subprocess.run([sys.executable, "-c", "from racoondbg.cli import main; main()", *args, "--exit-zero"],
                              env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr
        assert not list(tmp.iterdir()), args
