"""A one-line prompt at the bottom for searches, filters and jumps (``/``, ``i``, ``o``, ``g``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label


class PromptBar(Horizontal):
    """Asks for one line of text; Enter hands it to the callback, Esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", show=False)]

    class Closed(Message):
        """The prompt went away (answered or cancelled): focus can go back to the view."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._callback: Callable[[str], None] | None = None

    def compose(self) -> ComposeResult:
        yield Label("", id="prompt-label")
        yield Input(id="prompt-input")

    def ask(self, label: str, callback: Callable[[str], None], initial: str = "", placeholder: str = "") -> None:
        self._callback = callback
        self.query_one("#prompt-label", Label).update(f"{label} ")
        field = self.query_one("#prompt-input", Input)
        field.value = initial
        field.placeholder = placeholder
        self.display = True
        field.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        callback, self._callback = self._callback, None
        self._close()
        if callback is not None and event.value.strip():
            callback(event.value)

    def action_cancel(self) -> None:
        self._callback = None
        self._close()

    def _close(self) -> None:
        self.display = False
        self.post_message(self.Closed())
