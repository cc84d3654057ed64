"""Pilot tests of the Peers view: per-peer status and the ladder, from a real log and a real capture."""

from __future__ import annotations

from racoondbg.tui.app import RacoonApp
from racoondbg.tui.views.messages import MessagesView
from racoondbg.tui.views.peers import LadderModel, PeersView
from tests.tui.conftest import demo_app, run_async, screen_text, started, wait_for


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
