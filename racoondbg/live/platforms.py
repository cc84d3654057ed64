"""What differs between the systems racoon runs on: how to recognise them, where things live,
which commands show sockets, sysctls and logs."""

from __future__ import annotations

import platform as _platform
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Platform:
    name: str
    conf_candidates: tuple[str, ...]
    script_candidates: tuple[str, ...]
    pidfiles: tuple[str, ...]
    syslog_files: tuple[str, ...]
    ps: tuple[str, ...]
    sockets: tuple[str, tuple[str, ...]]
    sysctl: tuple[str, ...]
    #: Interface addresses and routes (Linux: for rp_filter), and the per-interface sysctl to add.
    addresses: tuple[str, ...] = ()
    routes: tuple[str, ...] = ()
    interface_sysctl: str = ""


#: ``net.key`` is a subtree: its ``preferred_oldsa`` (FreeBSD) or ``prefered_oldsa`` (NetBSD, macOS).
_BSD_SYSCTL = ("sysctl", "net.inet.ipsec", "net.inet6.ipsec", "net.inet.ip.forwarding", "net.inet6.ip6.forwarding",
               "net.key")
_BSD_PS = ("ps", "-axww", "-o", "pid=,command=")

PLATFORMS = {
    "linux": Platform(
        "linux",
        ("/etc/racoon/racoon.conf", "/etc/ipsec-tools.d/racoon.conf", "/usr/local/etc/racoon/racoon.conf"),
        ("/etc/ipsec-tools.conf", "/etc/racoon/setkey.conf", "/etc/ipsec-tools.d/setkey.conf"),
        ("/var/run/racoon.pid", "/run/racoon.pid", "/var/run/racoon/racoon.pid"),
        ("/var/log/racoon.log", "/var/log/daemon.log", "/var/log/syslog", "/var/log/messages"),
        ("ps", "-eww", "-o", "pid=,args="),
        ("ss", ("ss", "-uanp")),
        ("sysctl", "net.ipv4.ip_forward", "net.ipv4.conf.all.rp_filter", "net.ipv4.conf.default.rp_filter",
         "net.ipv6.conf.all.forwarding"),
        ("ip", "-4", "-o", "addr", "show"), ("ip", "-4", "route", "show", "table", "main"),
        "net.ipv4.conf.{}.rp_filter",
    ),
    "android": Platform(
        "android", ("/data/misc/vpn/racoon.conf", "/etc/racoon/racoon.conf"), (), (), (),
        ("ps", "-A", "-o", "pid=,args="), ("netstat", ("netstat", "-anup")),
        ("sysctl", "net.ipv4.ip_forward"),
    ),
    "freebsd": Platform(
        "freebsd",
        ("/usr/local/etc/racoon/racoon.conf", "/etc/racoon/racoon.conf"),
        ("/etc/ipsec.conf", "/usr/local/etc/racoon/setkey.conf", "/usr/local/etc/ipsec.conf"),
        ("/var/run/racoon.pid",),
        ("/var/log/racoon.log", "/var/log/messages", "/var/log/daemon.log"),
        _BSD_PS, ("sockstat", ("sockstat", "-46")), _BSD_SYSCTL,
    ),
    "netbsd": Platform(
        "netbsd",
        ("/etc/racoon/racoon.conf", "/usr/pkg/etc/racoon/racoon.conf"),
        ("/etc/ipsec.conf", "/etc/racoon/setkey.conf"),
        ("/var/run/racoon.pid",),
        ("/var/log/racoon.log", "/var/log/messages", "/var/log/daemon.log"),
        _BSD_PS, ("sockstat", ("sockstat", "-46")), _BSD_SYSCTL,
    ),
    "macos": Platform(
        "macos",
        ("/private/etc/racoon/racoon.conf", "/etc/racoon/racoon.conf"),
        ("/private/etc/racoon/setkey.conf",),
        ("/var/run/racoon.pid",),
        ("/var/log/racoon.log", "/var/log/system.log", "/private/var/log/system.log"),
        _BSD_PS, ("lsof", ("lsof", "-nP", "-iUDP:500", "-iUDP:4500")), _BSD_SYSCTL,
    ),
}

_UNAME = {"Linux": "linux", "FreeBSD": "freebsd", "NetBSD": "netbsd", "Darwin": "macos"}


def from_uname(text: str) -> str | None:
    words = text.split()
    return _UNAME.get(words[0]) if words else None


def detect_files(root: Path) -> str:
    """The platform of a sysroot, from files only one of them has."""
    if (root / "system/build.prop").is_file():
        return "android"
    if (root / "System/Library/CoreServices/SystemVersion.plist").is_file():
        return "macos"
    if (root / "bin/freebsd-version").is_file():
        return "freebsd"
    release = root / "etc/release"
    if (root / "netbsd").exists() or (release.is_file() and "NetBSD" in release.read_text(errors="replace")):
        return "netbsd"
    return "linux" if (root / "etc/os-release").is_file() or (root / "proc").is_dir() else "unknown"


def detect_live() -> str:
    name = _UNAME.get(_platform.system(), "unknown")
    if name == "linux" and Path("/system/build.prop").is_file():
        return "android"
    return name


def os_release(root: Path, name: str) -> str | None:
    """A one-line description of the system version, from its files."""
    try:
        if name == "linux":
            text = (root / "etc/os-release").read_text(errors="replace")
            m = re.search(r'^PRETTY_NAME="?([^"\n]*)"?', text, re.M)
            return m.group(1) if m else None
        if name == "macos":
            text = (root / "System/Library/CoreServices/SystemVersion.plist").read_text(errors="replace")
            m = re.search(r"<key>ProductVersion</key>\s*<string>([^<]*)</string>", text)
            return f"macOS {m.group(1)}" if m else "macOS"
        if name == "netbsd":
            return (root / "etc/release").read_text(errors="replace").splitlines()[0].strip() or None
        if name == "freebsd":
            text = (root / "bin/freebsd-version").read_text(errors="replace")
            m = re.search(r'^USERLAND_VERSION="?([^"\n]*)"?', text, re.M)
            return f"FreeBSD {m.group(1)}" if m else "FreeBSD"
        if name == "android":
            text = (root / "system/build.prop").read_text(errors="replace")
            m = re.search(r"^ro\.build\.version\.release=(.*)$", text, re.M)
            return f"Android {m.group(1).strip()}" if m else "Android"
    except (OSError, IndexError):
        return None
    return None
