"""Secrets never leak: keys planted in every kind of input must not appear in any output format,
`parse KIND` JSON, log message, exception text or model object, unless --show-keys is given.

The planted inputs come from the reference formats (tests/hardening/samples.py), not from other
tests' fixtures. A kind whose parser is not on main yet is skipped with the reason.
"""

from __future__ import annotations

import gzip
import io
import logging
import tarfile
from pathlib import Path

import pytest

from racoondbg.engine import Hit, Rule, _finding
from racoondbg.inputs import InputKind, LoadOptions, input_kinds, sniff
from racoondbg.jsonable import jsonable
from racoondbg.model.base import Location, ParseError, redact_secrets
from racoondbg.model.finding import EvidenceRef, Severity
from racoondbg.sources import Source
from tests.hardening.harness import analyze_checked, run_cli
from tests.hardening.samples import ESP_ENC, RACOON_CONF, SAMPLES, Sample, pem_needles, private_key_pem

SECRET_SAMPLES = [s for s in SAMPLES if s.needles]
OUTPUT_VARIANTS = (("--format", "text"), ("--format", "json"), ("--format", "json-lines"), ("--format", "sarif"),
                   ("--format", "text", "-v", "--debug"), ("--format", "json", "--debug"))


def leaks(text: str, needles: tuple[str, ...]) -> list[str]:
    """The needles found in ``text`` (case-insensitive: hex may be re-cased)."""
    low = text.lower()
    return [n for n in needles if n.lower() in low]


def where(text: str, needles: tuple[str, ...]) -> str:
    """The first leak with some context, for a readable failure message."""
    low = text.lower()
    for needle in needles:
        at = low.find(needle.lower())
        if at >= 0:
            return f"{needle!r} in ...{text[max(0, at - 100):at + len(needle) + 40]!r}..."
    return "nothing"


def _kind(sample: Sample, path: Path) -> InputKind:
    for_part = [k.name for k in input_kinds() if k.part == sample.part]
    if not for_part:
        pytest.skip(f"no parser for `{sample.part}` on main yet")
    kind = sniff(Source(path, sample.name), path.read_bytes()[:65536], directory=path.is_dir())
    assert kind is not None and kind.part == sample.part, (
        f"{sample.name} (reference format) is not recognised as {sample.part} by {for_part}")
    return kind


def _everything_printed(inputs: list[str], kind: InputKind | None, path: Path | None) -> str:
    out = []
    for variant in OUTPUT_VARIANTS:
        run = analyze_checked(inputs, *variant[2:], fmt=variant[1])
        out += [run.stdout, run.stderr]
    if kind is not None and path is not None:
        run = run_cli("parse", kind.name, str(path))
        assert run.code in (0, 3), run.stderr
        out += [run.stdout, run.stderr]
    return "\n".join(out)


def test_the_detector_sees_the_planted_secrets() -> None:
    """The harness can fail: every sample's needles are really in it, in some form."""
    for sample in SECRET_SAMPLES:
        assert leaks(sample.content.decode(), sample.needles), sample.name
        missing = [n for n in sample.needles if n.lower() not in sample.content.decode().lower()
                   and n.replace(" ", "") == n]
        assert len(missing) <= len(sample.needles) // 2, (sample.name, missing)
    assert leaks("SA key is 5EC7E7A1B0A4D1E2C3F4051627A8B9CA", SECRET_SAMPLES[0].needles)


@pytest.mark.parametrize("sample", SECRET_SAMPLES, ids=lambda s: s.name)
def test_no_output_shows_planted_keys(sample: Sample, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = sample.write(tmp_path)
    kind = _kind(sample, path)
    caplog.set_level(logging.DEBUG)
    printed = _everything_printed([str(path)], kind, path)
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert not leaks(printed, sample.needles), f"a key reached the output: {where(printed, sample.needles)}"
    assert not leaks(logged, sample.needles), f"a key reached a log message: {where(logged, sample.needles)}"


@pytest.mark.parametrize("sample", SECRET_SAMPLES, ids=lambda s: s.name)
def test_the_model_holds_tags_not_keys(sample: Sample, tmp_path: Path) -> None:
    path = sample.write(tmp_path)
    kind = _kind(sample, path)
    obj = kind.load(Source(path, sample.name), LoadOptions())
    data = kind.to_json(obj) if kind.to_json else jsonable(obj)
    assert not leaks(repr(obj), sample.needles), f"the model keeps a key: {where(repr(obj), sample.needles)}"
    assert not leaks(repr(data), sample.needles), f"the model's JSON shows a key: {where(repr(data), sample.needles)}"


def _damaged(content: bytes) -> list[bytes]:
    """Each line dropped, cut in half or doubled, one at a time, and the key lines garbled."""
    lines = content.splitlines(keepends=True)
    variants = []
    for i, line in enumerate(lines):
        variants.append(b"".join(lines[:i] + lines[i + 1:]))
        variants.append(b"".join([*lines[:i], line[: len(line) // 2] + b"\n", *lines[i + 1:]]))
        variants.append(b"".join([*lines[:i], line, line, *lines[i + 1:]]))
        variants.append(b"".join([*lines[:i], line.rstrip(b"\n") + b" zz{\xff;\n", *lines[i + 1:]]))
    return variants


@pytest.mark.parametrize("sample", SECRET_SAMPLES, ids=lambda s: s.name)
def test_errors_about_damaged_key_lines_quote_no_key(sample: Sample, tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    path = sample.write(tmp_path)
    kind = _kind(sample, path)
    caplog.set_level(logging.DEBUG)
    for variant in _damaged(sample.content):
        path.write_bytes(variant)
        try:
            obj = kind.load(Source(path, sample.name), LoadOptions())
        except ParseError as err:
            texts = [str(err), err.one_line(), err.hint or ""]
        except OSError as err:
            texts = [str(err)]
        else:
            texts = [p.one_line() for p in getattr(obj, "errors", ()) or ()] + [repr(obj)]
        shown = "\n".join(texts)
        assert not leaks(shown, sample.needles), f"an error shows a key: {where(shown, sample.needles)}"
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert not leaks(logged, sample.needles)


def _cert_dir(directory: Path) -> tuple[str, ...]:
    key, cert = private_key_pem()
    directory.mkdir()
    (directory / "gw1.key").write_bytes(key)
    (directory / "gw1.crt").write_bytes(cert)
    return pem_needles(key)


def test_private_keys_in_the_certificate_dir_never_show(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    certs = tmp_path / "certs"
    needles = _cert_dir(certs)
    kinds = [k for k in input_kinds() if k.part == "certs"]
    if not kinds:
        pytest.skip("no certificate-directory parser on main yet")
    caplog.set_level(logging.DEBUG)
    printed = ""
    for variant in OUTPUT_VARIANTS:
        run = analyze_checked([], "--certs", str(certs), *variant[2:], fmt=variant[1])
        printed += run.stdout + run.stderr
    for kind in kinds:
        run = run_cli("parse", kind.name, str(certs))
        printed += run.stdout + run.stderr
        obj = kind.load(Source(certs, "certs"), LoadOptions())
        printed += repr(obj)
    assert not leaks(printed, needles), where(printed, needles)
    assert not leaks("\n".join(r.getMessage() for r in caplog.records), needles)


def test_a_whole_host_directory_and_its_bundle_leak_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """racoon.conf naming psk.txt and certs/, beside dumps and logs; then the same as a .tar.gz."""
    if not input_kinds():
        pytest.skip("no parser on main yet")
    host = tmp_path / "host"
    host.mkdir()
    needles: tuple[str, ...] = ()
    for sample in SAMPLES:
        sample.write(host)
        needles += sample.needles
    needles += _cert_dir(host / "certs")
    bundle = tmp_path / "host.tar.gz"
    with tarfile.open(bundle, "w:gz") as tar:
        for path in sorted(host.rglob("*")):
            if path.is_file():
                data = path.read_bytes()
                info = tarfile.TarInfo(f"etc/racoon/{path.relative_to(host)}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    gz = tmp_path / "racoon.log.gz"
    gz.write_bytes(gzip.compress(SAMPLES[[s.part for s in SAMPLES].index("log")].content))
    caplog.set_level(logging.DEBUG)
    for inputs in ([str(host)], [str(bundle)], [str(gz)]):
        printed = _everything_printed(inputs, None, None)
        assert not leaks(printed, needles), f"{inputs}: {where(printed, needles)}"
    assert not leaks("\n".join(r.getMessage() for r in caplog.records), needles)


def _fake_host(root: Path) -> tuple[str, ...]:
    """A Linux sysroot for `collect --root` with every planted secret where racoondbg looks."""
    racoon = root / "etc/racoon"
    racoon.mkdir(parents=True)
    needles = _cert_dir(racoon / "certs")
    conf = RACOON_CONF.replace('"psk.txt"', '"/etc/racoon/psk.txt"').replace('"certs"', '"/etc/racoon/certs"')
    (racoon / "racoon.conf").write_text(conf)
    commands = root / ".racoondbg/commands"
    commands.mkdir(parents=True)
    (root / "var/log").mkdir(parents=True)
    placed = {racoon / "psk.txt": "psk.txt", root / "etc/ipsec-tools.conf": "ipsec.setkey",
              commands / "setkey-D.out": "sad.txt", commands / "setkey-DP.out": "spd.txt",
              commands / "ip-xfrm-state.out": "xfrm-state.txt", root / "var/log/racoon.log": "racoon.log"}
    by_name = {sample.name: sample for sample in SAMPLES}
    for path, name in placed.items():
        path.write_bytes(by_name[name].content)
        needles += by_name[name].needles
    (racoon / "psk.txt").chmod(0o600)
    return needles


def _bundle_text(bundle: Path) -> str:
    with tarfile.open(bundle) as tar:
        return "\n".join(
            f"{m.name}\n" + tar.extractfile(m).read().decode("utf-8", "replace")  # type: ignore[union-attr]
            for m in tar if m.isfile())


def test_collected_bundles_leak_nothing(tmp_path: Path) -> None:
    from racoondbg.cli import cli

    if "collect" not in cli.commands:  # type: ignore[attr-defined]
        pytest.skip("`racoondbg collect` is not on main yet")
    root = tmp_path / "root"
    needles = _fake_host(root)
    clear = tmp_path / "clear.tar.gz"
    run = run_cli("collect", "--root", str(root), "--since", "all", "--no-redact", "-o", str(clear))
    assert leaks(_bundle_text(clear), needles), f"planting failed: no key in the --no-redact bundle ({run.stderr})"
    shared = tmp_path / "shared.tar.gz"
    run = run_cli("collect", "--root", str(root), "--since", "all", "-o", str(shared))
    text = _bundle_text(shared) + run.stdout + run.stderr
    assert not leaks(text, needles), f"a key is in the bundle: {where(text, needles)}"
    assert not leaks(_everything_printed([str(shared)], None, None), needles)


@pytest.mark.parametrize(("quoted", "shown"), [
    ("got 'E: aes-cbc  5ec7e7a1 b0a4d1e2 c3f40516 27a8b9ca'", "got 'E: aes-cbc  [redacted]'"),
    ("psk: 506c616e 7465642d 50534b2d 7a656272 612d3437", "psk: [redacted]"),
    ("enc cbc(aes) 0x4d3c2b1a0f9e8d7c6b5a493827160504", "enc cbc(aes) [redacted]"),
    ('-E aes-cbc "Planted-PSK-zeb" -A hmac-sha1 0x0102', '-E aes-cbc [redacted] -A hmac-sha1 0x0102'),
    # what must keep its shape: SPIs, reqids, cookies, tags, addresses
    ("spi=231742451(0x0dd01a73) reqid=16385(0x00004001)", "spi=231742451(0x0dd01a73) reqid=16385(0x00004001)"),
    *[(same, same) for same in ("spi:1f2e3d4c5b6a7988:8a9b0c1d2e3f4051 secret:6d5c59e099b6",)],
    ("2001:db8::1[500] 2014-03-01 10:00:05", "2001:db8::1[500] 2014-03-01 10:00:05"),
])
def test_redaction_keeps_identifiers_and_hides_key_shapes(quoted: str, shown: str) -> None:
    assert redact_secrets(quoted) == shown
    assert ParseError(Location("sad.txt", 3), f"bad line {quoted!r}", quoted).one_line().count("[redacted]") == (
        2 * shown.count("[redacted]"))


def test_findings_quoting_key_lines_are_redacted_unless_show_keys() -> None:
    check = _stub_rule()
    line = "\tE: aes-cbc  5ec7e7a1 b0a4d1e2 c3f40516 27a8b9ca"
    hit = Hit(message=f"key line {line}", evidence=[EvidenceRef("sad.txt", 3, excerpt=line, note=line)], fix=line)
    hidden = _finding(check, hit)
    assert not leaks(repr(hidden), ESP_ENC) and "[redacted]" in hidden.message
    assert leaks(repr(_finding(check, hit, redact=False)), ESP_ENC)


def _stub_rule() -> Rule:
    return Rule("RDB999", "stub", "stub", Severity.ERROR, frozenset(), lambda ev: (), "stub")
