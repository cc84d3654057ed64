"""The Messages view: every ISAKMP message of the captures, and the selected one's payloads.

The payload tree goes SA → proposal → transform → attributes, with notify and vendor-ID names;
an encrypted message shows its header only (the rest is ciphertext).
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Tree
from textual.widgets.tree import TreeNode

from racoondbg.model.packets import (
    Capture,
    CertDetail,
    DeleteDetail,
    FragmentDetail,
    HashDetail,
    IdDetail,
    IsakmpMessage,
    ModeCfgDetail,
    NatOaDetail,
    NotifyDetail,
    Payload,
    SaDetail,
    VendorIdDetail,
)
from racoondbg.tui.components.empty import EmptyState
from racoondbg.tui.components.tables import fill_table
from racoondbg.tui.views.base import View

#: Messages listed at a time: a capture of millions is listed a window at a time, and a finding's
#: frame or a frame number searched for moves the window.
WINDOW = 20_000


def payload_label(payload: Payload) -> Text:
    """One payload's line in the tree: its name and what matters in it."""
    detail = payload.detail
    text = Text(payload.name, style="bold")
    extra = ""
    if isinstance(detail, NotifyDetail):
        text.stylize("bold red" if detail.code < 8192 else "bold")
        extra = f" {detail.name} ({detail.code}) {detail.protocol}" + (f" spi {detail.spi}" if detail.spi else "")
    elif isinstance(detail, VendorIdDetail):
        extra = f" {detail.name or 'unknown'}" + ("" if detail.name else f" {detail.hex[:32]}")
    elif isinstance(detail, IdDetail):
        extra = f" {detail.id_type} {detail.value}" + (f" proto {detail.protocol} port {detail.port}"
                                                        if detail.protocol or detail.port else "")
    elif isinstance(detail, SaDetail):
        extra = f" doi {detail.doi} situation {detail.situation}, {len(detail.proposals)} proposal(s)"
    elif isinstance(detail, DeleteDetail):
        extra = f" {detail.protocol} spi {', '.join(detail.spis)}"
    elif isinstance(detail, CertDetail):
        extra = f" {detail.encoding}, {detail.bytes} bytes"
    elif isinstance(detail, HashDetail):
        extra = f" {detail.bytes} bytes" + (f" {detail.hex[:16]}…" if detail.hex else "")
    elif isinstance(detail, NatOaDetail):
        extra = f" {detail.id_type} {detail.address}"
    elif isinstance(detail, ModeCfgDetail):
        extra = f" {detail.kind} id {detail.identifier}"
    elif isinstance(detail, FragmentDetail):
        extra = f" id {detail.fragment_id} #{detail.number}{' last' if detail.last else ''}, {detail.bytes} bytes"
    else:
        extra = f" {payload.length} bytes"
    text.append(extra)
    return text


def fill_payloads(root: TreeNode[Any], msg: IsakmpMessage) -> None:
    """The message's header and payload chain as tree nodes."""
    flags = "".join(name for bit, name in ((1, "E"), (2, "C"), (4, "A")) if msg.flags & bit) or "-"
    root.add_leaf(f"header: {msg.exchange} ({msg.exchange_type}) v{msg.version} flags {flags} "
                  f"mid {msg.message_id:08x} len {msg.length}")
    root.add_leaf(f"cookies: i {msg.icookie}  r {msg.rcookie}")
    if msg.encrypted:
        root.add_leaf(Text("encrypted: the payloads after the header are ciphertext", style="italic"))
    for payload in msg.payloads:
        node = root.add(payload_label(payload), expand=True, data=payload)
        detail = payload.detail
        if isinstance(detail, SaDetail):
            for proposal in detail.proposals:
                p_node = node.add(f"proposal #{proposal.number} {proposal.protocol}"
                                  + (f" spi {proposal.spi}" if proposal.spi else ""), expand=True)
                for transform in proposal.transforms:
                    t_node = p_node.add(f"transform #{transform.number} {transform.name}", expand=True)
                    for attr in transform.attributes:
                        t_node.add_leaf(f"{attr.name} = {attr.text}")
        elif isinstance(detail, ModeCfgDetail):
            for attr in detail.attributes:
                node.add_leaf(f"{attr.name} = {attr.text}")
        else:
            node.allow_expand = False


class MessagesView(View):
    """The packet list above, the selected message's payload tree below."""

    LABEL = "Messages"
    HELP = "messages.md"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.messages: list[tuple[Capture, IsakmpMessage]] = []
        """The listed messages: a window of at most :data:`WINDOW` of every capture's messages."""
        self.window_start = 0
        """Where the window begins, counting every capture's messages one after the other."""
        self.total = 0
        self.captures: list[Capture] = []
        self.current: tuple[Capture, IsakmpMessage] | None = None

    def compose(self) -> ComposeResult:
        yield EmptyState("capture", ("pcap",), id="messages-empty")
        yield DataTable(id="messages-table", cursor_type="row", zebra_stripes=True)
        yield Tree[Any]("message", id="payload-tree")

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one("#messages-table", DataTable)

    def on_mount(self) -> None:
        self.session_changed()

    def session_changed(self) -> None:
        ev = self.session.evidence
        self.captures = list(ev.captures) if ev else []
        self.total = sum(len(c.messages) for c in self.captures)
        has = bool(self.total)
        self.query_one("#messages-empty").display = not has
        self.table.display = has
        self.query_one("#payload-tree").display = has
        self._list(0)
        if has:
            self._show(0)

    def _list(self, start: int) -> None:
        """List the window of messages that begins at ``start``."""
        self.window_start, self.messages, skip = start, [], start
        for capture in self.captures:
            count = len(capture.messages)
            if skip >= count:
                skip -= count
                continue
            take = min(count - skip, WINDOW - len(self.messages))
            self.messages += [(capture, m) for m in capture.messages[skip:skip + take]]
            skip = 0
            if len(self.messages) >= WINDOW:
                break
        several = len(self.captures) > 1
        starts = {id(c): c.messages[0].time for c in self.captures if c.messages}
        rows: list[tuple[str, tuple[Any, ...]]] = []
        for i, (capture, msg) in enumerate(self.messages):
            frame = f"{capture.location.path}#{msg.frame}" if several else str(msg.frame)
            notes = []
            if msg.encrypted:
                notes.append("enc")
            if msg.retransmit_of:
                notes.append(f"resend of #{msg.retransmit_of}")
            notes += list(msg.notify)
            notes += list(msg.vendor_ids)
            ends = f"{msg.src}:{msg.sport} → {msg.dst}:{msg.dport}"
            style = "bold red" if msg.notify else "yellow" if msg.retransmit_of else ""
            rows.append((str(i), (frame, f"{msg.time - starts[id(capture)]:+.3f}", ends, msg.exchange,
                                  msg.step or "", Text(", ".join(notes), style=style))))
        fill_table(self.table, ("frame", "time", "from → to", "exchange", "step", "notes"), rows)

    def _show(self, i: int) -> None:
        self.current = self.messages[i]
        msg = self.current[1]
        tree = self.query_one("#payload-tree", Tree)
        tree.clear()
        tree.root.set_label(f"frame {msg.frame}: {msg.src} → {msg.dst} {msg.step or msg.exchange}")
        tree.root.expand()
        fill_payloads(tree.root, msg)
        self.racoon.update_crumbs()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        row = self.table.cursor_row  # the cursor, not the event's row: a late event must not undo a jump
        if 0 <= row < len(self.messages) and self.messages[row] is not self.current:
            self._show(row)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.query_one("#payload-tree").focus()

    def show_frame(self, name: str, frame: int) -> bool:
        """Select the message of a capture frame (a finding's evidence), listing the window around it
        when it is not listed; False when there is none."""
        before = 0
        for capture in self.captures:
            frames = capture.messages.frames
            row = bisect_left(frames, frame)
            if capture.location.path == name and row < len(frames) and frames[row] == frame:
                place = before + row
                if not self.window_start <= place < self.window_start + len(self.messages):
                    self._list(max(0, place - WINDOW // 2))
                self.table.move_cursor(row=place - self.window_start)
                self._show(place - self.window_start)
                return True
            before += len(frames)
        return False

    def search_hint(self) -> str:
        return "find a message (frame number, address, exchange, step, notify name)"

    def search(self, query: str, *, backwards: bool = False) -> None:
        if not self.messages:
            return
        if query.isdigit() and any(self.show_frame(c.location.path, int(query)) for c in self.captures):
            return  # a frame number, listed or not
        start = self.table.cursor_row
        count = len(self.messages)
        q = query.lower()
        for k in range(1, count + 1):
            i = (start - k if backwards else start + k) % count
            _, msg = self.messages[i]
            hay = f"{msg.frame} {msg.src} {msg.dst} {msg.exchange} {msg.step} {' '.join(msg.notify)}".lower()
            if q in hay:
                self.table.move_cursor(row=i)
                return
        among = f" among the {self._listed()}" if count < self.total else ""
        self.notify(f"No message matches {query!r}{among}.", severity="warning")

    def _listed(self) -> str:
        first = self.window_start + 1
        return f"listed messages {first}-{first + len(self.messages) - 1} of {self.total}"

    def crumbs(self) -> list[str]:
        if self.current is None:
            return []
        capture, msg = self.current
        listed = f" ({self._listed()})" if len(self.messages) < self.total else ""
        return [f"{capture.location.path}#frame {msg.frame}{listed}"]

    def focus_main(self) -> None:
        (self.table if self.table.display else self.query_one("#messages-empty")).focus()

    def state(self) -> Any:
        return self.current

    def restore(self, state: Any) -> None:
        if state is not None:
            capture, msg = state
            self.show_frame(capture.location.path, msg.frame)
