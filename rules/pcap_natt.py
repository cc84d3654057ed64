"""Packet rules about NAT: a NAT between the peers without NAT traversal, or a NAT rewriting the gateway's own IKE."""

from __future__ import annotations

import functools
import hashlib
import ipaddress
from collections.abc import Iterator

from racoondbg.parsers.log_negotiations import host_of

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import EvidenceRef, Severity
from racoondbg.model.log import Kind
from racoondbg.model.packets import Exchange, HashDetail, IdDetail, IsakmpMessage, Wire

from .negotiation_evidence import port_of
from .pcap_helpers import per_peer_pair, ref, transforms

_NAT_D = (15, 20, 130)
_HASHES = {"MD5": "md5", "SHA": "sha1", "SHA2-256": "sha256", "SHA2-384": "sha384", "SHA2-512": "sha512"}


def _nat_t_vids(wires: list[Wire], address: str) -> bool:
    return any(v == "RFC 3947" or v.startswith("draft-ietf-ipsec-nat-t-ike-")
               for w in wires if w.src == address for v in w.vendor_ids)


_NAT_D_SEEN: dict[int, tuple[Wire, list[str | None]]] = {}


def _nat_d_hashes(w: Wire) -> list[str | None]:
    """The NAT-D hashes a message carries (a capture has few distinct wires and many messages)."""
    hit = _NAT_D_SEEN.get(id(w))
    if hit is not None and hit[0] is w:
        return hit[1]
    if len(_NAT_D_SEEN) >= 4096:
        _NAT_D_SEEN.clear()
    hashes = [p.detail.hex for p in w.payloads if p.type in _NAT_D and isinstance(p.detail, HashDetail)]
    _NAT_D_SEEN[id(w)] = (w, hashes)
    return hashes


def _hash_name(ex: Exchange) -> str | None:
    """The phase-1 hash the responder chose (MM2/AM2), else the first one offered."""
    chosen = [m for m in ex.messages if m.role == "responder" and m.payloads_of(1)]
    candidates = transforms(ex) if not chosen else [t for p in chosen[0].payloads_of(1)
                                                    for prop in getattr(p.detail, "proposals", ())
                                                    for t in prop.transforms]
    for t in candidates:
        attr = t.attribute("Hash Algorithm")
        if attr is not None:
            return _HASHES.get(attr.text)
    return None


def _nat_d(algo: str, msg: IsakmpMessage, address: str, port: int) -> str:
    raw = bytes.fromhex(msg.icookie) + bytes.fromhex(msg.rcookie) + _packed(address) + port.to_bytes(2, "big")
    return hashlib.new(algo, raw).hexdigest()


@functools.lru_cache(maxsize=4096)
def _packed(address: str) -> bytes:
    """An address in network byte order (a capture has few addresses and many NAT-D payloads)."""
    return ipaddress.ip_address(address).packed


def nat_detected(ex: Exchange, wires: list[Wire] | None = None) -> tuple[IsakmpMessage, str] | None:
    """(message, who is behind the NAT) when a NAT-D hash does not match the addresses on the wire
    (``wires``: the exchange's, when the caller has them)."""
    hashes_of = [_nat_d_hashes(w) for w in (ex.wires() if wires is None else wires)]
    if all(len(hashes) < 2 for hashes in hashes_of):
        return None
    algo = _hash_name(ex)
    if algo is None:
        return None
    for msg, hashes in zip(ex.messages, hashes_of, strict=True):
        if len(hashes) < 2:
            continue
        if hashes[0] != _nat_d(algo, msg, msg.dst, msg.dport):
            return msg, f"{msg.dst} (the receiver of frame {msg.frame})"
        if _nat_d(algo, msg, msg.src, msg.sport) not in hashes[1:]:
            return msg, f"{msg.src} (the sender of frame {msg.frame})"
    return None


def _id_address_differs(ex: Exchange, wires: list[Wire]) -> IsakmpMessage | None:
    """A clear-text ID payload naming an IP address other than the packet's source (aggressive mode)."""
    for i, w in enumerate(wires):  # made into a message only when found
        for p in w.payloads:
            if p.type == 5 and isinstance(p.detail, IdDetail) and p.detail.id_type in ("IPv4_address", "IPv6_address") \
                    and p.detail.value != w.src:
                return ex.messages[i]
    return None


@rule("RDB420", "nat-t-mismatch", title="A NAT sits between the peers but NAT traversal is not in use",
      severity=Severity.ERROR, needs={"pcap"},
      fix="Set `nat_traversal on;` in the remote block on both ends (and listen on port 4500).")
@per_peer_pair
def nat_without_natt(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: the capture shows a NAT between the peers - a NAT-D hash that does not
    match the addresses on the wire, or an aggressive-mode ID naming another address than the
    packet's source - but the peers did not both announce NAT traversal, or did not move to UDP
    4500 afterwards.

    **Why racoon fails**: without NAT-T, ESP (IP protocol 50) cannot pass a NAT and the NAT may
    rewrite the IKE source port; racoon logs `NAT detected` only when both sides sent NAT-T vendor
    IDs. A peer using another NAT-T draft gets `unexpecting payload type` errors.

    **Evidence it looks at**: NAT-T vendor IDs in MM1/MM2 (AM1/AM2), NAT-D payloads in MM3/MM4
    (recomputed with the negotiated hash), ID payloads, the ports of the later messages.

    **How to fix**: `nat_traversal on;` on both ends (racoon needs NAT-T compiled in, and
    FreeBSD kernels before 11 `options IPSEC_NAT_T`), and allow UDP 4500.

    **References**: failure catalog #5; RFC 3947, RFC 3948.
    """
    for cap in ev.captures:
        for ex in cap.phase1(lambda x: x.answered):
            wires = ex.wires()
            found = nat_detected(ex, wires)
            id_msg = _id_address_differs(ex, wires) if found is None else None
            if found is None and id_msg is None:
                continue
            one_sided = [a for a in (ex.initiator, ex.responder) if not _nat_t_vids(wires, a)]
            later = [m for m in ex.originals if m.step in ("MM5", "MM6", "AM3")]
            stayed_on_500 = bool(later) and not any(m.natt for m in later)
            if not one_sided and not stayed_on_500:
                continue
            if found is not None:
                msg, who = found
                seen = f"the NAT-D hashes in {msg.step} show that {who} is behind a NAT"
            else:
                assert id_msg is not None
                msg = id_msg
                seen = f"{msg.src} says in its ID payload it is another address: it is behind a NAT"
            why = (f"{' and '.join(one_sided)} did not announce NAT traversal (no RFC 3947/draft vendor ID)"
                   if one_sided else "the peers stayed on UDP 500 instead of moving to 4500")
            yield Hit(
                message=f"Between {ex.initiator} and {ex.responder} {seen}, but {why}.",
                evidence=[ref(msg)],
                fix=f"Enable NAT traversal (`nat_traversal on;`) on {' and '.join(one_sided) or 'both peers'}.",
                peer=ex.responder,
            )


_IKE_PORTS = (500, 4500)


def _own_addresses(ev: Evidence) -> dict[str, tuple[set[int], EvidenceRef]]:
    """This host's IKE addresses, with the ports racoon uses there and where the evidence says so:
    racoon.conf's `listen { isakmp …; }`, the log's `… used as isakmp port` and phase-1 local addresses."""
    own: dict[str, tuple[set[int], EvidenceRef]] = {}

    def add(address: str | None, port: int | None, where: EvidenceRef) -> None:
        if not address or address in ("0.0.0.0", "::"):
            return
        ports, _ = own.setdefault(address, (set(_IKE_PORTS), where))
        if port is not None:
            ports.add(port)

    if ev.conf is not None:
        for endpoint in ev.conf.listen:
            add(endpoint.address, endpoint.port, EvidenceRef.at(endpoint.location, note="racoon listens here"))
    for log in ev.logs:
        for event in log.of_kind(Kind.LISTEN):
            text = event.data.get("address", "")
            add(host_of(text), port_of(text), EvidenceRef.at(event.location, event.message, "racoon listens here"))
        for neg in log.phase(1):
            add(host_of(neg.local), None, EvidenceRef.at(neg.start, note="local address of a phase-1 negotiation"))
    return own


@rule("RDB421", "ike-source-nat-rewrite", title="This gateway's own IKE leaves with a rewritten source port",
      severity=Severity.WARNING, needs={"pcap", "conf|log"},
      fix="Exempt the gateway's own IKE and ESP from outbound NAT: pfSense a static-port outbound NAT rule for UDP "
          "500/4500 from the WAN address (above the `any` rule), MikroTik an `accept` src-nat rule for udp 500,4500 "
          "before masquerade, Linux `iptables -t nat -I POSTROUTING -p udp -m multiport --sports 500,4500 -j ACCEPT`.")
def ike_source_nat_rewrite(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: the capture shows IKE packets from this gateway's own address leaving with a
    source port other than 500 or 4500 (or the port racoon.conf's `listen` names).

    **Why racoon fails**: racoon only sends from the ports it listens on, so another port means the
    packet was source-NATed on the way out: an outbound NAT rule with source `any` (pfSense),
    masquerade without an exception (MikroTik, Linux), or static-port NAT for an inside host that
    also uses UDP 500. The peer sees IKE from an unexpected port: it answers a mapping that expires,
    floats to it (`NAT-T: ports changed to: …`) or finds no `remote` for it. The tunnel comes up only
    when the other end initiates, or not at all.

    **Evidence it looks at**: this host's IKE addresses (racoon.conf `listen`, the log's `used as
    isakmp port` and phase-1 local addresses) and the source ports of the IKE packets they send.

    **What would confirm it**: medium confidence — a capture taken on the inside (before NAT) shows
    the same packet with port 500; the NAT table (`conntrack -L -p udp --orig-port-src 500`, `pfctl -ss`)
    shows the rewrite. Two look-alikes: a capture taken beyond a further NAT, and an inside host's own IKE
    NATed to the gateway's address (its cookies then match no negotiation in racoon's log) — the catalog's
    static-port conflict, fixed the same way.

    **How to fix**: exempt UDP 500/4500 and ESP of the gateway itself from outbound NAT.

    **References**: failure catalog #22; pfSense IPsec troubleshooting; MikroTik IPsec manual.
    """
    own = _own_addresses(ev)
    if not own:
        return
    for cap in ev.captures:
        pairs: dict[tuple[str, str], list[IsakmpMessage]] = {}
        for msg in cap.messages.where(lambda w: w.src in own and w.sport not in own[w.src][0]):
            pairs.setdefault((msg.src, msg.dst), []).append(msg)
        for (src, dst), sent in pairs.items():
            ports = sorted({m.sport for m in sent})
            yield Hit(
                message=f"{len(sent)} IKE packet(s) from this host's own address {src} to {dst} leave from UDP port "
                        f"{', '.join(map(str, ports[:4]))} instead of 500/4500: a NAT on the way out rewrites the "
                        f"gateway's own IKE, so {dst} sees it from a port racoon never used.",
                evidence=[ref(sent[0]), own[src][1]], peer=dst)
