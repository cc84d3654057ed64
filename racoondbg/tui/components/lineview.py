"""A virtual, cursor-driven view of numbered lines: the Log and Config views are built on it.

Only the rows on screen are ever rendered (Textual's line API), so the model behind it may have
millions of rows; it is asked for one row at a time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import ClassVar, Protocol

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from racoondbg.model.finding import Finding

StyleOf = Callable[[str], Style]

#: Names a model may ask :data:`StyleOf` for; each is a component class ``lineview--NAME`` in the .tcss.
STYLE_NAMES = (
    "cursor", "gutter", "error", "warning", "notify", "info", "debug", "dim", "match", "time", "address",
    "keyword", "string", "comment", "number", "brace", "mark-error", "mark-warning", "mark-info", "fold",
)


def line_gutter(number: int, width: int, marks: Sequence[Finding], style: StyleOf) -> Text:
    """A line number and, when findings point at the line, a dot in the worst one's colour."""
    gutter = Text(f"{number:>{width}}", style=style("gutter"))
    if marks:
        gutter.append("●", style=style(f"mark-{max(f.severity for f in marks).label}"))
    else:
        gutter.append(" ", style=style("gutter"))
    gutter.append(" ")
    return gutter


def highlight_matches(text: Text, pattern: re.Pattern[str] | None, style: StyleOf) -> None:
    """Mark every match of a search pattern in a rendered line."""
    if pattern is None:
        return
    for match in pattern.finditer(text.plain):
        text.stylize(style("match"), match.start(), max(match.end(), match.start() + 1))


class LineModel(Protocol):
    """What a :class:`LineView` shows: a number of rows, each a gutter and a body."""

    @property
    def rows(self) -> int: ...

    def render_row(self, row: int, style: StyleOf) -> tuple[Text, Text]: ...


class EmptyModel:
    rows = 0

    def render_row(self, row: int, style: StyleOf) -> tuple[Text, Text]:
        return Text(), Text()


class LineView(ScrollView, can_focus=True):
    """Rows from a :class:`LineModel`, a cursor, and keys to move it."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {f"lineview--{name}" for name in STYLE_NAMES}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown,space", "page(1)", "Page down", show=False),
        Binding("home", "edge(0)", "Top", show=False),
        Binding("end", "edge(1)", "Bottom", show=False),
        Binding("left", "pan(-8)", "Left", show=False),
        Binding("right", "pan(8)", "Right", show=False),
        Binding("enter", "activate", "Open", show=False),
    ]

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)

    class CursorMoved(Message):
        def __init__(self, view: LineView, row: int) -> None:
            super().__init__()
            self.view = view
            self.row = row

    class UserMoved(Message):
        """The user moved the cursor (a key or a click), as opposed to the program."""

        def __init__(self, view: LineView) -> None:
            super().__init__()
            self.view = view

    class Activated(Message):
        """Enter on a row."""

        def __init__(self, view: LineView, row: int) -> None:
            super().__init__()
            self.view = view
            self.row = row

    def __init__(self, model: LineModel | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model: LineModel = model or EmptyModel()
        self.x_offset = 0

    # -- model ------------------------------------------------------------------------------------

    def set_model(self, model: LineModel, cursor: int = 0) -> None:
        self.model = model
        self.x_offset = 0
        self.sync()
        self.goto(cursor)
        self.refresh()

    def sync(self) -> None:
        """Take the model's current row count (it may grow while a file is indexed)."""
        rows = self.model.rows
        if self.virtual_size.height != rows:
            self.virtual_size = Size(self.size.width, rows)
        if self.cursor >= rows > 0:
            self.cursor = rows - 1
        self.refresh()

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"lineview--{name}", partial=True)

    # -- cursor -----------------------------------------------------------------------------------

    def validate_cursor(self, row: int) -> int:
        return max(0, min(row, self.model.rows - 1))

    def watch_cursor(self, row: int) -> None:
        self._keep_visible(row)
        self.refresh()
        self.post_message(self.CursorMoved(self, row))

    def goto(self, row: int, *, center: bool = True) -> None:
        """Put the cursor on a row; with ``center`` the row comes to the middle of the screen."""
        self.sync()
        row = self.validate_cursor(row)
        self.cursor = row
        if center:
            self.call_after_refresh(self._center, row)

    def _center(self, row: int) -> None:
        """Bring a row to the middle, unless it is on screen already (needs the final size)."""
        if not (self.scroll_offset.y <= row < self.scroll_offset.y + self.size.height):
            self.scroll_to(y=max(0, row - self.size.height // 2), animate=False, immediate=True)

    def follow_end(self) -> None:
        self.sync()
        self.cursor = self.model.rows - 1

    def _keep_visible(self, row: int) -> None:
        top, height = self.scroll_offset.y, max(1, self.size.height)
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False, immediate=True)

    def action_move(self, delta: int) -> None:
        self.post_message(self.UserMoved(self))
        self.cursor += delta

    def action_page(self, direction: int) -> None:
        self.post_message(self.UserMoved(self))
        self.cursor += direction * max(1, self.size.height - 1)

    def action_edge(self, end: int) -> None:
        self.post_message(self.UserMoved(self))
        self.cursor = self.model.rows - 1 if end else 0

    def action_pan(self, delta: int) -> None:
        self.x_offset = max(0, self.x_offset + delta)
        self.refresh()

    def action_activate(self) -> None:
        if self.model.rows:
            self.post_message(self.Activated(self, self.cursor))

    def on_click(self, event: events.Click) -> None:
        self.post_message(self.UserMoved(self))
        self.cursor = int(self.scroll_offset.y) + event.y

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(event.size.width, self.model.rows)
        self._keep_visible(self.cursor)

    # -- rendering --------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        row = int(self.scroll_offset.y) + y
        if row >= self.model.rows:
            return Strip.blank(width, base)
        gutter, body = self.model.render_row(row, self._style)
        if self.x_offset:
            body = body[self.x_offset :]
        line = gutter + body
        line.no_wrap = True
        line.truncate(width, pad=True)
        if row == self.cursor:
            line.stylize(self._style("cursor"))
        return Strip(line.render(self.app.console)).crop_extend(0, width, base).simplify()
