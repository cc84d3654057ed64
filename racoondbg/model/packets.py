"""ISAKMP captures: messages, their payloads, and the exchanges they form.

A :class:`Capture` keeps its ISAKMP messages in a :class:`MessageTable`: columns of frame, time,
place in its exchange and a :class:`Wire` for everything else (no raw packet bytes, no object per
message), shared by every message that says the same thing (retransmissions, repeated exchanges).
Its exchanges (:class:`ExchangeTable`) and ICMP errors (:class:`IcmpTable`) are columns too. Objects
(:class:`IsakmpMessage`, :class:`Exchange`, :class:`IcmpError`) are made from a row when asked for,
so a capture of a gigabyte (four million messages) fits in about 200 MB. Payload chains are decoded
only when the message is not encrypted; identical chains share one decoded tuple.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import compress, pairwise
from operator import attrgetter
from typing import TypeVar, overload

from racoondbg.model.base import Location, ParseError


@dataclass(frozen=True, slots=True)
class Attribute:
    """One SA/mode-config attribute: ``name`` and ``value`` as numbers and words."""

    type: int
    name: str
    value: int | None
    text: str


@dataclass(frozen=True, slots=True)
class Transform:
    number: int
    transform_id: int
    name: str
    attributes: tuple[Attribute, ...] = ()

    def attribute(self, name: str) -> Attribute | None:
        return next((a for a in self.attributes if a.name == name), None)


@dataclass(frozen=True, slots=True)
class Proposal:
    number: int
    protocol: str
    spi: str
    transforms: tuple[Transform, ...] = ()


@dataclass(frozen=True, slots=True)
class SaDetail:
    doi: int
    situation: int
    proposals: tuple[Proposal, ...] = ()


@dataclass(frozen=True, slots=True)
class IdDetail:
    id_type: str
    protocol: int
    port: int
    value: str


@dataclass(frozen=True, slots=True)
class NotifyDetail:
    code: int
    name: str
    protocol: str
    spi: str
    data: str
    """Notification data: text when printable, else hex (a DPD sequence number is 8 hex digits)."""


@dataclass(frozen=True, slots=True)
class DeleteDetail:
    protocol: str
    spis: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class VendorIdDetail:
    hex: str
    name: str | None


@dataclass(frozen=True, slots=True)
class CertDetail:
    encoding: str
    bytes: int


@dataclass(frozen=True, slots=True)
class HashDetail:
    """HASH, SIG, NAT-D, KE, NONCE and other opaque payloads: a hex digest (NAT-D, HASH) or a size."""

    hex: str | None
    bytes: int


@dataclass(frozen=True, slots=True)
class NatOaDetail:
    id_type: str
    address: str


@dataclass(frozen=True, slots=True)
class ModeCfgDetail:
    kind: str
    identifier: int
    attributes: tuple[Attribute, ...]


@dataclass(frozen=True, slots=True)
class FragmentDetail:
    """A Cisco-style IKE fragment (payload 132)."""

    fragment_id: int
    number: int
    last: bool
    bytes: int


PayloadDetail = (
    SaDetail | IdDetail | NotifyDetail | DeleteDetail | VendorIdDetail | CertDetail | HashDetail | NatOaDetail
    | ModeCfgDetail | FragmentDetail
)


@dataclass(frozen=True, slots=True)
class Payload:
    type: int
    name: str
    length: int
    detail: PayloadDetail | None = None


@dataclass(frozen=True, slots=True)
class Wire:
    """What an ISAKMP message says apart from its cookies and message id, and where it went.

    Retransmissions, and the same exchange repeated under new cookies, have equal wires: a capture
    keeps one per distinct content and every :class:`IsakmpMessage` points at it.
    """

    path: str
    src: str
    dst: str
    sport: int
    dport: int
    natt: bool
    next_payload: int
    version: str
    exchange_type: int
    exchange: str
    flags: int
    length: int
    encrypted: bool
    payloads: tuple[Payload, ...] = ()
    notify: tuple[str, ...] = ()
    vendor_ids: tuple[str, ...] = ()
    truncated: bool = False
    ip_fragmented: bool = False
    decrypted: bool = False
    """Encrypted on the wire and decrypted with a key the user gave (``--ike-keys``)."""

    def notifies(self) -> list[NotifyDetail]:
        return [p.detail for p in self.payloads if isinstance(p.detail, NotifyDetail)]


@dataclass(slots=True)
class IsakmpMessage:
    """One ISAKMP message as seen on the wire (one frame, or the frame completing a reassembly).

    ``step`` (MM1..MM6, AM1..AM3, QM1..QM3, INFO, TXN), ``role`` and ``retransmit_of`` are set when
    messages are grouped into exchanges. ``path`` and ``frame`` make its :attr:`location`. What the
    message says (addresses, ports, payloads...) is its shared :class:`Wire`, read through properties.
    A loaded capture makes these objects from its :class:`MessageTable` when asked (``row``): equal,
    but not the same object, each time.
    """

    wire: Wire
    frame: int
    time: float
    icookie: str
    rcookie: str
    message_id: int
    step: str | None = None
    role: str | None = None
    retransmit_of: int | None = None
    row: int | None = field(default=None, compare=False, repr=False)
    """Its row in the capture's :class:`MessageTable` (None while the capture is being read)."""

    @property
    def path(self) -> str:
        return self.wire.path

    @property
    def src(self) -> str:
        return self.wire.src

    @property
    def dst(self) -> str:
        return self.wire.dst

    @property
    def sport(self) -> int:
        return self.wire.sport

    @property
    def dport(self) -> int:
        return self.wire.dport

    @property
    def natt(self) -> bool:
        return self.wire.natt

    @property
    def next_payload(self) -> int:
        return self.wire.next_payload

    @property
    def version(self) -> str:
        return self.wire.version

    @property
    def exchange_type(self) -> int:
        return self.wire.exchange_type

    @property
    def exchange(self) -> str:
        return self.wire.exchange

    @property
    def flags(self) -> int:
        return self.wire.flags

    @property
    def length(self) -> int:
        return self.wire.length

    @property
    def encrypted(self) -> bool:
        return self.wire.encrypted

    @property
    def payloads(self) -> tuple[Payload, ...]:
        return self.wire.payloads

    @property
    def notify(self) -> tuple[str, ...]:
        return self.wire.notify

    @property
    def vendor_ids(self) -> tuple[str, ...]:
        return self.wire.vendor_ids

    @property
    def truncated(self) -> bool:
        return self.wire.truncated

    @property
    def ip_fragmented(self) -> bool:
        return self.wire.ip_fragmented

    @property
    def decrypted(self) -> bool:
        return self.wire.decrypted

    @property
    def location(self) -> Location:
        return Location(self.path, frame=self.frame)

    @property
    def ikev2(self) -> bool:
        return self.version.startswith("2")

    def payloads_of(self, *types: int) -> list[Payload]:
        return [p for p in self.payloads if p.type in types]

    def notifies(self) -> list[NotifyDetail]:
        return self.wire.notifies()

    def excerpt(self) -> str:
        """One line that shows the message the way a ladder would."""
        what = self.step or self.exchange
        extra = f" {','.join(self.notify)}" if self.notify else ""
        enc = " [decrypted]" if self.decrypted else " [encrypted]" if self.encrypted else ""
        rtx = f" (retransmit of frame {self.retransmit_of})" if self.retransmit_of else ""
        return (f"{self.src}:{self.sport} -> {self.dst}:{self.dport} {what} i={self.icookie} r={self.rcookie} "
                f"mid={self.message_id:08x}{enc}{extra}{rtx}")


#: The step that ends an exchange of each type (main mode, aggressive mode, quick mode).
_FINAL_STEP = {2: "MM6", 4: "AM3", 32: "QM3"}


@dataclass(slots=True)
class Exchange:
    """Messages sharing a cookie pair and message id (phase 1: message id 0 and the exchange type).

    While a capture is read (or streamed) an exchange holds its messages. A loaded capture keeps its
    exchanges as columns (:class:`ExchangeTable`) and makes an :class:`Exchange` when asked: equal,
    but not the same object, each time; it makes its messages from the :class:`MessageTable` in turn.
    """

    icookie: str
    rcookie: str
    message_id: int
    exchange_type: int
    exchange: str
    initiator: str
    responder: str
    steps: list[str] = field(default_factory=list)
    """Distinct steps in order (retransmissions left out). Exchanges of a loaded capture that took
    the same steps share one list: read it, never change it."""
    answered: bool = False
    """Whether the responder said anything in this exchange."""
    held: list[IsakmpMessage] = field(default_factory=list, repr=False)
    """The messages, while the exchange is being read or streamed (empty in a loaded capture)."""
    table: MessageTable | None = field(default=None, repr=False, compare=False)
    number: int = -1
    """Its row in the loaded capture's :class:`ExchangeTable` (-1 while it is being read)."""

    @property
    def messages(self) -> list[IsakmpMessage]:
        """The messages in capture order (in a loaded capture a list made when asked: read it, never
        change it)."""
        table = self.table
        return self.held if table is None else table.of_exchange(self)

    @property
    def location(self) -> Location:
        return self.first.location

    @property
    def first(self) -> IsakmpMessage:
        table = self.table
        return self.held[0] if table is None else table.message(table.exchanges.rows_of(self.number)[0], self)

    @property
    def last(self) -> IsakmpMessage:
        table = self.table
        return self.held[-1] if table is None else table.message(table.exchanges.rows_of(self.number)[-1], self)

    def wires(self) -> list[Wire]:
        """What each message says, in capture order (without making the messages)."""
        table = self.table
        if table is None:
            return [m.wire for m in self.held]
        wires, ids = table.wires, table.wire_ids
        return [wires[ids[row]] for row in table.exchanges.rows_of(self.number)]

    @property
    def originals(self) -> list[IsakmpMessage]:
        return [m for m in self.messages if m.retransmit_of is None]

    @property
    def retransmits(self) -> list[IsakmpMessage]:
        return [m for m in self.messages if m.retransmit_of is not None]

    @property
    def complete(self) -> bool:
        final = _FINAL_STEP.get(self.exchange_type)
        if final is None:
            return self.answered or self.exchange_type in (5, 6)
        return final in self.steps

    @property
    def stalled_at(self) -> str | None:
        """The last step sent when the exchange did not complete, else None."""
        if self.complete or not self.steps:
            return None
        return self.steps[-1]

    def unanswered(self) -> IsakmpMessage | None:
        """The last original message when nothing came back after it from the other side."""
        if self.complete:
            return None
        last = self.originals[-1]
        return last

    def transmissions(self, message: IsakmpMessage) -> list[IsakmpMessage]:
        """``message`` and every retransmission of it, in order."""
        frame = message.retransmit_of or message.frame
        return [m for m in self.messages if m.frame == frame or m.retransmit_of == frame]

    def intervals(self, message: IsakmpMessage) -> list[float]:
        """Seconds between successive transmissions of ``message``."""
        times = [m.time for m in self.transmissions(message)]
        return [round(b - a, 3) for a, b in pairwise(times)]

    def to_json(self) -> dict[str, object]:
        stalled = self.stalled_at
        return {
            "icookie": self.icookie,
            "rcookie": self.rcookie,
            "message_id": self.message_id,
            "exchange_type": self.exchange_type,
            "exchange": self.exchange,
            "initiator": self.initiator,
            "responder": self.responder,
            "frames": [m.frame for m in self.messages],
            "steps": self.steps,
            "retransmits": len(self.retransmits),
            "complete": self.complete,
            "stalled_at": stalled,
            "start": self.first.time,
            "end": self.last.time,
        }


#: The responder cookie until the responder has answered (and a cookie nobody chose).
ZERO_COOKIE = "0" * 16
_ROLES = ("initiator", "responder", None)
_ROLE_CODES = {"initiator": 0, "responder": 1, None: 2}
_WIRE, _STEP, _FRAME, _TIME = map(attrgetter, ("wire", "step", "frame", "time"))
#: How a row's responder cookie is kept (bits 2-3 of its code, beside the role): its exchange's,
#: all zero, or its own (``MessageTable.odd``).
_SAME, _ZERO, _ODD = 0, 4, 8
#: Bit 4 of a row's code: the message is a retransmission (``MessageTable.resent_rows`` lists them).
_RESENT_BIT = 16
#: Messages written to the columns at a time; message lists of this many exchanges kept for reuse.
_BATCH, _RECENT = 4096, 16
#: Exchanges made from their columns kept for reuse.
_RECENT_EXCHANGES = 64
#: The next wider type of a column's type: a column widens when a value does not fit.
_WIDER = {"B": "H", "H": "I", "I": "q"}
_T = TypeVar("_T")


def _extended(column: array[int], values: Sequence[int]) -> array[int]:
    """``column`` with ``values`` added: the same array, or a wider copy when a value does not fit."""
    size = len(column)
    try:
        column.extend(values)
    except OverflowError:
        del column[size:]
        return _extended(array(_WIDER[column.typecode], column), values)
    return column


def _stored(column: array[int], index: int, value: int) -> array[int]:
    """``column`` with ``value`` at ``index``: the same array, or a wider copy when it does not fit."""
    try:
        column[index] = value
    except OverflowError:
        column = _stored(array(_WIDER[column.typecode], column), index, value)
    return column


def _kept(recent: dict[int, _T], key: int, limit: int, make: Callable[[], _T]) -> _T:
    """``recent[key]``, made first when missing; ``recent`` keeps the last ``limit`` made."""
    made = recent.get(key)
    if made is None:
        if len(recent) >= limit:
            del recent[next(iter(recent))]
        made = recent[key] = make()
    return made


def _number_of(item: _T, index: dict[_T, int], items: list[_T]) -> int:
    """The place of ``item`` in ``items``, added at the end when new (``index`` maps items to places)."""
    number = index.get(item)
    if number is None:
        number = index[item] = len(items)
        items.append(item)
    return number


class _Columns(Sequence[_T]):
    """A sequence kept as columns: a subclass says how long it is and makes item ``i`` (:meth:`_item`)
    when asked, so items are equal, but not the same object, each time."""

    __slots__ = ()

    def _item(self, index: int) -> _T:
        raise NotImplementedError

    @overload
    def __getitem__(self, index: int) -> _T: ...

    @overload
    def __getitem__(self, index: slice) -> list[_T]: ...

    def __getitem__(self, index: int | slice) -> _T | list[_T]:
        if isinstance(index, slice):
            return [self._item(i) for i in range(len(self))[index]]
        return self._item(range(len(self))[index])

    def __iter__(self) -> Iterator[_T]:
        return map(self._item, range(len(self)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, _Columns)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


class MessageTable(_Columns[IsakmpMessage]):
    """The messages of a loaded capture, in capture order, as columns: about 20 bytes a message.

    A row keeps the frame, time, wire, exchange, step, role, retransmitted frame and how to find the
    responder cookie; cookies and message id are the exchange's (:attr:`exchanges`). ``table[i]`` and
    iteration make :class:`IsakmpMessage` objects; :meth:`where`, :meth:`wires_used` and
    :meth:`wire_counts` answer questions about what messages say without making them.
    """

    __slots__ = ("_pending", "_recent", "_step_index", "_wire_index", "codes", "exchange_ids", "exchanges", "frames",
                 "odd", "resent_frames", "resent_rows", "step_ids", "steps", "times", "wire_ids", "wires")

    def __init__(self) -> None:
        self.frames = array("I")
        self.times = array("d")
        self.wire_ids = array("H")
        self.exchange_ids = array("I")
        self.step_ids = array("B")
        self.codes = bytearray()
        """The role (bits 0-1), how the responder cookie is kept (bits 2-3), whether a retransmission (bit 4)."""
        self.resent_rows = array("I")
        """The rows of the retransmissions, in order; ``resent_frames`` beside it: the frame each resends."""
        self.resent_frames = array("I")
        self.odd: dict[int, str] = {}
        """Responder cookies that are neither zero nor their exchange's, by row."""
        self.wires: list[Wire] = []
        self.exchanges = ExchangeTable(self)
        """The capture's exchanges (``exchange_ids`` index it)."""
        self.steps: list[str | None] = []
        self._wire_index: dict[int, int] = {}
        self._step_index: dict[str | None, int] = {}
        self._pending: list[IsakmpMessage] = []
        """Messages appended but not yet written to the columns (written a batch at a time)."""
        self._recent: dict[int, list[IsakmpMessage]] = {}
        """The messages last made for a few exchanges, by exchange number."""

    def append(self, msg: IsakmpMessage, exchange: Exchange) -> int:
        """Add a grouped message of ``exchange`` (begun in :attr:`exchanges`) as the next row, which
        ``msg.row`` then says and is returned. Its step, role and retransmission must be set;
        :meth:`flush` writes them (and its wire then, so one decryption changes before is kept)."""
        row = msg.row = len(self.exchange_ids)
        self.exchange_ids.append(exchange.number)
        rcookie = msg.rcookie
        # an exchange's responder cookie changes only from zero, so "equal and not zero" stays true
        if rcookie == ZERO_COOKIE:
            code = _ZERO
        elif rcookie == exchange.rcookie:
            code = _SAME
        else:
            code = _ODD
            self.odd[row] = rcookie
        resent = msg.retransmit_of
        if resent is not None:
            code |= _RESENT_BIT
            self.resent_rows.append(row)
            self.resent_frames = _extended(self.resent_frames, (resent,))
        self.codes.append(code | _ROLE_CODES[msg.role])
        pending = self._pending
        pending.append(msg)
        if len(pending) >= _BATCH:
            self.flush()
        return row

    def flush(self) -> None:
        """Write the pending messages to the columns (call once the capture is read)."""
        batch = self._pending
        if not batch:
            return
        wires = list(map(_WIRE, batch))
        wire_ids = list(map(id, wires))
        wire_index = self._wire_index
        if not wire_index.keys() >= set(wire_ids):
            for wire in wires:
                self._wire_id(wire)
        steps = list(map(_STEP, batch))
        step_index = self._step_index
        for step in set(steps) - step_index.keys():
            step_index[step] = len(self.steps)
            self.steps.append(step)
        self.frames = _extended(self.frames, list(map(_FRAME, batch)))
        self.times.extend(map(_TIME, batch))
        self.wire_ids = _extended(self.wire_ids, list(map(wire_index.__getitem__, wire_ids)))
        self.step_ids = _extended(self.step_ids, list(map(step_index.__getitem__, steps)))
        batch.clear()

    def _resent_frame(self, row: int) -> int:
        """The frame the retransmission in ``row`` resends."""
        return self.resent_frames[bisect_left(self.resent_rows, row)]

    def _wire_id(self, wire: Wire) -> int:
        index = self._wire_index.get(id(wire))  # the list keeps each wire alive: identities stay unique
        if index is None:
            index = self._wire_index[id(wire)] = len(self.wires)
            self.wires.append(wire)
        return index

    def rewire(self, msg: IsakmpMessage) -> None:
        """Store ``msg.wire`` (changed by decryption) in its row."""
        if msg.row is not None:
            self.wire_ids = _stored(self.wire_ids, msg.row, self._wire_id(msg.wire))
            self._recent.clear()

    def of_exchange(self, exchange: Exchange) -> list[IsakmpMessage]:
        """The messages of ``exchange`` (rules ask for one exchange's messages several times in a row:
        the last few lists made are kept)."""
        number = exchange.number
        return _kept(self._recent, number, _RECENT, lambda: self._make(
            self.exchanges.rows_of(number), exchange.icookie, exchange.rcookie, exchange.message_id))

    def message(self, row: int, exchange: Exchange | None = None) -> IsakmpMessage:
        """The message of ``row`` (``exchange``: its exchange, when the caller has it)."""
        if exchange is None:
            exchange = self.exchanges.exchange(self.exchange_ids[row])
        return self._make((row,), exchange.icookie, exchange.rcookie, exchange.message_id)[0]

    def _make(self, rows: Iterable[int], icookie: str, rcookie: str, message_id: int) -> list[IsakmpMessage]:
        """The messages of ``rows``, all of one exchange (its cookies and message id)."""
        wires, wire_ids, frames, times, steps, step_ids = (self.wires, self.wire_ids, self.frames, self.times,
                                                           self.steps, self.step_ids)
        codes, odd = self.codes, self.odd
        rcookies = {_SAME: rcookie, _ZERO: ZERO_COOKIE}
        made = []
        for row in rows:
            code = codes[row]
            made.append(IsakmpMessage(wires[wire_ids[row]], frames[row], times[row], icookie,
                                      odd[row] if code & _ODD else rcookies[code & 12], message_id,
                                      steps[step_ids[row]], _ROLES[code & 3],
                                      self._resent_frame(row) if code & _RESENT_BIT else None, row))
        return made

    def __len__(self) -> int:
        return len(self.frames)

    def _item(self, index: int) -> IsakmpMessage:
        return self.message(index)

    def where(self, test: Callable[[Wire], bool], originals: bool = False) -> Iterator[IsakmpMessage]:
        """The messages whose wire passes ``test``, in capture order, made one at a time (``test`` runs
        once per wire); with ``originals``, retransmissions left out."""
        return map(self.message, self.rows_where(test, originals))

    def rows_where(self, test: Callable[[Wire], bool], originals: bool = False) -> Iterator[int]:
        """The rows of the messages :meth:`where` would make."""
        chosen = {i for i, wire in enumerate(self.wires) if test(wire)}
        if not chosen:
            return
        codes = self.codes
        for row, wire in enumerate(self.wire_ids):
            if wire in chosen and not (originals and codes[row] & _RESENT_BIT):
                yield row

    def wire(self, row: int) -> Wire:
        """What the message of ``row`` says."""
        return self.wires[self.wire_ids[row]]

    def icookie(self, row: int) -> int:
        """The initiator cookie of the message of ``row``, as a number."""
        return self.exchanges.icookies[self.exchange_ids[row]]

    def retransmitted(self) -> Iterator[Exchange]:
        """The exchanges with a retransmission, in order (found without making any message)."""
        ids = self.exchange_ids
        numbers = {ids[row] for row in self.resent_rows}
        return map(self.exchanges.exchange, sorted(numbers))

    def wires_used(self) -> list[Wire]:
        """Every distinct wire some message has (in no particular order)."""
        return [self.wires[i] for i in set(self.wire_ids)]

    def wire_counts(self) -> list[tuple[Wire, int]]:
        """Each wire some message has, with how many messages have it."""
        return [(self.wires[i], n) for i, n in Counter(self.wire_ids).items()]


def _bucket(cookie: int, bits: int) -> int:
    """A hash bucket of ``bits`` bits for a 64-bit cookie (Fibonacci hashing: every cookie bit counts,
    so cookies that differ only in a few bytes, such as a counter, still spread)."""
    return ((cookie * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF) >> (64 - bits)


class ExchangeTable(_Columns[Exchange]):
    """The exchanges of a loaded capture as columns, in the order they began: about 30 bytes each, and
    4 bytes a message (where its messages are).

    A row keeps the cookies (as numbers), message id, exchange type and name, the two peers, the
    steps, whether the responder answered, and where the rows of its messages are in :attr:`rows`.
    ``table[i]`` and iteration make :class:`Exchange` objects; :meth:`of_icookie` finds the
    exchanges of one ISAKMP SA through a chained hash index built when first asked.
    """

    __slots__ = ("_chains", "_kind_index", "_peer_index", "_recent", "_step_index", "answered", "counts", "icookies",
                 "kinds", "message_ids", "messages", "peer_pairs", "peers", "rcookies", "rows", "starts", "step_ids",
                 "step_lists", "type_names")

    def __init__(self, messages: MessageTable) -> None:
        self.messages = messages
        self.icookies = array("Q")
        self.rcookies = array("Q")
        self.message_ids = array("I")
        self.kinds = array("B")
        self.peers = array("H")
        self.step_ids = array("H")
        self.answered = bytearray()
        self.starts = array("I")
        """Where each exchange's rows begin in :attr:`rows` (set when it ends)."""
        self.counts = array("B")
        self.rows = array("I")
        """The rows of every exchange's messages, an exchange's together (in the order they ended)."""
        self.type_names: list[tuple[int, str]] = []
        self.peer_pairs: list[tuple[str, str]] = []
        self.step_lists: list[list[str]] = []
        self._kind_index: dict[tuple[int, str], int] = {}
        self._peer_index: dict[tuple[str, str], int] = {}
        self._step_index: dict[tuple[str, ...], int] = {}
        self._chains: tuple[array[int], array[int]] | None = None
        self._recent: dict[int, Exchange] = {}

    def begin(self, exchange: Exchange) -> int:
        """Add ``exchange``, which has just begun, as the next row and return its number."""
        number = len(self.message_ids)
        self.icookies.append(int(exchange.icookie, 16))
        self.rcookies.append(0)
        self.message_ids.append(exchange.message_id)
        kind = _number_of((exchange.exchange_type, exchange.exchange), self._kind_index, self.type_names)
        self.kinds = _extended(self.kinds, (kind,))
        peers = _number_of((exchange.initiator, exchange.responder), self._peer_index, self.peer_pairs)
        self.peers = _extended(self.peers, (peers,))
        self.step_ids.append(0)
        self.answered.append(0)
        self.starts.append(0)
        self.counts.append(0)
        self._chains = None
        return number

    def end(self, exchange: Exchange, rows: Sequence[int]) -> None:
        """``exchange`` is over: keep what changed while it ran and the rows of its messages."""
        number = exchange.number
        self.rcookies[number] = int(exchange.rcookie, 16)
        steps = tuple(exchange.steps)
        step_id = self._step_index.get(steps)
        if step_id is None:
            step_id = self._step_index[steps] = len(self.step_lists)
            self.step_lists.append(exchange.steps)
        self.step_ids = _stored(self.step_ids, number, step_id)
        self.answered[number] = exchange.answered
        self.starts[number] = len(self.rows)
        self.counts = _stored(self.counts, number, len(rows))
        self.rows.extend(rows)

    def rows_of(self, number: int) -> array[int]:
        """The rows of exchange ``number``'s messages in :attr:`messages`, in capture order."""
        start = self.starts[number]
        return self.rows[start:start + self.counts[number]]

    def __len__(self) -> int:
        return len(self.message_ids)

    def _item(self, index: int) -> Exchange:
        return self.exchange(index)

    def exchange(self, number: int) -> Exchange:
        """Exchange ``number`` (rules ask for the exchanges of one ISAKMP SA again and again, and the
        messages of one exchange come in runs: the last few made are kept)."""
        return _kept(self._recent, number, _RECENT_EXCHANGES, lambda: self._make(number))

    def _make(self, number: int) -> Exchange:
        exchange_type, name = self.type_names[self.kinds[number]]
        initiator, responder = self.peer_pairs[self.peers[number]]
        return Exchange(f"{self.icookies[number]:016x}", f"{self.rcookies[number]:016x}", self.message_ids[number],
                        exchange_type, name, initiator, responder, self.step_lists[self.step_ids[number]],
                        bool(self.answered[number]), table=self.messages, number=number)

    def where(self, test: Callable[[Exchange], bool]) -> Iterator[Exchange]:
        """The exchanges that pass ``test``, in the order they began, made one at a time.

        ``test`` runs once per distinct exchange type, answer and steps, on an exchange that has
        only those (no cookies, no peers, no messages): it may read ``exchange_type``, ``exchange``,
        ``answered``, ``steps`` and what follows from them (``complete``, ``stalled_at``).
        """
        shapes = set(zip(self.kinds, self.answered, self.step_ids, strict=True))
        chosen = {shape for shape in shapes if test(self._shape(*shape))}
        if not chosen:
            return iter(())
        passed = map(chosen.__contains__, zip(self.kinds, self.answered, self.step_ids, strict=True))
        return map(self.exchange, compress(range(len(self)), passed))

    def _shape(self, kind: int, answered: int, step_id: int) -> Exchange:
        """An exchange with only a type, an answer and steps (what :meth:`where` tests)."""
        exchange_type, name = self.type_names[kind]
        return Exchange(ZERO_COOKIE, ZERO_COOKIE, 0, exchange_type, name, "", "", self.step_lists[step_id],
                        bool(answered))

    def of_icookie(self, icookie: str) -> list[Exchange]:
        """The exchanges with initiator cookie ``icookie`` (one ISAKMP SA), in the order they began."""
        return list(map(self.exchange, self.numbers_of(icookie)))

    def numbers_of(self, icookie: str) -> list[int]:
        """The numbers of the exchanges with initiator cookie ``icookie``, in the order they began."""
        try:
            cookie = int(icookie, 16)
        except ValueError:
            return []
        heads, chained = self._index()
        numbers = []
        number = heads[_bucket(cookie, len(heads).bit_length() - 1)]
        cookies = self.icookies
        while number >= 0:
            if cookies[number] == cookie:
                numbers.append(number)
            number = chained[number]
        numbers.reverse()
        return numbers

    def _index(self) -> tuple[array[int], array[int]]:
        """Per hash bucket the last exchange in it, and per exchange the one before in its bucket."""
        if self._chains is None:
            bits = max(4, len(self).bit_length() - 1)  # about two exchanges a bucket
            heads, chained = array("i", [-1]) * (1 << bits), array("i", [-1]) * len(self)
            for number, cookie in enumerate(self.icookies):
                bucket = _bucket(cookie, bits)
                chained[number] = heads[bucket]
                heads[bucket] = number
            self._chains = heads, chained
        return self._chains


@dataclass(frozen=True, slots=True)
class EspFlow:
    """ESP packets of one SPI in one direction (ESP-in-UDP on 4500 or IP protocol 50)."""

    src: str
    dst: str
    spi: str
    udp: bool
    first_frame: int
    packets: int


@dataclass(frozen=True, slots=True)
class IcmpError:
    """An ICMP error that quotes an ISAKMP packet (port unreachable and friends): never a message."""

    location: Location
    time: float
    reporter: str
    quoted_src: str
    quoted_dst: str
    quoted_dport: int
    kind: str


class IcmpTable(_Columns[IcmpError]):
    """The ICMP errors of a loaded capture as columns (about 20 bytes each); ``table[i]`` makes one."""

    __slots__ = ("_text_index", "dports", "frames", "kinds", "paths", "quoted_dsts", "quoted_srcs", "reporters",
                 "texts", "times")

    def __init__(self) -> None:
        self.frames = array("I")
        self.times = array("d")
        self.dports = array("H")
        self.paths, self.reporters, self.quoted_srcs, self.quoted_dsts, self.kinds = (array("B") for _ in range(5))
        """Places in :attr:`texts`."""
        self.texts: list[str] = []
        self._text_index: dict[str, int] = {}

    def append(self, error: IcmpError) -> None:
        self.frames = _extended(self.frames, (error.location.frame or 0,))
        self.times.append(error.time)
        self.dports.append(error.quoted_dport)
        for name, text in (("paths", error.location.path), ("reporters", error.reporter),
                           ("quoted_srcs", error.quoted_src), ("quoted_dsts", error.quoted_dst),
                           ("kinds", error.kind)):
            number = _number_of(text, self._text_index, self.texts)
            setattr(self, name, _extended(getattr(self, name), (number,)))

    def __len__(self) -> int:
        return len(self.frames)

    def _item(self, index: int) -> IcmpError:
        texts = self.texts
        return IcmpError(Location(texts[self.paths[index]], frame=self.frames[index]), self.times[index],
                         texts[self.reporters[index]], texts[self.quoted_srcs[index]],
                         texts[self.quoted_dsts[index]], self.dports[index], texts[self.kinds[index]])

    def by_quoted_dst(self) -> dict[str, _Picked[IcmpError]]:
        """The errors by the destination of the packet they quote, in capture order."""
        places: dict[int, array[int]] = {}
        for place, dst in enumerate(self.quoted_dsts):
            chosen = places.get(dst)
            if chosen is None:
                chosen = places[dst] = array("I")
            chosen.append(place)
        return {self.texts[dst]: _Picked(self, chosen) for dst, chosen in places.items()}


class _Picked(_Columns[_T]):
    """Some items of a sequence, by their places in it (made from it when asked)."""

    __slots__ = ("_places", "_source")

    def __init__(self, source: Sequence[_T], places: Sequence[int]) -> None:
        self._source, self._places = source, places

    def __len__(self) -> int:
        return len(self._places)

    def _item(self, index: int) -> _T:
        return self._source[self._places[index]]


@dataclass(frozen=True, slots=True)
class LostFragments:
    """An IP datagram to/from an IKE port whose fragments never all arrived."""

    location: Location
    time: float
    src: str
    dst: str
    sport: int
    dport: int
    received_bytes: int
    total_bytes: int | None


@dataclass(frozen=True, slots=True)
class IkeFragmentSet:
    """A Cisco-style IKE fragmented message (payload 132): which fragments were seen."""

    location: Location
    src: str
    dst: str
    icookie: str
    fragment_id: int
    numbers: tuple[int, ...]
    last_number: int | None

    @property
    def complete(self) -> bool:
        return self.last_number is not None and set(self.numbers) >= set(range(1, self.last_number + 1))


@dataclass(slots=True)
class Capture:
    """One pcap/pcapng file, decoded to ISAKMP messages grouped into exchanges."""

    location: Location
    flavour: str | None = None
    errors: list[ParseError] = field(default_factory=list)
    link_types: list[str] = field(default_factory=list)
    frames: int = 0
    messages: MessageTable = field(default_factory=MessageTable)
    esp: list[EspFlow] = field(default_factory=list)
    keepalives: dict[str, int] = field(default_factory=dict)
    """NAT-keepalives per ``src -> dst``."""
    icmp_errors: IcmpTable = field(default_factory=IcmpTable)
    lost_fragments: list[LostFragments] = field(default_factory=list)
    ike_fragments: list[IkeFragmentSet] = field(default_factory=list)
    truncated_frames: int = 0
    _index: _CaptureIndex | None = field(default=None, repr=False, compare=False)

    @property
    def exchanges(self) -> ExchangeTable:
        return self.messages.exchanges

    def phase1(self, test: Callable[[Exchange], bool] | None = None) -> Iterator[Exchange]:
        """The main and aggressive mode exchanges (with ``test``, those that pass it: see
        :meth:`ExchangeTable.where`), in the order they began, made one at a time."""
        return self.exchanges.where(lambda x: x.exchange_type in (2, 4) and (test is None or test(x)))

    @property
    def index(self) -> _CaptureIndex:
        """Lookups by cookie and by sender, built once when first asked (after loading)."""
        if self._index is None:
            self._index = _CaptureIndex.of(self)
        return self._index

    def exchanges_of(self, icookie: str) -> list[Exchange]:
        """The exchanges of one ISAKMP SA (initiator cookie), in the order they began."""
        return self.exchanges.of_icookie(icookie)

    def messages_of(self, icookie: str, test: Callable[[Wire], bool] | None = None) -> list[IsakmpMessage]:
        """Every message under one initiator cookie (one ISAKMP SA), in capture order; with ``test``,
        only those whose wire passes it (the others are never made)."""
        exchanges, table = self.exchanges, self.messages
        rows = [row for n in exchanges.numbers_of(icookie) for row in exchanges.rows_of(n)]
        if test is not None:
            wires, ids = table.wires, table.wire_ids
            rows = [row for row in rows if test(wires[ids[row]])]
        return [table.message(row) for row in sorted(rows)]

    def last_time_from(self, address: str) -> float | None:
        """When ``address`` last sent an ISAKMP message, or None if it never did."""
        return self.index.last_sent.get(address)

    def sent_natt(self, address: str) -> bool:
        """Whether ``address`` sent any ISAKMP message with the NAT-T non-ESP marker (port 4500)."""
        return address in self.index.natt_senders

    def vendor_ids_from(self, address: str) -> list[str]:
        """Every vendor ID name ``address`` sent, in order, without repeats."""
        return self.index.vendor_ids.get(address, [])

    def icmp_errors_to(self, address: str) -> Sequence[IcmpError]:
        """The ICMP errors quoting an IKE packet sent to ``address``, in capture order."""
        return self.index.icmp_to.get(address, [])


@dataclass(slots=True)
class _CaptureIndex:
    last_sent: dict[str, float]
    natt_senders: set[str]
    vendor_ids: dict[str, list[str]]
    icmp_to: dict[str, _Picked[IcmpError]]

    @classmethod
    def of(cls, cap: Capture) -> _CaptureIndex:
        index = cls({}, set(), {}, {})
        last_sent, natt, vendor_ids = index.last_sent, index.natt_senders, index.vendor_ids
        table = cap.messages
        senders = [w.src for w in table.wires]
        natt.update(w.src for w in table.wires_used() if w.natt)
        for wire, time in zip(table.wire_ids, table.times, strict=True):
            src = senders[wire]
            if time >= last_sent.get(src, time):
                last_sent[src] = time
        last_vids: dict[str, tuple[str, ...]] = {}  # VID tuples are shared: skip one already merged
        with_vids = {i for i, w in enumerate(table.wires) if w.vendor_ids}
        for wire in (i for i in table.wire_ids if i in with_vids) if with_vids else ():
            w = table.wires[wire]
            src, vids = w.src, w.vendor_ids
            if last_vids.get(src) is not vids:
                last_vids[src] = vids
                seen = vendor_ids.setdefault(src, [])
                seen.extend(v for v in vids if v not in seen)
        index.icmp_to.update(cap.icmp_errors.by_quoted_dst())
        return index
