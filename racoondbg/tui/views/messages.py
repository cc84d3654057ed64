"""The Messages view (waits for its model)."""

from __future__ import annotations

from textual.app import ComposeResult

from racoondbg.tui.components.empty import EmptyState
from racoondbg.tui.views.base import View


class MessagesView(View):
    LABEL = "Messages"
    HELP = "messages.md"

    def compose(self) -> ComposeResult:
        yield EmptyState("capture", ("pcap",))

    def show_frame(self, name: str, frame: int) -> bool:
        return False
