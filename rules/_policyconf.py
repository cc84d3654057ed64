"""How racoon connects a kernel policy to racoon.conf: the IKE peer, its `remote`, the phase-2 IDs and
the `sainfo` they select. Shared by the policy_conf and correlate_sainfo rules (no rules live here).

The matching follows ipsec-tools 0.7/0.8 (``getsainfo()``, ``ipsecdoi_chkcmpids()``,
``ipsecdoi_sockaddr2id()``): an ID is IPV4/IPV6 ``_ADDR`` for a full-length prefix, ``_ADDR_SUBNET``
otherwise; two IDs match when type and address (plus mask) are equal — an address equals a subnet
ID with a full-length mask. The protocol and ports carried in the IDs are *not* compared.
Wherever racoon would compare something the evidence does not show (the peer's phase-1 ID of a
``from fqdn`` sainfo, an XAuth group, a mode-config client address), the sainfo counts as a match:
the rules only speak when no block can match.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from racoondbg.evidence import Evidence
from racoondbg.model.conf import RacoonConf, Remote, Sainfo, SainfoId
from racoondbg.model.finding import EvidenceRef
from racoondbg.model.kernel import Address, Policy, host_text

from ._kernel import host_address, policies, span
from .config_common import peer_of

#: How many sainfo blocks a finding quotes.
MAX_REFS = 4


def outbound(ev: Evidence) -> list[Policy]:
    """The outbound IPsec policies: the ones whose traffic makes the kernel ask racoon for SAs."""
    return [p for p in policies(ev) if p.direction == "out" and p.is_ipsec]


def static_peers(ev: Evidence) -> set[str]:
    """IKE peers that static (setkey-loaded, lifetime 0) outbound IPsec policies send traffic to."""
    return {peer for p in outbound(ev) if not p.generated for peer in [ike_peer(p)] if peer}


def ike_peer(p: Policy) -> str | None:
    """The address racoon negotiates with for an IPsec policy: the far tunnel end, or (transport) the
    far host of the selector; None when the far end is a network."""
    if not p.is_ipsec:
        return None
    tunnel = p.tunnel
    if tunnel is not None:
        far = tunnel.dst if p.direction == "out" else tunnel.src
        return ip_text(far) if far else None
    prefix = p.dst if p.direction == "out" else p.src
    return host_address(prefix) if prefix else None


def ip_text(text: str) -> str | None:
    """An address in canonical form (scope dropped), or None when it is not an address."""
    try:
        return str(ipaddress.ip_address(text.split("%", 1)[0]))
    except ValueError:
        return None


class RemoteIndex:
    """The `remote` racoon picks for a peer address: an exact address, then the longest prefix
    (Apple), then `remote anonymous`. Named remotes count by their `remote_address`."""

    def __init__(self, conf: RacoonConf) -> None:
        self.exact: dict[str, Remote] = {}
        self.prefixes: list[tuple[int, str, Remote]] = []
        self.anonymous: Remote | None = None
        for remote in conf.remotes:
            sel = remote.selector
            if sel.kind == "anonymous":
                self.anonymous = self.anonymous or remote
            elif sel.kind == "address" and sel.prefix is not None:
                written = ip_text(sel.address or "")
                if written:
                    self.prefixes.append((sel.prefix, f"{written}/{sel.prefix}", remote))
            else:
                written = ip_text(peer_of(remote) or "")
                if written:
                    self.exact.setdefault(written, remote)
        self.prefixes.sort(key=lambda t: -t[0])

    def get(self, peer: str) -> Remote | None:
        found = self.exact.get(peer)
        if found is not None:
            return found
        where = span(peer)
        return next((r for _, prefix, r in self.prefixes if span(prefix).contains(where)), self.anonymous)


def ph1id(remote: Remote | None) -> int:
    """The remote's `ph1id` (0 unless written): a sainfo with `remoteid N` serves only that remote."""
    d = remote.directive("ph1id") if remote is not None else None
    return int(d.args[0]) if d is not None and d.args and d.args[0].isdigit() else 0


@dataclass(frozen=True, slots=True)
class Phase2Id:
    """One phase-2 identity (IDci or IDcr) as racoon builds it from a policy selector."""

    address: Address
    prefixlen: int
    proto: str
    port: int | None

    @classmethod
    def of(cls, prefix: str, proto: str, port: int | None) -> Phase2Id:
        addr, _, plen = prefix.partition("/")
        address = ipaddress.ip_address(addr)
        return cls(address, int(plen) if plen else address.max_prefixlen, proto, port)

    @property
    def host(self) -> bool:
        return self.prefixlen == self.address.max_prefixlen

    def kind(self) -> str:
        """The ID type as racoon's debug log names it (`s_ipsecdoi_ident`)."""
        return f"IPv{self.address.version}_{'address' if self.host else 'subnet'}"

    def where(self) -> str:
        return str(self.address) if self.host else f"{self.address}/{self.prefixlen}"

    def text(self) -> str:
        port = "any" if self.port is None else str(self.port)
        return f"{self.kind()} {self.where()} (protocol {self.proto}, port {port})"

    def sainfo_side(self) -> str:
        """How a sainfo header writes this identity."""
        port = "" if self.port is None else f" [{self.port}]"
        return f"address {self.where()}{port} {self.proto}"


def phase2_ids(p: Policy) -> tuple[Phase2Id, Phase2Id] | None:
    """(IDci, IDcr) racoon sends when this outbound policy triggers a negotiation: source and
    destination selector (``ipsecdoi_setid2``)."""
    if p.src is None or p.dst is None:
        return None
    try:
        return Phase2Id.of(p.src, p.proto, p.src_port), Phase2Id.of(p.dst, p.proto, p.dst_port)
    except ValueError:
        return None


def side_matches(side: SainfoId | None, ident: Phase2Id) -> bool:
    """One side of a sainfo header against one ID (``ipsecdoi_chkcmpids`` with wildcards allowed):
    an fqdn/keyid/range side never equals an address or subnet ID."""
    return side is None or _side_key(side) == (ident.address, ident.prefixlen)


def _peer_may_match(s: Sainfo, peer: str | None) -> bool:
    """`sainfo … from address X` serves only peer X; other `from` kinds cannot be judged offline."""
    pid = s.peer_id
    if pid is None or peer is None or pid.kind != "address" or not pid.value:
        return True
    return ip_text(pid.value) == peer


def find_sainfo(sainfos: Iterable[Sainfo], local: Phase2Id, remote: Phase2Id, *, peer: str | None,
                remoteid: int | None) -> Sainfo | None:
    """The sainfo racoon could select for these IDs (``getsainfo``), or None when none can.

    ``remoteid`` None means "unknown" (then `remoteid` restrictions are not held against a block).
    """
    for s in sainfos:
        if remoteid is not None and (s.remoteid or 0) != remoteid:
            continue
        if not _peer_may_match(s, peer):
            continue
        if s.group is not None or s.remote_clientaddr:
            return s  # decided by XAuth / mode-config state the evidence does not hold
        if side_matches(s.local, local) and side_matches(s.remote, remote):
            return s
    return None


class SainfoIndex:
    """Sainfo blocks with two address sides by their exact IDs; the rest (anonymous sides, names,
    ranges) are tried in order. :meth:`find` answers like :func:`find_sainfo` over all blocks."""

    def __init__(self, sainfos: Iterable[Sainfo]) -> None:
        self.exact: dict[tuple[Address, int, Address, int], list[Sainfo]] = {}
        self.rest: list[Sainfo] = []
        for s in sainfos:
            key = _side_key(s.local), _side_key(s.remote)
            if key[0] is None or key[1] is None:
                self.rest.append(s)
            else:
                self.exact.setdefault((*key[0], *key[1]), []).append(s)

    def find(self, local: Phase2Id, remote: Phase2Id, *, peer: str | None, remoteid: int | None) -> Sainfo | None:
        same = self.exact.get((local.address, local.prefixlen, remote.address, remote.prefixlen), [])
        return find_sainfo([*same, *self.rest], local, remote, peer=peer, remoteid=remoteid)


def _side_key(side: SainfoId | None) -> tuple[Address, int] | None:
    ep = side.endpoint if side is not None else None
    if ep is None or ep.range_end:
        return None
    try:
        written = ipaddress.ip_address(ep.address.split("%", 1)[0])
    except ValueError:
        return None
    return written, ep.prefix if ep.prefix is not None else written.max_prefixlen


def near_misses(sainfos: Iterable[Sainfo], local: Phase2Id, remote: Phase2Id) -> list[tuple[Sainfo, str]]:
    """Address sainfos that miss these IDs, each with what differs, the closest first."""
    out: list[tuple[int, Sainfo, str]] = []
    for s in sainfos:
        if s.anonymous or s.local is None or s.remote is None:
            continue
        diffs = [d for d in (_diff("local", s.local, local), _diff("remote", s.remote, remote)) if d]
        if diffs:
            out.append((len(diffs), s, "; ".join(diffs)))
    out.sort(key=lambda t: t[0])
    return [(s, why) for _, s, why in out]


def _diff(name: str, side: SainfoId, ident: Phase2Id) -> str | None:
    if side_matches(side, ident):
        return None
    ep = side.endpoint
    if ep is None:
        return f"{name} side is a {side.kind} ID, racoon sends an address"
    if ep.range_end:
        return f"{name} side is a range, racoon sends {ident.kind()}"
    written = f"{ep.address}/{ep.prefix}" if ep.prefix is not None else ep.address
    return f"{name} side {host_text(written)} ≠ {ident.where()}"


def sainfo_refs(conf: RacoonConf, local: Phase2Id, far: Phase2Id) -> list[EvidenceRef]:
    """The sainfo blocks closest to these IDs, each with what differs (or the config itself)."""
    misses = near_misses(conf.sainfos, local, far)
    refs = [EvidenceRef.at(s.location, s.label(), why) for s, why in misses[:MAX_REFS]]
    return refs or [EvidenceRef.at(conf.location, note="no sainfo block for these IDs")]
