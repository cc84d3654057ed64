"""Grouping log events into negotiations: per peer, per ISAKMP-SA (cookies), per quick mode.

racoon interleaves many peers and prints the peer on only some lines; the tracker keeps the
pending negotiation of each peer and attributes a peer-less line to the negotiation it most
likely belongs to (same cookies, else the peer racoon last talked about).
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

from racoondbg.model.log import Event, Kind, LogAnalysis, Negotiation, Outcome, PeerStatus
from racoondbg.model.packets import ZERO_COOKIE

#: Events kept per negotiation (the first ones and the outcome matter; the rest is counted).
MAX_EVENTS_PER_NEGOTIATION = 80
#: In a big log, how many negotiations per peer and phase are kept; they are pruned when the list has
#: grown by half since the last pruning, and by at least this many (pruning costs O(1) per negotiation).
_KEEP_PER_PEER = 32
_PRUNE_GROWTH = 5000
#: Events an established negotiation keeps in a big log (memory stays flat in the log size).
_COMPACT_KEEP = 2
#: Two start lines for one peer closer than this are one negotiation printed twice (Apple tracer).
_SAME_START_SECONDS = 2.0
_PENDING = Outcome.PENDING
_ADDR = re.compile(r"^\[?([0-9A-Fa-f:.]+(?:%[\w.-]+)?)\]?(?:\[(\d+)\])?$")

_PH1_FAILURES = frozenset({
    Kind.NO_PROPOSAL, Kind.PSK_NOT_FOUND, Kind.HASH_MISMATCH, Kind.DECRYPT_GARBAGE, Kind.ID_ERROR,
    Kind.CERT_NOT_VERIFIED, Kind.CERT_ERROR, Kind.PRIVATE_KEY_ERROR, Kind.EXCHANGE_NOT_ALLOWED,
    Kind.EXCHANGE_MISMATCH, Kind.NO_REMOTE_CONFIG, Kind.PROPOSAL_REJECTED, Kind.NOTIFY_RECEIVED,
    Kind.FRAGMENT_ERROR, Kind.NATT_UNEXPECTED_PAYLOAD, Kind.LIFETIME_MISMATCH, Kind.XAUTH_FAILED,
})
_PH2_FAILURES = frozenset({
    Kind.SAINFO_NOT_FOUND, Kind.NO_POLICY, Kind.PFS_MISMATCH, Kind.NO_PROPOSAL, Kind.PROPOSAL_REJECTED,
    Kind.NOTIFY_RECEIVED, Kind.SA_INSTALL_FAILED, Kind.PFKEY_ERROR, Kind.LIFETIME_MISMATCH, Kind.ID_ERROR,
    Kind.HASH_MISMATCH, Kind.NO_ISAKMP_SA,
})


@lru_cache(maxsize=8192)
def host_of(text: str | None) -> str | None:
    """``192.0.2.1[500]`` → ``192.0.2.1``; ``anonymous`` and junk → None."""
    if not text:
        return None
    m = _ADDR.match(text.strip())
    return m.group(1) if m else None


def icookie(cookies: str | None) -> str | None:
    return cookies.split(":", 1)[0].lower() if cookies and len(cookies) >= 16 else None


class Tracker:
    """Builds :class:`Negotiation` objects from events as they stream past."""

    def __init__(self, analysis: LogAnalysis, *, compact: bool = False) -> None:
        self.analysis = analysis
        self.compact = compact
        self.prune_at = _PRUNE_GROWTH
        self.ph1: dict[str, Negotiation] = {}
        self.ph2: dict[str, list[Negotiation]] = {}
        self.last_ph2: dict[str, Negotiation] = {}
        self.by_cookie: dict[str, Negotiation] = {}
        self.locals: set[str] = set()
        self.last_peer: str | None = None

    # -- the entry point ------------------------------------------------------------------
    def add(self, event: Event) -> None:
        if event.peer:
            self.last_peer = event.peer
        handler = _HANDLERS.get(event.kind)
        if handler is not None:
            handler(self, event)
            return
        phase = event.data.get("phase")
        if event.kind in _PH2_FAILURES and phase != "1" and self._pending_ph2(event.peer):
            self._ph2_issue(event)
        elif event.kind in _PH1_FAILURES and phase != "2":
            self._ph1_issue(event)
        elif event.kind in _PH2_FAILURES:
            self._ph2_issue(event)
        else:
            self._attach_any(event)

    # -- helpers ---------------------------------------------------------------------------
    def _peer(self, event: Event) -> str | None:
        if event.peer is None:
            event.peer = self.last_peer
        return event.peer

    def _new(self, phase: int, event: Event) -> Negotiation:
        neg = Negotiation(phase, event.peer, event.location, event.time, local=host_of(event.data.get("local")),
                          role=event.data.get("role"))
        self.analysis.negotiations.append(neg)
        if self.compact and len(self.analysis.negotiations) >= self.prune_at:
            self._prune()
            kept = len(self.analysis.negotiations)
            self.prune_at = kept + max(kept // 2, _PRUNE_GROWTH)
        return neg

    def _prune(self) -> None:
        """A big log: keep the latest negotiations of each peer and phase (memory stays flat)."""
        a = self.analysis
        seen: dict[tuple[str | None, int], int] = {}
        kept: list[Negotiation] = []
        for neg in reversed(a.negotiations):
            key = (neg.peer, neg.phase)
            seen[key] = seen.get(key, 0) + 1
            if seen[key] <= _KEEP_PER_PEER or neg.outcome is _PENDING:
                kept.append(neg)
        a.negotiations_dropped += len(a.negotiations) - len(kept)
        kept.reverse()
        a.negotiations = kept
        alive = {id(n) for n in kept}
        self.by_cookie = {k: n for k, n in self.by_cookie.items() if id(n) in alive}

    def _push(self, neg: Negotiation, event: Event) -> None:
        if len(neg.events) < MAX_EVENTS_PER_NEGOTIATION:
            neg.events.append(event)
        if event.peer is None:
            event.peer = neg.peer
        if self.compact and neg.outcome is Outcome.ESTABLISHED and len(neg.events) > _COMPACT_KEEP:
            # a big log: an established negotiation keeps its start, its problems and its end
            neg.events = [neg.events[0], *[e for e in neg.events[1:-1] if e.failure][:2], neg.events[-1]]

    @staticmethod
    def _finish(neg: Negotiation, event: Event, outcome: Outcome, reason: str | None = None) -> None:
        neg.outcome = outcome
        neg.ended = event.time
        neg.end = event.location
        if reason and not neg.reason:
            neg.reason = reason

    def _pending_ph1(self, peer: str | None) -> Negotiation | None:
        if peer is not None:
            neg = self.ph1.get(peer)
            return neg if neg is not None and neg.outcome is _PENDING else None
        return next((n for n in reversed(self.ph1.values()) if n.outcome is _PENDING), None)

    def _pending_ph2(self, peer: str | None) -> Negotiation | None:
        if peer is None:
            peer = self.last_peer
        for neg in reversed(self.ph2.get(peer or "", ())):
            if neg.outcome is _PENDING:
                return neg
        return None

    def _attach_any(self, event: Event) -> None:
        peer = self._peer(event)
        neg = self._pending_ph2(peer) or self._pending_ph1(peer)
        if neg is not None:
            self._push(neg, event)

    # -- phase 1 ---------------------------------------------------------------------------
    def _ph1_start(self, event: Event) -> None:
        peer = self._peer(event)
        local = host_of(event.data.get("local"))
        if local:
            self.locals.add(local)
        current = self._pending_ph1(peer) if peer else None
        if current is not None and current.started and event.time and len(current.events) <= 3 \
                and (event.time - current.started).total_seconds() <= _SAME_START_SECONDS:
            current.local = current.local or local
            current.role = current.role or event.data.get("role")
            self._push(current, event)
            return
        if current is not None:
            self._finish(current, event, Outcome.SUPERSEDED, "a new phase 1 was started before this one finished")
        neg = self._new(1, event)
        self._push(neg, event)
        if peer:
            self.ph1[peer] = neg

    def _ph1_mode(self, event: Event) -> None:
        neg = self._pending_ph1(self._peer(event))
        if neg is not None:
            neg.exchange = neg.exchange or event.data.get("exchange")
            self._push(neg, event)

    def _by_cookies(self, event: Event) -> Negotiation | None:
        key = icookie(event.data.get("cookies"))
        neg = self.by_cookie.get(key) if key else None
        if neg is None:
            neg = self._pending_ph1(event.peer)
            if neg is None and event.peer is None:
                pending = [n for n in self.ph1.values() if not n.done]
                neg = pending[0] if pending else None
            if neg is not None and key:
                neg.cookies = neg.cookies or event.data.get("cookies")
                self.by_cookie[key] = neg
        if neg is not None and event.peer is None:
            event.peer = neg.peer
        return neg

    def _ph1_established(self, event: Event) -> None:
        peer = self._peer(event)
        neg = self._by_cookies(event) if event.data.get("cookies") else self._pending_ph1(peer)
        if neg is None:
            latest = self.ph1.get(peer or "")
            if latest is not None and latest.outcome is Outcome.ESTABLISHED:
                self._push(latest, event)
                return
            neg = self._new(1, event)
            if peer:
                self.ph1[peer] = neg
        self._push(neg, event)
        if neg.outcome is not Outcome.ESTABLISHED:
            self._finish(neg, event, Outcome.ESTABLISHED)
        neg.cookies = event.data.get("cookies") or neg.cookies

    def _ph1_timeout(self, event: Event) -> None:
        neg = self._by_cookies(event)
        cookies = event.data.get("cookies", "")
        silent = cookies.endswith(ZERO_COOKIE)
        reason = "the peer never answered" if silent else "the peer answered, then the exchange stalled"
        if neg is None:
            neg = self._new(1, event)
        self._push(neg, event)
        self._finish(neg, event, Outcome.TIMEOUT, reason)
        neg.cookies = cookies or neg.cookies

    def _ph1_failed(self, event: Event) -> None:
        neg = self._pending_ph1(self._peer(event))
        if neg is None:
            return
        self._push(neg, event)
        cause = next((e for e in reversed(neg.events) if e.kind in _PH1_FAILURES), None)
        self._finish(neg, event, Outcome.FAILED, cause.message if cause else None)

    def _ph1_issue(self, event: Event) -> None:
        neg = self._pending_ph1(self._peer(event))
        if neg is None and event.kind is Kind.NOTIFY_RECEIVED:
            neg = self._latest_ph1(event.peer)
        if neg is not None:
            self._push(neg, event)
            if event.failure and not neg.reason:
                neg.reason = event.message

    def _latest_ph1(self, peer: str | None) -> Negotiation | None:
        return self.ph1.get(peer) if peer else None

    def _retransmit(self, event: Event) -> None:
        neg = self._by_cookies(event) if event.data.get("cookies") else None
        if neg is None:
            self._attach_any(event)
        else:
            self._push(neg, event)

    def _ph1_gone(self, event: Event) -> None:
        neg = self._by_cookies(event)
        if neg is not None and neg.outcome is Outcome.ESTABLISHED:
            self._push(neg, event)

    # -- phase 2 ---------------------------------------------------------------------------
    def _sa_peer(self, event: Event) -> str | None:
        if event.peer:
            return event.peer
        src, dst = host_of(event.data.get("src")), host_of(event.data.get("dst"))
        for candidate in (dst, src):
            if candidate and candidate in self.ph1:
                event.peer = candidate
                return candidate
        if src and src in self.locals:
            event.peer = dst
        elif dst and dst in self.locals:
            event.peer = src
        return self._peer(event)

    def _ph2_start(self, event: Event) -> None:
        peer = self._peer(event)
        local = host_of(event.data.get("local"))
        if local:
            self.locals.add(local)
        pending = self._pending_ph2(peer)
        if pending is not None and pending.started and event.time and len(pending.events) <= 2 \
                and (event.time - pending.started).total_seconds() <= _SAME_START_SECONDS:
            self._push(pending, event)
            return
        neg = self._new(2, event)
        self._push(neg, event)
        self.ph2.setdefault(peer or "", []).append(neg)
        if len(self.ph2[peer or ""]) > 8:
            self.ph2[peer or ""] = [n for n in self.ph2[peer or ""] if not n.done][-8:]

    def _ph2_established(self, event: Event) -> None:
        peer = self._sa_peer(event)
        neg = self._pending_ph2(peer)
        if neg is None:
            latest = self.last_ph2.get(peer or "")
            neg = latest if latest is not None and _close(latest.ended, event.time) else self._new(2, event)
        self._push(neg, event)
        spi = event.data.get("spi")
        if spi:
            neg.spis.append(spi)
        neg.mode = neg.mode or event.data.get("mode")
        if neg.outcome is not Outcome.ESTABLISHED:
            self._finish(neg, event, Outcome.ESTABLISHED)
            self.last_ph2[peer or ""] = neg

    def _ph2_end(self, event: Event) -> None:
        peer = self._sa_peer(event)
        neg = self._pending_ph2(peer)
        if neg is None and event.data.get("reason") == "gave up":
            done = self.ph2.get(peer or "")
            if done and _close(done[-1].ended, event.time, 120):
                self._push(done[-1], event)
                return
        if neg is None:
            neg = self._new(2, event)
            self.ph2.setdefault(peer or "", []).append(neg)
        self._push(neg, event)
        outcome = Outcome.TIMEOUT if event.kind is Kind.PH2_TIMEOUT else Outcome.FAILED
        cause = next((e for e in reversed(neg.events) if e.kind in _PH2_FAILURES), None)
        self._finish(neg, event, outcome, cause.message if cause else event.data.get("reason") or event.message)

    def _ph2_issue(self, event: Event) -> None:
        peer = self._sa_peer(event)
        neg = self._pending_ph2(peer)
        if neg is None:
            neg = self._new(2, event)
            self.ph2.setdefault(peer or "", []).append(neg)
        self._push(neg, event)
        if event.failure and not neg.reason:
            neg.reason = event.message
        if event.data.get("selector"):
            neg.selectors = event.data["selector"]

    def _sa_change(self, event: Event) -> None:
        self._sa_peer(event)

    # -- the end ---------------------------------------------------------------------------
    def finish(self) -> None:
        """Per-peer status lines from the negotiations, once the whole log was read."""
        if self.compact:
            self._prune()
        peers = self.analysis.peers
        for neg in self.analysis.negotiations:
            if not neg.peer:
                continue
            status = peers.setdefault(neg.peer, PeerStatus(neg.peer))
            if neg.phase == 1:
                status.attempts += 1
                status.phase1, status.phase1_since = _state(neg)
            else:
                status.phase2, status.phase2_since = _state(neg)
            if neg.outcome in (Outcome.FAILED, Outcome.TIMEOUT, Outcome.SUPERSEDED):
                status.problem = neg.reason or neg.outcome.value
            elif neg.outcome is Outcome.ESTABLISHED and neg.phase == 2:
                status.problem = None
        for event in self.analysis.events:
            if event.kind in (Kind.PH1_EXPIRED, Kind.PH1_DELETED, Kind.DPD_DEAD) and event.peer in peers:
                status = peers[event.peer or ""]
                if status.phase1_since and event.time and event.time >= status.phase1_since:
                    status.phase1, status.phase1_since = ("gone (dead peer)" if event.kind is Kind.DPD_DEAD
                                                          else "expired"), None


def _close(earlier: datetime | None, later: datetime | None, seconds: float = 5) -> bool:
    """Whether two times are within ``seconds`` (unknown times — logcat brief — count as close)."""
    if earlier is None or later is None:
        return True
    return (later - earlier).total_seconds() < seconds


def _state(neg: Negotiation) -> tuple[str, datetime | None]:
    if neg.outcome is Outcome.ESTABLISHED:
        return "up", neg.ended
    if neg.outcome is Outcome.PENDING:
        return "in progress", None
    return "failing", None


_HANDLERS = {
    Kind.PH1_START: Tracker._ph1_start,
    Kind.PH1_MODE: Tracker._ph1_mode,
    Kind.PH1_ESTABLISHED: Tracker._ph1_established,
    Kind.PH1_TIMEOUT: Tracker._ph1_timeout,
    Kind.PH1_FAILED: Tracker._ph1_failed,
    Kind.RETRANSMIT: Tracker._retransmit,
    Kind.PH1_EXPIRED: Tracker._ph1_gone,
    Kind.PH1_DELETED: Tracker._ph1_gone,
    Kind.DPD_DEAD: Tracker._ph1_gone,
    Kind.PH2_START: Tracker._ph2_start,
    Kind.PH2_ESTABLISHED: Tracker._ph2_established,
    Kind.PH2_TIMEOUT: Tracker._ph2_end,
    Kind.PH2_FAILED: Tracker._ph2_end,
    Kind.SA_EXPIRED: Tracker._sa_change,
    Kind.SA_DELETED: Tracker._sa_change,
}
