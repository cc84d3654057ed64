"""ISAKMP captures: messages, their payloads, and the exchanges they form.

A :class:`Capture` keeps one compact record per ISAKMP message (no raw packet bytes): its frame,
time, cookies, message id and place in its exchange, and a :class:`Wire` for everything else,
shared by every message that says the same thing (retransmissions, repeated exchanges). Payload
chains are decoded only when the message is not encrypted; identical chains share one decoded tuple.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

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
    """Messages sharing a cookie pair and message id (phase 1: message id 0 and the exchange type)."""

    icookie: str
    rcookie: str
    message_id: int
    exchange_type: int
    exchange: str
    initiator: str
    responder: str
    messages: list[IsakmpMessage] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    """Distinct steps in order (retransmissions left out). Once the capture is loaded, exchanges that
    took the same steps share one list: read it, never change it."""

    @property
    def location(self) -> Location:
        return self.messages[0].location

    @property
    def first(self) -> IsakmpMessage:
        return self.messages[0]

    @property
    def last(self) -> IsakmpMessage:
        return self.messages[-1]

    @property
    def originals(self) -> list[IsakmpMessage]:
        return [m for m in self.messages if m.retransmit_of is None]

    @property
    def retransmits(self) -> list[IsakmpMessage]:
        return [m for m in self.messages if m.retransmit_of is not None]

    @property
    def answered(self) -> bool:
        """Whether the responder said anything in this exchange."""
        return any(m.role == "responder" for m in self.messages)

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
    messages: list[IsakmpMessage] = field(default_factory=list)
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
        return [m for m in self.messages if not m.ikev2]

    @property
    def ikev2(self) -> list[IsakmpMessage]:
        return [m for m in self.messages if m.ikev2]

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

    def messages_of(self, icookie: str) -> list[IsakmpMessage]:
        """Every message under one initiator cookie (one ISAKMP SA), in capture order."""
        exchanges = self.exchanges_of(icookie)
        if len(exchanges) == 1:
            return list(exchanges[0].messages)
        # frames grow in capture order; every message belongs to exactly one exchange
        return sorted((m for x in exchanges for m in x.messages), key=_frame)

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
        last_vids: dict[str, tuple[str, ...]] = {}  # VID tuples are shared: skip one already merged
        for m in cap.messages:
            src, time = m.src, m.time
            if time >= last_sent.get(src, time):
                last_sent[src] = time
            if m.natt:
                natt.add(src)
            if m.vendor_ids and last_vids.get(src) is not m.vendor_ids:
                last_vids[src] = m.vendor_ids
                seen = vendor_ids.setdefault(src, [])
                seen.extend(v for v in m.vendor_ids if v not in seen)
        for x in cap.exchanges:
            index.exchanges.setdefault(x.icookie, []).append(x)
        for e in cap.icmp_errors:
            index.icmp_to.setdefault(e.quoted_dst, []).append(e)
        return index
