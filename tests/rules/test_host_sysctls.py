"""The rules on the host's IPsec sysctls: what they cite, their severity, and how they meet the SA rules."""

from __future__ import annotations

from pathlib import Path

from racoondbg.engine import run
from racoondbg.evidence import load_evidence
from racoondbg.inputs import LoadOptions
from racoondbg.model.finding import Finding, Severity
from racoondbg.sources import Source

RULES = Path(__file__).parent.parent / "fixtures" / "rules"


def findings(case: str) -> list[Finding]:
    folder = RULES / case
    return run(load_evidence([Source(folder, case)], options=LoadOptions(root=folder))).findings


def test_prefer_old_sa_cites_the_sysctl_and_the_oldest_and_newest_sa() -> None:
    [f] = [f for f in findings("prefer-old-sa/hit_freebsd_piled_sas") if f.slug == "prefer-old-sa"]
    assert f.code == "RDB611" and f.severity is Severity.WARNING and f.peer == "198.51.100.7"
    assert "net.key.preferred_oldsa = 1" in f.message and "3 ESP SAs from 192.0.2.10 to 198.51.100.7" in f.message
    sysctl, oldest, newest = f.evidence
    assert sysctl.path.endswith("net.key") and sysctl.excerpt == "net.key.preferred_oldsa: 1" and sysctl.line
    assert "spi=0x0a000001" in (oldest.excerpt or "") and "spi=0x0a000003" in (newest.excerpt or "")
    assert "sysctl -w net.key.preferred_oldsa=0" in (f.fix or "") and "/etc/sysctl.conf" in (f.fix or "")


def test_duplicate_sa_fix_points_at_the_sysctl_when_the_kernel_prefers_old_sas() -> None:
    [dup] = [f for f in findings("prefer-old-sa/hit_freebsd_piled_sas") if f.slug == "duplicate-sa"]
    assert "prefer-old-sa" in (dup.fix or "") and "net.key.preferred_oldsa=0" in (dup.fix or "")
    [dup] = [f for f in findings("prefer-old-sa/ok_netbsd_prefers_new_piled_sas") if f.slug == "duplicate-sa"]
    assert "oldsa" not in (dup.fix or "")


def test_prefer_old_sa_without_a_sad_is_only_a_note() -> None:
    [f] = [f for f in findings("prefer-old-sa/hit_freebsd_no_sad") if f.slug == "prefer-old-sa"]
    assert f.severity is Severity.INFO and "No SAD dump" in f.message
