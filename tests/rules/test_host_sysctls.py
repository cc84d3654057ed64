"""The rules on the host's IPsec sysctls: what they cite, their severity, and how they meet the SA rules."""

from __future__ import annotations

from pathlib import Path

from racoondbg.rules.host_rp_filter import effective, route_to

from racoondbg.engine import run
from racoondbg.evidence import load_evidence
from racoondbg.inputs import LoadOptions
from racoondbg.model.base import Location
from racoondbg.model.finding import Finding, Severity
from racoondbg.model.host import HostState, Route, Sysctl
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


def test_rp_filter_strict_cites_sysctls_address_route_and_policy() -> None:
    [f] = [f for f in findings("rp-filter-strict/hit_two_uplinks") if f.slug == "rp-filter-strict"]
    assert f.code == "RDB612" and f.severity is Severity.WARNING and f.peer == "198.51.100.7"
    assert "on eth0, but the route back to it leaves by eth2" in f.message
    assert "ip route get 192.0.2.1 from 198.51.100.7 iif eth0" in f.message
    excerpts = [e.excerpt for e in f.evidence]
    assert excerpts[:4] == ["net.ipv4.conf.all.rp_filter = 1", "net.ipv4.conf.eth0.rp_filter = 1",
                            "2: eth0    inet 192.0.2.1/25 scope global eth0",
                            "default via 192.0.2.254 dev eth2 proto static metric 100"]
    assert f.evidence[3].path.endswith("ip -4 route show table main") and f.evidence[3].line == 1
    assert "sysctl -w net.ipv4.conf.eth0.rp_filter=2" in (f.fix or "") and "/etc/sysctl.d/" in (f.fix or "")


def _host(**values: str) -> HostState:
    host = HostState(Location("h"), platform="linux")
    for name, value in values.items():
        key = f"net.ipv4.conf.{name}.rp_filter"
        host.sysctls[key] = Sysctl(key, value, Location("sysctl"))
    return host


def _mode(host: HostState) -> int | None:
    found = effective(host, "eth0")
    return found[0] if found else None


def test_rp_filter_mode_is_the_larger_of_all_and_the_interface() -> None:
    assert _mode(_host(all="1", eth0="2")) == 2
    assert _mode(_host(all="0", eth0="1")) == 1
    assert _mode(_host(all="1", eth0="0")) == 1
    assert _mode(_host(all="0", default="1")) == 1  # eth0 not recorded: it started with default's value
    assert _mode(_host(all="0", eth0="0", default="1")) == 0
    assert _mode(_host()) is None


def test_route_lookup_takes_the_longest_prefix_then_the_lowest_metric() -> None:
    def r(prefix: str, dev: str, metric: int = 0) -> Route:
        return Route(prefix, (dev,), Location("ip route"), metric=metric)

    routes = [r("0.0.0.0/0", "eth2", 100), r("0.0.0.0/0", "eth0", 50), r("198.51.100.0/24", "eth1")]
    assert route_to(routes, "198.51.100.7") == routes[2]
    assert route_to(routes, "203.0.113.9") == routes[1]
    assert route_to(routes[2:], "203.0.113.9") is None
