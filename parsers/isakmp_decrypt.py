"""Decrypt IKEv1 messages of a capture with keys the user supplied (``--ike-keys``; off by default).

RFC 2409 CBC with the phase-1 SA's cipher: the phase-1 IV is hash(g^xi | g^xr) cut to the cipher
block (KE payloads of MM3/MM4 or AM1/AM2), and each later phase-1 message's IV is the last
ciphertext block of the one before. Each phase-2, informational or transaction exchange (one
message id) starts from hash(last phase-1 IV | message id) and chains the same way. The cipher
and hash come from the responder's SA payload (or, lacking it, each transform the initiator
offered is tried). A decryption is accepted only when the plaintext is a well-formed payload chain
(padding aside); it then goes through the ordinary payload decoder, so rules see the ID, HASH, SA,
N and D payloads of MM5/MM6, Quick Mode and informational messages.

Keys never leave this module: messages only say *that* they were decrypted (``decrypted``) and
failures say "decryption failed (wrong key or IV)".
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from cryptography.hazmat.decrepit.ciphers import algorithms as decrepit
from cryptography.hazmat.primitives.ciphers import BlockCipherAlgorithm, Cipher, CipherContext, algorithms, modes

from racoondbg.model.base import Location, ParseError
from racoondbg.model.packets import (
    Capture,
    IsakmpMessage,
    NotifyDetail,
    Payload,
    SaDetail,
    Transform,
    VendorIdDetail,
)

from . import isakmp_names as names
from .ikev1_keys import IkeKey, IkeKeys
from .isakmp_payloads import _GEN, ISAKMP_HEADER_LEN, MAX_PAYLOADS, decode_chain

KE = 4
ENCRYPTION_ATTRIBUTE, HASH_ATTRIBUTE, KEY_LENGTH_ATTRIBUTE = 1, 2, 14
FAILED = "decryption failed (wrong key or IV)"
#: Failed messages reported one by one per ISAKMP SA; the rest are counted.
MAX_FAILURES = 20
#: Phase-1 exchanges whose KE payloads give the first IV: (exchange type, initiator step, responder step).
_KE_STEPS = {2: ("MM3", "MM4"), 4: ("AM1", "AM2")}


@dataclass(frozen=True, slots=True)
class CipherSpec:
    """An IKEv1 encryption algorithm: its name, block size, allowed key lengths and a factory."""

    name: str
    block: int
    key_lengths: tuple[int, ...]
    make: Callable[[bytes], BlockCipherAlgorithm]


#: IKEv1 encryption algorithm ids (RFC 2409 App. A) this decoder can decrypt.
CIPHERS: dict[int, CipherSpec] = {
    1: CipherSpec("DES-CBC", 8, (8,), decrepit.TripleDES),  # one-key TripleDES is single DES
    3: CipherSpec("Blowfish-CBC", 8, tuple(range(5, 57)), decrepit.Blowfish),
    5: CipherSpec("3DES-CBC", 8, (24,), decrepit.TripleDES),
    6: CipherSpec("CAST-CBC", 8, tuple(range(5, 17)), decrepit.CAST5),
    7: CipherSpec("AES-CBC", 16, (16, 24, 32), algorithms.AES),
}
#: Default key length (bytes) for variable-length ciphers when the SA carries no Key Length.
_DEFAULT_KEY = {3: 16, 6: 16, 7: 16}
#: IKEv1 hash algorithm ids (RFC 2409 App. A, RFC 4868) and their hashlib names.
HASHES = {1: "md5", 2: "sha1", 4: "sha256", 5: "sha384", 6: "sha512"}


@dataclass(frozen=True, slots=True)
class Suite:
    """What the phase-1 SA negotiated, as far as decryption cares."""

    cipher_id: int
    hash_id: int
    key_bytes: int | None

    @property
    def spec(self) -> CipherSpec:
        return CIPHERS[self.cipher_id]

    def digest(self, data: bytes) -> bytes:
        return hashlib.new(HASHES[self.hash_id], data).digest()

    def cipher_key(self, key: IkeKey) -> bytes | None:
        """The cipher key: Wireshark's key as given, or Ka from SKEYID_e (RFC 2409 appendix B)."""
        spec = self.spec
        want = self.key_bytes or _DEFAULT_KEY.get(self.cipher_id) or spec.key_lengths[0]
        material = key.secret
        if key.kind == "skeyid_e" and len(material) < want:
            prf = HASHES[self.hash_id]
            block = hmac.new(material, b"\x00", prf).digest()
            stretched = block
            while len(stretched) < want:
                block = hmac.new(material, block, prf).digest()
                stretched += block
            material = stretched
        if len(material) > want and key.kind == "skeyid_e":
            material = material[:want]
        return material if len(material) == want and want in spec.key_lengths else None


@dataclass(slots=True)
class _SaState:
    """The decryption state of one ISAKMP SA (one initiator cookie) under one candidate key."""

    suite: Suite
    key: bytes
    iv: bytes
    """The current phase-1 IV: the last ciphertext block of the last phase-1 message."""
    ivs: dict[int, bytes] = field(default_factory=dict)
    """The current IV of each phase-2 / informational message id."""
    seen: dict[bytes, bytes | None] = field(default_factory=dict)
    """Payload chain (None: failed) of each ciphertext already decrypted: retransmissions reuse it."""
    blocks: CipherContext | None = None

    def decrypt(self, msg: IsakmpMessage, raw: bytes) -> bytes | None:
        """The payload chain (padding cut off) of an encrypted message, or None when it does not decrypt."""
        body = raw[ISAKMP_HEADER_LEN:msg.length]
        if body in self.seen:
            return self.seen[body]
        block = self.suite.spec.block
        if msg.message_id == 0:
            iv = self.iv
        else:
            iv = self.ivs.get(msg.message_id) or self.suite.digest(self.iv + msg.message_id.to_bytes(4, "big"))[:block]
        plain = None
        if body and len(body) % block == 0:
            if self.blocks is None:  # ECB is stateless: one context decrypts every message's blocks
                self.blocks = Cipher(self.suite.spec.make(self.key), modes.ECB()).decryptor()
            # CBC by hand: each decrypted block XOR the ciphertext block before it (the IV for the first)
            plain = (int.from_bytes(self.blocks.update(body), "big")
                     ^ int.from_bytes(iv + body[:-block], "big")).to_bytes(len(body), "big")
            end = chain_length(msg.next_payload, plain)
            plain = None if end is None else plain[:end]
            if msg.message_id == 0:
                self.iv = body[-block:]
            else:
                self.ivs[msg.message_id] = body[-block:]
        self.seen[body] = plain
        return plain


def chain_length(first: int, plain: bytes) -> int | None:
    """Where a well-formed payload chain starting with ``first`` ends in ``plain``, else None.

    The rest is CBC padding (racoon and strongSwan pad to the block; RFC 2409 allows up to 255).
    """
    ptype, off, count = first, 0, 0
    while ptype != 0:
        if ptype not in names.PAYLOAD_TYPES or off + 4 > len(plain) or count >= MAX_PAYLOADS:
            return None
        ptype, reserved, length = _GEN.unpack_from(plain, off)
        if length < 4 or off + length > len(plain) or reserved:
            return None
        off, count = off + length, count + 1
    return off if len(plain) - off < 256 else None


def _bodies(first: int, buf: bytes) -> Iterator[tuple[int, bytes]]:
    """(type, body) of each payload of a cleartext chain (for the KE values)."""
    ptype, off = first, 0
    for _ in range(MAX_PAYLOADS):
        if ptype == 0 or off + 4 > len(buf):
            return
        nxt, _reserved, length = _GEN.unpack_from(buf, off)
        if length < 4:
            return
        yield ptype, buf[off + 4:off + length]
        ptype, off = nxt, off + length


def _attribute(transform: Transform, kind: int) -> int | None:
    return next((a.value for a in transform.attributes if a.type == kind), None)


def _suites(messages: list[IsakmpMessage]) -> list[Suite]:
    """The negotiated suite (responder's SA), else every transform the initiator offered."""
    offers: list[tuple[str | None, Transform]] = []
    for msg in messages:
        for payload in msg.payloads:
            if isinstance(payload.detail, SaDetail):
                offers += [(msg.role, t) for p in payload.detail.proposals for t in p.transforms]
    chosen = [t for role, t in offers if role == "responder"] or [t for _role, t in offers]
    out: list[Suite] = []
    for transform in chosen:
        cipher, digest = _attribute(transform, ENCRYPTION_ATTRIBUTE), _attribute(transform, HASH_ATTRIBUTE)
        bits = _attribute(transform, KEY_LENGTH_ATTRIBUTE)
        if cipher is not None and digest is not None:
            suite = Suite(cipher, digest, bits // 8 if bits else None)
            if suite not in out:
                out.append(suite)
    return out


def _first_iv(messages: list[IsakmpMessage], raw: dict[int, bytes], suite: Suite, key: IkeKey) -> bytes | None:
    """hash(g^xi | g^xr) from the KE payloads, else the IV racoon's log printed."""
    values: dict[str, bytes] = {}
    for msg in messages:
        steps = _KE_STEPS.get(msg.exchange_type)
        data = raw.get(msg.frame)
        if steps is None or msg.step not in steps or msg.encrypted or data is None or msg.step in values:
            continue
        ke = next((body for ptype, body in _bodies(msg.next_payload, data[ISAKMP_HEADER_LEN:msg.length])
                   if ptype == KE), None)
        if ke is not None:
            values[msg.step] = ke
    block = suite.spec.block
    pair = next(((values[i], values[r]) for i, r in _KE_STEPS.values() if i in values and r in values), None)
    if pair is not None:
        return suite.digest(pair[0] + pair[1])[:block]
    return key.iv[:block] if key.iv and len(key.iv) >= block else None


@dataclass(slots=True)
class _Sa:
    """The messages of one initiator cookie, in capture order."""

    icookie: str
    messages: list[IsakmpMessage] = field(default_factory=list)

    @property
    def encrypted(self) -> list[IsakmpMessage]:
        return [m for m in self.messages if m.encrypted]


def decrypt_capture(cap: Capture, raw: dict[int, bytes], keys: IkeKeys) -> None:
    """Decrypt every encrypted IKEv1 message of ``cap`` whose ISAKMP SA has a key in ``keys``.

    Decrypted messages get their payloads, notify and vendor-ID names and ``decrypted=True``;
    problems (no key, unsupported cipher, wrong key) go to ``cap.errors``, one per message at most.
    """
    cap.errors.extend(keys.errors)
    sas: dict[str, _Sa] = {}
    for msg in cap.messages:
        if not msg.ikev2:
            sas.setdefault(msg.icookie, _Sa(msg.icookie)).messages.append(msg)
    for sa in sas.values():
        if sa.encrypted:
            _decrypt_sa(cap, sa, raw, keys.for_cookie(sa.icookie))


def _decrypt_sa(cap: Capture, sa: _Sa, raw: dict[int, bytes], keys: list[IkeKey]) -> None:
    first = sa.encrypted[0]
    where = Location(first.path, frame=first.frame)
    if not keys:
        cap.errors.append(ParseError(where, f"no IKE key given for the ISAKMP SA with initiator cookie {sa.icookie}: "
                                            f"its {len(sa.encrypted)} encrypted messages stay encrypted"))
        return
    suites = _suites(sa.messages)
    usable = [s for s in suites if s.cipher_id in CIPHERS and s.hash_id in HASHES]
    if not usable:
        what = ", ".join(sorted({_suite_name(s) for s in suites})) or "no SA payload in the capture"
        cap.errors.append(ParseError(where, f"cannot decrypt the ISAKMP SA {sa.icookie}: {what}",
                                     "decryption knows DES, 3DES, AES, Blowfish and CAST with MD5 and SHA-1/2 "
                                     "and needs the SA payloads of the first two phase-1 messages"))
        return
    if not any(suite.cipher_key(key) for key in keys for suite in usable):
        sizes = ", ".join(sorted({str(len(key.secret)) for key in keys}))
        cap.errors.append(ParseError(where, f"the IKE key for the ISAKMP SA {sa.icookie} has {sizes} bytes, which "
                                            f"does not fit {', '.join(_suite_name(s) for s in usable)}",
                                     "give the final encryption key (racoon: `final encryption key computed:`)"))
        return
    best: tuple[int, _SaState, list[bytes | None]] | None = None
    for state in _candidates(sa, raw, usable, keys):
        results = [state.decrypt(m, raw[m.frame]) if m.frame in raw else None for m in sa.encrypted]
        good = sum(r is not None for r in results)
        if best is None or good > best[0]:
            best = (good, state, results)
        if good == len(results):
            break
    if best is None:
        cap.errors.append(ParseError(where, f"cannot decrypt the ISAKMP SA {sa.icookie}: the capture lacks its KE "
                                            "payloads (MM3/MM4 or AM1/AM2) and no IV was given",
                                     "capture from before the negotiation starts, or give racoon's -d log as the key"))
        return
    decoded: dict[tuple[int, bytes], tuple[tuple[Payload, ...], list[str]]] = {}  # retransmissions decode once
    failed = 0
    for msg, plain in zip(sa.encrypted, best[2], strict=True):
        if plain is None:
            failed += 1
            if failed <= MAX_FAILURES:
                cap.errors.append(ParseError(Location(msg.path, frame=msg.frame), FAILED,
                                             f"check the key for initiator cookie {sa.icookie}"))
            continue
        chain = decoded.get((msg.next_payload, plain))
        if chain is None:
            chain = decoded[(msg.next_payload, plain)] = decode_chain(msg.next_payload, plain)
        _apply(cap, msg, *chain)
    if failed > MAX_FAILURES:
        cap.errors.append(ParseError(where, f"{failed - MAX_FAILURES} more messages of the ISAKMP SA {sa.icookie}: "
                                            f"{FAILED}"))


def _candidates(sa: _Sa, raw: dict[int, bytes], suites: list[Suite], keys: list[IkeKey]) -> Iterator[_SaState]:
    for key in keys:
        for suite in suites:
            cipher_key = suite.cipher_key(key)
            iv = _first_iv(sa.messages, raw, suite, key) if cipher_key else None
            if cipher_key is not None and iv is not None:
                yield _SaState(suite, cipher_key, iv)


def _suite_name(suite: Suite) -> str:
    cipher = CIPHERS[suite.cipher_id].name if suite.cipher_id in CIPHERS else f"encryption algorithm {suite.cipher_id}"
    return f"{cipher} with {HASHES.get(suite.hash_id, f'hash {suite.hash_id}')}"


def _apply(cap: Capture, msg: IsakmpMessage, payloads: tuple[Payload, ...], problems: list[str]) -> None:
    msg.wire = replace(msg.wire, payloads=payloads, decrypted=True,
                       notify=tuple(p.detail.name for p in payloads if isinstance(p.detail, NotifyDetail)),
                       vendor_ids=tuple(p.detail.name or p.detail.hex for p in payloads
                                        if isinstance(p.detail, VendorIdDetail)))
    cap.messages.rewire(msg)
    cap.errors.extend(ParseError(Location(msg.path, frame=msg.frame), f"decrypted: {text}") for text in problems)
