"""Packet rule: a NAT sits between the peers but NAT traversal was not agreed or not used."""

from __future__ import annotations

import functools
import hashlib
import ipaddress
from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import Severity
from racoondbg.model.packets import Capture, Exchange, HashDetail, IdDetail, IsakmpMessage

from .pcap_helpers import per_peer_pair, ref, transforms

_NAT_D = (15, 20, 130)
_HASHES = {"MD5": "md5", "SHA": "sha1", "SHA2-256": "sha256", "SHA2-384": "sha384", "SHA2-512": "sha512"}


def _nat_t_vids(cap: Capture, ex: Exchange, address: str) -> bool:
    return any(v == "RFC 3947" or v.startswith("draft-ietf-ipsec-nat-t-ike-")
               for m in ex.messages if m.src == address for v in m.vendor_ids)


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


def nat_detected(ex: Exchange) -> tuple[IsakmpMessage, str] | None:
    """(message, who is behind the NAT) when a NAT-D hash does not match the addresses on the wire."""
    algo = _hash_name(ex)
    if algo is None:
        return None
    for msg in ex.messages:
        hashes = [p.detail.hex for p in msg.payloads if p.type in _NAT_D and isinstance(p.detail, HashDetail)]
        if len(hashes) < 2:
            continue
        if hashes[0] != _nat_d(algo, msg, msg.dst, msg.dport):
            return msg, f"{msg.dst} (the receiver of frame {msg.frame})"
        if _nat_d(algo, msg, msg.src, msg.sport) not in hashes[1:]:
            return msg, f"{msg.src} (the sender of frame {msg.frame})"
    return None


def _id_address_differs(ex: Exchange) -> IsakmpMessage | None:
    """A clear-text ID payload naming an IP address other than the packet's source (aggressive mode)."""
    for msg in ex.messages:
        for p in msg.payloads_of(5):
            if isinstance(p.detail, IdDetail) and p.detail.id_type in ("IPv4_address", "IPv6_address") \
                    and p.detail.value != msg.src:
                return msg
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
        for ex in cap.phase1():
            if not ex.answered:
                continue
            found = nat_detected(ex)
            id_msg = _id_address_differs(ex) if found is None else None
            if found is None and id_msg is None:
                continue
            one_sided = [a for a in (ex.initiator, ex.responder) if not _nat_t_vids(cap, ex, a)]
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
