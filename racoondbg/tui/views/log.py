"""The Log view: any racoon log, however big, read on demand; filters, search, time jumps, follow mode.

It works on the raw file (see :mod:`racoondbg.tui.logindex`), so it opens before — and without —
the log parser: levels and times come from the text. Hex dumps are folded (and, without
``--show-keys``, never shown: ``-d`` logs dump keys in them).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import replace
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from racoondbg.model.finding import Finding
from racoondbg.sources import Source
from racoondbg.tui.components.lineview import LineView, StyleOf, highlight_matches, line_gutter
from racoondbg.tui.logindex import LogIndex
from racoondbg.tui.logquery import (
    HEX_LINE,
    LEVEL_WORD,
    LogFilter,
    Projection,
    compile_user_pattern,
    first_time,
    line_at_time,
    parse_time_query,
    search,
)
from racoondbg.tui.redact import hexdump_placeholder
from racoondbg.tui.views.base import View

_PREFIX = re.compile(r"^(?P<ts>\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d:?|[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d)?(?P<rest>.*)$")
_ADDR = re.compile(r"\[[0-9A-Fa-f.:%\w-]*[.:][0-9A-Fa-f.:%\w-]*\]")
_LEVEL_STYLE = {"ERROR": "error", "WARNING": "warning", "NOTIFY": "notify", "INFO": "info",
                "DEBUG": "debug", "DEBUG2": "debug"}
#: How often the view looks at the index, the filter thread and (in follow mode) the file.
TICK = 0.2


class LogModel:
    """Rows of a log for a :class:`LineView`: colours, folds, search matches, finding marks."""

    def __init__(self, projection: Projection, marks: dict[int, list[Finding]], show_keys: bool) -> None:
        self.projection = projection
        self.index = projection.index
        self.marks = marks
        self.show_keys = show_keys
        self.pattern: re.Pattern[str] | None = None
        self._width = 4

    @property
    def rows(self) -> int:
        return self.projection.rows

    def render_row(self, row: int, style: StyleOf) -> tuple[Text, Text]:
        line = self.projection.line_of(row)
        raw = self.index.line(line).expandtabs(8)
        self._width = max(self._width, len(str(self.index.line_count)))
        return line_gutter(line + 1, self._width, self.marks.get(line + 1, ()), style), self._body(row, raw, style)

    def _body(self, row: int, raw: str, style: StyleOf) -> Text:
        if HEX_LINE.match(raw):
            if not self.show_keys:
                return Text(hexdump_placeholder(raw), style=style("fold"))
            return Text(raw, style=style("dim"))
        text = Text(raw)
        m = _PREFIX.match(raw)
        start = 0
        if m and m.group("ts"):
            start = m.end("ts")
            text.stylize(style("time"), 0, start)
        for addr in _ADDR.finditer(raw, start, min(len(raw), start + 60)):
            text.stylize(style("address"), addr.start(), addr.end())
        level = LEVEL_WORD.search(raw, start, min(len(raw), start + 160))
        if level:
            name = _LEVEL_STYLE[level.group(1)]
            if name in ("error", "warning", "debug"):
                text.stylize(style(name), level.start(1))
            else:
                text.stylize(style(name), level.start(1), level.end(1))
        highlight_matches(text, self.pattern, style)
        hidden = self.projection.hidden_after(row) if self._folds_only else 0
        if hidden:
            text.append(f"  ⋯ {hidden} hex dump lines folded (x unfolds)", style=style("fold"))
        return text

    @property
    def _folds_only(self) -> bool:
        return self.projection.filter == LogFilter()


class LogView(View):
    """One racoon log at a time (``[`` / ``]`` switch between several)."""

    LABEL = "Log"
    HELP = "log.md"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "next_match(0)", "Next"),
        Binding("N", "next_match(1)", "Prev", show=False),
        Binding("l", "cycle_level", "Level"),
        Binding("i", "filter('in')", "Filter in"),
        Binding("o", "filter('out')", "Filter out"),
        Binding("c", "clear_filters", "Clear", show=False),
        Binding("x", "toggle_hex", "Hex", show=False),
        Binding("g", "goto", "Go to time"),
        Binding("F", "toggle_follow", "Follow"),
        Binding("left_square_bracket", "switch_log(-1)", "Prev log", show=False),
        Binding("right_square_bracket", "switch_log(1)", "Next log", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.index: LogIndex | None = None
        self.projection: Projection | None = None
        self.model: LogModel | None = None
        self.filter = LogFilter()
        self.follow = False
        self.source: Source | None = None
        self.progress = 0.0
        self.message = ""
        self._stop = threading.Event()
        self._pending_line: int | None = None
        self._indexes: dict[str, LogIndex] = {}
        self._pattern: re.Pattern[bytes] | None = None
        self._query = ""

    def compose(self) -> ComposeResult:
        yield Static("", id="log-status", classes="status")
        yield LineView(id="log-lines")

    @property
    def lines(self) -> LineView:
        return self.query_one("#log-lines", LineView)

    def on_mount(self) -> None:
        self.set_interval(TICK, self._tick)
        self._open_first()

    def on_unmount(self) -> None:
        self._stop.set()
        for index in self._indexes.values():
            index.close()

    def _open_first(self) -> None:
        if self.source is None and self.session.log_files:
            self.open(self.session.log_files[0])
        self._show_status()

    # -- opening and filtering --------------------------------------------------------------------

    def open(self, source: Source, line: int | None = None) -> None:
        """Show a log; ``line`` (1-based) puts the cursor there once it is indexed."""
        if self.source is not None and self.source.name == source.name and self.index is not None:
            if line is not None:
                self.goto_line(line)
            return
        self.source = source
        index = self._indexes.get(source.name)
        if index is None:
            index = self._indexes[source.name] = LogIndex(source.path, source.name)
            self.progress = 0.0
            threading.Thread(target=index.build, args=(self._set_progress, self._stop),
                             name=f"index {source.name}", daemon=True).start()
        self.index = index
        self._pending_line = None if line is None else line - 1
        self._apply_filter(self.filter)

    def _set_progress(self, fraction: float) -> None:
        self.progress = fraction

    def _apply_filter(self, flt: LogFilter) -> None:
        if self.index is None:
            return
        keep = self.current_line()
        if keep is not None and self._pending_line is None:
            self._pending_line = keep
        self.filter = flt
        self.projection = Projection(self.index, flt)
        marks = self.session.findings_by_line(self.index.name)
        self.model = LogModel(self.projection, marks, self.session.show_keys)
        self.model.pattern = _str_pattern(self._pattern)
        self.lines.set_model(self.model)
        if not flt.identity:
            threading.Thread(target=self._extend, args=(self.projection,), daemon=True).start()
        self._show_status()

    def _extend(self, projection: Projection) -> None:
        """Thread: follow the index with the projection until both are complete (or replaced)."""
        index = projection.index
        while not self._stop.is_set() and projection is self.projection:
            projection.extend(self._stop)
            if index.done.is_set() and projection.processed >= index.line_count:
                return
            time.sleep(0.05)

    def on_line_view_user_moved(self) -> None:
        self._pending_line = None  # the user moved: forget where a filter change meant to put the cursor

    def current_line(self) -> int | None:
        if self.projection is None or self.projection.rows == 0:
            return None
        return self.projection.line_of(self.lines.cursor)

    def goto_line(self, line: int) -> None:
        """Put the cursor on a 1-based line (or the next visible one), now or when it is indexed."""
        self._pending_line = line - 1
        self._resolve_pending()

    def _resolve_pending(self) -> None:
        if self._pending_line is None or self.projection is None or self.index is None:
            return
        target = self._pending_line
        ready = (self.projection.filter.identity and target < self.index.line_count) or (
            not self.projection.filter.identity and self.projection.processed > target)
        if not ready and not (self.index.done.is_set() and self.projection.processed >= self.index.line_count):
            return
        self._pending_line = None
        row, _exact = self.projection.row_of(target)
        self.lines.goto(row)

    # -- the tick: progress, pending jumps, follow ----------------------------------------------

    def _tick(self) -> None:
        if self.index is None:
            return
        if self.follow and self.index.done.is_set() and self.index.update():
            if self.projection is not None and not self.projection.filter.identity:
                self.projection.extend()
            self.lines.follow_end()
            self.racoon.schedule_reanalysis()
        self.lines.sync()
        self._resolve_pending()
        self._show_status()

    def _show_status(self) -> None:
        status = self.query_one("#log-status", Static)
        if self.index is None:
            status.update("No racoon log given. Start with a log file: racoondbg tui racoon.log ...")
            return
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(self.index.name, style="bold")
        text.append(f" · {self.index.line_count:,} lines")
        if self.index.error:
            text.append(f" · cannot read: {self.index.error}", style="red")
        elif not self.index.done.is_set():
            text.append(f" · indexing {self.progress:.0%}", style="italic")
        elif self.projection is not None and not self.projection.filter.identity:
            if self.projection.processed < self.index.line_count:
                text.append(f" · filtering {self.projection.processed / max(1, self.index.line_count):.0%}",
                            style="italic")
            text.append(f" · {self.projection.rows:,} shown")
        text.append(f" · {self.filter.describe()}")
        if self.follow:
            text.append(" · following", style="bold")
        if self.message:
            text.append(f" · {self.message}")
        status.update(text)

    # -- actions ----------------------------------------------------------------------------------

    def action_cycle_level(self) -> None:
        self._apply_filter(self.filter.next_level())

    def action_filter(self, kind: str) -> None:
        label = "filter in (keep lines matching)" if kind == "in" else "filter out (hide lines matching)"

        def apply(pattern: str) -> None:
            if not _valid(pattern, self):
                return
            if kind == "in":
                self._apply_filter(replace(self.filter, include=(*self.filter.include, pattern)))
            else:
                self._apply_filter(replace(self.filter, exclude=(*self.filter.exclude, pattern)))

        self.racoon.prompt(label, apply, placeholder="regex (smart case)")

    def action_clear_filters(self) -> None:
        self._apply_filter(LogFilter(fold_hex=self.filter.fold_hex))

    def action_toggle_hex(self) -> None:
        self._apply_filter(replace(self.filter, fold_hex=not self.filter.fold_hex))

    def action_goto(self) -> None:
        def jump(text: str) -> None:
            if self.index is None:
                return
            if text.strip().isdigit():
                self.goto_line(int(text.strip()))
                return
            target = parse_time_query(text, first_time(self.index))
            if target is None:
                self.notify("Give a time (10:05, 10:05:30, 2014-03-01 10:05, Mar 1 10:05) or a line number.",
                            severity="warning")
                return
            self.goto_line(line_at_time(self.index, target) + 1)

        self.racoon.prompt("go to", jump, placeholder="time (10:05, 2014-03-01 10:05) or line number")

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow
        if self.follow:
            self.lines.follow_end()
        self._show_status()

    def action_switch_log(self, step: int) -> None:
        logs = self.session.log_files
        if len(logs) < 2 or self.source is None:
            return
        names = [s.name for s in logs]
        here = names.index(self.source.name) if self.source.name in names else 0
        self.open(logs[(here + step) % len(logs)])

    # -- search -----------------------------------------------------------------------------------

    def search_hint(self) -> str:
        return "search the log (regex, smart case)"

    def search(self, query: str, *, backwards: bool = False) -> None:
        if not _valid(query, self):
            return
        self._query = query
        self._pattern = compile_user_pattern(query)
        if self.model is not None:
            self.model.pattern = _str_pattern(self._pattern)
        self._find(backwards)

    def action_next_match(self, backwards: int) -> None:
        if self._pattern is None:
            self.racoon.action_search()
            return
        self._find(bool(backwards))

    def _find(self, backwards: bool) -> None:
        if self.projection is None or self._pattern is None:
            return
        projection, pattern = self.projection, self._pattern
        start = self.current_line() or 0
        self.message = f"searching /{self._query}/ …"
        self._show_status()

        def work() -> None:
            found = search(projection, pattern, start, backwards=backwards, stop=self._stop)
            self.app.call_from_thread(self._found, found)

        threading.Thread(target=work, daemon=True).start()

    def _found(self, line: int | None) -> None:
        self.message = f"/{self._query}/ not found" if line is None else f"/{self._query}/ line {line + 1}"
        if line is not None:
            self.goto_line(line + 1)
        self.lines.refresh()
        self._show_status()

    # -- the rest of the View protocol ------------------------------------------------------------

    def session_changed(self) -> None:
        if self.source is None:
            self._open_first()
        elif self.model is not None and self.index is not None:
            self.model.marks = self.session.findings_by_line(self.index.name)
            self.lines.refresh()

    def crumbs(self) -> list[str]:
        if self.index is None:
            return []
        line = self.current_line()
        return [self.index.name] + ([f"line {line + 1}"] if line is not None else [])

    def focus_main(self) -> None:
        self.lines.focus()

    def state(self) -> Any:
        return (self.source, self.current_line())

    def restore(self, state: Any) -> None:
        source, line = state
        if source is not None:
            self.open(source, None if line is None else line + 1)


def _valid(pattern: str, view: View) -> bool:
    try:
        compile_user_pattern(pattern)
    except re.error as err:
        view.notify(f"Not a valid regular expression: {err}", severity="error")
        return False
    return True


def _str_pattern(pattern: re.Pattern[bytes] | None) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    return re.compile(pattern.pattern.decode("utf-8", "surrogateescape"), pattern.flags)
