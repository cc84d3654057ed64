"""ISAKMP header and payload chain decoding, in dpkt's idiom (dpkt has no ISAKMP module).

:class:`ISAKMP` and :class:`GenericPayload` are ``dpkt.Packet`` subclasses with ``__hdr__``
tables; :func:`decode_chain` walks an unencrypted payload chain into model payloads, with names
from :mod:`isakmp_names`. Nothing here raises on bad bytes: problems come back as strings.
"""

from __future__ import annotations

import ipaddress
import struct

import dpkt

from racoondbg.model.packets import (
    Attribute,
    CertDetail,
    DeleteDetail,
    FragmentDetail,
    HashDetail,
    IdDetail,
    ModeCfgDetail,
    NatOaDetail,
    NotifyDetail,
    Payload,
    PayloadDetail,
    Proposal,
    SaDetail,
    Transform,
    VendorIdDetail,
)

from . import isakmp_names as names

ISAKMP_HEADER_LEN = 28
IKEV2_EXCHANGES = {34: "IKE_SA_INIT", 35: "IKE_AUTH", 36: "CREATE_CHILD_SA", 37: "INFORMATIONAL"}

#: The most payloads a chain may hold before we stop walking (a loop guard for hostile input).
MAX_PAYLOADS = 256


class ISAKMP(dpkt.Packet):
    """The 28-byte ISAKMP header (RFC 2408 §3.1)."""

    __hdr__ = (
        ("icookie", "8s", b"\x00" * 8),
        ("rcookie", "8s", b"\x00" * 8),
        ("np", "B", 0),
        ("ver", "B", 0x10),
        ("exch", "B", 0),
        ("flags", "B", 0),
        ("msgid", "I", 0),
        ("len", "I", ISAKMP_HEADER_LEN),
    )


class GenericPayload(dpkt.Packet):
    """The 4-byte header every ISAKMP payload starts with."""

    __hdr__ = (("np", "B", 0), ("reserved", "B", 0), ("len", "H", 4))


HEADER = struct.Struct(">8s8sBBBBII")
_GEN = struct.Struct(">BBH")


def looks_like_isakmp(buf: bytes) -> bool:
    """Whether a UDP payload on an unusual port is clearly an ISAKMP message."""
    if len(buf) < ISAKMP_HEADER_LEN:
        return False
    _ic, _rc, np, ver, exch, _flags, _mid, length = HEADER.unpack_from(buf)
    if ver == 0x10:
        known = exch in names.EXCHANGE_TYPES and (np in names.PAYLOAD_TYPES or np == 0)
    elif ver == 0x20:
        known = exch in IKEV2_EXCHANGES
    else:
        return False
    return known and _ic != b"\x00" * 8 and length == len(buf)


def exchange_name(version: int, exch: int) -> str:
    if version >> 4 == 2:
        return f"IKEv2 {IKEV2_EXCHANGES.get(exch, str(exch))}"
    return names.EXCHANGE_TYPES.get(exch) or f"exchange {exch}"


def _attributes(buf: bytes, table: dict[int, str], values: dict[int, dict[int, str]],
                secret: frozenset[int] = frozenset()) -> tuple[tuple[Attribute, ...], str | None]:
    out: list[Attribute] = []
    off = 0
    while off + 4 <= len(buf):
        atype, word = struct.unpack_from(">HH", buf, off)
        off += 4
        kind = atype & 0x7FFF
        name = table.get(kind) or f"attribute {kind}"
        if atype & 0x8000:
            value: int | None = word
            text = names.value_name(values.get(kind, {}), word)
        else:
            data = buf[off:off + word]
            if len(data) < word:
                return tuple(out), f"attribute {name} overruns its payload"
            off += word
            value = int.from_bytes(data, "big") if 0 < word <= 8 else None
            if kind in secret:
                text = f"<{word} bytes>"
            elif value is not None:
                text = names.value_name(values.get(kind, {}), value)
            else:
                text = _text_or_hex(data)
        out.append(Attribute(kind, name, value, text))
    return tuple(out), None


def _text_or_hex(data: bytes, limit: int = 128) -> str:
    if data and all(32 <= b < 127 for b in data):
        return data[:limit].decode("ascii")
    return data[:limit].hex()


def _sa(body: bytes) -> tuple[SaDetail, str | None]:
    if len(body) < 8:
        return SaDetail(0, 0), "SA payload shorter than DOI + situation"
    doi, situation = struct.unpack_from(">II", body)
    proposals: list[Proposal] = []
    off, problem = 8, None
    while off + 8 <= len(body) and len(proposals) < MAX_PAYLOADS:
        np, _r, plen, number, proto, spi_size, ntrans = struct.unpack_from(">BBHBBBB", body, off)
        end = off + plen
        if plen < 8 or end > len(body):
            problem = f"proposal #{number} length {plen} overruns the SA payload"
            break
        spi = body[off + 8:off + 8 + spi_size].hex()
        transforms, problem = _transforms(body[off + 8 + spi_size:end], proto, ntrans)
        proposals.append(Proposal(number, names.PROTOCOLS.get(proto, str(proto)), spi, transforms))
        off = end
        if np != 2 or problem:
            break
    return SaDetail(doi, situation, tuple(proposals)), problem


def _transforms(buf: bytes, proto: int, count: int) -> tuple[tuple[Transform, ...], str | None]:
    out: list[Transform] = []
    off = 0
    ids = names.TRANSFORM_IDS.get(proto, {})
    table, values = (names.PH1_ATTRIBUTES, names.PH1_VALUES) if proto == 1 else (names.PH2_ATTRIBUTES,
                                                                                  names.PH2_VALUES)
    while off + 8 <= len(buf) and len(out) < max(count, 1) * 4 and len(out) < MAX_PAYLOADS:
        np, _r, tlen, number, tid = struct.unpack_from(">BBHBB", buf, off)
        if tlen < 8 or off + tlen > len(buf):
            return tuple(out), f"transform #{number} length {tlen} overruns its proposal"
        attrs, problem = _attributes(buf[off + 8:off + tlen], table, values)
        out.append(Transform(number, tid, ids.get(tid, str(tid)), attrs))
        if problem:
            return tuple(out), problem
        off += tlen
        if np != 3:
            break
    return tuple(out), None


def _address(data: bytes) -> str:
    try:
        return str(ipaddress.ip_address(data))
    except ValueError:
        return data.hex()


def _id_value(id_type: int, data: bytes) -> str:
    if id_type in (1, 5):
        return _address(data)
    if id_type in (4, 6, 7, 8):
        half = len(data) // 2
        first, second = _address(data[:half]), _address(data[half:])
        if id_type in (4, 6):
            try:
                net = ipaddress.ip_network(f"{first}/{second}", strict=False)
                return str(net)
            except ValueError:
                return f"{first}/{second}"
        return f"{first}-{second}"
    if id_type in (2, 3):
        return data.decode("utf-8", "replace")
    if id_type == 9:
        return _dn(data)
    return data[:64].hex()


def _dn(data: bytes) -> str:
    """A DER distinguished name as ``CN=..., O=...``, or hex when it does not parse."""
    try:
        return _der_name_text(data)
    except (ValueError, IndexError):
        return data[:64].hex()


_OID_NAMES = {"2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O",
              "2.5.4.11": "OU", "1.2.840.113549.1.9.1": "E"}


def _der_tlv(data: bytes, off: int) -> tuple[int, int, int]:
    """(tag, value offset, value end) of the DER element at ``off``."""
    tag = data[off]
    length = data[off + 1]
    off += 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(data[off:off + n], "big")
        off += n
    if off + length > len(data):
        raise ValueError("DER element overruns")
    return tag, off, off + length


def _oid(raw: bytes) -> str:
    parts = [raw[0] // 40, raw[0] % 40]
    value = 0
    for b in raw[1:]:
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            parts.append(value)
            value = 0
    return ".".join(map(str, parts))


def _der_name_text(data: bytes) -> str:
    tag, off, end = _der_tlv(data, 0)
    if tag != 0x30:
        raise ValueError("not a SEQUENCE")
    rdns: list[str] = []
    while off < end:
        _t, set_off, set_end = _der_tlv(data, off)
        _t, atv_off, _atv_end = _der_tlv(data, set_off)
        _t, oid_off, oid_end = _der_tlv(data, atv_off)
        _t, val_off, val_end = _der_tlv(data, oid_end)
        oid = _oid(data[oid_off:oid_end])
        rdns.append(f"{_OID_NAMES.get(oid, oid)}={data[val_off:val_end].decode('utf-8', 'replace')}")
        off = set_end
    return ", ".join(rdns)


def names_in(payloads: tuple[Payload, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The notify names and the vendor-ID names (hex when unknown) a payload chain carries."""
    return (tuple(p.detail.name for p in payloads if isinstance(p.detail, NotifyDetail)),
            tuple(p.detail.name or p.detail.hex for p in payloads if isinstance(p.detail, VendorIdDetail)))


def _notify(body: bytes) -> tuple[NotifyDetail | None, str | None]:
    if len(body) < 8:
        return None, "notification payload too short"
    _doi, proto, spi_size, code = struct.unpack_from(">IBBH", body)
    spi = body[8:8 + spi_size]
    data = body[8 + spi_size:]
    return NotifyDetail(code, names.notify_name(code), names.PROTOCOLS.get(proto, str(proto)), spi.hex(),
                        _text_or_hex(data)), None


def _delete(body: bytes) -> tuple[DeleteDetail | None, str | None]:
    if len(body) < 8:
        return None, "delete payload too short"
    _doi, proto, spi_size, count = struct.unpack_from(">IBBH", body)
    spis = tuple(body[8 + i * spi_size:8 + (i + 1) * spi_size].hex() for i in range(min(count, 64)))
    return DeleteDetail(names.PROTOCOLS.get(proto, str(proto)), spis), None


def _fragment(body: bytes) -> tuple[FragmentDetail | None, str | None]:
    if len(body) < 4:
        return None, "IKE fragment payload too short"
    frag_id, number, flags = struct.unpack_from(">HBB", body)
    return FragmentDetail(frag_id, number, bool(flags & 1), len(body) - 4), None


def _modecfg(body: bytes) -> tuple[ModeCfgDetail | None, str | None]:
    if len(body) < 4:
        return None, "attribute payload too short"
    kind, _r, ident = struct.unpack_from(">BBH", body)
    attrs, problem = _attributes(body[4:], names.MODECFG_ATTRIBUTES, {}, names.MODECFG_SECRET_ATTRIBUTES)
    return ModeCfgDetail(names.MODECFG_TYPES.get(kind, str(kind)), ident, attrs), problem


def _detail(ptype: int, body: bytes) -> tuple[PayloadDetail | None, str | None]:
    if ptype == 1:
        return _sa(body)
    if ptype == 5:
        if len(body) < 4:
            return None, "ID payload too short"
        id_type, proto, port = struct.unpack_from(">BBH", body)
        return IdDetail(names.ID_TYPES.get(id_type, str(id_type)), proto, port, _id_value(id_type, body[4:])), None
    if ptype in (6, 7):
        if not body:
            return None, None
        return CertDetail(names.CERT_ENCODINGS.get(body[0], str(body[0])), len(body) - 1), None
    if ptype == 11:
        return _notify(body)
    if ptype == 12:
        return _delete(body)
    if ptype == 13:
        return VendorIdDetail(body.hex(), names.vendor_id_name(body)), None
    if ptype == 14:
        return _modecfg(body)
    if ptype in names.NAT_D_TYPES or ptype == 8:
        return HashDetail(body.hex(), len(body)), None
    if ptype in names.NAT_OA_TYPES:
        if len(body) < 4:
            return None, "NAT-OA payload too short"
        return NatOaDetail(names.ID_TYPES.get(body[0], str(body[0])), _id_value(body[0], body[4:])), None
    if ptype == 132:
        return _fragment(body)
    return HashDetail(None, len(body)), None


def decode_chain(first: int, buf: bytes) -> tuple[tuple[Payload, ...], list[str]]:
    """Walk the payload chain that starts with type ``first`` in ``buf`` (the bytes after the header)."""
    out: list[Payload] = []
    problems: list[str] = []
    ptype, off = first, 0
    while ptype != 0 and len(out) < MAX_PAYLOADS:
        name = names.PAYLOAD_TYPES.get(ptype) or f"payload {ptype}"
        if off + 4 > len(buf):
            problems.append(f"{name} payload header missing at offset {off + ISAKMP_HEADER_LEN}")
            break
        nxt, _reserved, length = _GEN.unpack_from(buf, off)  # a GenericPayload header, without dpkt's cost
        if length < 4 or off + length > len(buf):
            problems.append(f"{name} payload length {length} overruns the message")
            break
        detail, problem = _detail(ptype, bytes(buf[off + 4:off + length]))
        out.append(Payload(ptype, name, length, detail))
        if problem:
            problems.append(problem)
        ptype, off = nxt, off + length
    return tuple(out), problems
