"""Every registered input kind, fed mutated fixtures and garbage: ``load`` returns a model or raises
ParseError/OSError, with one-line errors, JSON-able output and bounded time."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from racoondbg.inputs import InputKind
from tests.hardening.budget import CI_LOAD_EXAMPLES, fuzz_settings
from tests.hardening.corpus import all_seeds, directory_kinds, directory_seeds, file_kinds, seeds_by_kind
from tests.hardening.harness import load_checked
from tests.hardening.mutations import garbage, mutated
from tests.hardening.samples import deep_file, private_key_pem

FILE_KINDS = file_kinds()
DIR_KINDS = directory_kinds()


def _inputs(kind: InputKind) -> st.SearchStrategy[bytes]:
    seeds = seeds_by_kind().get(kind.name, ())
    if not seeds:
        return garbage()
    others = [s for s in all_seeds() if s not in seeds]
    return st.one_of(mutated(seeds, others), mutated(seeds, others), garbage())


@pytest.mark.skipif(not FILE_KINDS, reason="no input kind registered on main yet")
@pytest.mark.parametrize("kind", FILE_KINDS, ids=lambda k: k.name)
def test_load_survives_mutated_inputs(kind: InputKind, tmp_path_factory: pytest.TempPathFactory) -> None:
    work = tmp_path_factory.mktemp(f"fuzz-{kind.name}")

    @fuzz_settings(CI_LOAD_EXAMPLES)
    @given(blob=_inputs(kind))
    def check(blob: bytes) -> None:
        path = work / "input"
        path.write_bytes(blob)
        load_checked(kind, path)

    check()


@pytest.mark.skipif(not FILE_KINDS, reason="no input kind registered on main yet")
@pytest.mark.parametrize("kind", FILE_KINDS, ids=lambda k: k.name)
def test_every_kind_has_seeds(kind: InputKind) -> None:
    """Structure-aware fuzzing needs inputs of the kind: a fixture or a planted sample must sniff as it."""
    assert seeds_by_kind().get(kind.name), f"no fixture or sample sniffs as {kind.name}; add one to tests/fixtures"


def _sample_cert_dir(target: Path) -> None:
    key, cert = private_key_pem()
    (target / "gw1.key").write_bytes(key)
    (target / "gw1.crt").write_bytes(cert)


DIR_EDITS = ("mutate", "garbage", "loop", "self", "dangling", "deep", "fifo", "empty", "dir-named-like-file")


def _edit_directory(directory: Path, edit: str, blob: bytes, index: int) -> None:
    files = sorted(p for p in directory.rglob("*") if p.is_file() and not p.is_symlink())
    if edit == "mutate" and files:
        files[index % len(files)].write_bytes(blob)
    elif edit == "garbage":
        (directory / f"garbage{index}.pem").write_bytes(blob)
    elif edit == "loop":
        (directory / "loop-a").symlink_to("loop-b")
        (directory / "loop-b").symlink_to("loop-a")
    elif edit == "self":
        (directory / "myself").symlink_to(".")
    elif edit == "dangling":
        (directory / "0a1b2c3d.0").symlink_to("/nonexistent/cert.pem")
    elif edit == "deep":
        deep_file(directory, 40, "deep.pem", blob)
    elif edit == "fifo" and hasattr(os, "mkfifo"):
        os.mkfifo(directory / "trap.pem")
    elif edit == "empty" and files:
        files[index % len(files)].write_bytes(b"")
    elif edit == "dir-named-like-file":
        (directory / "cert.pem").mkdir(exist_ok=True)


@pytest.mark.skipif(not DIR_KINDS, reason="no directory input kind (certificate dir) registered on main yet")
@pytest.mark.parametrize("kind", DIR_KINDS, ids=lambda k: k.name)
def test_directory_load_survives_hostile_trees(kind: InputKind, tmp_path_factory: pytest.TempPathFactory) -> None:
    seeds = directory_seeds(kind.name)
    root = tmp_path_factory.mktemp(f"fuzzdir-{kind.name}")

    @fuzz_settings(CI_LOAD_EXAMPLES)
    @given(seed=st.sampled_from(list(range(len(seeds) + 1))),
           edits=st.lists(st.tuples(st.sampled_from(DIR_EDITS), st.integers(0, 99)), min_size=1, max_size=3,
                          unique_by=lambda edit: edit[0]),
           blob=mutated([private_key_pem()[1], private_key_pem()[0]]) | garbage())
    def check(seed: int, edits: list[tuple[str, int]], blob: bytes) -> None:
        target = Path(tempfile.mkdtemp(dir=root))
        try:
            if seed < len(seeds):
                shutil.copytree(seeds[seed], target, symlinks=True, dirs_exist_ok=True)
            else:
                _sample_cert_dir(target)
            for edit, index in edits:
                _edit_directory(target, edit, blob, index)
            load_checked(kind, target, "fuzzed-dir")
        finally:
            shutil.rmtree(target, ignore_errors=True)

    check()
