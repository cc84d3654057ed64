"""racoon logs: records, typed events, negotiations and per-peer status.

A parsed log keeps only what rules need: the typed :class:`Event` list and the
:class:`Negotiation` objects built from it. Individual :class:`LogRecord` objects are streamed
through the parser and dropped, so memory stays flat in the size of the log.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain

from racoondbg.model.base import Location, ParseError


class Kind(str, enum.Enum):
    """What a log record means, whatever racoon version printed it."""

    # start-up and configuration
    VERSION = "version"
    OPENSSL = "openssl"
    CONFIG_READ = "config-read"
    CONFIG_ERROR = "config-error"
    LISTEN = "listen"
    BIND_FAILED = "bind-failed"
    NO_ADDRESS = "no-address-bound"
    SIGNAL = "signal"
    SHUTDOWN = "shutdown"
    INTERFACE_CHANGE = "interface-change"
    INTERFACE_ADDRESS = "interface-address"
    PFKEY_UNAVAILABLE = "pfkey-unavailable"
    PSK_FILE_PERMISSIONS = "psk-file-permissions"
    PSK_FILE_UNREADABLE = "psk-file-unreadable"
    # phase 1
    ACQUIRE = "acquire"
    PH1_START = "ph1-start"
    PH1_MODE = "ph1-mode"
    PH1_ESTABLISHED = "ph1-established"
    PH1_FAILED = "ph1-failed"
    PH1_TIMEOUT = "ph1-timeout"
    RETRANSMIT = "retransmit"
    PACKET_SENT = "packet-sent"
    PACKET_RECEIVED = "packet-received"
    NO_PROPOSAL = "no-proposal"
    PROPOSAL_REJECTED = "proposal-rejected"
    PSK_NOT_FOUND = "psk-not-found"
    HASH_MISMATCH = "hash-mismatch"
    DECRYPT_GARBAGE = "decrypt-garbage"
    ID_ERROR = "id-error"
    CERT_ERROR = "cert-error"
    CERT_NOT_VERIFIED = "cert-not-verified"
    PRIVATE_KEY_ERROR = "private-key-error"
    EXCHANGE_NOT_ALLOWED = "exchange-not-allowed"
    EXCHANGE_MISMATCH = "exchange-mismatch"
    NO_REMOTE_CONFIG = "no-remote-config"
    SEND_ERROR = "send-error"
    FRAGMENT_ERROR = "fragment-error"
    LIFETIME_MISMATCH = "lifetime-mismatch"
    SKEYID_FAILED = "skeyid-failed"
    # informational
    NOTIFY_RECEIVED = "notify-received"
    NOTIFY_SENT = "notify-sent"
    MUST_BE_ENCRYPTED = "must-be-encrypted"
    NO_ISAKMP_SA = "no-isakmp-sa"
    UNKNOWN_INFORMATIONAL = "unknown-informational"
    INITIAL_CONTACT = "initial-contact"
    # phase 2
    PH2_START = "ph2-start"
    PH2_ESTABLISHED = "ph2-established"
    PH2_FAILED = "ph2-failed"
    PH2_TIMEOUT = "ph2-timeout"
    SAINFO_NOT_FOUND = "sainfo-not-found"
    NO_POLICY = "no-policy"
    PFS_MISMATCH = "pfs-mismatch"
    ACQUIRE_IGNORED = "acquire-ignored"
    ACQUIRE_NO_POLICY = "acquire-no-policy"
    IPCOMP_CPI = "ipcomp-cpi"
    # kernel
    PFKEY_ERROR = "pfkey-error"
    SA_INSTALL_FAILED = "sa-install-failed"
    SA_EXPIRED = "sa-expired"
    SA_DELETED = "sa-deleted"
    PH1_EXPIRED = "ph1-expired"
    PH1_DELETED = "ph1-deleted"
    PURGED = "purged"
    # DPD, NAT-T
    DPD_DEAD = "dpd-dead"
    DPD_PROBE = "dpd-probe"
    DPD_ERROR = "dpd-error"
    NATT_VERSION = "natt-version"
    NAT_DETECTED = "nat-detected"
    NATT_PORTS = "natt-ports"
    NATT_UNEXPECTED_PAYLOAD = "natt-unexpected-payload"
    # Xauth / mode-config
    XAUTH_FAILED = "xauth-failed"
    MODECFG_FAILED = "modecfg-failed"
    # Android framework
    ANDROID_VPN_ERROR = "android-vpn-error"


#: Event kinds that are failures on their own (the timeline highlights them).
FAILURE_KINDS = frozenset({
    Kind.CONFIG_ERROR, Kind.BIND_FAILED, Kind.NO_ADDRESS, Kind.PFKEY_UNAVAILABLE,
    Kind.PSK_FILE_PERMISSIONS, Kind.PSK_FILE_UNREADABLE, Kind.PH1_FAILED, Kind.PH1_TIMEOUT,
    Kind.NO_PROPOSAL, Kind.PROPOSAL_REJECTED, Kind.PSK_NOT_FOUND, Kind.HASH_MISMATCH,
    Kind.DECRYPT_GARBAGE, Kind.ID_ERROR, Kind.CERT_NOT_VERIFIED, Kind.PRIVATE_KEY_ERROR,
    Kind.EXCHANGE_NOT_ALLOWED, Kind.EXCHANGE_MISMATCH, Kind.NO_REMOTE_CONFIG, Kind.SEND_ERROR,
    Kind.FRAGMENT_ERROR, Kind.LIFETIME_MISMATCH, Kind.SKEYID_FAILED, Kind.MUST_BE_ENCRYPTED, Kind.NO_ISAKMP_SA,
    Kind.PH2_FAILED, Kind.PH2_TIMEOUT, Kind.SAINFO_NOT_FOUND, Kind.NO_POLICY, Kind.PFS_MISMATCH,
    Kind.ACQUIRE_NO_POLICY, Kind.PFKEY_ERROR, Kind.SA_INSTALL_FAILED, Kind.DPD_DEAD, Kind.DPD_ERROR,
    Kind.NATT_UNEXPECTED_PAYLOAD, Kind.XAUTH_FAILED, Kind.MODECFG_FAILED, Kind.ANDROID_VPN_ERROR,
})


@dataclass(slots=True)
class LogRecord:
    """One logical log record (a line, plus its hexdump or wrapped continuation lines).

    Streamed through the parser, never stored in :class:`LogAnalysis`.
    """

    line: int
    end_line: int
    time: datetime | None
    level: str | None
    message: str
    addr: str | None = None
    pid: int | None = None
    origin: str | None = None
    host: str | None = None
    hexdump_lines: int = 0


@dataclass(slots=True)
class Event:
    """A typed fact taken from one record. ``data`` holds the values the message carried.

    Common keys: ``peer``/``local`` (addresses), ``cookies``, ``reason``, ``notify``, ``exchange``,
    ``spi``, ``proto``, ``mode``, ``src``/``dst``, ``attribute``/``mine``/``theirs``, ``errno``.
    """

    kind: Kind
    location: Location
    time: datetime | None
    message: str
    level: str | None = None
    peer: str | None = None
    data: dict[str, str] = field(default_factory=dict)

    @property
    def line(self) -> int | None:
        return self.location.line

    @property
    def failure(self) -> bool:
        return self.kind in FAILURE_KINDS


class Outcome(str, enum.Enum):
    PENDING = "pending"
    ESTABLISHED = "established"
    FAILED = "failed"
    TIMEOUT = "timeout"
    SUPERSEDED = "superseded"


@dataclass(slots=True)
class Negotiation:
    """One phase-1 (ISAKMP-SA) or phase-2 (quick mode) attempt with one peer."""

    phase: int
    peer: str | None
    start: Location
    started: datetime | None
    local: str | None = None
    role: str | None = None
    exchange: str | None = None
    cookies: str | None = None
    outcome: Outcome = Outcome.PENDING
    reason: str | None = None
    ended: datetime | None = None
    end: Location | None = None
    events: list[Event] = field(default_factory=list)
    spis: list[str] = field(default_factory=list)
    mode: str | None = None
    selectors: str | None = None

    @property
    def seconds(self) -> float | None:
        """How long the attempt took (to its outcome, or to its last event while pending)."""
        last = self.ended or (self.events[-1].time if self.events else None)
        if last is None or self.started is None:
            return None
        return (last - self.started).total_seconds()

    @property
    def done(self) -> bool:
        return self.outcome is not Outcome.PENDING


@dataclass(slots=True)
class PeerStatus:
    """Where the negotiations with one peer stand at the end of the log."""

    peer: str
    phase1: str = "never started"
    phase1_since: datetime | None = None
    phase2: str = "never started"
    phase2_since: datetime | None = None
    problem: str | None = None
    attempts: int = 0

    def line(self) -> str:
        """One line for people: ``phase 1 up since 10:00:06, phase 2 failing: no sainfo ...``."""
        parts = [_state("phase 1", self.phase1, self.phase1_since), _state("phase 2", self.phase2, self.phase2_since)]
        text = ", ".join(parts)
        return f"{text}: {self.problem}" if self.problem and "failing" in text else text


def _state(name: str, state: str, since: datetime | None) -> str:
    return f"{name} {state} since {since:%H:%M:%S}" if since and state == "up" else f"{name} {state}"


@dataclass(slots=True)
class LogAnalysis:
    """What one racoon log said, reduced to events and negotiations."""

    location: Location
    flavour: str | None = None
    errors: list[ParseError] = field(default_factory=list)
    line_format: str | None = None
    racoon_version: str | None = None
    openssl_version: str | None = None
    lines: int = 0
    records: int = 0
    hexdump_records: int = 0
    recognised: int = 0
    first_time: datetime | None = None
    last_time: datetime | None = None
    events: list[Event] = field(default_factory=list)
    events_dropped: int = 0
    negotiations: list[Negotiation] = field(default_factory=list)
    negotiations_dropped: int = 0
    peers: dict[str, PeerStatus] = field(default_factory=dict)
    unrecognised_samples: list[str] = field(default_factory=list)
    #: Where each kind's events are in ``events``, for :meth:`of_kind`; rebuilt when the list is replaced
    #: or has grown (events are appended while a log is read, never changed in place).
    _by_kind: tuple[list[Event], int, dict[Kind, list[int]]] | None = field(default=None, repr=False, compare=False)

    @property
    def recognition(self) -> float:
        """Share of non-hexdump records that matched a known racoon message (0..1)."""
        counted = self.records - self.hexdump_records
        return self.recognised / counted if counted else 1.0

    def of_kind(self, *kinds: Kind) -> list[Event]:
        """The events of these kinds, in log order (the rules ask this dozens of times per log)."""
        events = self.events
        index = self._by_kind
        if index is None or index[0] is not events or index[1] != len(events):
            positions: dict[Kind, list[int]] = {}
            for i, e in enumerate(events):
                positions.setdefault(e.kind, []).append(i)
            index = self._by_kind = (events, len(events), positions)
        found = [index[2].get(kind, []) for kind in dict.fromkeys(kinds)]
        return [events[i] for i in (found[0] if len(found) == 1 else sorted(chain.from_iterable(found)))]

    def phase(self, number: int) -> list[Negotiation]:
        return [n for n in self.negotiations if n.phase == number]
