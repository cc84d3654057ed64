from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from racoondbg.live import collect as collect_module
from racoondbg.live.collect import CollectOptions, collect
from racoondbg.live.platforms import detect_files, from_uname, os_release

MARKERS = {
    "android": ("system/build.prop", "ro.build.version.release=4.4.2\n"),
    "macos": ("System/Library/CoreServices/SystemVersion.plist",
              "<key>ProductVersion</key>\n<string>10.9.5</string>\n"),
    "freebsd": ("bin/freebsd-version", 'USERLAND_VERSION="12.4-RELEASE"\n'),
    "netbsd": ("etc/release", "NetBSD 8.2 (GENERIC)\n"),
    "linux": ("etc/os-release", 'PRETTY_NAME="Alpine Linux v3.19"\n'),
}


@pytest.mark.parametrize("name", sorted(MARKERS))
def test_a_sysroot_is_recognised_by_its_files(name: str, tmp_path: Path) -> None:
    rel, text = MARKERS[name]
    (tmp_path / rel).parent.mkdir(parents=True)
    (tmp_path / rel).write_text(text)
    assert detect_files(tmp_path) == name
    assert os_release(tmp_path, name) == {
        "android": "Android 4.4.2", "macos": "macOS 10.9.5", "freebsd": "FreeBSD 12.4-RELEASE",
        "netbsd": "NetBSD 8.2 (GENERIC)", "linux": "Alpine Linux v3.19"}[name]


def test_unknown_sysroot_and_uname() -> None:
    assert detect_files(Path("/nonexistent-racoondbg")) == "unknown"
    assert [from_uname(t) for t in ("Linux gw 6.1", "FreeBSD gw 13.2", "NetBSD gw 9.3", "Darwin mac 10.8", "", "AIX")] \
        == ["linux", "freebsd", "netbsd", "macos", None, None]


@pytest.mark.skipif(sys.platform != "linux", reason="runs this Linux box's own ps/ss/ip/sysctl")
def test_not_root_says_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(collect_module, "is_root_user", lambda: False)
    collect(tmp_path / "c", CollectOptions(capture=1, timeout=10))
    manifest = json.loads((tmp_path / "c" / "racoondbg-manifest.json").read_text())
    notes = " ".join(manifest["host"]["notes"])
    assert manifest["host"]["is_root"] is False
    assert "not root" in notes and "run as root" in notes
    assert "--capture skipped" in notes
    tcpdump = [c for c in manifest["commands"] if c["key"] == "tcpdump"]
    assert tcpdump and tcpdump[0]["status"] == "skipped" and tcpdump[0]["why"] == "capturing needs root"
    assert all(c["status"] != "ran" or c["duration"] is not None for c in manifest["commands"])
