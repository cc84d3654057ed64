from __future__ import annotations

from collections.abc import Iterator

import pytest

from racoondbg import engine
from racoondbg.engine import Hit, rule, run
from racoondbg.evidence import Evidence
from racoondbg.model import EvidenceRef, Location, Severity
from racoondbg.model.conf import RacoonConf


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, engine.Rule]:
    """An empty registry, so these tests see only the rules they register."""
    fresh: dict[str, engine.Rule] = {}
    monkeypatch.setattr(engine, "_REGISTRY", fresh)
    monkeypatch.setattr(engine, "all_rules", lambda: (*fresh.values(), engine.INTERNAL_ERROR))
    return fresh


def test_rule_runs_when_needs_are_met_and_is_skipped_otherwise(registry: dict[str, engine.Rule]) -> None:
    @rule("RDB101", "needs-conf", title="t", severity=Severity.ERROR, needs={"conf"})
    def needs_conf(ev: Evidence) -> Iterator[Hit]:
        """Doc."""
        yield Hit("found it", [EvidenceRef.at(Location("racoon.conf", 3), "remote anonymous")])

    @rule("RDB201", "needs-spd-or-script", title="t", severity=Severity.WARNING, needs={"spd|script"})
    def needs_spd(ev: Evidence) -> Iterator[Hit]:
        """Doc."""
        yield Hit("never")

    ev = Evidence(conf=RacoonConf(Location("racoon.conf")))
    result = run(ev)
    assert [f.slug for f in result.findings] == ["needs-conf"]
    finding = result.findings[0]
    assert finding.code == "RDB101" and finding.severity is Severity.ERROR
    assert finding.evidence[0].where() == "racoon.conf:3"
    assert result.coverage.ran == ["needs-conf"]
    assert result.coverage.skipped == [("needs-spd-or-script", ["spd|script"])]


def test_a_failing_rule_becomes_an_internal_error_finding(registry: dict[str, engine.Rule]) -> None:
    @rule("RDB102", "boom", title="t", severity=Severity.ERROR, needs=())
    def boom(ev: Evidence) -> Iterator[Hit]:
        """Doc."""
        raise KeyError("secret-key-material")

    @rule("RDB103", "fine", title="t", severity=Severity.INFO, needs=())
    def fine(ev: Evidence) -> Iterator[Hit]:
        """Doc."""
        yield Hit("still runs")

    result = run(Evidence())
    slugs = sorted(f.slug for f in result.findings)
    assert slugs == ["fine", "internal-error"]
    internal = next(f for f in result.findings if f.slug == "internal-error")
    assert "RDB102" in internal.message
    assert "secret-key-material" not in internal.message  # exception text may hold secrets


def test_ignore_by_code_or_slug(registry: dict[str, engine.Rule]) -> None:
    @rule("RDB104", "noisy", title="t", severity=Severity.INFO, needs=())
    def noisy(ev: Evidence) -> Iterator[Hit]:
        """Doc."""
        yield Hit("x")

    assert run(Evidence(), ignore=["rdb104"]).findings == []
    assert run(Evidence(), ignore=["noisy"]).findings == []


@pytest.mark.parametrize("code,slug", [("RDB1", "ok-slug"), ("RDB101", "Bad Slug")])
def test_rule_metadata_is_validated(registry: dict[str, engine.Rule], code: str, slug: str) -> None:
    with pytest.raises(ValueError):
        rule(code, slug, title="t", severity=Severity.INFO, needs=())(lambda ev: iter(()))


def test_every_registered_rule_has_a_unique_code_and_an_explanation() -> None:
    rules = engine.all_rules()
    assert len({r.code for r in rules}) == len(rules)
    for r in rules:
        assert r.explanation.strip(), r.code
        assert r.title.strip(), r.code
