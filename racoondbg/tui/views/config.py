"""The Config view: racoon.conf (or any text input a finding points at) with colours and finding marks.

It shows the file as written — it needs only the text and the findings' ``file:line`` evidence —
so it works whatever the config parser made of it. Key material in psk.txt, SAD dumps and setkey
scripts is replaced by its ``secret:…`` tag unless the user asked for ``--show-keys``.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import Static

from racoondbg.model.finding import Finding
from racoondbg.sources import open_text
from racoondbg.tui.components.lineview import LineView, StyleOf, highlight_matches, line_gutter
from racoondbg.tui.components.severity import finding_line
from racoondbg.tui.redact import redact
from racoondbg.tui.views.base import View

_CONF_TOKENS = re.compile(
    r"(?P<comment>#.*$)"
    r'|(?P<string>"(?:[^"\\]|\\.)*"?)'
    r"|(?P<brace>[{};])"
    r"|(?P<address>(?<![\w.:])(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7})"
    r"(?:/\d{1,3})?(?:\[(?:\d+|any)\])?(?![\w.:]))"
    r"|(?P<number>\b\d+\b)"
    r"|(?P<word>[A-Za-z_][\w-]*)"
)
#: Words that open a block or a statement in racoon.conf.
_BLOCK_WORDS = frozenset(
    ["path", "include", "listen", "timer", "padding", "remote", "sainfo", "proposal", "mode_cfg", "log",
     "gss_id", "privsep", "ldapcfg", "radiuscfg"]
)


def highlight_conf(line: str, style: StyleOf) -> Text:
    """racoon.conf colouring: directives, block keywords, strings, addresses, numbers, comments."""
    text = Text(line)
    first_word = True
    for match in _CONF_TOKENS.finditer(line):
        kind = match.lastgroup or ""
        if kind == "word":
            if first_word or match.group() in _BLOCK_WORDS:
                text.stylize(style("keyword"), match.start(), match.end())
            first_word = False
            continue
        if kind == "brace":
            first_word = True
        elif kind != "comment":
            first_word = False
        text.stylize(style(kind), match.start(), match.end())
    return text


class TextModel:
    """A small text file in memory, for a :class:`LineView`."""

    def __init__(self, lines: list[str], part: str | None, marks: dict[int, list[Finding]], show_keys: bool) -> None:
        self.lines = [(line if show_keys else redact(part, line)).expandtabs(4) for line in lines]
        self.part = part
        self.marks = marks
        self.pattern: re.Pattern[str] | None = None
        self._width = max(3, len(str(len(lines))))

    @property
    def rows(self) -> int:
        return len(self.lines)

    def render_row(self, row: int, style: StyleOf) -> tuple[Text, Text]:
        line = self.lines[row]
        body = highlight_conf(line, style) if self.part == "conf" else Text(line)
        highlight_matches(body, self.pattern, style)
        return line_gutter(row + 1, self._width, self.marks.get(row + 1, ()), style), body


class ConfigView(View):
    """One text input at a time; racoon.conf unless a jump asked for another file."""

    LABEL = "Config"
    HELP = "config.md"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "next_mark(1)", "Next finding"),
        Binding("N", "next_mark(-1)", "Prev finding", show=False),
        Binding("left_square_bracket", "switch_file(-1)", "Prev file", show=False),
        Binding("right_square_bracket", "switch_file(1)", "Next file", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.name_shown: str | None = None
        self.part: str | None = None
        self.model: TextModel | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="config-status", classes="status")
        yield LineView(id="config-lines")
        yield Static("", id="config-detail")

    @property
    def lines(self) -> LineView:
        return self.query_one("#config-lines", LineView)

    def on_mount(self) -> None:
        self.session_changed()

    def session_changed(self) -> None:
        inputs = self.session.text_inputs()
        if self.name_shown is None and inputs:
            self.open_file(inputs[0][0])
        elif self.name_shown is not None:
            self.open_file(self.name_shown, reload=True)
        else:
            self._status()

    def open_file(self, name: str, line: int | None = None, *, reload: bool = False) -> bool:
        """Show a text input by its source name; False when it cannot be read."""
        if name != self.name_shown or reload or self.model is None:
            path = self.session.resolve(name)
            if path is None:
                self.notify(f"{name} is not a file racoondbg can show (stdin or a bundle member).",
                            severity="warning")
                return False
            try:
                with open_text(path) as fh:
                    content = fh.read().splitlines()
            except OSError as err:
                self.notify(f"{name}: cannot read: {err.strerror or err}", severity="error")
                return False
            cursor = self.lines.cursor if name == self.name_shown else 0
            self.name_shown = name
            self.part = self.session.kind_of(name)
            self.model = TextModel(content, self.part, self.session.findings_by_line(name), self.session.show_keys)
            self.lines.set_model(self.model, cursor)
        if line is not None:
            self.lines.goto(line - 1)
        self._status()
        return True

    def _status(self) -> None:
        status = self.query_one("#config-status", Static)
        if self.model is None or self.name_shown is None:
            status.update("No racoon.conf given. Start with it: racoondbg tui /etc/racoon/racoon.conf ...")
            return
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(self.name_shown, style="bold")
        if self.part:
            text.append(f" ({self.part})")
        marks = self.model.marks
        count = len({id(f) for found in marks.values() for f in found})
        text.append(f" · {len(self.model.lines)} lines · {count} finding{'s' * (count != 1)} on {len(marks)} "
                    f"line{'s' * (len(marks) != 1)}")
        if len(self.session.text_inputs()) > 1:
            text.append(" · [ ] other files")
        status.update(text)

    def on_line_view_cursor_moved(self, event: LineView.CursorMoved) -> None:
        detail = self.query_one("#config-detail", Static)
        found = self.model.marks.get(event.row + 1, []) if self.model else []
        if not found:
            detail.update("")
            detail.display = False
            return
        lines = [finding_line(f) for f in found]
        detail.update(Content("\n").join([*lines, Content.styled("Enter opens the finding", "dim")]))
        detail.display = True
        self.racoon.update_crumbs()

    def on_line_view_activated(self, event: LineView.Activated) -> None:
        found = self.model.marks.get(event.row + 1, []) if self.model else []
        if found:
            self.racoon.open_finding(found[0])

    def action_next_mark(self, step: int) -> None:
        if self.model is None or not self.model.marks:
            return
        here = self.lines.cursor + 1
        marked = sorted(self.model.marks)
        ahead = [n for n in marked if (n > here if step > 0 else n < here)]
        target = (ahead[0] if step > 0 else ahead[-1]) if ahead else (marked[0] if step > 0 else marked[-1])
        self.lines.goto(target - 1)

    def action_switch_file(self, step: int) -> None:
        names = [n for n, _ in self.session.text_inputs()]
        if not names:
            return
        here = names.index(self.name_shown) if self.name_shown in names else -1
        self.open_file(names[(here + step) % len(names)])

    def search_hint(self) -> str:
        return "search this file (regex, smart case)"

    def search(self, query: str, *, backwards: bool = False) -> None:
        if self.model is None:
            return
        try:
            pattern = re.compile(query, 0 if any(c.isupper() for c in query) else re.I)
        except re.error as err:
            self.notify(f"Not a valid regular expression: {err}", severity="error")
            return
        self.model.pattern = pattern
        rows = self.model.rows
        start = self.lines.cursor
        order = [(start - k) % rows for k in range(1, rows + 1)] if backwards else [
            (start + k) % rows for k in range(1, rows + 1)]
        for row in order:
            if pattern.search(self.model.lines[row]):
                self.lines.goto(row)
                return
        self.lines.refresh()
        self.notify(f"/{query}/ not found")

    def crumbs(self) -> list[str]:
        if self.name_shown is None:
            return []
        return [f"{self.name_shown}:{self.lines.cursor + 1}"]

    def focus_main(self) -> None:
        self.lines.focus()

    def state(self) -> Any:
        return (self.name_shown, self.lines.cursor + 1)

    def restore(self, state: Any) -> None:
        name, line = state
        if name is not None:
            self.open_file(name, line)

