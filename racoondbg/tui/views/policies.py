"""The Policies view: the kernel's SPD and SAD, a policy's SAs, mismatches and duplicates marked.

Selecting a policy lists the SAs that can serve it (``a`` shows every SA); an SA whose mode differs
from what the policy asks is marked ``mode≠``, SAs that pile up for the same endpoints ``dup``,
and rows a finding points at carry its mark. Keys are never shown.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterable
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from racoondbg.model.finding import EvidenceRef, Finding
from racoondbg.model.kernel import Policy, SecurityAssociation
from racoondbg.tui.components.empty import EmptyState
from racoondbg.tui.components.severity import rich_style
from racoondbg.tui.components.tables import fill_table
from racoondbg.tui.views.base import View

#: SA states that count when looking for duplicates (dead and larval SAs do not carry traffic).
LIVE_STATES = frozenset({"mature", "dying"})


def serves(sa: SecurityAssociation, policy: Policy) -> str | None:
    """Whether ``sa`` is one the kernel could use for ``policy``: "yes", "mode" (same ends, other
    mode), or None."""
    for request in policy.requests:
        if request.proto != sa.proto:
            continue
        if request.src and request.dst:
            same_ends = (sa.src, sa.dst) == (request.src, request.dst)
        else:  # transport without explicit ends: the SA's addresses fall in the selector
            same_ends = _within(sa.src, policy.src_net) and _within(sa.dst, policy.dst_net)
        if same_ends:
            return "yes" if sa.mode == request.mode or request.mode == "any" else "mode"
    return None


def _within(address: str, network: ipaddress.IPv4Network | ipaddress.IPv6Network | None) -> bool:
    if network is None:
        return False
    try:
        return ipaddress.ip_address(address.split("[", 1)[0]) in network
    except ValueError:
        return False


def duplicates(sas: Iterable[SecurityAssociation]) -> set[int]:
    """ids of live SAs that share endpoints, protocol, mode and reqid with another live SA."""
    live = [sa for sa in sas if sa.state in LIVE_STATES]
    counts = Counter(sa.key for sa in live)
    return {id(sa) for sa in live if counts[sa.key] > 1}


class PoliciesView(View):
    """SPD above, SAD below."""

    LABEL = "Policies"
    HELP = "policies.md"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("a", "toggle_all", "All SAs")]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.policies: list[Policy] = []
        self.sas: list[SecurityAssociation] = []
        self.policy: Policy | None = None
        self.show_all = False
        self._dups: set[int] = set()

    def compose(self) -> ComposeResult:
        yield EmptyState("SPD/SAD", ("spd", "sad"), id="policies-empty")
        yield Static("", id="spd-title", classes="status")
        yield DataTable(id="spd-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="sad-title", classes="status")
        yield DataTable(id="sad-table", cursor_type="row", zebra_stripes=True)

    @property
    def spd(self) -> DataTable[Any]:
        return self.query_one("#spd-table", DataTable)

    @property
    def sad(self) -> DataTable[Any]:
        return self.query_one("#sad-table", DataTable)

    def on_mount(self) -> None:
        self.session_changed()

    def session_changed(self) -> None:
        ev = self.session.evidence
        self.policies = list(ev.spd.policies) if ev and ev.spd else [
            p for s in (ev.scripts if ev else []) for p in s.policies]
        self.sas = list(ev.sad.sas) if ev and ev.sad else [sa for s in (ev.scripts if ev else []) for sa in s.sas]
        self._dups = duplicates(self.sas)
        has = bool(self.policies or self.sas)
        self.query_one("#policies-empty").display = not has
        for widget in self.query("#spd-title, #spd-table, #sad-title, #sad-table"):
            widget.display = has
        fill_table(self.spd, ("", "line", "selector", "dir", "action", "requests"), [
            (str(i), (self._mark(p.location.path, p.location.line), str(p.location.line or ""), p.selector_text(),
                      p.direction, p.action, " ".join(r.text() for r in p.requests)))
            for i, p in enumerate(self.policies)])
        source = self.policies[0].location.path if self.policies else "no SPD"
        self.query_one("#spd-title", Static).update(f"SPD: {len(self.policies)} policies ({source}) · Enter: its SAs")
        self.policy = self.policies[0] if self.policies else None
        self._fill_sad()

    def _mark(self, path: str, line: int | None) -> Text:
        found = self._findings_at(path, line)
        if not found:
            return Text(" ")
        worst = max(f.severity for f in found)
        return Text("●", style=rich_style(worst))

    def _findings_at(self, path: str, line: int | None) -> list[Finding]:
        return [f for f in self.session.findings
                if any(r.path == path and r.line == line for r in f.evidence)] if line else []

    def _fill_sad(self) -> None:
        policy = self.policy
        rows: list[tuple[str, tuple[Any, ...]]] = []
        for i, sa in enumerate(self.sas):
            fit = serves(sa, policy) if policy is not None else None
            if not self.show_all and policy is not None and fit is None:
                continue
            notes = []
            if fit == "mode":
                notes.append(("mode≠ ", "bold red"))
            if id(sa) in self._dups:
                notes.append(("dup ", "yellow"))
            mark = self._mark(sa.location.path, sa.location.line)
            algs = ", ".join(a for a in (sa.enc_alg, sa.auth_alg, sa.comp_alg) if a)
            rows.append((str(i), (mark, str(sa.location.line or ""), f"{sa.src} → {sa.dst}", sa.proto,
                                  Text(sa.mode, style="bold red" if fit == "mode" else ""), f"0x{sa.spi:08x}",
                                  str(sa.reqid), sa.state, Text.assemble(*notes), algs)))
        fill_table(self.sad, ("", "line", "from → to", "proto", "mode", "spi", "reqid", "state", "!", "algorithms"),
                   rows)
        shown = len(rows)
        which = ("every SA" if self.show_all or policy is None
                 else f"SAs for {policy.selector_text()} {policy.direction}")
        self.query_one("#sad-title", Static).update(f"SAD: {which} ({shown} of {len(self.sas)}) · a: all / "
                                                    "this policy's · keys are never shown")
        self.racoon.update_crumbs()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        # the table's cursor, not the event's row: a late event must not undo a jump
        row = self.spd.cursor_row
        if event.data_table is self.spd and 0 <= row < len(self.policies) and self.policies[row] is not self.policy:
            self.policy = self.policies[row]
            self._fill_sad()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table is self.spd:
            self.sad.focus()

    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self._fill_sad()

    def show_ref(self, ref: EvidenceRef) -> bool:
        """Select the policy or SA a finding points at; False when none is at that line."""
        for i, policy in enumerate(self.policies):
            if _at(policy.location, ref):
                self.spd.move_cursor(row=i)
                self.policy = policy
                self._fill_sad()
                self.call_after_refresh(self.spd.focus)
                return True
        for i, sa in enumerate(self.sas):
            if _at(sa.location, ref):
                self.show_all = True
                self._fill_sad()
                keys = [str(k.value) for k in self.sad.rows]
                self.sad.move_cursor(row=keys.index(str(i)))
                self.call_after_refresh(self.sad.focus)
                return True
        return False

    def search_hint(self) -> str:
        return "find a policy (address, direction) or an SA (address, spi)"

    def search(self, query: str, *, backwards: bool = False) -> None:
        q = query.lower()
        for i, policy in enumerate(self.policies):
            if q in policy.summary().lower():
                self.spd.move_cursor(row=i)
                return
        for i, sa in enumerate(self.sas):
            if q in sa.summary().lower():
                self.show_all = True
                self._fill_sad()
                self.sad.move_cursor(row=[str(k.value) for k in self.sad.rows].index(str(i)))
                return
        self.notify(f"No policy or SA matches {query!r}.", severity="warning")

    def crumbs(self) -> list[str]:
        return [f"{self.policy.selector_text()} {self.policy.direction}"] if self.policy else []

    def focus_main(self) -> None:
        (self.spd if self.spd.display else self.query_one("#policies-empty")).focus()

    def state(self) -> Any:
        return self.policy

    def restore(self, state: Any) -> None:
        if state in self.policies:
            self.spd.move_cursor(row=self.policies.index(state))


def _at(location: Any, ref: EvidenceRef) -> bool:
    if location.path != ref.path or ref.line is None or location.line is None:
        return False
    return bool(location.line <= ref.line <= (location.end_line or location.line))
