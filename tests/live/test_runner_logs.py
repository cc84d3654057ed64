from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path

from racoondbg.live.logs import copy_recent, line_time, syslog_targets
from racoondbg.live.runner import Runner


def test_live_commands_are_recorded_with_exit_code_and_duration(tmp_path: Path) -> None:
    runner = Runner(Path("/"), tmp_path, timeout=0.5)
    ok = runner.run("echo", ["echo", "hello"])
    failed = runner.run("false", ["false"])
    slow = runner.run("sleep", ["sleep", "5"])
    missing = runner.run("nope", ["racoondbg-no-such-program"])
    assert ok.ok and ok.text() == "hello\n" and ok.run.duration is not None
    assert (failed.run.status, failed.run.exit_code) == ("ran", 1)
    assert slow.run.status == "timeout" and slow.run.duration is not None and slow.run.duration < 3
    assert missing.run.status == "not-found" and missing.path is None
    assert [r.key for r in runner.runs] == ["echo", "false", "sleep", "nope"]


def test_sysroot_commands_come_from_recorded_files(tmp_path: Path) -> None:
    root = tmp_path / "root"
    recorded = root / ".racoondbg" / "commands"
    recorded.mkdir(parents=True)
    (recorded / "setkey-D.out").write_text("")
    (recorded / "setkey-D.rc").write_text("1\n")
    (recorded / "setkey-D.err").write_text("\npfkey_open: Protocol not supported\n")
    runner = Runner(root, tmp_path / "out")
    out = runner.run("setkey-D", ["setkey", "-D"])
    assert (out.run.status, out.run.exit_code, out.run.why) == ("recorded", 1, "pfkey_open: Protocol not supported")
    assert runner.run("ss", ["ss", "-uanp"]).run.status == "not-found"


LOG = """Nov 28 15:00:00 gw racoon: INFO: old line
Nov 28 15:00:01 gw sshd[1]: not racoon
Nov 28 16:30:00 gw racoon: DEBUG:~
0a0b0c0d 0e0f1011
Nov 28 16:31:00 gw kernel: not racoon either
continuation of the kernel line
Nov 28 16:59:59 gw racoon[7]: INFO: last line
""".replace("~", " ")


def test_recent_part_relative_to_the_logs_end_and_racoon_only(tmp_path: Path) -> None:
    src = tmp_path / "messages"
    src.write_text(LOG)
    out = io.StringIO()
    written = copy_recent(src, out, since=None, window=timedelta(hours=1), year=2026, racoon_only=True)
    assert out.getvalue().splitlines() == [
        "Nov 28 16:30:00 gw racoon: DEBUG: ", "0a0b0c0d 0e0f1011", "Nov 28 16:59:59 gw racoon[7]: INFO: last line"]
    assert written == 3
    out = io.StringIO()
    copy_recent(src, out, since=datetime(2026, 11, 28, 16, 31), window=None, year=2026, racoon_only=False)
    assert out.getvalue().splitlines()[0] == "Nov 28 16:31:00 gw kernel: not racoon either"
    assert len(out.getvalue().splitlines()) == 3


def test_line_times_of_each_layout() -> None:
    assert line_time("2014-03-01 10:00:05: INFO: x", 2026) == datetime(2014, 3, 1, 10, 0, 5)
    assert line_time("Mar  1 10:00:05 gw racoon: x", 2026) == datetime(2026, 3, 1, 10, 0, 5)
    assert line_time("2026-11-28T17:00:00.123+00:00 gw racoon[1]: x", 2026) == datetime(2026, 11, 28, 17)
    assert line_time("03-01 10:00:06.123  1234  1250 I racoon  : x", 2026) == datetime(2026, 3, 1, 10, 0, 6)
    assert line_time("0a0b0c0d 0e0f1011", 2026) is None


def test_syslog_conf_program_blocks() -> None:
    conf = "*.notice\t/var/log/messages\n!racoon\n*.*\t/var/log/racoon.log\n!*\nauth.*\t/var/log/authlog\n"
    assert syslog_targets(conf) == ["/var/log/racoon.log"]
