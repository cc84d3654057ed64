"""``?``: the keys and what the current view shows, from the Markdown files in racoondbg/tui/help/."""

from __future__ import annotations

from importlib import resources
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown


def help_text(name: str) -> str:
    """A help file's Markdown, or "" when there is none."""
    if not name:
        return ""
    try:
        return (resources.files("racoondbg.tui") / "help" / name).read_text(encoding="utf-8")
    except OSError:
        return ""


class HelpScreen(ModalScreen[None]):
    """The general keys, then the current view's own."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close"),
    ]

    def __init__(self, view_help: str) -> None:
        super().__init__()
        self.view_help = view_help

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Markdown(help_text("keys.md") + "\n\n" + help_text(self.view_help), id="help-text")

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()
