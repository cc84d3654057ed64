"""Pilot tests of the Peers view: per-peer status and the ladder, from a real log and a real capture."""

from __future__ import annotations

import dataclasses

import pytest

from racoondbg.engine import run
from racoondbg.evidence import load_evidence
from racoondbg.model import packets
from racoondbg.sources import Source
from racoondbg.tui import ladder, make_app
from racoondbg.tui.app import RacoonApp
from racoondbg.tui.ladder import attempts_for
from racoondbg.tui.views.messages import MessagesView
from racoondbg.tui.views.peers import LadderModel, PeersView
from tests.tui.conftest import FIXTURES, demo_app, run_async, screen_text, started, wait_for


@run_async
async def test_ladder_of_a_failing_negotiation_highlights_the_unanswered_step(capture_app: RacoonApp) -> None:
    app = capture_app
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot)
        await pilot.press("2")
        peers = app.query_one(PeersView)
        await wait_for(pilot, lambda: app.active_tab == "peers" and peers.attempts)
        await pilot.press("enter")  # into the ladder
        await wait_for(pilot, lambda: app.focused is peers.ladder)
        model = peers.ladder.model
        assert isinstance(model, LadderModel)
        rung = model.rung(peers.ladder.cursor)
        assert rung is not None and rung.mark == "✗ never answered" and rung.label.startswith("MM5")
        text = screen_text(app)
        assert "stalled at MM5" in text and "↻ of #5" in text and "MM2" in text
        await pilot.press("enter")  # the rung's evidence: its frame in the Messages view
        messages = app.query_one(MessagesView)
        await wait_for(pilot, lambda: app.active_tab == "messages")
        assert messages.current is not None and messages.current[1].frame == rung.ref.frame
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.active_tab == "peers")


@run_async
async def test_demo_peer_status_and_ladder_from_the_log() -> None:
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot)
        await pilot.press("2")
        peers = app.query_one(PeersView)
        await wait_for(pilot, lambda: app.active_tab == "peers" and peers.peer == "10.3.0.1")
        titles = [a.title for a in peers.attempts]
        assert any("superseded" in t for t in titles) and any("established" in t for t in titles)
        assert "10.3.0.1" in screen_text(app)
        await pilot.press("left_square_bracket")
        assert peers.index in range(len(peers.attempts))


@run_async
async def test_peer_row_shows_the_logged_attempt_seen_on_the_wire() -> None:
    """A log and a capture with the same cookies: the row says the capture shows racoon's attempt up to MM2."""
    source = Source(FIXTURES.parent / "rules" / "udp-500-4500-blocked" / "hit_replies_dropped_before_racoon", "gw")
    evidence = load_evidence([source])
    app = make_app(evidence, run(evidence), roots=[source])
    async with app.run_test(size=(140, 30)) as pilot:
        await started(pilot)
        await pilot.press("2")
        peers = app.query_one(PeersView)
        await wait_for(pilot, lambda: app.active_tab == "peers" and peers.peer == "203.0.113.80")
        columns = [str(c.label) for c in peers.table.columns.values()]
        assert columns[4] == "ph1 on wire"
        assert peers.table.get_row("203.0.113.80")[4] == "1/1, last MM2"


def test_an_exchange_the_log_matched_is_drawn_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Exchanges of a loaded capture are made anew when asked (only the last few are kept): the ladder
    must know a matched one by its place, not by the object."""
    made: list[packets.Exchange] = []  # every copy stays alive, so no two share an identity
    real = packets.ExchangeTable.exchange

    def fresh(table: packets.ExchangeTable, number: int) -> packets.Exchange:
        made.append(dataclasses.replace(real(table, number)))
        return made[-1]

    monkeypatch.setattr(packets.ExchangeTable, "exchange", fresh)
    source = Source(FIXTURES.parent / "rules" / "udp-500-4500-blocked" / "hit_replies_dropped_before_racoon", "gw")
    evidence = load_evidence([source])
    attempts = attempts_for("203.0.113.80", evidence.logs, evidence.captures)
    drawn = [frames for a in attempts if (frames := tuple(r.ref.frame for r in a.rungs if r.ref and r.ref.frame))]
    assert drawn and len(drawn) == len(set(drawn))


def test_only_the_last_tries_with_a_peer_are_drawn(monkeypatch: pytest.MonkeyPatch) -> None:
    """A capture of a million exchanges with one peer makes ladders of the last MAX_ATTEMPTS only."""
    source = Source(FIXTURES.parent / "pcap" / "dpd_dead_peer.pcap", "dpd.pcap")
    evidence = load_evidence([source])
    (capture,) = evidence.captures
    peer = capture.exchanges[0].responder
    every = attempts_for(peer, evidence.logs, evidence.captures)
    assert len(every) > 3
    monkeypatch.setattr(ladder, "MAX_ATTEMPTS", 3)
    last = attempts_for(peer, evidence.logs, evidence.captures)
    assert [(a.title, a.started) for a in last] == [(a.title, a.started) for a in every[-3:]]
