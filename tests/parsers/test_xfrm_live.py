"""The xfrm parser on real `ip xfrm policy` output from a network namespace we create (root only)."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from racoondbg.parsers import xfrm

from racoondbg.inputs import LoadOptions
from racoondbg.sources import Source

pytestmark = pytest.mark.root


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20, check=False)


@pytest.fixture
def netns() -> Iterator[str]:
    if shutil.which("ip") is None:
        pytest.skip("iproute2 `ip` is not installed")
    if os.geteuid() != 0:
        pytest.skip("needs root to create a network namespace")
    name = f"rdbtest-{uuid.uuid4().hex[:8]}"
    made = _ip("netns", "add", name)
    if made.returncode != 0:
        pytest.skip(f"cannot create a network namespace: {made.stderr.strip()}")
    try:
        yield name
    finally:
        _ip("netns", "del", name)


POLICIES = [
    ["src", "10.1.0.0/16", "dst", "10.2.0.0/16", "dir", "out", "tmpl", "src", "192.0.2.1", "dst", "198.51.100.7",
     "proto", "esp", "mode", "tunnel", "reqid", "7", "level", "required"],
    ["src", "10.2.0.0/16", "dst", "10.1.0.0/16", "dir", "in", "tmpl", "src", "198.51.100.7", "dst", "192.0.2.1",
     "proto", "esp", "mode", "tunnel", "reqid", "8"],
    ["src", "2001:db8::1", "dst", "2001:db8::2", "proto", "tcp", "dport", "22", "dir", "out", "priority", "5",
     "tmpl", "proto", "esp", "mode", "transport", "level", "use"],
    ["src", "203.0.113.0/24", "dst", "0.0.0.0/0", "proto", "udp", "sport", "500", "dir", "out", "action", "allow"],
    ["src", "0.0.0.0/0", "dst", "198.51.100.0/24", "dir", "fwd", "action", "block"],
]


@pytest.mark.parametrize("stats", [False, True], ids=["plain", "with -s"])
def test_real_ip_xfrm_policy_output(netns: str, tmp_path: Path, stats: bool) -> None:
    for args in POLICIES:
        added = _ip("-n", netns, "xfrm", "policy", "add", *args)
        assert added.returncode == 0, added.stderr
    shown = _ip("-n", netns, *(["-s"] if stats else []), "xfrm", "policy")
    assert shown.returncode == 0, shown.stderr
    path = tmp_path / "policy.txt"
    path.write_text(shown.stdout)
    dump = xfrm.load_policy(Source(path, "policy.txt"), LoadOptions())
    assert not dump.errors and dump.flavour == "linux-xfrm"
    got = {(p.direction, p.src, p.dst): p for p in dump.policies}
    assert len(got) == len(POLICIES)
    out = got[("out", "10.1.0.0/16", "10.2.0.0/16")]
    assert (out.action, out.proto, [r.text() for r in out.requests]) == (
        "ipsec", "any", ["esp/tunnel/192.0.2.1-198.51.100.7/require:7"])
    assert got[("in", "10.2.0.0/16", "10.1.0.0/16")].requests[0].reqid == 8
    ssh = got[("out", "2001:db8::1/128", "2001:db8::2/128")]
    assert (ssh.proto, ssh.dst_port, ssh.priority, ssh.requests[0].mode, ssh.requests[0].level) == (
        "tcp", 22, 5, "transport", "use")
    ike = got[("out", "203.0.113.0/24", "0.0.0.0/0")]
    assert (ike.action, ike.proto, ike.src_port) == ("none", "udp", 500)
    assert got[("fwd", "0.0.0.0/0", "198.51.100.0/24")].action == "discard"
    if stats:  # only `ip -s` prints the index and the times
        assert all(p.spid is not None and p.created is not None for p in dump.policies)
