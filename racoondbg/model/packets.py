"""ISAKMP captures: messages, their payloads, and the exchanges they form.

A :class:`Capture` keeps its ISAKMP messages in a :class:`MessageTable`: columns of frame, time,
place in its exchange and a :class:`Wire` for everything else (no raw packet bytes, no object per
message), shared by every message that says the same thing (retransmissions, repeated exchanges).
:class:`IsakmpMessage` objects are made from a row when asked for. Payload chains are decoded only
when the message is not encrypted; identical chains share one decoded tuple.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from operator import attrgetter
from typing import overload

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
        return [p.detail for p in self.payloads if isinstance(p.detail, NotifyDetail)]

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

    In a loaded capture a closed exchange holds only the rows of its messages in the capture's
    :class:`MessageTable` and makes the messages when asked (``racoondbg parse pcap`` keeps messages).
    """

    icookie: str
    rcookie: str
    message_id: int
    exchange_type: int
    exchange: str
    initiator: str
    responder: str
    steps: list[str] = field(default_factory=list)
    """Distinct steps in order (retransmissions left out). Once the capture is loaded, exchanges that
    took the same steps share one list: read it, never change it."""
    answered: bool = False
    """Whether the responder said anything in this exchange."""
    held: list[IsakmpMessage] | bytes = field(default_factory=list, repr=False)
    """The messages (streamed, or read without a table), or once closed their rows in ``table``
    (native ``array("I")`` bytes)."""
    table: MessageTable | None = field(default=None, repr=False, compare=False)

    def close(self, table: MessageTable, rows: array[int]) -> None:
        """Hold the rows of the messages in ``table`` (``array("I")``) instead of the messages."""
        self.held, self.table = rows.tobytes(), table

    def _packed(self) -> tuple[MessageTable, memoryview] | None:
        """The table and the rows of a closed exchange of a loaded capture, else None."""
        held, table = self.held, self.table
        if isinstance(held, list) or table is None:
            return None
        return table, memoryview(held).cast("I")

    def rows(self) -> Sequence[int] | None:
        """The rows of its messages in ``table`` once closed in a loaded capture, else None."""
        packed = self._packed()
        return None if packed is None else packed[1]

    @property
    def messages(self) -> list[IsakmpMessage]:
        """The messages in capture order (once closed, a new list each time: read it, never change it)."""
        held, table = self.held, self.table
        if isinstance(held, list):
            return held
        return [] if table is None else table.of_exchange(held, self)

    @property
    def location(self) -> Location:
        return self.first.location

    @property
    def first(self) -> IsakmpMessage:
        packed = self._packed()
        return self.messages[0] if packed is None else packed[0].message(packed[1][0], self)

    @property
    def last(self) -> IsakmpMessage:
        packed = self._packed()
        return self.messages[-1] if packed is None else packed[0].message(packed[1][-1], self)

    def wires(self) -> list[Wire]:
        """What each message says, in capture order (without making the messages)."""
        packed = self._packed()
        if packed is None:
            return [m.wire for m in self.messages]
        wires, ids = packed[0].wires, packed[0].wire_ids
        return [wires[ids[row]] for row in packed[1]]

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
_WIRE, _STEP, _FRAME, _TIME, _ROLE, _RESENT = map(attrgetter, ("wire", "step", "frame", "time", "role",
                                                             "retransmit_of"))
#: How a row's responder cookie is kept: its exchange's, all zero, or its own (``MessageTable.odd``).
_SAME, _ZERO, _ODD = 0, 1, 2
#: Messages written to the columns at a time; message lists of this many exchanges kept for reuse.
_BATCH, _RECENT = 4096, 16


class MessageTable(Sequence[IsakmpMessage]):
    """The messages of a loaded capture, in capture order, as columns: about 40 bytes a message.

    A row keeps the frame, time, wire, exchange, step, role, retransmitted frame and how to find the
    responder cookie; cookies and message id are the exchange's. ``table[i]`` and iteration make
    :class:`IsakmpMessage` objects; :meth:`where`, :meth:`wires_used` and :meth:`wire_counts` answer
    questions about what messages say without making them.
    """

    __slots__ = ("_pending", "_recent", "_step_index", "_wire_index", "exchange_ids", "exchanges", "frames", "odd",
                 "rcookies", "resent", "roles", "step_ids", "steps", "times", "wire_ids", "wires")

    def __init__(self) -> None:
        self.frames = array("q")
        self.times = array("d")
        self.wire_ids = array("I")
        self.exchange_ids = array("I")
        self.step_ids = array("I")
        self.roles = bytearray()
        self.resent = array("q")
        """The frame a row retransmits, -1 for an original."""
        self.rcookies = bytearray()
        self.odd: dict[int, str] = {}
        """Responder cookies that are neither zero nor their exchange's, by row."""
        self.wires: list[Wire] = []
        self.exchanges: list[Exchange] = []
        """The capture's exchanges (``exchange_ids`` index it)."""
        self.steps: list[str | None] = []
        self._wire_index: dict[int, int] = {}
        self._step_index: dict[str | None, int] = {}
        self._pending: list[IsakmpMessage] = []
        """Messages appended but not yet written to the columns (written a batch at a time)."""
        self._recent: dict[int, tuple[bytes, list[IsakmpMessage]]] = {}
        """The messages last made for a few exchanges, by the identity of their rows (kept with them)."""

    def append(self, msg: IsakmpMessage, number: int, exchange: Exchange) -> int:
        """Add a grouped message of ``exchange`` (the ``number``-th) as the next row and return the row.
        Its step, role and retransmission must be set; :meth:`flush` writes them."""
        row = len(self.exchange_ids)
        self.exchange_ids.append(number)
        rcookie = msg.rcookie
        # an exchange's responder cookie changes only from zero, so "equal and not zero" stays true
        if rcookie == ZERO_COOKIE:
            self.rcookies.append(_ZERO)
        elif rcookie == exchange.rcookie:
            self.rcookies.append(_SAME)
        else:
            self.rcookies.append(_ODD)
            self.odd[row] = rcookie
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
        self.frames.extend(map(_FRAME, batch))
        self.times.extend(map(_TIME, batch))
        self.wire_ids.extend(map(wire_index.__getitem__, wire_ids))
        self.step_ids.extend(map(step_index.__getitem__, steps))
        self.roles.extend(map(_ROLE_CODES.__getitem__, map(_ROLE, batch)))
        self.resent.extend([-1 if frame is None else frame for frame in map(_RESENT, batch)])
        batch.clear()

    def _wire_id(self, wire: Wire) -> int:
        index = self._wire_index.get(id(wire))  # the list keeps each wire alive: identities stay unique
        if index is None:
            index = self._wire_index[id(wire)] = len(self.wires)
            self.wires.append(wire)
        return index

    def rewire(self, msg: IsakmpMessage) -> None:
        """Store ``msg.wire`` (changed by decryption) in its row."""
        if msg.row is not None:
            self.wire_ids[msg.row] = self._wire_id(msg.wire)
            self._recent.clear()

    def of_exchange(self, rows: bytes, exchange: Exchange) -> list[IsakmpMessage]:
        """The messages of ``exchange``, whose rows are ``rows`` (rules ask for one exchange's messages
        several times in a row: the last few lists made are kept)."""
        hit = self._recent.get(id(rows))
        if hit is not None and hit[0] is rows:
            return hit[1]
        if len(self._recent) >= _RECENT:
            del self._recent[next(iter(self._recent))]
        made = self._make(memoryview(rows).cast("I"), exchange)
        self._recent[id(rows)] = (rows, made)
        return made

    def message(self, row: int, exchange: Exchange | None = None) -> IsakmpMessage:
        """The message of ``row`` (``exchange``: its exchange, when the caller has it)."""
        return self._make((row,), self.exchanges[self.exchange_ids[row]] if exchange is None else exchange)[0]

    def _make(self, rows: Iterable[int], ex: Exchange) -> list[IsakmpMessage]:
        """The messages of ``rows``, all of exchange ``ex``."""
        wires, wire_ids, frames, times, steps, step_ids = (self.wires, self.wire_ids, self.frames, self.times,
                                                           self.steps, self.step_ids)
        roles, resent, codes, odd = self.roles, self.resent, self.rcookies, self.odd
        icookie, message_id, rcookies = ex.icookie, ex.message_id, (ex.rcookie, ZERO_COOKIE)
        made = []
        for row in rows:
            code, frame = codes[row], resent[row]
            made.append(IsakmpMessage(wires[wire_ids[row]], frames[row], times[row], icookie,
                                      rcookies[code] if code != _ODD else odd[row], message_id,
                                      steps[step_ids[row]], _ROLES[roles[row]], None if frame < 0 else frame,
                                      row))
        return made

    def __len__(self) -> int:
        return len(self.frames)

    @overload
    def __getitem__(self, index: int) -> IsakmpMessage: ...

    @overload
    def __getitem__(self, index: slice) -> list[IsakmpMessage]: ...

    def __getitem__(self, index: int | slice) -> IsakmpMessage | list[IsakmpMessage]:
        if isinstance(index, slice):
            return [self.message(row) for row in range(len(self))[index]]
        return self.message(range(len(self))[index])

    def __iter__(self) -> Iterator[IsakmpMessage]:
        return map(self.message, range(len(self)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, MessageTable)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def where(self, test: Callable[[Wire], bool], originals: bool = False) -> Iterator[IsakmpMessage]:
        """The messages whose wire passes ``test``, in capture order, made one at a time (``test`` runs
        once per wire); with ``originals``, retransmissions left out."""
        chosen = {i for i, wire in enumerate(self.wires) if test(wire)}
        if not chosen:
            return
        resent = self.resent
        for row, wire in enumerate(self.wire_ids):
            if wire in chosen and not (originals and resent[row] >= 0):
                yield self.message(row)

    def retransmitted(self) -> list[Exchange]:
        """The exchanges with a retransmission, in order (found without making any message)."""
        ids = self.exchange_ids
        numbers = {ids[row] for row, frame in enumerate(self.resent) if frame >= 0}
        return [self.exchanges[n] for n in sorted(numbers)]

    def wires_used(self) -> list[Wire]:
        """Every distinct wire some message has (in no particular order)."""
        return [self.wires[i] for i in set(self.wire_ids)]

    def wire_counts(self) -> list[tuple[Wire, int]]:
        """Each wire some message has, with how many messages have it."""
        return [(self.wires[i], n) for i, n in Counter(self.wire_ids).items()]


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
    exchanges: list[Exchange] = field(default_factory=list)
    esp: list[EspFlow] = field(default_factory=list)
    keepalives: dict[str, int] = field(default_factory=dict)
    """NAT-keepalives per ``src -> dst``."""
    icmp_errors: list[IcmpError] = field(default_factory=list)
    lost_fragments: list[LostFragments] = field(default_factory=list)
    ike_fragments: list[IkeFragmentSet] = field(default_factory=list)
    truncated_frames: int = 0
    _index: _CaptureIndex | None = field(default=None, repr=False, compare=False)

    @property
    def ikev1(self) -> list[IsakmpMessage]:
        return list(self.messages.where(lambda w: not w.version.startswith("2")))

    @property
    def ikev2(self) -> list[IsakmpMessage]:
        return list(self.messages.where(lambda w: w.version.startswith("2")))

    def phase1(self) -> list[Exchange]:
        return [x for x in self.exchanges if x.exchange_type in (2, 4)]

    @property
    def index(self) -> _CaptureIndex:
        """Lookups by cookie and by sender, built once when first asked (after loading)."""
        if self._index is None:
            self._index = _CaptureIndex.of(self)
        return self._index

    def exchanges_of(self, icookie: str) -> list[Exchange]:
        return self.index.exchanges.get(icookie, [])

    def messages_of(self, icookie: str, test: Callable[[Wire], bool] | None = None) -> list[IsakmpMessage]:
        """Every message under one initiator cookie (one ISAKMP SA), in capture order; with ``test``,
        only those whose wire passes it (the others are never made)."""
        exchanges = self.exchanges_of(icookie)
        rows: list[int] = []
        for x in exchanges:
            own = x.rows()
            if own is None:  # not loaded into a table: sort the messages themselves
                # frames grow in capture order; every message belongs to exactly one exchange
                return sorted((m for x in exchanges for m in x.messages if test is None or test(m.wire)),
                              key=_frame)
            rows += own
        table = self.messages
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

    def icmp_errors_to(self, address: str) -> list[IcmpError]:
        """The ICMP errors quoting an IKE packet sent to ``address``, in capture order."""
        return self.index.icmp_to.get(address, [])


def _frame(msg: IsakmpMessage) -> int:
    return msg.frame


@dataclass(slots=True)
class _CaptureIndex:
    exchanges: dict[str, list[Exchange]]
    last_sent: dict[str, float]
    natt_senders: set[str]
    vendor_ids: dict[str, list[str]]
    icmp_to: dict[str, list[IcmpError]]

    @classmethod
    def of(cls, cap: Capture) -> _CaptureIndex:
        index = cls({}, {}, set(), {}, {})
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
        for x in cap.exchanges:
            index.exchanges.setdefault(x.icookie, []).append(x)
        for e in cap.icmp_errors:
            index.icmp_to.setdefault(e.quoted_dst, []).append(e)
        return index
