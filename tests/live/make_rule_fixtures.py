"""Regenerate the collections under tests/fixtures/rules/<slug>/ for the host_* rules.

Each fixture is `racoondbg collect --root SYSROOT -o DIR` run on one of the sysroots in
tests/fixtures/sysroots/, changed by a few files first (a recorded command output, a pid file).
Run: `.venv/bin/python tests/live/make_rule_fixtures.py` (rewrites the fixtures it knows).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent / "fixtures"
SYSROOTS = HERE / "sysroots"
RULES = HERE / "rules"
sys.path.insert(0, str(HERE.parent.parent))

from racoondbg.live.collect import CollectOptions, collect  # noqa: E402

CMD = ".racoondbg/commands/"

#: fixture path -> (base sysroot, {relative path: new content, or None to delete})
FIXTURES: dict[str, tuple[str, dict[str, str | None]]] = {
    "ike-port-in-use/hit_freebsd_charon": ("freebsd", {}),
    "ike-port-in-use/hit_linux_pluto_netstat": ("linux-setkey", {
        CMD + "ss.out": None,
        CMD + "ps.out": "    1 /sbin/init\n  877 /usr/libexec/ipsec/pluto --leak-detective --config /etc/ipsec.conf\n",
        CMD + "netstat.out": (
            "Active Internet connections (servers and established)\n"
            "Proto Recv-Q Send-Q Local Address           Foreign Address         State       PID/Program name\n"
            "udp        0      0 192.0.2.1:4500          0.0.0.0:*                           877/pluto\n"
            "udp        0      0 192.0.2.1:500           0.0.0.0:*                           877/pluto\n"
            "udp6       0      0 2001:db8::1:500         :::*                                877/pluto\n"),
    }),
    "ike-port-in-use/hit_two_racoons": ("linux-setkey", {
        CMD + "ps.out": "    1 /sbin/init\n 2412 /usr/sbin/racoon -f /etc/racoon/racoon.conf\n"
                        " 2977 racoon -F -d -f /etc/racoon/racoon.conf\n",
    }),
    "ike-port-in-use/ok_macos_racoon_holds_its_ports": ("macos", {}),
    "ike-port-in-use/ok_netstat_without_owner_racoon_running": ("netbsd", {
        CMD + "ps.out": "    1 init\n  412 /usr/sbin/racoon\n",
        CMD + "sockstat.out": None,
        CMD + "netstat.out": "Active Internet connections (including servers)\n"
                             "Proto Recv-Q Send-Q  Local Address          Foreign Address        State\n"
                             "udp        0      0  192.0.2.33.4500        *.*\n"
                             "udp        0      0  192.0.2.33.500         *.*\n",
    }),
    "pfkey-unavailable/hit_linux_no_af_key": ("linux-xfrm", {}),
    "pfkey-unavailable/hit_freebsd_kernel_without_ipsec": ("freebsd", {
        CMD + "setkey-D.out": "", CMD + "setkey-D.rc": "1\n",
        CMD + "setkey-D.err": "pfkey_open: Protocol not supported\n",
        CMD + "setkey-DP.out": "", CMD + "setkey-DP.rc": "1\n",
    }),
    "pfkey-unavailable/ok_linux_with_af_key": ("linux-setkey", {}),
    "pfkey-unavailable/ok_netbsd": ("netbsd", {}),
    "racoon-not-running/hit_netbsd_stale_pidfile": ("netbsd", {}),
    "racoon-not-running/hit_linux_no_pidfile": ("linux-setkey", {
        "var/run/racoon.pid": None,
        CMD + "ps.out": "    1 /sbin/init\n  612 /usr/sbin/sshd -D\n",
        CMD + "ss.out": "State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n",
    }),
    "racoon-not-running/ok_linux_running": ("linux-setkey", {}),
    "racoon-not-running/ok_macos_idle_on_demand": ("macos", {
        CMD + "ps.out": "    1 /sbin/launchd\n   15 /usr/sbin/configd\n",
        CMD + "lsof.out": "",
    }),
}


def build(name: str, base: str, changes: dict[str, str | None]) -> None:
    target = RULES / name
    shutil.rmtree(target, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "sysroot"
        shutil.copytree(SYSROOTS / base, root, symlinks=True)
        for rel, content in changes.items():
            path = root / rel
            if content is None:
                path.unlink(missing_ok=True)
            else:
                path.write_text(content)
        collect(target, CollectOptions(root=root, window=__import__("datetime").timedelta(days=36500)))
    manifest = target / "racoondbg-manifest.json"
    data = json.loads(manifest.read_text())
    data["root"] = f"tests/fixtures/sysroots/{base} (changed: {', '.join(sorted(changes)) or 'nothing'})"
    manifest.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    for fixture, (sysroot, edits) in FIXTURES.items():
        build(fixture, sysroot, edits)
        print(fixture)
