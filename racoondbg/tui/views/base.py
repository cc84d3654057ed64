"""What every view offers the app: crumbs, search, a state to come back to, a reaction to new findings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from textual.containers import Vertical

from racoondbg.tui.session import Session

if TYPE_CHECKING:
    from racoondbg.tui.app import RacoonApp


class View(Vertical):
    """A tab's content. Subclasses override what they support."""

    #: Name in the tab bar and the breadcrumbs.
    LABEL = ""
    #: Markdown help file under racoondbg/tui/help/ shown by ``?``.
    HELP = ""

    @property
    def racoon(self) -> RacoonApp:
        return cast("RacoonApp", self.app)

    @property
    def session(self) -> Session:
        return self.racoon.session

    def crumbs(self) -> list[str]:
        """Where the cursor is, after the view's name."""
        return []

    def search(self, query: str, *, backwards: bool = False) -> None:
        self.notify("Nothing to search in this view.", severity="warning")

    def search_hint(self) -> str:
        return "search"

    def session_changed(self) -> None:
        """The evidence or the findings changed (first analysis done, or follow mode re-ran it)."""

    def focus_main(self) -> None:
        """Give the keyboard to the view's main widget."""
        for widget in self.query("*"):
            if widget.focusable:
                widget.focus()
                return

    def state(self) -> Any:
        """Something :meth:`restore` can return to (Esc goes back to it)."""
        return None

    def restore(self, state: Any) -> None:
        """Return to a :meth:`state`."""
