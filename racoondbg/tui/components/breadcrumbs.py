"""The line at the top that says where you are: ``racoondbg › Findings › RDB201 › racoon.conf:12``."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static


class Breadcrumbs(Static):
    """Shows a path of places; the last one is where the cursor is."""

    def show(self, crumbs: Sequence[str]) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, crumb in enumerate(crumbs):
            if i:
                text.append(" › ", style="dim")
            text.append(crumb, style="bold" if i == len(crumbs) - 1 else "")
        self.update(text)
