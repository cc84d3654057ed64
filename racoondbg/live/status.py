"""The per-peer status table at the top of the report: one row per peer, from every source at once.

Phase 1 / phase 2 state and the last error come from racoon's log, the SAs from the SAD, the
packets from captures; a column is ``None`` when that source was not given. With a log and a
capture together, the log's phase-1 negotiations are looked up in the capture by their cookies: how
many of them were seen on the wire, and the last step the capture shows of the latest one. A peer that only the
SAD or a capture shows (an SA racoon never logged, a host knocking on UDP 500 unanswered) gets a
row too, once the host's own addresses tell the two ends apart.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from racoondbg.addresses import ip_of, own_addresses
from racoondbg.correlate import phase1_matches
from racoondbg.evidence import Evidence
from racoondbg.model.log import PeerStatus


@dataclass(frozen=True, slots=True)
class PeerRow:
    peer: str
    phase1: str | None = None
    phase2: str | None = None
    last_error: str | None = None
    sas: int | None = None
    packets: int | None = None
    phase1_logged: int | None = None
    """Phase-1 negotiations with the peer in the log; None unless a log and a capture were both given."""
    phase1_on_wire: int | None = None
    """How many of those a capture shows (same cookies)."""
    wire_step: str | None = None
    """The last step (``MM4``, ``AM2`` …) the capture shows of the latest negotiation seen on the wire."""

    def wire(self) -> str | None:
        """The join in a few words for the table: ``1/2, last MM2``; None when there is nothing to say."""
        if not self.phase1_logged:
            return None
        last = f", last {self.wire_step}" if self.wire_step else ""
        return f"{self.phase1_on_wire}/{self.phase1_logged}{last}"


def far_ends(ev: Evidence, mine: set[str]) -> set[str]:
    """The other ends of the SAs in the SAD and of the IKE packets captured, given the host's own
    addresses (none known: nothing can be told apart)."""
    if not mine:
        return set()
    found: set[str] = set()
    pairs = [(ip_of(sa.src), ip_of(sa.dst)) for sa in ev.sad.sas] if ev.sad is not None else []
    pairs += [(w.src, w.dst) for c in ev.captures for w in c.messages.wires_used()]
    for src, dst in pairs:
        if src in mine and dst and dst not in mine:
            found.add(dst)
        elif dst in mine and src and src not in mine:
            found.add(src)
    return found


def peer_rows(ev: Evidence) -> list[PeerRow]:
    """One row per peer any source mentions: the log's peers, the SAs' and the packets' far ends."""
    status: dict[str, PeerStatus] = {}
    for log in ev.logs:
        for peer, peer_status in log.peers.items():
            address = ip_of(peer)
            if address:
                status[address] = peer_status
    peers = set(status) | far_ends(ev, own_addresses(ev))
    # counted in one pass each: a per-peer scan was peers x SAs (10,000 x 10,000 took an hour)
    sas: Counter[str] | None = None
    if ev.sad is not None:
        sas = Counter(a for sa in ev.sad.sas if sa.state in ("mature", "dying")
                      for a in {ip_of(sa.src), ip_of(sa.dst)} if a)
    packets: Counter[str] | None = None
    if ev.captures:
        packets = Counter()
        for c in ev.captures:
            for w, count in c.messages.wire_counts():
                for a in {w.src, w.dst}:
                    packets[a] += count
    wire = _on_wire(ev)
    rows = []
    for peer in sorted(peers, key=lambda p: (":" in p, p)):
        st = status.get(peer)
        logged, seen, step = wire.get(peer, (0, 0, None)) if wire is not None else (None, None, None)
        rows.append(PeerRow(peer, st.phase1 if st else None, st.phase2 if st else None,
                            st.problem if st else None, None if sas is None else sas[peer],
                            None if packets is None else packets[peer], logged, seen, step))
    return rows


def _on_wire(ev: Evidence) -> dict[str, tuple[int, int, str | None]] | None:
    """Per peer: the log's phase-1 negotiations, how many a capture shows, the latest one's last step
    on the wire. None unless there are both a log and a capture."""
    if not ev.logs or not ev.captures:
        return None
    logged = Counter(a for log in ev.logs for n in log.phase(1) for a in [ip_of(n.peer)] if a)
    seen: dict[str, set[int]] = {}
    step: dict[str, str | None] = {}
    for match in phase1_matches(ev.logs, ev.captures):  # in log order: the last one per peer wins
        peer = ip_of(match.negotiation.peer)
        if peer:
            seen.setdefault(peer, set()).add(id(match.negotiation))
            step[peer] = match.last_step
    return {peer: (count, len(seen.get(peer, ())), step.get(peer)) for peer, count in logged.items()}
