"""Log rules beyond the fixture meta-test: healthy sessions stay quiet, the seed's demo is explained."""

from __future__ import annotations

from pathlib import Path

import pytest

from racoondbg.engine import run
from racoondbg.evidence import load_evidence
from racoondbg.inputs import LoadOptions
from racoondbg.model.finding import Finding, Severity
from racoondbg.sources import Source

FIXTURES = Path(__file__).parent.parent / "fixtures"
DEMO = Path(__file__).parent.parent.parent / "racoondbg" / "demo" / "racoon.log"


def findings(*paths: Path) -> list[Finding]:
    ev = load_evidence([Source(p, p.name) for p in paths], options=LoadOptions(year=2020))
    assert ev.logs, [e.one_line() for e in ev.errors]
    return run(ev).findings


@pytest.mark.parametrize("name", ["healthy-0.8-file.log", "ddd-hexdump-glued.log", "android-brief.log",
                                  "android-threadtime.log", "macos-asl-system.log", "apple-old-syslog.log"])
def test_healthy_sessions_raise_no_error(name: str) -> None:
    assert [f.slug for f in findings(FIXTURES / "logs" / name) if f.severity is Severity.ERROR] == []


def test_benign_noise_raises_nothing(tmp_path: Path) -> None:
    noise = tmp_path / "noise.log"
    noise.write_text(
        "2014-03-01 10:00:00: INFO: unsupported PF_KEY message REGISTER\n"
        "2014-03-01 10:00:01: ERROR: such policy does not already exist: 10.1.0.0/16[0] 10.2.0.0/16[0] "
        "proto=any dir=in\n"
        "2014-03-01 10:00:02: WARNING: ignore INITIAL-CONTACT notification, because it is only accepted after "
        "phase1.\n"
        "2014-03-01 10:00:03: WARNING: unable to get certificate CRL(3) at depth:0 SubjectName:/CN=peer\n"
        "2014-03-01 10:00:04: WARNING: authtype mismatched: my:hmac-sha peer:hmac-md5\n"
        "2014-03-01 10:00:05: INFO: IPComp SPI size promoted from 16bit to 32bit\n"
        "2014-03-01 10:00:06: ERROR: libipsec failed pfkey align (Invalid sadb message)\n"
        "2014-03-01 10:00:07: ERROR: invalid attribute type 32001.\n"
        "2014-03-01 10:00:08: INFO: Adjusting peer's encmode UDP-Tunnel(3)->Tunnel(1)\n"
        "2014-03-01 10:00:09: NOTIFY: use own lifetime: my:3600 peer:28800\n"
        "2014-03-01 10:00:10: ERROR: pfkey DELETE received: ESP 192.0.2.1[0]->198.51.100.7[0] spi=1(0x1)\n"
    )
    assert [f"{f.slug}: {f.message}" for f in findings(noise)] == []


def test_demo_explains_the_restart_loop_with_log_lines() -> None:
    found = {f.slug: f for f in findings(DEMO)}
    loop = found["negotiation-restart-loop"]
    assert loop.severity is Severity.ERROR and loop.peer == "10.3.0.1"
    assert "started 4 times" in loop.message and "3 attempts were cut off" in loop.message
    assert "interface" in loop.message and "10 s" in loop.message
    assert [e.line for e in loop.evidence][:3] == [4, 11, 18]
    assert all(e.path == "racoon.log" for e in loop.evidence)
    slow = found["slow-negotiation"]
    assert "9 s" in slow.message and "Aggressive mode message 1" in slow.message
    assert [e.line for e in slow.evidence] == [27, 28]


def test_silent_peer_says_which_peer_evidence_settles_it() -> None:
    hit = findings(FIXTURES / "rules" / "ph1-retransmit-timeout" / "hit_silent_peer.log")
    message = next(f.message for f in hit if f.slug == "ph1-retransmit-timeout")
    assert "never got an answer" in message and "198.51.100.7" in message
    assert "capture on the peer" in message and "peer's racoon log" in message


def test_mine_versus_theirs_in_phase1_mismatch() -> None:
    hit = findings(FIXTURES / "rules" / "proposal-mismatch-ph1" / "hit_07_rejected_lines.log")
    message = next(f.message for f in hit if f.slug == "proposal-mismatch-ph1")
    assert "DH group: ours 1024-bit MODP group, theirs 768-bit MODP group" in message
    assert "encryption: ours AES-CBC, theirs 3DES-CBC" in message


def test_peer_side_notify_points_at_the_peer() -> None:
    hit = findings(FIXTURES / "rules" / "proposal-mismatch-ph1" / "hit_08_notify_from_peer.log")
    message = next(f.message for f in hit if f.slug == "proposal-mismatch-ph1")
    assert "does not say" in message and "its log" in message
