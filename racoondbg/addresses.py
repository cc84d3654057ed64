"""Addresses as the evidence writes them, and which of them are the host's own.

Shared by the rules that compare sources and by the per-peer status table.
"""

from __future__ import annotations

import ipaddress

from racoondbg.evidence import Evidence


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
