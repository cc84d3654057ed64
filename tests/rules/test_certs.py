"""Certificate and PSK rules on the generated scenarios: exact findings, fixes, and no secret ever shown."""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from racoondbg.cli import cli
from racoondbg.engine import run
from racoondbg.evidence import Evidence, load_evidence
from racoondbg.inputs import LoadOptions
from racoondbg.model.base import Location
from racoondbg.modes import copy_with_modes
from racoondbg.report import write_json, write_json_lines, write_sarif, write_text
from racoondbg.sources import Source

FIXTURES = Path(__file__).parent.parent / "fixtures"
SCENARIOS = FIXTURES / "certs" / "scenarios"
CA_HASH, CA_HASH_OLD = "75530703", "c45c5754"


def load(directory: Path, tmp_path: Path) -> Evidence:
    copy = copy_with_modes(directory, tmp_path / directory.name)
    return load_evidence([Source(copy, directory.name)], options=LoadOptions(root=copy))


def codes(ev: Evidence) -> list[str]:
    return sorted(f.code for f in run(ev).findings if f.code.startswith("RDB5"))


EXPECTED = {
    "healthy": [],
    "copy-link": [],
    "with-crl": [],
    "no-link": ["RDB501"],
    "issuer-absent": ["RDB501"],
    "old-link-only": ["RDB502"],
    "stale-link": ["RDB503"],
    "broken-link": ["RDB503"],
    "renamed-ca": ["RDB503"],
    "crl-unlinked": ["RDB504"],
    "expired-own": ["RDB510"],
    "future-own": ["RDB510"],
    "crl-expired": ["RDB510"],
    "mismatched-key": ["RDB512"],
    "ec-key": ["RDB512"],
    "encrypted-key": ["RDB513"],
    "encrypted-key-legacy": ["RDB513"],
    "key-readable": ["RDB514"],
    "key-group": ["RDB514"],
    # these need racoon.conf's certificate_type / my_identifier: without them, nothing is wrong
    "asn1dn-string": [],
    "fqdn-san": [],
}
#: Scenarios judged by what racoon.conf says (the config parser must be installed).
EXPECTED_WITH_CONF = {
    "missing-file": ["RDB511"],
    "wrong-name": ["RDB511"],
    "no-identifier": ["RDB540"],
    "asn1dn-wrong": ["RDB540"],
    "fqdn-no-san": ["RDB540"],
}


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_scenario_gives_exactly_its_findings(scenario: str, tmp_path: Path) -> None:
    ev = load(SCENARIOS / scenario, tmp_path)
    assert "certs" in [i.kind for i in ev.inputs]
    assert codes(ev) == EXPECTED[scenario]


def test_every_scenario_is_covered() -> None:
    assert {p.name for p in SCENARIOS.iterdir()} == set(EXPECTED) | set(EXPECTED_WITH_CONF)


def one(ev: Evidence, code: str):  # type: ignore[no-untyped-def]
    [finding] = [f for f in run(ev).findings if f.code == code]
    return finding


def test_missing_link_names_the_link_and_the_exact_command(tmp_path: Path) -> None:
    f = one(load(SCENARIOS / "no-link", tmp_path), "RDB501")
    assert f.slug == "ca-hash-link-missing"
    assert f"{CA_HASH}.0" in f.message and f"{CA_HASH_OLD}.0" in f.message
    assert f.fix.startswith(f"cd /etc/racoon/certs && ln -s ihack.cert {CA_HASH}.0")
    assert f"ln -s ihack.cert {CA_HASH_OLD}.0" in f.fix
    assert f.evidence[0].path == "no-link/etc/racoon/certs/ihack.cert"


def _with_log(ev: Evidence, version: str | None, when: datetime | None = None) -> Evidence:
    ev.logs.append(SimpleNamespace(location=Location("racoon.log"), openssl_version=version, last_time=when))  # type: ignore[arg-type]
    return ev


def test_log_openssl_version_picks_the_hash(tmp_path: Path) -> None:
    old = _with_log(load(SCENARIOS / "no-link", tmp_path / "a"), "OpenSSL 0.9.7l 28 Sep 2006")
    f = one(old, "RDB501")
    assert f.fix == f"cd /etc/racoon/certs && ln -s ihack.cert {CA_HASH_OLD}.0"
    assert f"{CA_HASH}.0" not in f.message
    assert any(e.path == "racoon.log" for e in f.evidence)
    # an old-style link is right for an OpenSSL 0.9 racoon, wrong for a 1.x one
    assert codes(_with_log(load(SCENARIOS / "old-link-only", tmp_path / "b"), "OpenSSL 0.9.8e 23 Feb 2007")) == []
    newer = _with_log(load(SCENARIOS / "old-link-only", tmp_path / "c"), "OpenSSL 1.0.1e-fips 11 Feb 2013")
    f = one(newer, "RDB502")
    assert f.severity.label == "error" and f.fix == f"cd /etc/racoon/certs && ln -s ihack.cert {CA_HASH}.0"
    # a new-style-only directory is wrong for an OpenSSL 0.9 racoon
    assert codes(_with_log(load(SCENARIOS / "healthy", tmp_path / "d"), "OpenSSL 0.9.8")) == ["RDB502"]


def test_old_style_only_without_log_warns_with_both_names(tmp_path: Path) -> None:
    f = one(load(SCENARIOS / "old-link-only", tmp_path), "RDB502")
    assert f.severity.label == "warning"
    assert f"{CA_HASH_OLD}.N" in f.message and f"{CA_HASH}.0" in f.message


def test_stale_and_broken_links_are_repointed(tmp_path: Path) -> None:
    stale = one(load(SCENARIOS / "stale-link", tmp_path / "a"), "RDB503")
    assert stale.fix == f"cd /etc/racoon/certs && ln -sf ihack.cert {CA_HASH}.0"
    assert "ihack-2002.cert" in stale.message
    broken = one(load(SCENARIOS / "broken-link", tmp_path / "b"), "RDB503")
    assert broken.fix == f"cd /etc/racoon/certs && ln -sf ihack.cert {CA_HASH}.0"
    renamed = one(load(SCENARIOS / "renamed-ca", tmp_path / "c"), "RDB503")
    assert renamed.fix.endswith(f"&& ln -s ihack.cert {CA_HASH}.0")


def test_validity_is_judged_at_the_log_time(tmp_path: Path) -> None:
    scenario = load(SCENARIOS / "expired-own", tmp_path)
    # the host certificate was valid 2010-2012, the CA since 2002: in 2009 only the host one was not yet valid
    early = [f for f in run(_with_log(scenario, None, datetime(2009, 6, 1, tzinfo=timezone.utc))).findings
             if f.code == "RDB510"]
    assert [("not valid before" in f.message, "nagasaki.cert" in f.message, "ihack.cert" in f.message)
            for f in early] == [(True, True, False)]
    # in 2011 both were valid: the log's time wins over today's clock
    assert not [f for f in run(_with_log(scenario, None, datetime(2011, 6, 1, tzinfo=timezone.utc))).findings
                if f.code == "RDB510"]


def test_key_fixes_are_commands(tmp_path: Path) -> None:
    perm = one(load(SCENARIOS / "key-readable", tmp_path / "a"), "RDB514")
    assert perm.fix == "cd /etc/racoon/certs && chmod 600 nagasaki.key" and "0644" in perm.message
    assert "uid" not in perm.message
    enc = one(load(SCENARIOS / "encrypted-key", tmp_path / "b"), "RDB513")
    assert "openssl pkey -in nagasaki.key" in enc.fix
    mismatch = one(load(SCENARIOS / "mismatched-key", tmp_path / "c"), "RDB512")
    assert "nagasaki.key" in mismatch.message and "nagasaki.cert" in mismatch.message


def test_psk_rules(tmp_path: Path) -> None:
    ev = load(FIXTURES / "certs" / "psk" / "world-readable", tmp_path / "a")
    f = one(ev, "RDB530")
    assert f.fix == "chmod 600 /psk.txt" and "0644" in f.message
    assert codes(load(FIXTURES / "certs" / "psk" / "clean", tmp_path / "b")) == []
    crlf = one(load(FIXTURES / "certs" / "psk" / "crlf", tmp_path / "c"), "RDB531")
    assert "2 key(s)" in crlf.message and "192.0.2.10, 192.0.2.11" in crlf.message
    assert crlf.fix == "sed -i 's/\\r$//' /psk.txt"
    quoted = [f.message for f in run(load(FIXTURES / "certs" / "psk" / "quoted", tmp_path / "d")).findings]
    assert any("quotes" in m for m in quoted) and any("blanks" in m for m in quoted)


def test_demo_shows_the_missing_ca_link_with_the_command() -> None:
    result = CliRunner().invoke(cli, ["demo", "--format", "json"])
    findings = json.loads(result.output)["findings"]
    [link] = [f for f in findings if f["slug"] == "ca-hash-link-missing"]
    assert link["fix"].startswith(f"cd /etc/racoon/certs && ln -s ihack.cert {CA_HASH}.0")
    assert link["evidence"][0]["path"] == "demo/sysroot/etc/racoon/certs/ihack.cert"
    assert not [f for f in findings if f["code"].startswith("RDB5") and f["code"] != "RDB501"]


# ---- no secret byte in any output format, on every fixture ----

_PEM_BODY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----(.*?)-----END", re.S)


def secrets_in(directory: Path) -> set[str]:
    found: set[str] = set()
    for path in directory.rglob("*"):
        if not path.is_file():
            continue
        text = path.read_text("utf-8", "replace")
        for body in _PEM_BODY.findall(text):
            found.update(line for line in body.split() if len(line) > 16 and ":" not in line)
        if path.name == "psk.txt":
            for line in text.splitlines():
                parts = line.split(None, 1)
                if len(parts) == 2 and not line.startswith("#"):
                    found.add(parts[1].strip().strip('"'))
    return found


FIXTURE_DIRS = sorted(
    {p.resolve() for p in (*SCENARIOS.iterdir(), *(FIXTURES / "certs" / "psk").iterdir())}
    | {Path(__file__).parent.parent.parent / "racoondbg" / "demo"}
)


@pytest.mark.parametrize("directory", FIXTURE_DIRS, ids=lambda p: p.name)
def test_no_secret_in_any_output(directory: Path) -> None:
    secrets = secrets_in(directory)
    assert secrets or "psk" not in str(directory)
    with tempfile.TemporaryDirectory() as tmp:
        ev = load(directory, Path(tmp))
        result = run(ev)
        outputs = []
        for writer in (write_json, write_json_lines, write_sarif):
            buf = io.StringIO()
            writer(ev, result, buf)
            outputs.append(buf.getvalue())
        from rich.console import Console

        console = Console(file=io.StringIO(), width=200, no_color=True)
        write_text(ev, result, console, verbose=True)
        outputs.append(console.file.getvalue())  # type: ignore[attr-defined]
        for path in Path(tmp).rglob("*"):
            if path.is_dir() and (path.name == "certs" or (path / "psk.txt").exists()):
                kind = "certs" if path.name == "certs" else "psk"
                target = path if kind == "certs" else path / "psk.txt"
                outputs.append(CliRunner().invoke(cli, ["parse", kind, str(target)]).output)
    everything = "\n".join(outputs)
    leaked = [s for s in secrets if s in everything]
    assert not leaked


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a file away")
def test_key_owned_by_another_user(tmp_path: Path) -> None:
    ev_dir = copy_with_modes(SCENARIOS / "healthy", tmp_path / "healthy")
    os.chown(ev_dir / "etc/racoon/certs/nagasaki.key", 1234, 1234)
    ev = load_evidence([Source(ev_dir, "healthy")], options=LoadOptions(root=ev_dir))
    f = one(ev, "RDB514")
    assert "uid 1234" in f.message and f.fix == "cd /etc/racoon/certs && chown root nagasaki.key"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a file away")
def test_psk_owned_by_another_user(tmp_path: Path) -> None:
    ev_dir = copy_with_modes(FIXTURES / "certs" / "psk" / "clean", tmp_path / "clean")
    os.chown(ev_dir / "psk.txt", 1234, 1234)
    ev = load_evidence([Source(ev_dir, "clean")], options=LoadOptions(root=ev_dir))
    f = one(ev, "RDB530")
    assert "uid 1234" in f.message and "invalid owner uid" in f.message and f.fix == "chown root /psk.txt"
