"""One unreadable input never stops the analysis of the others, and every report says what failed
and why: permission denied, a truncated gzip, binary garbage named with --log, a missing file."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from racoondbg.inputs import input_kinds, kind_named, sniff
from racoondbg.sources import Source
from tests.hardening.harness import analyze_checked
from tests.hardening.samples import SAMPLES
from tests.hardening.stubs import MAGIC

BAD_REASONS = {
    "denied.log": "permission denied",
    "truncated.log.gz": "truncated or damaged",
    "garbage.bin": "",  # a parse error: named with its line, or a read error
    "missing.log": "no such file",
}


def _log_text(lines: int) -> bytes:
    return MAGIC + b"".join(b"2014-03-01 10:00:05: INFO: message number %d of many\n" % i for i in range(lines))


def _bad_inputs(tmp_path: Path, deny: Callable[[Path], None], log_text: bytes) -> tuple[list[str], list[str]]:
    """(paths to sniff, `--log PATH` options) holding the four bad inputs."""
    denied = tmp_path / "denied.log"
    denied.write_bytes(log_text)
    deny(denied)
    truncated = tmp_path / "truncated.log.gz"
    packed = gzip.compress(log_text * 40)
    truncated.write_bytes(packed[: len(packed) // 2])
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\x00\x01\x02racoon\xff\xfe\x00" * 300)
    return [str(denied), str(truncated), str(tmp_path / "missing.log")], ["--log", str(garbage)]


def _check_reports(paths: list[str], options: list[str], good: list[str]) -> None:
    docs = {fmt: analyze_checked(paths, *options, fmt=fmt) for fmt in ("json", "json-lines", "sarif", "text")}
    assert {run.code for run in docs.values()} == {3}
    doc = docs["json"].doc()
    assert sorted(i["path"] for i in doc["inputs"] if i["path"] in good) == sorted(good), doc
    errors = {Path(e["path"]).name: e for e in doc["errors"]}
    for name, reason in BAD_REASONS.items():
        assert name in errors, f"{name} is not reported: {doc['errors']}"
        assert reason in errors[name]["message"].lower()
    lines = [json.loads(line) for line in docs["json-lines"].stdout.splitlines()]
    assert {Path(e["path"]).name for e in lines if e["type"] == "error"} >= set(BAD_REASONS)
    run = json.loads(docs["sarif"].stdout)["runs"][0]
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert run["invocations"][0]["executionSuccessful"] is False
    assert {Path(n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]).name for n in notes} >= set(
        BAD_REASONS)
    text = docs["text"].stdout
    for name in BAD_REASONS:
        assert name in text
    for path in good:
        assert path in text


@pytest.mark.usefixtures("stub_kinds")
def test_bad_inputs_do_not_stop_the_good_one(tmp_path: Path, deny: Callable[[Path], None]) -> None:
    good = tmp_path / "good.log"
    good.write_bytes(_log_text(10))
    paths, options = _bad_inputs(tmp_path, deny, _log_text(3000))
    _check_reports([*paths, str(good)], options, [str(good)])


def test_real_parsers_keep_going_past_bad_inputs(tmp_path: Path, deny: Callable[[Path], None]) -> None:
    if kind_named("log") is None:
        pytest.skip("no `log` input kind on main yet (the --log case needs it)")
    good = []
    for sample in SAMPLES:
        path = sample.write(tmp_path)
        if sniff(Source(path, sample.name), path.read_bytes()) is not None:
            good.append(str(path))
    if not good:
        pytest.skip(f"no registered kind claims the planted samples (kinds: {[k.name for k in input_kinds()]})")
    log_text = SAMPLES[[s.part for s in SAMPLES].index("log")].content
    paths, options = _bad_inputs(tmp_path, deny, log_text * 200)
    _check_reports([*paths, *good], options, good)
