"""Negotiations as ladders: initiator on the left, responder on the right, one arrow per message.

A :class:`Attempt` is one negotiation with one peer, built from what the log says about it, from
what a capture shows of it, or from both when the cookies match. Each :class:`Rung` knows where
its evidence is (a log line or a capture frame), so the ladder links back to it. No widget here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from racoondbg.model.finding import EvidenceRef
from racoondbg.model.log import Event, Kind, LogAnalysis, Negotiation, Outcome
from racoondbg.model.packets import Capture, Exchange, IsakmpMessage

#: Silences longer than this many seconds get a line of their own.
GAP = 1.0
#: Negotiations with one peer drawn at most, the last ones (a capture of a million exchanges with one
#: peer would otherwise make a million ladders before showing one).
MAX_ATTEMPTS = 1000
_PREFIX = {"Identity Protection": "MM", "main": "MM", "Aggressive": "AM", "aggressive": "AM",
           "Quick": "QM", "quick": "QM", "Base": "BM", "base": "BM"}
_NOTES = {Kind.PH1_ESTABLISHED: "ISAKMP-SA established", Kind.PH2_ESTABLISHED: "IPsec-SA established",
          Kind.NAT_DETECTED: None, Kind.NATT_VERSION: None}


@dataclass(frozen=True, slots=True)
class Rung:
    """One line of a ladder.

    ``kind``: ``right``/``left`` (an arrow towards that side), ``note``, ``gap``, ``ok``, ``fail``.
    ``style`` is a LineView style name (``error``, ``warning``, ``dim`` ...) or "".
    """

    kind: str
    label: str
    when: str = ""
    style: str = ""
    ref: EvidenceRef | None = None
    mark: str = ""


@dataclass(slots=True)
class Attempt:
    """One negotiation with one peer, ready to draw."""

    title: str
    left: str
    right: str
    rungs: list[Rung] = field(default_factory=list)
    failed: bool = False
    succeeded: bool = False
    started: float = 0.0


def _prefix(exchange: str | None, phase: int) -> str:
    if phase == 2:
        return "QM"
    return _PREFIX.get(exchange or "", "M")


def _clock(when: datetime | None) -> str:
    return f"{when:%H:%M:%S}" if when else ""


def _host(endpoint: str | None) -> str:
    """``10.3.0.1[500]`` → ``10.3.0.1``."""
    return (endpoint or "").split("[", 1)[0]


def from_negotiation(log: LogAnalysis, neg: Negotiation) -> Attempt:
    """A ladder from the log's account of one negotiation."""
    local, peer = neg.local or "this host", neg.peer or "peer"
    initiator = neg.role != "responder"
    left, right = (local, peer) if initiator else (peer, local)
    towards_peer = "right" if initiator else "left"
    towards_local = "left" if initiator else "right"
    prefix = _prefix(neg.exchange, neg.phase)
    attempt = Attempt(_title(neg), left, right, started=neg.started.timestamp() if neg.started else 0.0)
    step = 0
    last_sent: int | None = None
    previous: datetime | None = None
    answered = False
    for event in neg.events:
        if previous is not None and event.time is not None and (event.time - previous).total_seconds() > GAP:
            attempt.rungs.append(Rung("gap", f"{(event.time - previous).total_seconds():.0f} s later", style="dim"))
        previous = event.time or previous
        ref = EvidenceRef.at(event.location)
        when = _clock(event.time)
        if event.kind in (Kind.PACKET_SENT, Kind.PACKET_RECEIVED):
            step += 1
            sent = event.kind is Kind.PACKET_SENT
            size = event.data.get("bytes")
            label = f"{prefix}{step}" + (f" ({size} bytes)" if size else "")
            attempt.rungs.append(Rung(towards_peer if sent else towards_local, label, when, ref=ref))
            if sent:
                last_sent = len(attempt.rungs) - 1
            else:
                answered = True
        elif event.kind is Kind.RETRANSMIT:
            attempt.rungs.append(Rung(towards_peer, f"{prefix}{step} resent", when, "warning", ref, "↻"))
            last_sent = len(attempt.rungs) - 1
        elif event.kind in (Kind.NOTIFY_SENT, Kind.NOTIFY_RECEIVED):
            notify = event.data.get("notify") or "notification"
            side = towards_peer if event.kind is Kind.NOTIFY_SENT else towards_local
            attempt.rungs.append(Rung(side, notify, when, "error" if event.failure else "", ref))
        elif event.failure:
            attempt.rungs.append(Rung("fail", event.message, when, "error", ref, "✘"))
        elif event.kind in (Kind.PH1_ESTABLISHED, Kind.PH2_ESTABLISHED):
            attempt.rungs.append(Rung("ok", _NOTES[event.kind] or event.message, when, "notify", ref, "✔"))
        else:
            attempt.rungs.append(Rung("note", event.message, when, "dim", ref))
    attempt.failed = neg.outcome in (Outcome.FAILED, Outcome.TIMEOUT)
    attempt.succeeded = neg.outcome is Outcome.ESTABLISHED
    if attempt.failed and not answered and last_sent is not None:
        rung = attempt.rungs[last_sent]
        attempt.rungs[last_sent] = Rung(rung.kind, rung.label, rung.when, "error", rung.ref, "✗ never answered")
    attempt.rungs.append(_outcome(neg))
    return attempt


def _title(neg: Negotiation) -> str:
    what = f"phase {neg.phase}" + (f" {neg.exchange}" if neg.exchange else "")
    span = _clock(neg.started)
    if neg.seconds is not None:
        span += f" +{neg.seconds:.0f} s"
    return f"{what} · {neg.role or 'role unknown'} · {neg.outcome.value} · {span}"


def _outcome(neg: Negotiation) -> Rung:
    where = EvidenceRef.at(neg.end) if neg.end else None
    reason = f": {neg.reason}" if neg.reason else ""
    if neg.outcome is Outcome.ESTABLISHED:
        return Rung("ok", f"established{reason}", _clock(neg.ended), "notify", where, "✔")
    if neg.outcome in (Outcome.FAILED, Outcome.TIMEOUT):
        return Rung("fail", f"{neg.outcome.value}{reason}", _clock(neg.ended), "error", where, "✘")
    if neg.outcome is Outcome.SUPERSEDED:
        return Rung("note", f"superseded{reason}", _clock(neg.ended), "warning", where, "↻")
    return Rung("note", f"still pending at the end of the log{reason}", "", "dim", where, "…")


def from_exchange(capture: Capture, exchange: Exchange, log_events: Iterable[Event] = ()) -> Attempt:
    """A ladder from a captured exchange (and the log's verdict on it, when the cookies matched)."""
    left, right = exchange.initiator, exchange.responder
    first = exchange.first.time
    unanswered = exchange.unanswered()
    silent = set()
    if unanswered is not None and not any(m.src == unanswered.dst and m.time > unanswered.time
                                          for m in exchange.messages):
        silent = {m.frame for m in exchange.transmissions(unanswered)}
    stalled = exchange.stalled_at
    title = (f"{exchange.exchange} · cookies {exchange.icookie[:8]}… · "
             + (f"stalled at {stalled}" if stalled else "complete" if exchange.complete else "incomplete")
             + f" · {len(exchange.retransmits)} resends")
    attempt = Attempt(title, left, right, failed=bool(silent) or stalled is not None,
                      succeeded=exchange.complete, started=first)
    previous: IsakmpMessage | None = None
    messages = exchange.messages
    for msg in messages:
        if previous is not None and msg.time - previous.time > GAP:
            attempt.rungs.append(Rung("gap", f"{msg.time - previous.time:.1f} s later", style="dim"))
        previous = msg
        attempt.rungs.append(_message_rung(capture, msg, left, first, silent, msg is messages[-1]))
    for event in log_events:
        if event.failure or event.kind in (Kind.PH1_ESTABLISHED, Kind.PH2_ESTABLISHED):
            style, mark = ("error", "✘") if event.failure else ("notify", "✔")
            attempt.rungs.append(Rung("fail" if event.failure else "ok", f"log: {event.message}",
                                      _clock(event.time), style, EvidenceRef.at(event.location), mark))
    return attempt


def _message_rung(capture: Capture, msg: IsakmpMessage, left: str, first: float, silent: set[int],
                  last: bool) -> Rung:
    parts = [msg.step or msg.exchange]
    parts += list(msg.notify)
    if msg.encrypted:
        parts.append("[enc]")
    if msg.natt:
        parts.append(f":{msg.dport}")
    style, mark = "", ""
    if msg.retransmit_of:
        style, mark = "warning", f"↻ of #{msg.retransmit_of}"
    if msg.notify:
        style = "error"
    if msg.frame in silent and last:
        style, mark = "error", "✗ never answered"
    return Rung("right" if msg.src == left else "left", " ".join(parts), f"+{msg.time - first:.3f}s", style,
                EvidenceRef(capture.location.path, frame=msg.frame), mark)


def attempts_for(peer: str, logs: Iterable[LogAnalysis], captures: Iterable[Capture]) -> list[Attempt]:
    """The last :data:`MAX_ATTEMPTS` negotiations with ``peer`` the evidence shows, oldest first, log and
    capture merged by cookies."""
    captures = list(captures)
    attempts: list[Attempt] = []
    matched: set[tuple[int, int]] = set()  # (capture, exchange number): exchanges are made anew when asked
    negotiations = [(log, neg) for log in logs for neg in log.negotiations if neg.peer == peer]
    for log, neg in negotiations[-MAX_ATTEMPTS:]:
        exchange = _matching_exchange(neg, captures)
        if exchange is not None:
            capture, ex = exchange
            matched.add((id(capture), ex.number))
            attempts.append(from_exchange(capture, ex, neg.events))
        else:
            attempts.append(from_negotiation(log, neg))
    for capture in captures:
        for number in _last_with(capture, peer):
            if (id(capture), number) not in matched:
                attempts.append(from_exchange(capture, capture.exchanges[number]))
    return sorted(attempts, key=lambda a: a.started)[-MAX_ATTEMPTS:]


def _last_with(capture: Capture, peer: str) -> list[int]:
    """The numbers of the last :data:`MAX_ATTEMPTS` exchanges of ``capture`` with ``peer``, in order
    (found in the exchanges' columns, without making them)."""
    table = capture.exchanges
    pairs = {i for i, pair in enumerate(table.peer_pairs) if peer in pair}
    found: list[int] = []
    peers = table.peers
    for number in range(len(peers) - 1, -1, -1):
        if peers[number] in pairs:
            found.append(number)
            if len(found) == MAX_ATTEMPTS:
                break
    found.reverse()
    return found


def _matching_exchange(neg: Negotiation, captures: list[Capture]) -> tuple[Capture, Exchange] | None:
    if not neg.cookies:
        return None
    icookie = neg.cookies.split(":", 1)[0]
    for capture in captures:
        for ex in capture.exchanges_of(icookie):
            if (ex.message_id == 0) == (neg.phase == 1):
                return capture, ex
    return None


def peers_of(logs: Iterable[LogAnalysis], captures: Iterable[Capture]) -> list[str]:
    """Every peer the logs and captures talk about, in order of appearance."""
    seen: dict[str, None] = {}
    locals_: set[str] = set()
    for log in logs:
        for neg in log.negotiations:
            if neg.local:
                locals_.add(_host(neg.local))
            if neg.peer:
                seen.setdefault(neg.peer)
        for name in log.peers:
            seen.setdefault(name)
    for capture in captures:
        for initiator, responder in capture.exchanges.peer_pairs:  # in the order the exchanges began
            for end in (responder, initiator):
                if end not in locals_:
                    seen.setdefault(end)
    return list(seen)
