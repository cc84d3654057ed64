"""Rules that judge the certificate directory and psk.txt by what racoon.conf says."""

from __future__ import annotations

from pathlib import Path

import pytest

from racoondbg.engine import run

from .test_certs import EXPECTED_WITH_CONF, FIXTURES, SCENARIOS, codes, load, one

PSK = FIXTURES / "certs" / "psk"


@pytest.mark.parametrize("scenario", sorted(EXPECTED_WITH_CONF))
def test_scenario_judged_by_racoon_conf(scenario: str, tmp_path: Path) -> None:
    ev = load(SCENARIOS / scenario, tmp_path)
    assert ev.conf is not None and ev.certs is not None
    assert codes(ev) == EXPECTED_WITH_CONF[scenario]


def test_missing_own_certificate_names_the_file(tmp_path: Path) -> None:
    f = one(load(SCENARIOS / "wrong-name", tmp_path), "RDB511")
    assert "nagasaki.crt" in f.message and "/etc/racoon/certs/nagasaki.crt does not exist" in f.message
    assert any(e.path.endswith("racoon.conf") and e.line for e in f.evidence)


def test_identifier_findings(tmp_path: Path) -> None:
    default = one(load(SCENARIOS / "no-identifier", tmp_path / "a"), "RDB540")
    assert "failed to get subjectAltName" in default.message and default.fix == "my_identifier asn1dn;"
    dn = one(load(SCENARIOS / "asn1dn-wrong", tmp_path / "b"), "RDB540")
    assert "ASN1 SubjectName" in dn.message
    fqdn = one(load(SCENARIOS / "fqdn-no-san", tmp_path / "c"), "RDB540")
    assert "subjectAltName = DNS:nagasaki.ihack.net" in fqdn.fix


@pytest.mark.parametrize(
    "fixture,expected",
    [("conf-missing-peer", ["RDB532"]), ("conf-aggressive-fqdn", ["RDB532"]),
     ("conf-all-found", []), ("conf-aggressive-found", [])],
)
def test_psk_not_found_predicted(fixture: str, expected: list[str], tmp_path: Path) -> None:
    ev = load(PSK / fixture, tmp_path)
    assert ev.conf is not None and ev.psk is not None
    assert codes(ev) == expected


def test_psk_not_found_points_at_the_near_miss(tmp_path: Path) -> None:
    f = one(load(PSK / "conf-missing-peer", tmp_path), "RDB532")
    assert f.peer == "198.51.100.7" and "198.51.100.70 is there" in f.message
    assert f.fix == "printf '198.51.100.7\\t<the key the peer has>\\n' >> /etc/racoon/psk.txt"
    aggressive = [x for x in run(load(PSK / "conf-aggressive-fqdn", tmp_path / "b")).findings if x.code == "RDB532"]
    assert "branch.example.net or 2001:db8:4::20" in aggressive[0].message
