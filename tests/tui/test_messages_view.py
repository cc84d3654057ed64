"""Pilot tests of the Messages view: the packet list and the payload tree of a real capture."""

from __future__ import annotations

from typing import Any

import pytest

from racoondbg.tui.app import RacoonApp
from racoondbg.tui.views import messages
from racoondbg.tui.views.messages import MessagesView
from tests.tui.conftest import ask, crumbs, run_async, screen_text, settle, started, wait_for


async def _messages(pilot: Any, app: RacoonApp) -> MessagesView:
    """Open the Messages view and wait for its first message."""
    await started(pilot)
    await pilot.press("3")
    view = app.query_one(MessagesView)
    await wait_for(pilot, lambda: app.active_tab == "messages" and view.current is not None)
    return view


@run_async
async def test_messages_show_the_payload_tree(capture_app: RacoonApp) -> None:
    app = capture_app
    async with app.run_test(size=(100, 40)) as pilot:
        view = await _messages(pilot, app)
        text = screen_text(app)
        for expected in ("proposal #1 ISAKMP", "transform #1 KEY_IKE", "Encryption Algorithm = AES-CBC",
                         "Authentication Method = pre-shared key", "Vendor ID DPD"):
            assert expected in text
        await ask(pilot, "slash", "informational")
        await wait_for(pilot, lambda: view.current is not None and view.current[1].exchange == "Informational")
        assert "encrypted: the payloads after the header are ciphertext" in screen_text(app)


@run_async
async def test_a_big_capture_is_listed_a_window_at_a_time(capture_app: RacoonApp,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A capture of millions of messages is not put in the table at once: a window is, and a frame asked
    for (a finding's evidence, a frame number searched) moves it."""
    monkeypatch.setattr(messages, "WINDOW", 4)
    app = capture_app
    async with app.run_test(size=(120, 40)) as pilot:
        view = await _messages(pilot, app)
        total = view.total
        assert total > 8 and view.table.row_count == 4 and len(view.messages) == 4
        assert f"listed messages 1-4 of {total}" in crumbs(app)
        last = view.captures[0].messages[-1]
        assert view.show_frame("ike.pcap", last.frame)
        await settle(pilot, app)
        assert view.current is not None and view.current[1].frame == last.frame
        assert view.window_start == total - 1 - 2 and view.table.row_count == 3
        first = view.captures[0].messages[0].frame
        await ask(pilot, "slash", str(first))
        await wait_for(pilot, lambda: view.current is not None and view.current[1].frame == first)
        assert view.window_start == 0 and f"listed messages 1-4 of {total}" in crumbs(app)
        assert not view.show_frame("ike.pcap", 10**9)
