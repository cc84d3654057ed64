"""`diagnose --root` on each platform's sysroot finds exactly the planted failures (those whose rules can run)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from racoondbg.cli import cli
from racoondbg.live.collect import CollectOptions, collect, load_collection
from tests.live.conftest import PLATFORMS, SYSROOTS


def diagnose_json(*args: str) -> dict:  # type: ignore[type-arg]
    result = CliRunner().invoke(cli, ["diagnose", "--format", "json", "--exit-zero", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def expected(platform: str) -> tuple[dict[str, str], dict[str, str]]:
    """What the sysroot plants (slug -> how) and the informational notes its state also gives."""
    doc = json.loads((SYSROOTS / platform / "expected.json").read_text())
    return doc["planted"], doc["notes"]


def test_every_platform_has_a_sysroot_and_each_plant_says_how() -> None:
    systems = {p.split("-")[0] for p in PLATFORMS}
    assert {"netbsd", "freebsd", "macos", "linux"} <= systems
    assert {"linux-setkey", "linux-xfrm"} <= set(PLATFORMS)
    for platform in PLATFORMS:
        planted, notes = expected(platform)
        assert all(how.strip() for how in [*planted.values(), *notes.values()]), platform
        assert not set(planted) & set(notes), platform


@pytest.mark.parametrize("platform", PLATFORMS)
def test_diagnose_finds_exactly_the_planted_failures(platform: str, sysroot: Callable[[str], Path]) -> None:
    doc = diagnose_json("--root", str(sysroot(platform)))
    planted, notes = expected(platform)
    assert set(planted) <= set(doc["coverage"]["ran"]), "a planted failure's rule could not run"
    found: dict[str, set[str]] = {}
    for f in doc["findings"]:
        found.setdefault(f["slug"], set()).add(f["severity"])
    assert set(found) == set(planted) | set(notes), [f["message"] for f in doc["findings"]]
    assert all("info" not in found[slug] for slug in planted), found  # a planted failure is a failure
    assert all(found[slug] == {"info"} for slug in notes), found  # a note is only a note
    assert not [e for e in doc["errors"] if e["fatal"]]
    assert doc["host"]["platform"] == platform.split("-")[0]


def test_platform_facts_of_each_sysroot(tmp_path: Path) -> None:
    facts, systems = {}, {}
    for platform in PLATFORMS:
        collect(tmp_path / platform, CollectOptions(root=SYSROOTS / platform))
        host = load_collection(tmp_path / platform).host
        facts[platform] = (host.platform, host.racoon_version, host.kernel_tool, host.pfkey,
                           [p.pid for p in host.racoon], host.conf_path)
        systems[platform] = host.os_release
    assert facts == {
        "freebsd": ("freebsd", "0.8.2", "setkey", True, [611], "/usr/local/etc/racoon/racoon.conf"),
        "linux-peer-b": ("linux", "0.8.2", "setkey", True, [1877], "/etc/racoon/racoon.conf"),
        "linux-setkey": ("linux", "0.8.2", "setkey", True, [2412], "/etc/racoon/racoon.conf"),
        "linux-xfrm": ("linux", "0.8.2", "ip xfrm", False, [], "/etc/racoon/racoon.conf"),
        "macos": ("macos", "0.7.3", "setkey", True, [412], "/private/etc/racoon/racoon.conf"),
        "netbsd": ("netbsd", "0.8.2", "setkey", True, [], "/etc/racoon/racoon.conf"),
    }
    assert systems == {
        "freebsd": "FreeBSD 13.2-RELEASE", "linux-setkey": "Debian GNU/Linux 12 (bookworm)",
        "linux-peer-b": "Debian GNU/Linux 12 (bookworm)",
        "linux-xfrm": "Debian GNU/Linux 12 (bookworm)", "macos": "macOS 10.6.8",
        "netbsd": "NetBSD 9.3 (GENERIC) #0: Thu Aug  4 15:30:37 UTC 2022",
    }


def test_manifest_records_what_was_read_and_how(tmp_path: Path, sysroot: Callable[[str], Path]) -> None:
    collect(tmp_path / "c", CollectOptions(root=sysroot("linux-xfrm")))
    manifest = json.loads((tmp_path / "c" / "racoondbg-manifest.json").read_text())
    parts = {f["from"]: f["part"] for f in manifest["files"]}
    assert parts == {
        "/etc/racoon/racoon.conf": "conf", "/etc/racoon/psk.txt": "psk", "/etc/racoon/certs": "certs",
        "ip -s xfrm state": "sad", "ip -s xfrm policy": "spd", "/var/log/syslog": "log",
    }
    commands = {c["key"]: (c["status"], c["exit_code"]) for c in manifest["commands"]}
    assert commands["ip-xfrm-state"] == ("recorded", 0)
    assert "setkey-D" not in commands  # no PF_KEY: setkey is not even tried
    assert commands["journalctl"] == ("recorded", 0)  # "-- No entries --": not kept as a log
    assert "ip xfrm" in manifest["host"]["kernel_tool_why"] and "pfkey" in manifest["host"]["kernel_tool_why"]
    assert (manifest["host"]["admin_socket"], manifest["host"]["admin_socket_why"]) == (None, "none found")
    log = (tmp_path / "c" / "root/var/log/syslog").read_text()
    assert "racoon[3310]" in log and "systemd[1]" not in log  # racoon's lines of a shared syslog file
    links = tmp_path / "c" / "root/etc/racoon/certs/e3f62b7b.0"
    assert links.is_symlink() and str(links.readlink()) == "cacert.pem"
    assert oct((tmp_path / "c" / "root/etc/racoon/psk.txt").stat().st_mode & 0o777) == "0o600"


def test_syslog_conf_names_racoons_log_file(tmp_path: Path) -> None:
    collect(tmp_path / "c", CollectOptions(root=SYSROOTS / "netbsd"))
    manifest = json.loads((tmp_path / "c" / "racoondbg-manifest.json").read_text())
    logs = [f for f in manifest["files"] if f["part"] == "log"]
    assert [f["from"] for f in logs] == ["/var/log/racoon.log"]
    assert "of the log" in logs[0]["what"]


def test_admin_socket_found(tmp_path: Path) -> None:
    collect(tmp_path / "c", CollectOptions(root=SYSROOTS / "linux-setkey"))
    host = load_collection(tmp_path / "c").host
    assert (host.admin_socket, host.admin_socket_why) == ("/var/racoon/racoon.sock", "present")


def test_racoon_version_from_the_logs_start_up_lines(sysroot: Callable[[str], Path]) -> None:
    root = sysroot("netbsd")
    (root / ".racoondbg/commands/racoon-V.out").unlink()  # racoon -V not available (a disk image)
    result = CliRunner().invoke(cli, ["diagnose", "--root", str(root), "--color", "never", "--exit-zero"])
    assert "racoon 0.8.2 (from its log's start-up lines), not running" in result.stdout


def test_nothing_is_written_to_the_sysroot(tmp_path: Path, sysroot: Callable[[str], Path]) -> None:
    root = sysroot("linux-setkey")

    def state() -> dict[str, tuple[int, int, int]]:
        return {str(p.relative_to(root)): (p.lstat().st_mtime_ns, p.lstat().st_size, p.lstat().st_mode)
                for p in [root, *root.rglob("*")]}

    before = state()
    diagnose_json("--root", str(root), "--keep", str(tmp_path / "kept"))
    CliRunner().invoke(cli, ["collect", "--root", str(root), "-o", str(tmp_path / "b.tar.gz")])
    assert state() == before


def test_racoons_own_arguments_win_over_the_usual_places(tmp_path: Path, sysroot: Callable[[str], Path]) -> None:
    """racoon -f names the config and -l the log: they are read even where the usual places hold decoys."""
    root = sysroot("linux-setkey")
    (root / "opt/vpn").mkdir(parents=True)
    conf = (root / "etc/racoon/racoon.conf").read_text()
    (root / "opt/vpn/racoon.conf").write_text(conf)
    (root / "etc/racoon/racoon.conf").write_text("# an old copy nobody uses\n")
    (root / "var/log/vpn.log").parent.mkdir(parents=True, exist_ok=True)
    (root / "var/log/vpn.log").write_text(
        "2026-11-28 17:00:05: INFO: initiate new phase 1 negotiation: 192.0.2.1[500]<=>198.51.100.7[500]\n")
    (root / ".racoondbg/commands/ps.out").write_text(
        "    1 /sbin/init\n 2412 /usr/sbin/racoon -f /opt/vpn/racoon.conf -l /var/log/vpn.log\n")
    collect(tmp_path / "c", CollectOptions(root=root))
    manifest = json.loads((tmp_path / "c" / "racoondbg-manifest.json").read_text())
    host = manifest["host"]
    assert host["conf_path"] == "/opt/vpn/racoon.conf"
    assert host["conf_why"] == "named by racoon's -f argument (/usr/sbin/racoon -f /opt/vpn/racoon.conf -l " \
                               "/var/log/vpn.log)"
    assert [f["from"] for f in manifest["files"] if f["part"] == "log"] == ["/var/log/vpn.log"]
    assert "/etc/racoon/racoon.conf" not in {f["from"] for f in manifest["files"]}


def test_a_recorded_journal_is_cut_to_the_since_window(tmp_path: Path, sysroot: Callable[[str], Path]) -> None:
    root = sysroot("linux-setkey")
    journal = root / ".racoondbg/commands/journalctl.out"
    old = "Nov 28 14:02:11 gw-a racoon[1990]: INFO: @(#)ipsec-tools 0.8.2 (http://ipsec-tools.sourceforge.net)\n"
    journal.write_text("-- Logs begin at Sat 2026-11-21 08:00:01 UTC. --\n" + old + journal.read_text())
    collect(tmp_path / "hour", CollectOptions(root=root))
    kept = (tmp_path / "hour/commands/journalctl.out").read_text()
    assert "14:02:11" not in kept and "Logs begin" not in kept and kept.startswith("Nov 28 16:58:01 gw-a racoon")
    manifest = json.loads((tmp_path / "hour/racoondbg-manifest.json").read_text())
    [entry] = [f for f in manifest["files"] if f["part"] == "log"]
    assert entry["what"] == "journalctl -u racoon, the last 1 hour of the log"
    collect(tmp_path / "day", CollectOptions(root=root, window=timedelta(days=1)))
    assert old in (tmp_path / "day/commands/journalctl.out").read_text()


def test_linux_routes_addresses_and_per_interface_rp_filter(tmp_path: Path) -> None:
    collect(tmp_path / "c", CollectOptions(root=SYSROOTS / "linux-setkey"))
    host = load_collection(tmp_path / "c").host
    assert [(a.interface, a.prefix, a.text) for a in host.addresses][1] == (
        "eth0", "192.0.2.1/24", "2: eth0    inet 192.0.2.1/24 brd 192.0.2.255 scope global eth0")
    assert host.routes_read and (host.routes[0].prefix, host.routes[0].devices) == ("0.0.0.0/0", ("eth0",))
    assert host.sysctl("net.ipv4.conf.eth0.rp_filter") == "1"
    [run] = [c for c in host.commands if c.key == "sysctl"]
    assert run.argv[-3:] == ("net.ipv4.conf.lo.rp_filter", "net.ipv4.conf.eth0.rp_filter",
                             "net.ipv4.conf.eth1.rp_filter")
    collect(tmp_path / "n", CollectOptions(root=SYSROOTS / "netbsd"))
    bsd = load_collection(tmp_path / "n").host
    assert not bsd.routes_read and not bsd.addresses and "ip-route" not in {c.key for c in bsd.commands}
    assert bsd.sysctl("net.key.prefered_oldsa") == "0"
