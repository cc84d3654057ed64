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


@lru_cache(maxsize=1 << 18)
def net(prefix: str) -> Network:
    return ipaddress.ip_network(prefix, strict=False)


@dataclass(frozen=True, slots=True)
class Span:
    """A prefix (or an address) as the integers the indexes compare: first and last address."""

    version: int
    first: int
    last: int
    plen: int

    @property
    def bits(self) -> int:
        return 32 if self.version == 4 else 128

    def contains(self, other: Span) -> bool:
        return self.version == other.version and self.first <= other.first and other.last <= self.last

    def overlaps(self, other: Span) -> bool:
        return self.contains(other) or other.contains(self)


@lru_cache(maxsize=1 << 18)
def span(prefix: str) -> Span:
    """``10.3.0.0/24`` or ``10.3.0.2`` → Span; IPv4 is read by hand (ipaddress is slow for 100k entries)."""
    addr, _, plen_text = prefix.partition("/")
    if ":" not in addr:
        parts = addr.split(".")
        if len(parts) == 4 and all(p.isdigit() for p in parts):
            value = (int(parts[0]) << 24) | (int(parts[1]) << 16) | (int(parts[2]) << 8) | int(parts[3])
            plen = int(plen_text) if plen_text else 32
            size = 1 << (32 - plen)
            first = value & ~(size - 1) & 0xFFFFFFFF
            return Span(4, first, first + size - 1, plen)
    network = net(prefix)
    return Span(network.version, int(network.network_address), int(network.broadcast_address), network.prefixlen)


def host_address(prefix: str) -> str | None:
    """The address of a single-host prefix (``10.3.0.2/32`` → ``10.3.0.2``), else None."""
    text = host_text(prefix)
    return None if "/" in text else text


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

    def __init__(self, entries: Iterable[tuple[str, T]]) -> None:
        self._exact: dict[tuple[int, int, int], list[T]] = defaultdict(list)
        spans: dict[int, list[tuple[int, int, int, T]]] = {4: [], 6: []}
        for order, (prefix, item) in enumerate(entries):
            sp = span(prefix)
            self._exact[(sp.version, sp.plen, sp.first)].append(item)
            spans[sp.version].append((sp.first, sp.last, order, item))
        self._lengths = {v: sorted({k[1] for k in self._exact if k[0] == v}) for v in (4, 6)}
        for version in (4, 6):
            spans[version].sort(key=lambda s: (s[0], s[2]))
        self._spans = spans
        self._starts = {v: [s[0] for s in spans[v]] for v in (4, 6)}

    def _keys(self, sp: Span) -> Iterator[tuple[int, int, int]]:
        for plen in self._lengths[sp.version]:
            if plen > sp.plen:
                break
            shift = sp.bits - plen
            yield (sp.version, plen, sp.first >> shift << shift)

    def containing(self, prefix: str) -> Iterator[T]:
        """Items whose prefix contains ``prefix`` (equal included)."""
        for key in self._keys(span(prefix)):
            yield from self._exact.get(key, ())

    def inside(self, prefix: str) -> Iterator[T]:
        """Items whose prefix lies strictly inside ``prefix``."""
        sp = span(prefix)
        starts, spans = self._starts[sp.version], self._spans[sp.version]
        for i in range(bisect.bisect_left(starts, sp.first), bisect.bisect_right(starts, sp.last)):
            first, last, _, item = spans[i]
            if last <= sp.last and (first, last) != (sp.first, sp.last):
                yield item

    def count_containing(self, prefix: str) -> int:
        return sum(len(self._exact.get(key, ())) for key in self._keys(span(prefix)))

    def count_inside(self, prefix: str) -> int:
        sp = span(prefix)
        starts = self._starts[sp.version]
        return bisect.bisect_right(starts, sp.last) - bisect.bisect_left(starts, sp.first)


@dataclass(slots=True)
class SelectorIndex:
    """Policies indexed by source and by destination prefix, to find overlapping selectors."""

    items: list[Policy]
    by_src: PrefixIndex[Policy] = field(init=False)
    by_dst: PrefixIndex[Policy] = field(init=False)

    def __post_init__(self) -> None:
        with_sel = [p for p in self.items if p.src is not None and p.dst is not None]
        self.by_src = PrefixIndex((p.src, p) for p in with_sel if p.src)
        self.by_dst = PrefixIndex((p.dst, p) for p in with_sel if p.dst)

    def overlapping(self, p: Policy) -> Iterator[Policy]:
        """Policies whose source and destination prefixes both overlap ``p``'s (``p`` excluded)."""
        if p.src is None or p.dst is None:
            return
        src_cost = self.by_src.count_containing(p.src) + self.by_src.count_inside(p.src)
        dst_cost = self.by_dst.count_containing(p.dst) + self.by_dst.count_inside(p.dst)
        if src_cost <= dst_cost:
            index, probe, other, other_span = self.by_src, p.src, "dst", span(p.dst)
        else:
            index, probe, other, other_span = self.by_dst, p.dst, "src", span(p.src)
        for q in (*index.containing(probe), *index.inside(probe)):
            q_other = getattr(q, other)
            if q is not p and q_other is not None and span(q_other).overlaps(other_span):
                yield q


def covers(outer: Policy, inner: Policy) -> bool:
    """Whether every packet ``inner`` selects is also selected by ``outer`` (addresses, protocol, ports)."""
    if outer.src is None or outer.dst is None or inner.src is None or inner.dst is None:
        return False
    return (span(outer.src).contains(span(inner.src)) and span(outer.dst).contains(span(inner.dst))
            and outer.proto in ("any", inner.proto)
            and outer.src_port in (None, inner.src_port) and outer.dst_port in (None, inner.dst_port))


def contains_pair(p: Policy, src: str, dst: str) -> bool:
    """Whether ``p``'s selector covers traffic from address ``src`` to address ``dst``."""
    if p.src is None or p.dst is None:
        return False
    return span(p.src).contains(span(src)) and span(p.dst).contains(span(dst))


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
        src, dst = host_address(p.src), host_address(p.dst)
        if src and dst:
            pool = self.between(src, dst, r.proto)
        elif src or dst:
            pool = self.by_src.get(src, []) if src else self.by_dst.get(dst or "", [])
        else:
            pool = [sa for sas in self.by_pair.values() for sa in sas]
        return [sa for sa in pool if sa.proto == r.proto and contains_pair(p, sa.src, sa.dst)
                and (not same_mode or sa.mode in ("transport", "any"))]
