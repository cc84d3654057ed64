"""The Peers view: per-peer status, and a ladder of each negotiation (log events and packets together).

The table lists every peer the logs and captures mention; the ladder below draws the selected
peer's negotiations one at a time (``[`` / ``]``), the failing step highlighted. Enter on a rung
opens its evidence: the log line or the capture frame.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from racoondbg.addresses import ip_of
from racoondbg.live.status import peer_rows
from racoondbg.tui.components.empty import EmptyState
from racoondbg.tui.components.lineview import LineView, StyleOf
from racoondbg.tui.components.severity import rich_style
from racoondbg.tui.components.tables import fill_table
from racoondbg.tui.ladder import MAX_ATTEMPTS, Attempt, Rung, attempts_for, peers_of
from racoondbg.tui.views.base import View

#: Width of the ladder between its two rails.
SPAN = 44


class LadderModel:
    """One :class:`Attempt` as rows of a :class:`LineView`."""

    def __init__(self, attempt: Attempt | None) -> None:
        self.attempt = attempt

    @property
    def rows(self) -> int:
        return 1 + len(self.attempt.rungs) if self.attempt else 0

    def rung(self, row: int) -> Rung | None:
        return self.attempt.rungs[row - 1] if self.attempt and row >= 1 else None

    def render_row(self, row: int, style: StyleOf) -> tuple[Text, Text]:
        assert self.attempt is not None
        if row == 0:
            head = Text(f"{'':>9} ")
            head.append(f"{self.attempt.left:<{SPAN // 2}}{self.attempt.right:>{SPAN // 2 + 1}}", style="bold")
            return Text(), head
        rung = self.attempt.rungs[row - 1]
        gutter = Text(f"{rung.when:>9} ", style=style("time"))
        body = Text("│", style=style("gutter"))
        tone = style(rung.style) if rung.style else None
        if rung.kind in ("right", "left"):
            label = f" {rung.label} "
            shaft = "─" * max(1, SPAN - 1 - len(label))
            text = f"{label}{shaft}▶" if rung.kind == "right" else f"◀{shaft}{label}"
            body.append(text[:SPAN], style=tone or "")
            body.append("│", style=style("gutter"))
        elif rung.kind == "gap":
            body.append(f" ⋮ {rung.label}".ljust(SPAN), style=style("dim"))
            body.append("│", style=style("gutter"))
        else:
            body.append(f" {rung.mark or '·'} {rung.label}", style=tone or "")
            return gutter, body
        if rung.mark:
            body.append(f" {rung.mark}", style=tone or "")
        return gutter, body


def pick_attempt(attempts: list[Attempt]) -> int:
    """The attempt to show first: the last failed one, else the last that did not succeed, else the last."""
    for wanted in (lambda a: a.failed, lambda a: not a.succeeded):
        found = [i for i, a in enumerate(attempts) if wanted(a)]
        if found:
            return found[-1]
    return len(attempts) - 1


class PeersView(View):
    """Per-peer status table above, the selected peer's ladder below."""

    LABEL = "Peers"
    HELP = "peers.md"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left_square_bracket", "attempt(-1)", "Prev try"),
        Binding("right_square_bracket", "attempt(1)", "Next try"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.peer: str | None = None
        self.attempts: list[Attempt] = []
        self.index = 0

    def compose(self) -> ComposeResult:
        yield EmptyState("log or capture", ("log", "pcap"), id="peers-empty")
        table: DataTable[Any] = DataTable(id="peers-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static("", id="ladder-title", classes="status")
        yield LineView(id="ladder")

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one("#peers-table", DataTable)

    @property
    def ladder(self) -> LineView:
        return self.query_one("#ladder", LineView)

    def on_mount(self) -> None:
        self.session_changed()

    def _evidence(self) -> tuple[list[Any], list[Any]]:
        ev = self.session.evidence
        return (list(ev.logs), list(ev.captures)) if ev else ([], [])

    def session_changed(self) -> None:
        logs, captures = self._evidence()
        peers = peers_of(logs, captures)
        has = bool(peers)
        self.query_one("#peers-empty").display = not has
        for widget in (self.table, self.ladder, self.query_one("#ladder-title")):
            widget.display = has
        table = self.table
        wire = self._on_wire()
        columns = ("peer", "phase 1", "phase 2", "tries", *(("ph1 on wire",) if wire else ()), "findings", "problem")
        rows = []
        for peer in peers:
            cells = self._row(peer, logs)
            if wire:
                cells = (*cells[:4], wire.get(ip_of(peer) or peer) or "", *cells[4:])
            rows.append((peer, cells))
        fill_table(table, columns, rows)
        if has:
            keep = self.peer if self.peer in peers else peers[0]
            table.move_cursor(row=peers.index(keep))
            self.show_peer(keep)

    def _on_wire(self) -> dict[str, str | None]:
        """Per peer address, the log's phase-1 attempts the captures show (``1/2, last MM2``); empty
        unless there are both logs and captures."""
        ev = self.session.evidence
        if ev is None or not ev.logs or not ev.captures:
            return {}
        return {row.peer: row.wire() for row in peer_rows(ev)}

    def _row(self, peer: str, logs: list[Any]) -> tuple[Any, ...]:
        status = next((log.peers[peer] for log in logs if peer in log.peers), None)
        found = [f for f in self.session.findings if f.peer == peer]
        worst = max((f.severity for f in found), default=None)
        colour = rich_style(worst) if worst is not None else ""
        marks = Text(f"{len(found)}", style=colour) if found else Text("0", style="dim")
        if status is None:
            return (peer, "from capture", "", "", marks, "")
        p1 = Text(status.phase1, style="red" if "fail" in status.phase1 else "")
        p2 = Text(status.phase2, style="red" if "fail" in status.phase2 else "")
        return (peer, p1, p2, str(status.attempts), marks, status.problem or "")

    def show_peer(self, peer: str) -> None:
        logs, captures = self._evidence()
        self.peer = peer
        self.attempts = attempts_for(peer, logs, captures)
        self.index = pick_attempt(self.attempts)
        self._draw()

    def _draw(self) -> None:
        title = self.query_one("#ladder-title", Static)
        if not self.attempts:
            title.update(f"{self.peer}: no negotiation recorded")
            self.ladder.set_model(LadderModel(None))
            return
        attempt = self.attempts[self.index]
        last = f" of the last {MAX_ATTEMPTS}" if len(self.attempts) == MAX_ATTEMPTS else ""
        title.update(Text.assemble((f"{self.index + 1}/{len(self.attempts)}{last} ", "bold"), attempt.title,
                                   ("  [ ] other tries · Enter opens the evidence", "dim")))
        self.ladder.set_model(LadderModel(attempt))
        rungs = attempt.rungs
        failing = next((i for i, r in enumerate(rungs) if r.style == "error"), None)
        self.ladder.goto(1 + failing if failing is not None else 1)
        self.racoon.update_crumbs()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        row = self.table.cursor_row  # the cursor, not the event's row: a late event must not undo a jump
        keys = [str(k.value) for k in self.table.rows]
        if 0 <= row < len(keys) and keys[row] != self.peer:
            self.show_peer(keys[row])

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.ladder.focus()

    def on_line_view_activated(self, event: LineView.Activated) -> None:
        model = self.ladder.model
        rung = model.rung(event.row) if isinstance(model, LadderModel) else None
        if rung is not None and rung.ref is not None:
            self.racoon.jump_to(rung.ref)

    def action_attempt(self, step: int) -> None:
        if self.attempts:
            self.index = (self.index + step) % len(self.attempts)
            self._draw()

    def open_failing(self, peer: str) -> None:
        """Show ``peer``'s last failing negotiation (the Findings view's way in)."""
        keys = [str(k.value) for k in self.table.rows]
        if peer in keys:
            self.table.move_cursor(row=keys.index(peer))
            self.show_peer(peer)

    def search_hint(self) -> str:
        return "find a peer by address"

    def search(self, query: str, *, backwards: bool = False) -> None:
        keys = [str(k.value) for k in self.table.rows]
        for i, key in enumerate(keys):
            if query in key:
                self.table.move_cursor(row=i)
                self.show_peer(key)
                return
        self.notify(f"No peer matches {query!r}.", severity="warning")

    def crumbs(self) -> list[str]:
        if self.peer is None:
            return []
        return [self.peer] + ([f"try {self.index + 1}"] if self.attempts else [])

    def focus_main(self) -> None:
        if self.table.display:
            self.table.focus()
        else:
            self.query_one("#peers-empty").focus()

    def state(self) -> Any:
        return (self.peer, self.index)

    def restore(self, state: Any) -> None:
        peer, index = state
        if peer is not None:
            self.open_failing(peer)
            if index < len(self.attempts):
                self.index = index
                self._draw()
