"""RDB634: the peer's replies are on the wire (same cookies) but racoon's log says it never took one.

Its slug, udp-500-4500-blocked, is shared with RDB630 and the pcap rules, so the fixture meta-test
cannot tell which rule fired: these tests check RDB634 by its code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from racoondbg.cli import cli

BLOCKED = Path(__file__).parent.parent / "fixtures" / "rules" / "udp-500-4500-blocked"


def rdb634(name: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(cli, ["analyze", str(BLOCKED / name), "--format", "json"])
    return [f for f in json.loads(result.stdout)["findings"] if f["code"] == "RDB634"]


def test_replies_captured_but_never_taken() -> None:
    [hit] = rdb634("hit_replies_dropped_before_racoon")
    assert hit["peer"] == "203.0.113.80" and hit["severity"] == "error"
    assert "c9e13a57d0f4b268:0000000000000000" in hit["message"]
    assert "the peer's MM2 for the same ISAKMP-SA (frame 2, 203.0.113.80:500 -> 198.51.100.14:500)" in hit["message"]
    assert "rewrites" not in hit["message"]
    log, request, reply = hit["evidence"]
    assert (log["path"].endswith("racoon.log"), log["line"], log["frame"]) == (True, 12, None)
    assert (request["frame"], reply["frame"]) == (1, 2)
    assert reply["excerpt"].startswith(
        "203.0.113.80:500 -> 198.51.100.14:500 MM2 i=c9e13a57d0f4b268 r=5d72e0b1a4c3f869")
    assert "INPUT" in hit["fix"]


def test_reply_to_another_port_than_the_request_left_from() -> None:
    [hit] = rdb634("hit_reply_to_unmapped_port")
    assert hit["peer"] == "192.0.2.200"
    assert "The reply went to 198.51.100.2:500, not to 198.51.100.2:1025" in hit["message"]
    assert [e["line"] or e["frame"] for e in hit["evidence"]] == [10, 1, 2]
    assert "outbound NAT" in hit["fix"] and "nat_traversal on;" in hit["fix"]


def test_refusal_on_the_wire_that_racoon_never_logged() -> None:
    [hit] = rdb634("hit_notify_never_logged")
    assert hit["peer"] == "198.51.100.61"
    assert "the peer's INFO NO-PROPOSAL-CHOSEN for the same ISAKMP-SA (frame 2," in hit["message"]
    assert "the peer's reason (NO-PROPOSAL-CHOSEN) is only on the wire" in hit["message"]
    assert [e["line"] or e["frame"] for e in hit["evidence"]] == [10, 1, 2]
    assert "NO-PROPOSAL-CHOSEN" in hit["evidence"][2]["excerpt"]
