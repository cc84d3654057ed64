"""The Peers view (waits for its model)."""

from __future__ import annotations

from textual.app import ComposeResult

from racoondbg.tui.components.empty import EmptyState
from racoondbg.tui.views.base import View


class PeersView(View):
    LABEL = "Peers"
    HELP = "peers.md"

    def compose(self) -> ComposeResult:
        yield EmptyState("log or capture", ("log", "pcap"))

    def open_failing(self, peer: str) -> None:
        self.notify("No log or capture evidence loaded: there is no ladder to show.", severity="warning")
