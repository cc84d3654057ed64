"""A real Linux box: a network namespace with XFRM policies and a daemon holding UDP 500.

Needs root, `ip` and network namespaces; skips cleanly elsewhere. Only documentation addresses are
used, and the namespace is removed afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.root

NS = f"rdbg-live-{os.getpid()}"
HOLDER = """
import ctypes, socket, sys, time
ctypes.CDLL(None).prctl(15, b"charon", 0, 0, 0)  # PR_SET_NAME: what ss shows as the process
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.0.2.1", 500))
print("ready", flush=True)
time.sleep(120)
"""
POLICIES = [
    "src 203.0.113.0/25 dst 203.0.113.128/25 dir out tmpl src 192.0.2.1 dst 198.51.100.7 proto esp mode tunnel",
    "src 203.0.113.128/25 dst 203.0.113.0/25 dir in tmpl src 198.51.100.7 dst 192.0.2.1 proto esp mode tunnel",
    "src 203.0.113.128/25 dst 203.0.113.0/25 dir fwd tmpl src 198.51.100.7 dst 192.0.2.1 proto esp mode tunnel",
]


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


def _usable() -> str | None:
    if sys.platform != "linux":
        return "not Linux"
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    if shutil.which("ip") is None or shutil.which("ss") is None:
        return "needs iproute2 (ip, ss)"
    return None


@pytest.fixture
def namespace() -> Iterator[str]:
    reason = _usable()
    if reason:
        pytest.skip(reason)
    try:
        _ip("netns", "add", NS)
    except (subprocess.CalledProcessError, OSError) as err:
        pytest.skip(f"cannot create a network namespace: {err}")
    holder = None
    try:
        _ip("-n", NS, "link", "set", "lo", "up")
        _ip("-n", NS, "addr", "add", "192.0.2.1/32", "dev", "lo")
        for policy in POLICIES:
            _ip("-n", NS, "xfrm", "policy", "add", *policy.split())
        holder = subprocess.Popen(["ip", "netns", "exec", NS, sys.executable, "-c", HOLDER],
                                  stdout=subprocess.PIPE, text=True)
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        yield NS
    finally:
        if holder is not None:
            holder.kill()
            holder.wait(timeout=10)
        subprocess.run(["ip", "netns", "del", NS], check=False, capture_output=True, timeout=10)


def test_diagnose_inside_a_namespace_sees_real_policies_and_the_port_holder(namespace: str, tmp_path: Path) -> None:
    keep = tmp_path / "collected"
    racoondbg = Path(sys.executable).with_name("racoondbg")
    proc = subprocess.run(
        ["ip", "netns", "exec", namespace, str(racoondbg), "diagnose", "--format", "json", "--exit-zero",
         "--keep", str(keep), "--capture", "1"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    host = doc["host"]
    assert host["live"] and host["platform"] == "linux"
    assert host["kernel_tool"] == "ip xfrm"  # this kernel has no PF_KEY (lab notes)
    holders = [(s["address"], s["port"], s["process"]) for s in host["sockets"]]
    assert holders == [("192.0.2.1", 500, "charon")]
    if host["pfkey"] is False:  # no racoon.conf here: a warning, not an error
        assert {f["severity"] for f in doc["findings"] if f["slug"] == "pfkey-unavailable"} == {"warning"}
    hits = [f for f in doc["findings"] if f["slug"] == "ike-port-in-use"]
    assert len(hits) == 1 and "charon (pid" in hits[0]["message"]
    assert hits[0]["evidence"][0]["path"] == "ss -uanp"
    policies = (keep / "commands" / "ip-xfrm-policy.out").read_text()
    for policy in POLICIES:
        src, dst, direction = policy.split()[1], policy.split()[3], policy.split()[5]
        assert f"src {src} dst {dst}" in policies
        assert f"dir {direction}" in policies
    assert "ip -s xfrm policy" in {c["line"] if "line" in c else " ".join(c["argv"]) for c in host["commands"]}
    spd = [i for i in doc["inputs"] if i["path"] == "ip -s xfrm policy"]
    from racoondbg.inputs import input_kinds

    if any(k.part == "spd" for k in input_kinds()):
        assert spd and spd[0]["kind"] != "unknown"

    if shutil.which("tcpdump"):
        pcap = (keep / "commands" / "tcpdump.pcap").read_bytes()
        assert pcap[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x0a\x0d\x0d\x0a")
        assert any(c["key"] == "tcpdump" and c["status"] == "ran" for c in host["commands"])


SENDER = """
import socket, time
mm1 = bytes.fromhex("a1b2c3d4e5f60718") + bytes(8) + bytes([0, 0x10, 2, 0]) + bytes(4) + bytes([0, 0, 0, 28])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(300):
    s.sendto(mm1, ("192.0.2.1", 500))
    s.sendto(b"not ike", ("192.0.2.1", 53))
    time.sleep(0.1)
"""
WITHOUT_TCPDUMP = """
import sys
from racoondbg.live import collect
collect.find_tcpdump = lambda: None
from racoondbg.cli import main
main(sys.argv[1:])
"""


def test_capture_without_tcpdump_uses_a_raw_socket(namespace: str, tmp_path: Path) -> None:
    keep = tmp_path / "collected"
    sender = subprocess.Popen(["ip", "netns", "exec", namespace, sys.executable, "-c", SENDER])
    try:
        proc = subprocess.run(
            ["ip", "netns", "exec", namespace, sys.executable, "-c", WITHOUT_TCPDUMP, "diagnose", "--format",
             "json", "--exit-zero", "--keep", str(keep), "--capture", "2"],
            capture_output=True, text=True, timeout=120, check=False,
        )
    finally:
        sender.kill()
        sender.wait(timeout=10)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    runs = {c["key"]: c for c in doc["host"]["commands"]}
    assert runs["tcpdump"]["status"] == "skipped" and runs["raw-capture"]["status"] == "ran"
    [capture] = [i for i in doc["inputs"] if i["path"].startswith("raw-socket-capture")]
    from racoondbg.evidence import load_evidence
    from racoondbg.sources import Source

    [pcap] = load_evidence([Source(keep / "commands" / "raw-capture.pcap", capture["path"])]).captures
    assert pcap.messages and {(m.dst, m.dport, m.icookie) for m in pcap.messages} == {
        ("192.0.2.1", 500, "a1b2c3d4e5f60718")}
    assert pcap.frames == len(pcap.messages)  # the port-53 packets were filtered out
