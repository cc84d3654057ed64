"""The Policies view (waits for its model)."""

from __future__ import annotations

from textual.app import ComposeResult

from racoondbg.model.finding import EvidenceRef
from racoondbg.tui.components.empty import EmptyState
from racoondbg.tui.views.base import View


class PoliciesView(View):
    LABEL = "Policies"
    HELP = "policies.md"

    def compose(self) -> ComposeResult:
        yield EmptyState("SPD/SAD", ("spd", "sad"))

    def show_ref(self, ref: EvidenceRef) -> bool:
        return False
