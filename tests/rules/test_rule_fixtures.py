"""Every rule has positive (``hit_*``) and false-positive (``ok_*``) fixtures, and they behave.

A fixture is a file or a directory under ``tests/fixtures/rules/<slug>/``; it is loaded exactly as
``racoondbg analyze`` would load it (sniffed by content), with ``--root`` set to the fixture
directory so that racoon.conf's absolute paths resolve inside it.

Git keeps no file modes: a fixture directory holding ``modes.txt`` (``<octal mode> <path>`` per
line, see :mod:`racoondbg.modes`) is analysed as a temporary copy with those modes applied.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from racoondbg.engine import INTERNAL_ERROR, all_rules, run
from racoondbg.evidence import Evidence, load_evidence
from racoondbg.inputs import LoadOptions
from racoondbg.modes import MODES_FILE, copy_with_modes
from racoondbg.sources import Source

RULE_FIXTURES = Path(__file__).parent.parent / "fixtures" / "rules"
RULES = [r for r in all_rules() if r is not INTERNAL_ERROR]


def load(path: Path) -> Evidence:
    name = str(path.relative_to(RULE_FIXTURES))
    if path.is_dir() and (path / MODES_FILE).is_file():
        path = copy_with_modes(path, Path(tempfile.mkdtemp(prefix="fixture-")) / path.name)
    root = path if path.is_dir() else path.parent
    return load_evidence([Source(path, name)], options=LoadOptions(root=root))


def cases(prefix: str) -> list[tuple[str, Path]]:
    return [
        (slug, path)
        for slug in sorted({r.slug for r in RULES})
        for path in sorted((RULE_FIXTURES / slug).glob(f"{prefix}_*"))
    ]


@pytest.mark.parametrize("slug", sorted({r.slug for r in RULES}))
def test_every_rule_has_a_positive_and_a_false_positive_fixture(slug: str) -> None:
    folder = RULE_FIXTURES / slug
    assert list(folder.glob("hit_*")), f"{folder}/hit_* missing"
    assert list(folder.glob("ok_*")), f"{folder}/ok_* missing"


@pytest.mark.parametrize("slug,path", cases("hit"), ids=lambda v: v.name if isinstance(v, Path) else v)
def test_rule_fires_on_its_positive_fixture(slug: str, path: Path) -> None:
    ev = load(path)
    assert not [e for e in ev.errors if e.fatal], [e.one_line() for e in ev.errors]
    findings = run(ev).findings
    assert slug in {f.slug for f in findings}, [f"{f.slug}: {f.message}" for f in findings]
    assert INTERNAL_ERROR.slug not in {f.slug for f in findings}
    for f in findings:
        if f.slug == slug:
            assert f.evidence, f"{slug} finding without evidence"
            assert f.fix, f"{slug} finding without a fix"


@pytest.mark.parametrize("slug,path", cases("ok"), ids=lambda v: v.name if isinstance(v, Path) else v)
def test_rule_stays_silent_on_its_false_positive_fixture(slug: str, path: Path) -> None:
    ev = load(path)
    assert not [e for e in ev.errors if e.fatal], [e.one_line() for e in ev.errors]
    findings = run(ev).findings
    assert slug not in {f.slug for f in findings}, [f.message for f in findings if f.slug == slug]
    assert INTERNAL_ERROR.slug not in {f.slug for f in findings}
