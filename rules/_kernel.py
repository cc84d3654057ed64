"""Shared views of the kernel state for the policy_* and sa_* rules (no rules live here).

* which policies to read (the SPD dump when there is one, else what the scripts install),
* a prefix index that finds overlapping selectors without comparing every pair,
* matching SAs to the policy requests they serve,
* the evidence and wording every rule uses for a policy or an SA.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Generic, TypeVar

from racoondbg.evidence import Evidence
from racoondbg.model.finding import EvidenceRef
from racoondbg.model.kernel import IpsecRequest, Network, Policy, SecurityAssociation, host_text

T = TypeVar("T")

#: SA states that carry traffic (``larval`` has no keys yet, ``dead`` is gone).
LIVE = ("mature", "dying")


@lru_cache(maxsize=1 << 17)
def net(prefix: str) -> Network:
    return ipaddress.ip_network(prefix, strict=False)


@lru_cache(maxsize=1 << 17)
def host(address: str) -> Network:
    return ipaddress.ip_network(address)


def policies(ev: Evidence) -> list[Policy]:
    """The SPD as dumped, or (without a dump) what the setkey scripts install.

    Per-socket policies (racoon's IKE bypass and the like) belong to one socket, not to the
    traffic a selector describes, so they are left out.
    """
    found = ev.spd.policies if ev.spd is not None else [p for script in ev.scripts for p in script.policies]
    return [p for p in found if not p.per_socket]


def is_linux(ev: Evidence) -> bool:
    flavour = ev.spd.flavour if ev.spd is not None else None
    return bool(flavour and ("linux" in flavour))


def policy_ref(p: Policy, note: str | None = None) -> EvidenceRef:
    extra = f" ({p.expansion})" if p.expansion else ""
    return EvidenceRef.at(p.location, p.summary() + extra, note)


def sa_ref(sa: SecurityAssociation, note: str | None = None) -> EvidenceRef:
    return EvidenceRef.at(sa.location, sa.summary(), note)


def age_of(sa: SecurityAssociation) -> int | None:
    if sa.age is not None:
        return sa.age
    if sa.created and sa.dumped:
        return int((sa.dumped - sa.created).total_seconds())
    return None


def ago(seconds: int | None) -> str:
    if seconds is None:
        return "at an unknown time"
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds / 3600:.1f} h ago"


def selector(p: Policy) -> str:
    if p.src is None or p.dst is None:
        return "(per-socket)"
    return f"{host_text(p.src)} → {host_text(p.dst)}"


def ranked(items: Iterable[Policy]) -> list[Policy]:
    """Policies in the order the kernel tries them: priority first (Linux), then as listed."""
    indexed = list(items)
    return sorted(indexed, key=lambda p: p.priority or 0)


class PrefixIndex(Generic[T]):
    """Prefixes → items; finds the prefixes that contain, or lie inside, a query prefix.

    Containing prefixes are found by looking up the query masked to each prefix length in use
    (at most 33 or 129 dictionary lookups); contained ones by bisecting the sorted starts.
    """

    def __init__(self, entries: Iterable[tuple[Network, T]]) -> None:
        self._exact: dict[tuple[int, int, int], list[T]] = defaultdict(list)
        self._lengths: dict[int, list[int]] = {4: [], 6: []}
        spans: dict[int, list[tuple[int, int, int, T]]] = {4: [], 6: []}
        for order, (network, item) in enumerate(entries):
            start = int(network.network_address)
            self._exact[(network.version, network.prefixlen, start)].append(item)
            spans[network.version].append((start, int(network.broadcast_address), order, item))
        for version in (4, 6):
            self._lengths[version] = sorted({k[1] for k in self._exact if k[0] == version})
            spans[version].sort(key=lambda s: (s[0], s[2]))
        self._spans = spans
        self._starts = {v: [s[0] for s in spans[v]] for v in (4, 6)}

    def containing(self, network: Network) -> Iterator[T]:
        """Items whose prefix contains ``network`` (equal included)."""
        bits = network.max_prefixlen
        start = int(network.network_address)
        for plen in self._lengths[network.version]:
            if plen > network.prefixlen:
                break
            masked = start >> (bits - plen) << (bits - plen) if plen else 0
            yield from self._exact.get((network.version, plen, masked), ())

    def inside(self, network: Network) -> Iterator[T]:
        """Items whose prefix lies strictly inside ``network``."""
        starts = self._starts[network.version]
        first, last = int(network.network_address), int(network.broadcast_address)
        spans = self._spans[network.version]
        for i in range(bisect.bisect_left(starts, first), bisect.bisect_right(starts, last)):
            s_start, s_end, _, item = spans[i]
            if s_end <= last and (s_start, s_end) != (first, last):
                yield item

    def count_containing(self, network: Network) -> int:
        bits = network.max_prefixlen
        start = int(network.network_address)
        return sum(len(self._exact.get((network.version, plen, start >> (bits - plen) << (bits - plen) if plen else 0),
                                       ()))
                   for plen in self._lengths[network.version] if plen <= network.prefixlen)

    def count_inside(self, network: Network) -> int:
        starts = self._starts[network.version]
        return bisect.bisect_right(starts, int(network.broadcast_address)) - bisect.bisect_left(
            starts, int(network.network_address))


@dataclass(slots=True)
class SelectorIndex:
    """Policies indexed by source and by destination prefix, to find overlapping selectors."""

    items: list[Policy]
    by_src: PrefixIndex[Policy] = field(init=False)
    by_dst: PrefixIndex[Policy] = field(init=False)

    def __post_init__(self) -> None:
        with_sel = [p for p in self.items if p.src is not None and p.dst is not None]
        self.by_src = PrefixIndex((net(p.src), p) for p in with_sel if p.src)
        self.by_dst = PrefixIndex((net(p.dst), p) for p in with_sel if p.dst)

    def overlapping(self, p: Policy) -> Iterator[Policy]:
        """Policies whose source and destination prefixes both overlap ``p``'s (``p`` excluded)."""
        if p.src is None or p.dst is None:
            return
        src, dst = net(p.src), net(p.dst)
        src_cost = self.by_src.count_containing(src) + self.by_src.count_inside(src)
        dst_cost = self.by_dst.count_containing(dst) + self.by_dst.count_inside(dst)
        index, other, other_net = (self.by_src, "dst", dst) if src_cost <= dst_cost else (self.by_dst, "src", src)
        probe = src if index is self.by_src else dst
        for q in (*index.containing(probe), *index.inside(probe)):
            if q is p:
                continue
            q_other = getattr(q, other)
            if q_other is not None and _overlap(net(q_other), other_net):
                yield q


def _overlap(a: Network, b: Network) -> bool:
    return a.version == b.version and (a.subnet_of(b) or b.subnet_of(a))  # type: ignore[arg-type]


def covers(outer: Policy, inner: Policy) -> bool:
    """Whether every packet ``inner`` selects is also selected by ``outer`` (addresses, protocol, ports)."""
    if outer.src is None or outer.dst is None or inner.src is None or inner.dst is None:
        return False
    return (net(inner.src).subnet_of(net(outer.src))  # type: ignore[arg-type]
            and net(inner.dst).subnet_of(net(outer.dst))  # type: ignore[arg-type]
            and outer.proto in ("any", inner.proto)
            and outer.src_port in (None, inner.src_port) and outer.dst_port in (None, inner.dst_port))


def contains_pair(p: Policy, src: str, dst: str) -> bool:
    """Whether ``p``'s selector covers traffic from address ``src`` to address ``dst``."""
    if p.src is None or p.dst is None:
        return False
    s, d = host(src), host(dst)
    ps, pd = net(p.src), net(p.dst)
    return s.version == ps.version and d.version == pd.version and s.subnet_of(ps) and d.subnet_of(pd)  # type: ignore[arg-type]


class SaIndex:
    """SAs by (src, dst, proto), and the SAs that can serve a policy's request."""

    def __init__(self, sas: Iterable[SecurityAssociation]) -> None:
        self.by_pair: dict[tuple[str, str, str], list[SecurityAssociation]] = defaultdict(list)
        self.by_src: dict[str, list[SecurityAssociation]] = defaultdict(list)
        self.by_dst: dict[str, list[SecurityAssociation]] = defaultdict(list)
        for sa in sas:
            self.by_pair[(sa.src, sa.dst, sa.proto)].append(sa)
            self.by_src[sa.src].append(sa)
            self.by_dst[sa.dst].append(sa)

    def between(self, src: str, dst: str, proto: str) -> list[SecurityAssociation]:
        return self.by_pair.get((src, dst, proto), [])

    def for_request(self, p: Policy, r: IpsecRequest, *, same_mode: bool = False) -> list[SecurityAssociation]:
        """SAs a policy's request could use: by tunnel endpoints, or (transport) by the selector."""
        if r.mode == "tunnel" and r.src and r.dst:
            found = self.between(r.src, r.dst, r.proto)
            return [sa for sa in found if sa.mode in ("tunnel", "any")] if same_mode else found
        if p.src is None or p.dst is None:
            return []
        src, dst = net(p.src), net(p.dst)
        if src.num_addresses == 1 and dst.num_addresses == 1:
            pool = self.between(str(src.network_address), str(dst.network_address), r.proto)
        elif src.num_addresses == 1 or dst.num_addresses == 1:
            by_src = self.by_src.get(str(src.network_address), []) if src.num_addresses == 1 else None
            by_dst = self.by_dst.get(str(dst.network_address), []) if dst.num_addresses == 1 else None
            pool = min((x for x in (by_src, by_dst) if x is not None), key=len)
        else:
            pool = [sa for sas in self.by_pair.values() for sa in sas]
        return [sa for sa in pool if sa.proto == r.proto and contains_pair(p, sa.src, sa.dst)
                and (not same_mode or sa.mode in ("transport", "any"))]
