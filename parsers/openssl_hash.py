"""OpenSSL's subject-name hashes, in pure Python: the names of the links in a hashed CA directory.

racoon finds CA certificates and CRLs through OpenSSL's hashed directory lookup: the issuer name
of the certificate being checked is hashed and ``<hash>.0``, ``<hash>.1``... (``<hash>.r0``... for
CRLs) are tried in the certificate directory. Two hash functions exist:

* the current one (OpenSSL >= 1.0, ``openssl x509 -hash``): SHA-1 over the *canonical* encoding of
  the name — every string converted to UTF-8, ASCII lower-cased, leading/trailing white space
  dropped and inner runs collapsed to one space, each RDN set re-encoded in DER order, the sets
  concatenated without the outer SEQUENCE;
* the old one (OpenSSL 0.9.x, ``openssl x509 -subject_hash_old``): MD5 over the name's DER bytes.

Both take the first four digest bytes as a little-endian 32-bit number, printed as 8 hex digits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

# Universal tags of the string types OpenSSL canonicalises (ASN1_MASK_CANON) and how their
# content bytes decode to characters (ASN1_STRING_to_UTF8).
_UTF8, _PRINTABLE, _T61, _IA5, _VISIBLE, _UNIVERSAL, _BMP = 12, 19, 20, 22, 26, 28, 30
_CANON_CODECS = {
    _UTF8: "utf-8",
    _PRINTABLE: "latin-1",
    _T61: "latin-1",
    _IA5: "latin-1",
    _VISIBLE: "latin-1",
    _UNIVERSAL: "utf-32-be",
    _BMP: "utf-16-be",
}
_SEQUENCE, _SET = 0x30, 0x31
_OSSL_SPACE = b" \t\n\v\f\r"


class DerError(ValueError):
    """The bytes are not the DER the caller expected."""


@dataclass(frozen=True, slots=True)
class Tlv:
    """One DER element: its tag byte, the offsets of its header and content in ``data``."""

    tag: int
    start: int
    content_start: int
    end: int

    def raw(self, data: bytes) -> bytes:
        return data[self.start : self.end]

    def content(self, data: bytes) -> bytes:
        return data[self.content_start : self.end]


def read_tlv(data: bytes, pos: int, limit: int | None = None) -> Tlv:
    """The DER element starting at ``pos`` (single-byte tags only, definite lengths only)."""
    end_limit = len(data) if limit is None else limit
    if pos + 2 > end_limit:
        raise DerError("truncated DER element")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise DerError("multi-byte DER tags are not used in names")
    first = data[pos + 1]
    cursor = pos + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or cursor + count > end_limit:
            raise DerError("bad DER length")
        length = int.from_bytes(data[cursor : cursor + count], "big")
        cursor += count
    if cursor + length > end_limit:
        raise DerError("DER element runs past its container")
    return Tlv(tag, pos, cursor, cursor + length)


def children(data: bytes, parent: Tlv) -> list[Tlv]:
    """The elements inside a constructed element."""
    items = []
    pos = parent.content_start
    while pos < parent.end:
        item = read_tlv(data, pos, parent.end)
        items.append(item)
        pos = item.end
    return items


def tbs_names(tbs: bytes) -> tuple[bytes, bytes]:
    """The issuer and subject Name DER of a TBSCertificate (``cryptography``'s ``tbs_certificate_bytes``)."""
    outer = read_tlv(tbs, 0)
    if outer.tag != _SEQUENCE:
        raise DerError("TBSCertificate is not a SEQUENCE")
    fields = children(tbs, outer)
    if fields and fields[0].tag == 0xA0:  # [0] EXPLICIT version
        fields = fields[1:]
    # serialNumber, signature, issuer, validity, subject
    if len(fields) < 5 or fields[2].tag != _SEQUENCE or fields[4].tag != _SEQUENCE:
        raise DerError("TBSCertificate has no issuer/subject")
    return fields[2].raw(tbs), fields[4].raw(tbs)


def _canon_value(tag: int, content: bytes) -> tuple[int, bytes]:
    codec = _CANON_CODECS.get(tag)
    if codec is None:
        return tag, content
    try:
        text = content.decode(codec).encode("utf-8")
    except UnicodeError as err:
        raise DerError(f"undecodable string in name: {err}") from err
    text = text.strip(_OSSL_SPACE)
    out = bytearray()
    i = 0
    while i < len(text):
        byte = text[i]
        if byte in _OSSL_SPACE:
            out.append(0x20)
            while i < len(text) and text[i] in _OSSL_SPACE:
                i += 1
            continue
        out.append(byte + 0x20 if 0x41 <= byte <= 0x5A else byte)
        i += 1
    return _UTF8, bytes(out)


def _encode(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        header = bytes([tag, length])
    else:
        size = length.to_bytes((length.bit_length() + 7) // 8, "big")
        header = bytes([tag, 0x80 | len(size)]) + size
    return header + content


def canonical_name(name_der: bytes) -> bytes:
    """OpenSSL's canonical encoding of a Name (``x509_name_canon``), which the current hash digests."""
    name = read_tlv(name_der, 0)
    if name.tag != _SEQUENCE:
        raise DerError("Name is not a SEQUENCE")
    out = bytearray()
    for rdn in children(name_der, name):
        if rdn.tag != _SET:
            raise DerError("RDN is not a SET")
        entries = []
        for atv in children(name_der, rdn):
            parts = children(name_der, atv)
            if atv.tag != _SEQUENCE or len(parts) != 2:
                raise DerError("AttributeTypeAndValue is not SEQUENCE { type, value }")
            tag, value = _canon_value(parts[1].tag, parts[1].content(name_der))
            entries.append(_encode(_SEQUENCE, parts[0].raw(name_der) + _encode(tag, value)))
        out += _encode(_SET, b"".join(sorted(entries)))
    return bytes(out)


def _le32(digest: bytes) -> str:
    return f"{int.from_bytes(digest[:4], 'little'):08x}"


def name_hash(name_der: bytes) -> str:
    """``openssl x509 -hash`` (OpenSSL >= 1.0) of a DER Name, as 8 hex digits."""
    return _le32(hashlib.sha1(canonical_name(name_der)).digest())


def name_hash_old(name_der: bytes) -> str:
    """``openssl x509 -subject_hash_old`` (OpenSSL 0.9.x) of a DER Name, as 8 hex digits."""
    return _le32(hashlib.md5(name_der).digest())
