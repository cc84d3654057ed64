"""The per-peer status table at the top of the report: one row per peer, from every source at once.

Phase 1 / phase 2 state and the last error come from racoon's log, the SAs from the SAD, the
packets from captures; a column is ``None`` when that source was not given. A peer that only the
SAD or a capture shows (an SA racoon never logged, a host knocking on UDP 500 unanswered) gets a
row too, once the host's own addresses tell the two ends apart.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from dataclasses import dataclass

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


def ip_of(text: str | None) -> str | None:
    """The address in ``192.0.2.1``, ``192.0.2.1[500]`` or ``2001:db8::1[4500]``; None when there is none."""
    try:
        return str(ipaddress.ip_address(text.split("[", 1)[0])) if text else None
    except ValueError:
        return None


def own_addresses(ev: Evidence) -> set[str]:
    """The host's own addresses as its evidence shows them: bound IKE sockets, the local ends of its
    tunnels and of its negotiations."""
    found: set[str] = set()
    if ev.host is not None:
        found.update(a for s in ev.host.sockets for a in [ip_of(s.address)] if a)
    if ev.spd is not None:
        found.update(a for p in ev.spd.policies if p.direction == "out" and p.tunnel
                     for a in [ip_of(p.tunnel.src)] if a)
    if ev.conf is not None:
        found.update(a for e in ev.conf.listen for a in [ip_of(e.address)] if a)
    for log in ev.logs:
        found.update(a for n in log.negotiations for a in [ip_of(n.local)] if a)
    return found


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
    rows = []
    for peer in sorted(peers, key=lambda p: (":" in p, p)):
        st = status.get(peer)
        rows.append(PeerRow(peer, st.phase1 if st else None, st.phase2 if st else None,
                            st.problem if st else None, None if sas is None else sas[peer],
                            None if packets is None else packets[peer]))
    return rows
