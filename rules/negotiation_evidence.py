"""Shared helpers for the log rules: finding events, grouping them per peer, citing them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from racoondbg.evidence import Evidence
from racoondbg.model.finding import EvidenceRef
from racoondbg.model.log import Event, Kind, LogAnalysis, Negotiation

#: How many log lines a finding cites (the first ones; the message gives the count).
MAX_REFS = 4


def ref(event: Event, note: str | None = None) -> EvidenceRef:
    return EvidenceRef.at(event.location, event.message, note)


def refs(events: Iterable[Event], limit: int = MAX_REFS) -> list[EvidenceRef]:
    return [ref(e) for e in list(events)[:limit]]


def events(
    ev: Evidence, *kinds: Kind, where: Callable[[Event], bool] | None = None
) -> Iterator[tuple[LogAnalysis, Event]]:
    """Every event of these kinds in every log, in log order."""
    for log in ev.logs:
        for event in log.of_kind(*kinds):
            if where is None or where(event):
                yield log, event


def by_peer(found: Iterable[tuple[LogAnalysis, Event]]) -> dict[tuple[str, str | None], list[Event]]:
    """Events grouped per (log, peer): one finding per peer and log."""
    groups: dict[tuple[str, str | None], list[Event]] = {}
    for log, event in found:
        groups.setdefault((log.location.path, event.peer), []).append(event)
    return groups


def peer_words(peer: str | None) -> str:
    return f"with {peer}" if peer else "with an unnamed peer"


def port_of(endpoint: str | None) -> int | None:
    """The port of an address as racoon prints it (``192.0.2.1[4500]``), else None."""
    head, _, tail = (endpoint or "").strip().rpartition("[")
    return int(tail[:-1]) if head and tail.endswith("]") and tail[:-1].isdigit() else None


def times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def at(event: Event) -> str:
    return f"{event.time:%Y-%m-%d %H:%M:%S}" if event.time else f"line {event.line}"


def negotiation_index(log: LogAnalysis) -> dict[int, Negotiation]:
    """Which negotiation each event (by ``id``) belongs to."""
    return {id(e): neg for neg in log.negotiations for e in neg.events}


_PHASE1_EXCHANGES = ("identity exchange", "aggressive exchange", "base exchange", "phase 1")


def notify_phase(event: Event) -> int:
    """Which phase a received notify belongs to: 1, 2, or 0 when the log does not say."""
    exchange = event.data.get("exchange", "")
    if exchange in _PHASE1_EXCHANGES or "unencrypted" in exchange:
        return 1
    if exchange in ("phase2 exchange", "phase 2", "quick exchange"):
        return 2
    return 0


def notifies(ev: Evidence, names: Iterable[str], phase: int | None = None) -> Iterator[tuple[LogAnalysis, Event]]:
    wanted = set(names)
    for log, event in events(ev, Kind.NOTIFY_RECEIVED):
        if event.data.get("notify") in wanted and (phase is None or notify_phase(event) in (phase, 0)):
            yield log, event
