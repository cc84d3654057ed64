"""The log joined with captures by ISAKMP cookies, and what the per-peer status table makes of it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from racoondbg.cli import cli
from racoondbg.correlate import first_reply, never_answered, phase1_matches, split_cookies
from racoondbg.evidence import Evidence, load_evidence
from racoondbg.live.status import PeerRow, peer_rows
from racoondbg.model.base import Location
from racoondbg.model.log import Negotiation
from racoondbg.sources import Source

BLOCKED = Path(__file__).parent / "fixtures" / "rules" / "udp-500-4500-blocked"


def load(name: str) -> Evidence:
    return load_evidence([Source(BLOCKED / name, name)])


def negotiation(cookies: str | None, phase: int = 1) -> Negotiation:
    return Negotiation(phase, "203.0.113.80[500]", Location("racoon.log", 1), None, cookies=cookies)


@pytest.mark.parametrize("text,expected", [
    ("C9E13A57D0F4B268:0000000000000000", ("c9e13a57d0f4b268", "0000000000000000")),
    ("c9e13a57d0f4b268", ("c9e13a57d0f4b268", "0000000000000000")),
    ("c9e13a57d0f4b268:5d72e0b1a4c3f869\n", ("c9e13a57d0f4b268", "5d72e0b1a4c3f869")),
    ("c9e13a57d0f4b26:0000000000000000", None), ("zz e13a57d0f4b268:0000000000000000", None),
    ("c9e13a57d0f4b268:5d72e0b1a4c3f86x", None), ("", None), (None, None), ("\udcff" * 16, None),
])
def test_cookies_are_read_leniently_and_never_raise(text: str | None, expected: tuple[str, str] | None) -> None:
    assert split_cookies(text) == expected


def test_only_an_initiator_without_a_responder_cookie_never_took_a_reply() -> None:
    assert never_answered(negotiation("c9e13a57d0f4b268:0000000000000000"))
    assert not never_answered(negotiation("c9e13a57d0f4b268:5d72e0b1a4c3f869"))
    assert not never_answered(negotiation(None))


def test_a_timed_out_negotiation_is_found_on_the_wire_with_the_peers_reply() -> None:
    ev = load("hit_replies_dropped_before_racoon")
    [match] = phase1_matches(ev.logs, ev.captures)
    assert match.negotiation.cookies == "c9e13a57d0f4b268:0000000000000000"
    assert (match.exchange.initiator, match.exchange.responder) == ("198.51.100.14", "203.0.113.80")
    assert match.last_step == "MM2"
    reply = first_reply(match.capture, match.exchange)
    assert reply is not None and (reply.frame, reply.step, reply.src) == (2, "MM2", "203.0.113.80")


def test_cookies_decide_not_addresses() -> None:
    """Same peer, two ISAKMP-SAs: each log negotiation finds its own exchange; a phase-2 negotiation
    under the same cookies, or another responder cookie, finds none."""
    ev = load("ok_reply_under_other_cookies")
    matches = phase1_matches(ev.logs, ev.captures)
    assert [(m.negotiation.cookies, m.exchange.icookie, m.last_step) for m in matches] == [
        ("7a3be1904c5d2f86:e04f19a6b8c72d35", "7a3be1904c5d2f86", "MM6"),
        ("b5d8e2f7091c4a63:0000000000000000", "b5d8e2f7091c4a63", "MM1")]
    assert first_reply(matches[1].capture, matches[1].exchange) is None
    others = [negotiation("7a3be1904c5d2f86:e04f19a6b8c72d35", phase=2),
              negotiation("7a3be1904c5d2f86:1111111111111111")]
    ev.logs[0].negotiations[:] = others
    assert phase1_matches(ev.logs, ev.captures) == []


def test_the_status_row_says_what_the_wire_showed_of_the_logged_attempts() -> None:
    [row] = peer_rows(load("hit_replies_dropped_before_racoon"))
    assert row == PeerRow("203.0.113.80", "failing", "failing", row.last_error, None, 10, 1, 1, "MM2")
    assert row.wire() == "1/1, last MM2"
    [row] = peer_rows(load("ok_reply_under_other_cookies"))
    assert (row.peer, row.phase1_logged, row.phase1_on_wire, row.wire_step) == ("198.51.100.201", 2, 2, "MM1")


def test_the_join_in_the_text_and_json_reports() -> None:
    path = str(BLOCKED / "hit_reply_to_unmapped_port")
    text = CliRunner().invoke(cli, ["analyze", path, "--color", "never"], env={"COLUMNS": "160"}).stdout
    header = next(line for line in text.splitlines() if line.startswith("peer "))
    assert header.split()[-3:] == ["ph1", "on", "wire"]
    row = next(line for line in text.splitlines() if line.startswith("192.0.2.200 "))
    assert row.rstrip().endswith("1/1, last AM2")
    doc = json.loads(CliRunner().invoke(cli, ["analyze", path, "--format", "json"]).stdout)
    assert doc["peers"] == [{"peer": "192.0.2.200", "phase1": "failing", "phase2": "failing",
                             "last_error": doc["peers"][0]["last_error"], "sas": None, "packets": 10,
                             "phase1_logged": 1, "phase1_on_wire": 1, "wire_step": "AM2"}]


def test_no_capture_no_join() -> None:
    ev = load("hit_replies_dropped_before_racoon")
    ev.captures.clear()
    [row] = peer_rows(ev)
    assert (row.phase1_logged, row.phase1_on_wire, row.wire_step, row.wire()) == (None, None, None, None)


def test_the_first_reply_may_be_an_informational_under_the_same_cookie() -> None:
    ev = load("hit_notify_never_logged")
    [match] = phase1_matches(ev.logs, ev.captures)
    assert match.last_step == "MM1" and match.exchange.rcookie == "0000000000000000"
    reply = first_reply(match.capture, match.exchange)
    assert reply is not None and (reply.frame, reply.step, reply.notify) == (2, "INFO", ("NO-PROPOSAL-CHOSEN",))
