"""The rules for catalog entries #22, #29, #38, #39, #40 and #42: code, wording, where the evidence is, near misses.

Each positive fixture must give exactly one finding of the rule, citing the lines or frames that show the
failure; each near miss (a healthy variant that looks alike) must stay silent, and so must the catalog's
benign noise and the built-in demo.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from racoondbg.cli import demo_dir
from racoondbg.engine import find_rules, run
from racoondbg.evidence import Evidence, load_evidence
from racoondbg.inputs import LoadOptions
from racoondbg.model.finding import Finding, Severity
from racoondbg.modes import copy_with_modes
from racoondbg.sources import Source
from tests.rules.test_rule_fixtures import RULE_FIXTURES, load

NEW = {"RDB234": "modecfg-require-reacquire-loop", "RDB313": "route-stolen-by-other-vpn",
       "RDB314": "ike-source-nat-rewrite", "RDB342": "ipcomp-install-failure", "RDB347": "interface-rescan-bind",
       "RDB350": "macos-client-constraints", "RDB421": "ike-source-nat-rewrite"}


def the(case: str, code: str) -> Finding:
    found = [f for f in run(load(RULE_FIXTURES / case)).findings if f.code == code]
    assert len(found) == 1, [f.message for f in found]
    return found[0]


def silent(case: str) -> list[str]:
    return [f"{f.code}: {f.message}" for f in run(load(RULE_FIXTURES / case)).findings if f.code in NEW]


def where(f: Finding) -> list[tuple[str, int | None]]:
    return [(Path(e.path).name, e.frame if e.frame is not None else e.line) for e in f.evidence]


@pytest.mark.parametrize("code,slug", sorted(NEW.items()))
def test_codes_slugs_and_honest_severities(code: str, slug: str) -> None:
    (r,) = find_rules(code)
    assert r.slug == slug and r.fix
    assert r.severity in (Severity.WARNING, Severity.INFO)  # low/medium confidence: never ERROR
    assert "What would confirm it" in r.explanation and "failure catalog #" in r.explanation


#: Every near miss of the new slugs, plus look-alikes filed under other failures.
NEAR_MISSES = sorted(
    [str(p.relative_to(RULE_FIXTURES)) for slug in set(NEW.values()) for p in (RULE_FIXTURES / slug).glob("ok_*")]
    + ["kernel-sa-install-failed/hit_ipcomp_freebsd"])


@pytest.mark.parametrize("case", NEAR_MISSES)
def test_near_misses_raise_none_of_them(case: str) -> None:
    """Stricter than the per-slug check of test_rule_fixtures: no new rule may fire on any of them."""
    assert silent(case) == []


def test_source_nat_in_a_wan_capture_points_at_the_frame_and_the_listen_line() -> None:
    f = the("ike-source-nat-rewrite/hit_wan_masquerade", "RDB421")
    assert "198.51.100.2 to 203.0.113.20 leave from UDP port 1031" in f.message and f.peer == "203.0.113.20"
    assert where(f) == [("capture.pcap", 1), ("racoon.conf", 7)]
    g = the("ike-source-nat-rewrite/hit_pfsense_outbound_any", "RDB421")
    assert "port 20713" in g.message and where(g) == [("capture.pcap", 1), ("racoon.log", 2)]


def test_source_nat_from_the_log_needs_the_nat_d_verdict() -> None:
    f = the("ike-source-nat-rewrite/hit_natt_port_rewritten.log", "RDB314")
    assert "203.0.113.20's IKE port changed to 1024" in f.message and "NAT not detected" in f.message
    assert where(f) == [("hit_natt_port_rewritten.log", 10), ("hit_natt_port_rewritten.log", 16)]


@pytest.mark.parametrize("case", ["ike-source-nat-rewrite/ok_client_behind_nat",
                                  "ike-source-nat-rewrite/ok_nat_detected_peer.log"])
def test_source_nat_near_misses(case: str) -> None:
    assert silent(case) == []


def test_macos_missing_keychain_secret() -> None:
    f = the("macos-client-constraints/hit_keychain_secret_missing.log", "RDB350")
    assert "no shared secret for 203.0.113.9" in f.message and "SKEYID" in f.message
    assert where(f) == [("hit_keychain_secret_missing.log", 6), ("hit_keychain_secret_missing.log", 7)]
    assert f.fix and "keychain" in f.fix


def test_macos_server_outside_the_fixed_transform_set() -> None:
    f = the("macos-client-constraints/hit_server_dh_group_outside_set.log", "RDB350")
    assert "1024-bit MODP group, the server 1536-bit MODP group" in f.message and f.peer == "198.51.100.61"
    assert where(f) == [("hit_server_dh_group_outside_set.log", 4), ("hit_server_dh_group_outside_set.log", 5)]


def test_require_policies_on_a_mode_config_client() -> None:
    f = the("modecfg-require-reacquire-loop/hit_roadwarrior_setkey", "RDB234")
    assert "203.0.113.1" in f.message and "reconnects by itself" in f.message
    assert where(f) == [("racoon.conf", 9), ("setkey.conf", 5)]
    g = the("modecfg-require-reacquire-loop/hit_spd_dump", "RDB234")
    assert where(g) == [("racoon.conf", 7), ("spd.txt", 1)] and g.severity is Severity.INFO


def test_rescan_binds_a_tunnel_address() -> None:
    f = the("interface-rescan-bind/hit_07_tun_after_rescan.log", "RDB347")
    assert "10.8.0.6 (tun0 — a tunnel/dummy interface)" in f.message and "(127.0.0.1, 192.0.2.5)" in f.message
    assert where(f) == [("hit_07_tun_after_rescan.log", 7), ("hit_07_tun_after_rescan.log", 11)]
    g = the("interface-rescan-bind/hit_linux_netlink_ppp", "RDB347")
    assert "10.64.64.64" in g.message and "racoon.conf has no `listen` block" in g.message
    assert where(g) == [("racoon.log", 7), ("racoon.log", 9)]


def test_cgnat_source_of_an_unanswered_phase1() -> None:
    f = the("route-stolen-by-other-vpn/hit_ztna_source.log", "RDB313")
    assert "left from 100.90.14.3" in f.message and f.peer == "203.0.113.77"
    assert where(f) == [("hit_ztna_source.log", 5), ("hit_ztna_source.log", 7)]
    g = the("route-stolen-by-other-vpn/hit_apple_old_cgnat.log", "RDB313")
    assert where(g) == [("hit_apple_old_cgnat.log", 3), ("hit_apple_old_cgnat.log", 6)]


def test_ipcomp_install_failure_from_the_log_and_the_sad() -> None:
    f = the("ipcomp-install-failure/hit_update_einval_after_ipcomp.log", "RDB342")
    assert "after racoon negotiated IPComp" in f.message and "Invalid argument" in f.message
    assert where(f) == [("hit_update_einval_after_ipcomp.log", 8), ("hit_update_einval_after_ipcomp.log", 9)]
    g = the("ipcomp-install-failure/hit_larval_ipcomp_beside_esp", "RDB342")
    assert "203.0.113.1 → 203.0.113.2" in g.message
    assert where(g) == [("sad.txt", 12), ("racoon.conf", 17)]


def test_an_ipcomp_line_long_before_an_unrelated_pfkey_failure_is_not_blamed(tmp_path: Path) -> None:
    log = tmp_path / "racoon.log"
    log.write_text("2016-07-11 08:00:00: ERROR: IPComp SPI size promoted from 16bit to 32bit\n"
                   "2016-07-11 14:20:03: ERROR: pfkey UPDATE failed: Invalid argument\n")
    assert [f.code for f in run(load_path(log)).findings if f.code in NEW] == []


def load_path(path: Path) -> Evidence:
    return load_evidence([Source(path, path.name)])


def test_benign_noise_in_every_flavour_raises_none_of_them(tmp_path: Path) -> None:
    noise = tmp_path / "noise.log"
    noise.write_text(
        "Mar  1 10:00:00 mbp racoon[412]: IPSec Phase 1 started (Initiated by me).\n"
        "Mar  1 10:00:00 mbp racoon[412]: unsupported PF_KEY message REGISTER\n"
        "Mar  1 10:00:01 mbp racoon[412]: ignore INITIAL-CONTACT notification, because it is only accepted after "
        "phase1.\n"
        "Mar  1 10:00:02 mbp racoon[412]: IPComp SPI size promoted from 16bit to 32bit\n"
        "Mar  1 10:00:03 mbp racoon[412]: libipsec failed pfkey align (Invalid sadb message)\n"
        "Mar  1 10:00:04 mbp racoon[412]: Adjusting peer's encmode UDP-Tunnel(3)->Tunnel(1)\n"
        "Mar  1 10:00:05 mbp racoon[412]: NAT-T: ports changed to: 203.0.113.9[4500]<->10.0.1.5[4500]\n"
        "Mar  1 10:00:06 mbp racoon[412]: pfkey DELETE received: ESP 10.0.1.5[4500]->203.0.113.9[4500] "
        "spi=1(0x1)\n"
        "Mar  1 10:00:07 mbp racoon[412]: caught rtm:12, need update interface address list\n"
    )
    assert [f"{f.code}: {f.message}" for f in run(load_path(noise)).findings if f.code in NEW] == []


def test_the_demo_gains_no_finding_from_them(tmp_path: Path) -> None:
    base = copy_with_modes(demo_dir(), tmp_path / "demo")  # as `racoondbg demo` loads it
    ev = load_evidence([Source(base, "demo")], options=LoadOptions(root=base / "sysroot"))
    assert ev.conf is not None and ev.logs and ev.spd is not None
    assert [f.code for f in run(ev).findings if f.code in NEW] == []
