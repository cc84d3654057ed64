"""Cross-source reasoning: the per-peer status table and two peers' bundles analysed together."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from racoondbg.cli import cli
from racoondbg.live import rawcapture
from racoondbg.live.collect import CollectOptions, collect, load_collection
from racoondbg.live.status import PeerRow, peer_rows
from tests.live.test_rawcapture import MM1, ipv4


def test_status_table_joins_log_sad_and_host(tmp_path: Path, sysroot: Callable[[str], Path]) -> None:
    root = sysroot("linux-setkey")
    collect(tmp_path / "c", CollectOptions(root=root))
    ev = load_collection(tmp_path / "c")
    assert peer_rows(ev) == [PeerRow("198.51.100.7", "up", "up", None, 2, None)]
    result = CliRunner().invoke(cli, ["diagnose", "--root", str(root), "--color", "never"])
    table = [line for line in result.stdout.splitlines() if line.startswith(("peer ", "198.51.100.7 "))]
    # no capture was taken: no "IKE packets" column of dashes
    assert table[0].split() == ["peer", "phase", "1", "phase", "2", "last", "error", "SAs", "in", "kernel"]
    assert table[1].split() == ["198.51.100.7", "up", "up", "—", "2"]


def test_status_table_adds_peers_only_the_capture_shows(tmp_path: Path, sysroot: Callable[[str], Path]) -> None:
    """A peer knocking on UDP 500 that racoon's log never mentions still gets its row."""
    root = sysroot("linux-setkey")
    packet = ipv4(17, 500, 500, payload=MM1, src="203.0.113.77", dst="192.0.2.1")
    (root / ".racoondbg/commands/tcpdump.pcap").write_bytes(
        rawcapture.pcap_header() + rawcapture.pcap_record(1764349200.0, packet, 0, 1, b"\2\0\0\0\0\1", 0x0800))
    collect(tmp_path / "c", CollectOptions(root=root))
    assert peer_rows(load_collection(tmp_path / "c")) == [
        PeerRow("198.51.100.7", "up", "up", None, 2, 0, 1, 0), PeerRow("203.0.113.77", None, None, None, 0, 1, 0, 0)]


def test_both_peers_bundles_reveal_different_keys(tmp_path: Path, sysroot: Callable[[str], Path]) -> None:
    a_root, b_root = sysroot("linux-setkey"), sysroot("linux-peer-b")
    (b_root / "etc/racoon/psk.txt").write_text("192.0.2.1\tlinux-setkey-Tr0ub4dor&4\n")
    a, b = tmp_path / "gw-a.tar.gz", tmp_path / "gw-b.tar.gz"
    for root, out in ((a_root, a), (b_root, b)):
        assert CliRunner().invoke(cli, ["collect", "--root", str(root), "-o", str(out)]).exit_code == 0
    result = CliRunner().invoke(cli, ["analyze", str(a), str(b), "--format", "json"])
    doc = json.loads(result.stdout)
    [hit] = [f for f in doc["findings"] if f["code"] == "RDB631"]
    assert hit["message"].startswith("gw-a keeps key secret:") and "gw-b keeps key secret:" in hit["message"]
    assert [e["path"] for e in hit["evidence"]] == [f"{a}!/etc/racoon/psk.txt", f"{b}!/etc/racoon/psk.txt"]
    assert "Tr0ub4dor" not in result.stdout
    same = CliRunner().invoke(cli, ["analyze", str(a), str(a), "--format", "json"])
    assert not [f for f in json.loads(same.stdout)["findings"] if f["code"] == "RDB631"]


RULE_FIXTURES = Path(__file__).parent.parent / "fixtures" / "rules"


@pytest.mark.parametrize("fixture,fires", [
    ("hit_kernel_sa_racoon_never_logged", True), ("hit_macos_manual_ah", True),
    ("ok_sa_older_than_the_log", False), ("ok_log_without_info_lines", False), ("ok_manual_only", False),
])
def test_kernel_sas_racoon_never_logged(fixture: str, fires: bool) -> None:
    """RDB622 (the SAD against the log) shares its slug with RDB213 (scripts): check it by its code."""
    result = CliRunner().invoke(cli, ["analyze", str(RULE_FIXTURES / "manual-keying-conflict" / fixture),
                                      "--format", "json"])
    hits = [f for f in json.loads(result.stdout)["findings"] if f["code"] == "RDB622"]
    assert bool(hits) is fires
    if fires:
        [hit] = hits
        assert hit["evidence"][0]["path"].endswith("!setkey -D") and hit["evidence"][0]["note"] == "not in racoon's log"
        assert "never installed it" in hit["message"]

