"""`racoondbg analyze` (and `parse KIND`) on fuzzed inputs of every kind and on thousands of random-bytes files:
only exit codes 0/1/3, never a traceback, every error on one line naming its file (and line/frame)."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from racoondbg.inputs import InputKind
from tests.hardening.budget import CI_ANALYZE_EXAMPLES, fuzz_settings, random_file_count
from tests.hardening.corpus import all_seeds, file_kinds, seeds_by_kind
from tests.hardening.harness import EXPLICIT, analyze_checked, parse_checked
from tests.hardening.mutations import garbage, mutated

FILE_KINDS = file_kinds()
FORMATS = ("json", "json", "json-lines", "sarif", "text")


@pytest.mark.skipif(not FILE_KINDS, reason="no input kind registered on main yet")
@pytest.mark.parametrize("kind", FILE_KINDS, ids=lambda k: k.name)
def test_analyze_survives_mutated_inputs(kind: InputKind, tmp_path_factory: pytest.TempPathFactory) -> None:
    work = tmp_path_factory.mktemp(f"analyze-{kind.name}")
    seeds = seeds_by_kind().get(kind.name) or all_seeds() or (b"",)
    explicit = next((name for name in (kind.name, *kind.aliases) if name in EXPLICIT), None)

    @fuzz_settings(CI_ANALYZE_EXAMPLES)
    @given(blob=mutated(seeds) | garbage(), fmt=st.sampled_from(FORMATS), how=st.sampled_from(["sniff", "named",
                                                                                               "parse"]))
    def check(blob: bytes, fmt: str, how: str) -> None:
        path = work / "input"
        path.write_bytes(blob)
        if how == "parse":
            parse_checked(kind, path)
        elif how == "named" and explicit:
            analyze_checked([], f"--{explicit}", str(path), fmt=fmt)
        else:
            analyze_checked([str(path)], fmt=fmt)

    check()


_MAGICS = (b"", b"", b"", b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00", b"\x0a\x0d\x0d\x0a", b"\x1f\x8b\x08\x00", b"BZh91AY&SY",
           b"-----BEGIN RSA PRIVATE KEY-----\n", b"remote anonymous {\n", b"spdadd ", b"10.1.0.0/16[any] ",
           b"2014-03-01 10:00:05: ERROR: ", b"Mar  1 10:00:05 gw racoon: ", b"src 192.0.2.1 dst 198.51.100.7\n",
           b"198.51.100.7\t")


def _random_files(directory: Path, count: int, rng: random.Random) -> list[Path]:
    paths = []
    for i in range(count):
        size = rng.choice((0, 1, 7, 64, 300, 1024, 4096))
        body = rng.randbytes(size)
        if rng.random() < 0.1:  # text-ish: printable bytes and newlines
            body = bytes(rng.choice(b"0123456789abcdef .:[]{};\t\n/-") for _ in range(size))
        data = rng.choice(_MAGICS) + body
        if rng.random() < 0.05 and len(data) > 262:  # a tar header magic where tar keeps it
            data = data[:257] + b"ustar" + data[262:]
        path = directory / f"r{i:05d}"
        path.write_bytes(data)
        paths.append(path)
    return paths


def test_thousands_of_random_files(tmp_path: Path) -> None:
    paths = _random_files(tmp_path, random_file_count(), random.Random(20261128))
    for start in range(0, len(paths), 500):
        batch = [str(p) for p in paths[start:start + 500]]
        run = analyze_checked(batch)
        doc = run.doc()
        seen = {i["path"] for i in doc["inputs"]} | {e["path"] for e in doc["errors"]}
        assert set(batch) <= seen, f"inputs neither read nor reported: {sorted(set(batch) - seen)[:5]}"


def test_real_entry_point_prints_no_traceback(tmp_path: Path) -> None:
    """The installed command (not the in-process runner) on a directory of random files."""
    _random_files(tmp_path, 120, random.Random(7))
    proc = subprocess.run([sys.executable, "-c", "from racoondbg.cli import main; main()", "analyze",
                           "--format", "json", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode in {0, 1, 3}, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
