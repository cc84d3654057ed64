"""Hostile .tar(.gz) bundles: member names are never paths, links and devices are skipped, and
sizes, counts and nesting are bounded (racoondbg/evidence.py)."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest

from racoondbg import evidence, sources
from racoondbg.evidence import MAX_BUNDLE_MEMBERS, MAX_WALK_DEPTH, load_evidence
from racoondbg.sources import Source
from tests.hardening.stubs import MAGIC

LOG = MAGIC + b"2014-03-01 10:00:05: INFO: hello\n"


def member(tar: tarfile.TarFile, name: str, data: bytes = LOG, **attrs: object) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in attrs.items():
        setattr(info, key, value)
    tar.addfile(info, io.BytesIO(data) if info.isfile() else None)


def bundle(path: Path, build: object, mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode, format=tarfile.GNU_FORMAT) as tar:
        build(tar)  # type: ignore[operator]
    return path


def written(work: Path) -> list[Path]:
    return sorted(p for p in work.rglob("*") if p.is_file())


@pytest.mark.usefixtures("stub_kinds")
def test_traversal_links_and_devices_stay_inside(tmp_path: Path) -> None:
    def build(tar: tarfile.TarFile) -> None:
        member(tar, "../../../../tmp/escape.log")
        member(tar, "/etc/racoon/abs.log")
        member(tar, "./a/../../b.log")
        member(tar, "")
        member(tar, "x/" + "n" * 400 + ".log")  # GNU long name, basename longer than NAME_MAX
        member(tar, "hard", type=tarfile.LNKTYPE, linkname="/etc/passwd")
        member(tar, "soft", type=tarfile.SYMTYPE, linkname="../../../etc/shadow")
        member(tar, "dev", type=tarfile.CHRTYPE, devmajor=1, devminor=3)
        member(tar, "fifo", type=tarfile.FIFOTYPE)
        member(tar, "dir", type=tarfile.DIRTYPE)

    path = bundle(tmp_path / "evil.tar.gz", build)
    work = tmp_path / "work"
    work.mkdir()
    ev = load_evidence([Source(path, "evil.tar.gz")], workdir=work)
    files = written(work)
    assert len(files) == 5 and all(work in p.parents for p in files)
    assert not any(p.is_symlink() for p in work.rglob("*"))
    assert not (Path("/tmp") / "escape.log").exists()
    names = sorted(i.path for i in ev.inputs)
    assert names == sorted(["evil.tar.gz!tmp/escape.log", "evil.tar.gz!etc/racoon/abs.log", "evil.tar.gz!a/b.log",
                            "evil.tar.gz!member-3", f"evil.tar.gz!x/{'n' * 400}.log"])
    assert ev.errors == []


@pytest.mark.usefixtures("stub_kinds")
def test_too_many_members_is_reported_and_bounded(tmp_path: Path) -> None:
    def build(tar: tarfile.TarFile) -> None:
        for i in range(MAX_BUNDLE_MEMBERS + 50):
            member(tar, f"m{i}.log")

    path = bundle(tmp_path / "many.tar", build, "w")
    work = tmp_path / "work"
    work.mkdir()
    ev = load_evidence([Source(path, "many.tar")], workdir=work)
    assert len(written(work)) == MAX_BUNDLE_MEMBERS
    assert [e.message for e in ev.errors if "members" in e.message]


@pytest.mark.usefixtures("stub_kinds")
def test_nested_bundles_stop_at_the_walk_depth(tmp_path: Path) -> None:
    inner = tmp_path / "b0.tar"
    bundle(inner, lambda tar: member(tar, "deep.log"), "w")
    for level in range(1, MAX_WALK_DEPTH + 3):
        data = inner.read_bytes()
        inner = bundle(tmp_path / f"b{level}.tar", lambda tar, data=data: member(tar, "inner.tar", data), "w")
    ev = load_evidence([Source(inner, "outer.tar")], workdir=tmp_path)
    assert not ev.inputs
    assert any("nested more than" in e.message for e in ev.errors)


@pytest.mark.usefixtures("stub_kinds")
def test_tar_gz_bomb_stops_at_the_decompression_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "EXPANSION_ALLOWANCE", 4 * 1024 * 1024)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        member(tar, "zeros.log", MAGIC + b"\0" * (40 * 1024 * 1024))
    path = tmp_path / "bomb.tar.gz"
    path.write_bytes(gzip.compress(raw.getvalue()))
    work = tmp_path / "work"
    work.mkdir()
    ev = load_evidence([Source(path, "bomb.tar.gz")], workdir=work)
    assert sum(p.stat().st_size for p in written(work)) <= sources.decompression_limit(path.stat().st_size)
    assert any("decompresses to more than" in e.message for e in ev.errors)


@pytest.mark.usefixtures("stub_kinds")
def test_members_share_one_byte_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evidence, "MAX_BUNDLE_BYTES", 3 * len(LOG))
    paths = []
    for n in range(2):
        paths.append(bundle(tmp_path / f"b{n}.tar", lambda tar: [member(tar, f"{i}.log") for i in range(2)], "w"))
    ev = load_evidence([Source(p, p.name) for p in paths], workdir=tmp_path)
    assert len(ev.inputs) == 3
    assert any("bundles hold more than" in e.message for e in ev.errors)


@pytest.mark.usefixtures("stub_kinds")
def test_a_member_that_lies_about_its_size_is_an_error_not_a_crash(tmp_path: Path) -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        member(tar, "first.log")
        member(tar, "liar.log", LOG * 100)
    data = raw.getvalue()
    path = tmp_path / "liar.tar"
    path.write_bytes(data[: 3 * 512 + 512])  # cut inside the second member's data
    ev = load_evidence([Source(path, "liar.tar")], workdir=tmp_path)
    assert [i.path for i in ev.inputs] == ["liar.tar!first.log"]
    assert ev.errors and ev.errors[0].path == "liar.tar" and "\n" not in ev.errors[0].one_line()
