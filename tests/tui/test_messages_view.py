"""Pilot tests of the Messages view: the packet list and the payload tree of a real capture."""

from __future__ import annotations

from racoondbg.tui.app import RacoonApp
from racoondbg.tui.views.messages import MessagesView
from tests.tui.conftest import ask, run_async, screen_text, started, wait_for


@run_async
async def test_messages_show_the_payload_tree(capture_app: RacoonApp) -> None:
    app = capture_app
    async with app.run_test(size=(100, 40)) as pilot:
        await started(pilot)
        await pilot.press("3")
        view = app.query_one(MessagesView)
        await wait_for(pilot, lambda: app.active_tab == "messages" and view.current is not None)
        text = screen_text(app)
        for expected in ("proposal #1 ISAKMP", "transform #1 KEY_IKE", "Encryption Algorithm = AES-CBC",
                         "Authentication Method = pre-shared key", "Vendor ID DPD"):
            assert expected in text
        await ask(pilot, "slash", "informational")
        await wait_for(pilot, lambda: view.current is not None and view.current[1].exchange == "Informational")
        assert "encrypted: the payloads after the header are ciphertext" in screen_text(app)
