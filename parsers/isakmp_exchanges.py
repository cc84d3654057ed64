"""Grouping ISAKMP messages into exchanges: roles, step names, retransmissions, IKE fragment sets.

Phase-1 messages share the initiator cookie and message id 0 (the responder cookie is still zero in
the first message), so an exchange is keyed by initiator cookie + message id, and by the exchange
type too when the message id is 0. A retransmission is the same bytes sent again by the same side.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field

from racoondbg.model.packets import ZERO_COOKIE, Exchange, FragmentDetail, IkeFragmentSet, IsakmpMessage, MessageTable

from . import isakmp_names as names

#: An exchange silent for this long (capture time) is over: later messages with its cookies and
#: message id start a new one. racoon gives up after counter x interval (default 50 s).
IDLE_SECONDS = 600.0
#: Exchanges in flight at most: beyond, the quarter silent for longest are over (a flood of exchanges,
#: such as a hundred thousand DPD probes in a few minutes, must not hold them all for IDLE_SECONDS).
MAX_OPEN = 32768
_PHASE1 = (2, 4)


class ExchangeBuilder:
    """Feed messages in capture order with :meth:`add`, then call :meth:`finish`.

    With ``table`` (loading), every message is written to it as it is grouped, and every exchange
    to its :class:`ExchangeTable` as it begins and ends; exchanges hold no messages. Without
    (streaming), an exchange holds its messages until it is over: ``closed`` is called when it goes
    idle (and for every exchange still open at :meth:`finish`) and the builder forgets it, so memory
    holds only the exchanges in flight (:data:`MAX_OPEN` at most); no IKE fragment sets are kept either.
    """

    def __init__(self, table: MessageTable | None = None, closed: Callable[[Exchange], None] | None = None) -> None:
        self.closed = closed
        self.table = table
        self._open: dict[tuple[str, int, int], _Open] = {}
        """The exchanges in flight, in the order they began."""
        self._fragments: dict[tuple[str, int], IkeFragmentSet] = {}
        self._last_sweep = 0.0

    def _sweep(self, now: float) -> None:
        """Forget the grouping state of exchanges idle for longer than any retransmission schedule.

        Keeps memory proportional to the exchanges in flight, not to the whole capture.
        """
        self._last_sweep = now
        for key in [k for k, state in self._open.items() if now - state.last > IDLE_SECONDS]:
            self._close(self._open.pop(key))

    def _evict(self, keep: tuple[str, int, int]) -> None:
        """Too many exchanges in flight: the quarter silent for longest are over (all but ``keep``, which
        has just begun). Sorting a batch at a time costs little per exchange."""
        open_ = self._open
        by_silence = sorted((k for k in open_ if k != keep), key=lambda k: open_[k].last)
        for key in by_silence[:len(open_) - MAX_OPEN * 3 // 4]:
            self._close(open_.pop(key))

    def finish(self) -> None:
        """Close every exchange still open (end of the capture)."""
        for state in self._open.values():
            self._close(state)
        self._open.clear()
        if self.table is not None:
            self.table.flush()

    def _close(self, state: _Open) -> None:
        """An exchange is over: no message is added to it any more."""
        if self.table is not None:
            self.table.exchanges.end(state.exchange, state.rows)
        if self.closed is not None:
            self.closed(state.exchange)

    def add(self, msg: IsakmpMessage, digest: int) -> Exchange:
        """Group ``msg`` and return its exchange; ``digest`` identifies its bytes (equal digests from one
        side = a retransmission)."""
        w, time = msg.wire, msg.time
        if time - self._last_sweep > IDLE_SECONDS:
            self._sweep(time)
        mid = msg.message_id
        key = (msg.icookie, mid, w.exchange_type if mid == 0 else -1)
        state = self._open.get(key)
        if state is None:
            state = self._open[key] = self._start(msg)
            if len(self._open) > MAX_OPEN:
                self._evict(key)
        ex = state.exchange
        state.last = time
        rcookie = msg.rcookie
        if rcookie != ex.rcookie and ex.rcookie == ZERO_COOKIE:
            ex.rcookie = rcookie
        src = w.src
        if src != w.dst:
            role = "initiator" if src == ex.initiator else "responder"
        else:  # talking to itself (loopback tests): tell the sides apart by port
            role = "initiator" if w.sport == state.first_sport else "responder"
        msg.role = role
        if role == "responder":
            ex.answered = True
        sent_key = (role, digest)
        original = state.sent.get(sent_key)
        table = self.table
        if table is None:  # streaming: the exchange keeps its messages
            ex.held.append(msg)
        fragment = self._fragment(msg) if w.next_payload == 132 else None
        if original is not None:
            msg.retransmit_of, msg.step = original
        else:
            step = msg.step = self._step(state, msg, fragment)
            state.sent[sent_key] = (msg.frame, step)
            steps = ex.steps
            if not steps or steps[-1] != step:
                steps.append(step)
        if table is not None:
            state.rows.append(table.append(msg, ex))
        return ex

    def _start(self, msg: IsakmpMessage) -> _Open:
        """The state of the exchange ``msg`` begins."""
        initiator, responder = msg.src, msg.dst
        if _sent_by_responder(msg):
            initiator, responder = responder, initiator
        ex = Exchange(msg.icookie, msg.rcookie, msg.message_id, msg.exchange_type, msg.exchange, initiator, responder)
        if self.table is not None:
            ex.number = self.table.exchanges.begin(ex)
        return _Open(ex, first_sport=msg.sport)

    def _fragment(self, msg: IsakmpMessage) -> FragmentDetail | None:
        """Record a Cisco-style fragment; returns it, or None when the message is not one."""
        detail = next((p.detail for p in msg.payloads if isinstance(p.detail, FragmentDetail)), None)
        if detail is None:
            return None
        if self.table is None:
            return detail
        key = (msg.icookie + msg.src, detail.fragment_id)
        seen = self._fragments.get(key)
        numbers = tuple(sorted({*(seen.numbers if seen else ()), detail.number}))
        last = detail.number if detail.last else (seen.last_number if seen else None)
        self._fragments[key] = IkeFragmentSet(seen.location if seen else msg.location, msg.src, msg.dst,
                                              msg.icookie, detail.fragment_id, numbers, last)
        return detail

    @staticmethod
    def _step(state: _Open, msg: IsakmpMessage, fragment: FragmentDetail | None) -> str:
        ex = state.exchange
        if fragment is not None and ex.steps and fragment.number > 1:
            return ex.steps[-1]
        w = msg.wire
        exch = w.exchange_type
        if exch == 2:
            state.count = _main_mode_step(msg, state.count)
            return _MM[state.count]
        if exch in (5, 6):
            return "INFO" if exch == 5 else "TXN"
        if w.version[0] == "2":
            return w.exchange.removeprefix("IKEv2 ")
        state.count += 1
        if exch == 4:
            if msg.role == "responder":
                return "AM2"
            if msg.payloads_of(1) or (state.count == 1 and msg.rcookie == ZERO_COOKIE):
                return "AM1"
            return "AM3"
        return sys.intern(f"{names.EXCHANGE_SHORT.get(exch, f'X{exch}')}{state.count}")  # one string per name

    @property
    def fragment_sets(self) -> list[IkeFragmentSet]:
        return list(self._fragments.values())


def _sent_by_responder(msg: IsakmpMessage) -> bool:
    """Whether the first message we see of an exchange comes from the responder (capture began late)."""
    if msg.exchange_type not in _PHASE1 or msg.rcookie == ZERO_COOKIE or msg.encrypted:
        return False
    types = {p.type for p in msg.payloads}
    # MM2 and AM2 carry the chosen SA; MM4 carries KE like MM3, so only the SA case is certain.
    return 1 in types


def _main_mode_step(msg: IsakmpMessage, previous: int) -> int:
    """MM1..MM6 from content (SA, KE, encrypted) and role, so a late start still names steps right."""
    responder = msg.role == "responder"
    w = msg.wire
    if w.encrypted:
        return 6 if responder else 5
    types = {p.type for p in w.payloads}
    if 132 in types:
        return 6 if responder else 5
    if 1 in types:
        return 2 if responder else 1
    if 4 in types or 10 in types:
        return 4 if responder else 3
    return min(previous + 1, 6)


_MM = {n: f"MM{n}" for n in range(1, 7)}


@dataclass(slots=True)
class _Open:
    """Builder state of one exchange: transmissions seen (by sender and content) and a step counter."""

    exchange: Exchange
    sent: dict[tuple[str, int], tuple[int, str | None]] = field(default_factory=dict)
    count: int = 0
    last: float = 0.0
    first_sport: int = 0
    rows: array[int] = field(default_factory=lambda: array("I"))
    """Its messages' rows in the table (when the builder has one)."""
