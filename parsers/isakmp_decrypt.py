"""Decrypt IKEv1 messages of a capture with keys the user supplied (``--ike-keys``; off by default).

RFC 2409 CBC with the phase-1 SA's cipher: the phase-1 IV is hash(g^xi | g^xr) cut to the cipher
block (KE payloads of MM3/MM4 or AM1/AM2), and each later phase-1 message's IV is the last
ciphertext block of the one before. Each phase-2, informational or transaction exchange (one
message id) starts from hash(last phase-1 IV | message id) and chains the same way. The cipher
and hash come from the responder's SA payload (or, lacking it, each transform the initiator
offered is tried). A decryption is accepted only when the plaintext is a well-formed payload chain
(padding aside); it then goes through the ordinary payload decoder, so rules see the ID, HASH, SA,
N and D payloads of MM5/MM6, Quick Mode and informational messages.

Decryption runs while the capture is read (:class:`Decryptor`), one ISAKMP SA (initiator cookie) at
a time: an SA keeps its suites and KE values until its first encrypted messages choose the key and
suite, then only its cipher, its phase-1 IV and the IV chains of its recent message ids. Memory
grows with the SAs, never with the encrypted messages.

Keys never leave this module: messages only say *that* they were decrypted (``decrypted``) and
failures say "decryption failed (wrong key or IV)".
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.decrepit.ciphers import algorithms as decrepit
from cryptography.hazmat.primitives.ciphers import BlockCipherAlgorithm, Cipher, CipherContext, algorithms, modes

from racoondbg.model.base import Location, ParseError
from racoondbg.model.packets import (
    IsakmpMessage,
    Payload,
    SaDetail,
    Transform,
    Wire,
)

from . import isakmp_names as names
from .ikev1_keys import IkeKey, IkeKeys
from .isakmp_exchanges import IDLE_SECONDS
from .isakmp_payloads import _GEN, ISAKMP_HEADER_LEN, MAX_PAYLOADS, decode_chain, names_in

KE = 4
ENCRYPTION_ATTRIBUTE, HASH_ATTRIBUTE, KEY_LENGTH_ATTRIBUTE = 1, 2, 14
FAILED = "decryption failed (wrong key or IV)"
#: Failed messages reported one by one per ISAKMP SA; the rest are counted.
MAX_FAILURES = 20
#: An SA's first encrypted messages wait for its key and suite to be chosen until one candidate decrypts
#: them all, or until this many wait, or this many more messages of the capture came (``parse pcap``
#: holds back the messages after them meanwhile).
MAX_WAITING, MAX_BEHIND = 8, 4096
#: Per SA: the IV chains of this many message ids last used, the plaintexts of this many ciphertexts last
#: decrypted (retransmissions).
MAX_MESSAGE_IDS, MAX_SEEN = 256, 256
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
    """The current IV of each phase-2 / informational message id (the :data:`MAX_MESSAGE_IDS` last used)."""
    seen: dict[bytes, bytes | None] = field(default_factory=dict)
    """Payload chain (None: failed) of each ciphertext already decrypted: retransmissions reuse it
    (the :data:`MAX_SEEN` last ones)."""
    blocks: CipherContext | None = None

    def decrypt(self, msg: IsakmpMessage, body: bytes | None) -> bytes | None:
        """The payload chain (padding cut off) of an encrypted message (``body``: its bytes after the
        header, None when unknown), or None when it does not decrypt."""
        if body is None:
            return None
        seen = self.seen
        if body in seen:
            return seen[body]
        block = self.suite.spec.block
        mid = msg.message_id
        iv = self.iv if mid == 0 else self.ivs.get(mid) or self.suite.digest(self.iv + mid.to_bytes(4, "big"))[:block]
        plain = None
        if body and len(body) % block == 0:
            if self.blocks is None:  # ECB is stateless: one context decrypts every message's blocks
                self.blocks = Cipher(self.suite.spec.make(self.key), modes.ECB()).decryptor()
            # CBC by hand: each decrypted block XOR the ciphertext block before it (the IV for the first)
            plain = (int.from_bytes(self.blocks.update(body), "big")
                     ^ int.from_bytes(iv + body[:-block], "big")).to_bytes(len(body), "big")
            end = chain_length(msg.next_payload, plain)
            plain = None if end is None else plain[:end]
            if mid == 0:
                self.iv = body[-block:]
            else:
                _remember(self.ivs, mid, body[-block:], MAX_MESSAGE_IDS)
        _remember(seen, body, plain, MAX_SEEN)
        return plain

    def forget(self) -> None:
        """Drop the IV chains of phase-2 exchanges and the remembered plaintexts (the SA went idle)."""
        self.ivs.clear()
        self.seen.clear()


def _remember(cache: dict[Any, Any], key: Any, value: Any, limit: int) -> None:
    """``cache[key] = value`` as the newest entry, dropping the oldest past ``limit``."""
    cache.pop(key, None)
    cache[key] = value
    if len(cache) > limit:
        del cache[next(iter(cache))]


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


def _suite(transform: Transform) -> Suite | None:
    """The suite a phase-1 transform names, or None when it lacks the cipher or the hash."""
    cipher, digest = _attribute(transform, ENCRYPTION_ATTRIBUTE), _attribute(transform, HASH_ATTRIBUTE)
    bits = _attribute(transform, KEY_LENGTH_ATTRIBUTE)
    if cipher is None or digest is None:
        return None
    return Suite(cipher, digest, bits // 8 if bits else None)


@dataclass(slots=True)
class _Keyed:
    """An ISAKMP SA with keys in ``--ike-keys``: what chooses its key and suite, then how it decrypts."""

    keys: list[IkeKey]
    responder: list[Suite] | None = None
    """The suites of the responder's SA payloads (None until the responder sent one)."""
    offered: list[Suite] = field(default_factory=list)
    """The suites of every SA payload, in order."""
    ke: dict[str, bytes] = field(default_factory=dict)
    """The first KE value of each of MM3, MM4, AM1 and AM2 (kept until the SA is decided)."""
    waiting: list[tuple[IsakmpMessage, bytes | None]] = field(default_factory=list)
    """Encrypted messages, with their bytes after the header, waiting for the key and suite to be chosen."""
    since: int = 0
    """The decryptor's message count when the first of them came."""
    decided: bool = False
    state: _SaState | None = None
    """The chosen candidate (None: undecided, or none could decrypt)."""
    failed: int = 0
    errors: list[ParseError] = field(default_factory=list)

    def learn(self, msg: IsakmpMessage, data: bytes | None) -> None:
        """Note the suites and the KE value an unencrypted message carries."""
        for payload in msg.payloads:
            if isinstance(payload.detail, SaDetail):
                for proposal in payload.detail.proposals:
                    for transform in proposal.transforms:
                        self._offer(msg.role, _suite(transform))
        steps, step = _KE_STEPS.get(msg.exchange_type), msg.step
        if steps is None or step is None or step not in steps or data is None or step in self.ke:
            return
        ke = next((body for ptype, body in _bodies(msg.next_payload, data[ISAKMP_HEADER_LEN:msg.length])
                   if ptype == KE), None)
        if ke is not None:
            self.ke[step] = bytes(ke)

    def _offer(self, role: str | None, suite: Suite | None) -> None:
        if role == "responder":
            if self.responder is None:
                self.responder = []
            if suite is not None and suite not in self.responder:
                self.responder.append(suite)
        if suite is not None and suite not in self.offered:
            self.offered.append(suite)

    @property
    def suites(self) -> list[Suite]:
        """The negotiated suite (responder's SA), else every transform the initiator offered."""
        return self.offered if self.responder is None else self.responder

    def first_iv(self, suite: Suite, key: IkeKey) -> bytes | None:
        """hash(g^xi | g^xr) from the KE payloads, else the IV racoon's log printed."""
        block = suite.spec.block
        ke = self.ke
        pair = next(((ke[i], ke[r]) for i, r in _KE_STEPS.values() if i in ke and r in ke), None)
        if pair is not None:
            return suite.digest(pair[0] + pair[1])[:block]
        return key.iv[:block] if key.iv and len(key.iv) >= block else None

    def candidates(self, suites: list[Suite]) -> Iterator[_SaState]:
        """A fresh decryption state for each (key, suite) with a fitting cipher key and a first IV."""
        for key in self.keys:
            for suite in suites:
                cipher_key = suite.cipher_key(key)
                iv = self.first_iv(suite, key) if cipher_key else None
                if cipher_key is not None and iv is not None:
                    yield _SaState(suite, cipher_key, iv)


@dataclass(slots=True)
class _Sa:
    """What the decryptor knows of one ISAKMP SA (initiator cookie) of the capture."""

    icookie: str
    last: float = 0.0
    encrypted: int = 0
    where: Location | None = None
    """Its first encrypted message."""
    keyed: _Keyed | None = None


_Best = tuple[int, _SaState, list[bytes | None]]
"""How many waiting messages a candidate decrypts, the candidate, and what each decrypts to."""


class Decryptor:
    """Decrypts the encrypted IKEv1 messages of a capture while it is read.

    Give it every message in capture order, once grouped into its exchange (step and role set), with
    :meth:`message`; then call :meth:`finish`. For an ISAKMP SA (initiator cookie) with a key it notes
    the suites and KE values of the unencrypted messages. Its first encrypted messages wait until one
    candidate (key, suite, first IV) decrypts all of them, or until :data:`MAX_WAITING` wait or
    :data:`MAX_BEHIND` more messages of the capture came, when the candidate decrypting most of them
    is chosen (or an error says why there is none). From then on each encrypted message is decrypted
    when it comes, with the SA's cipher key, phase-1 IV and per-message-id IVs; of the messages' bytes
    only the last few ciphertexts stay (retransmissions). ``apply`` gets each decrypted message with
    its payloads (the message is left alone: see :func:`decrypted_wire`).
    """

    def __init__(self, keys: IkeKeys, apply: Callable[[IsakmpMessage, tuple[Payload, ...]], None]) -> None:
        self.keys = keys
        self.apply = apply
        self.sas: dict[str, _Sa] = {}
        self.undecided: dict[str, _Sa] = {}
        """SAs with waiting messages, in the order their first one came."""
        self.count = 0
        """Messages given so far."""
        self.swept = 0.0
        self.decoded: dict[tuple[int, bytes], tuple[tuple[Payload, ...], list[str]]] = {}
        """Payload chains by plaintext (retransmissions decode once)."""

    def message(self, msg: IsakmpMessage, data: bytes | None) -> None:
        """The next message of the capture; ``data``: its bytes (from the ISAKMP header on), None if unknown."""
        self.count += 1
        if self.undecided:
            self._overdue()
        if msg.ikev2:
            return
        if msg.time - self.swept > IDLE_SECONDS:
            self._sweep(msg.time)
        sa = self.sas.get(msg.icookie)
        if sa is None:
            keys = self.keys.for_cookie(msg.icookie)
            sa = self.sas[msg.icookie] = _Sa(msg.icookie, keyed=_Keyed(keys) if keys else None)
        sa.last = msg.time
        keyed = sa.keyed
        if not msg.encrypted:
            if keyed is not None and not keyed.decided:
                keyed.learn(msg, data)
            return
        sa.encrypted += 1
        if sa.where is None:
            sa.where = msg.location
        if keyed is None:
            return
        body = None if data is None else bytes(data[ISAKMP_HEADER_LEN:msg.length])
        if not keyed.decided:
            self._wait(sa, keyed, msg, body)
        elif keyed.state is not None:
            self._deliver(sa, keyed, msg, keyed.state.decrypt(msg, body))

    def holds(self, msg: IsakmpMessage) -> bool:
        """Whether ``msg`` waits for its SA's key and suite to be chosen (it may still be decrypted)."""
        sa = self.sas.get(msg.icookie) if msg.encrypted else None
        return sa is not None and sa.keyed is not None and bool(sa.keyed.waiting)

    def finish(self) -> list[ParseError]:
        """Decide the SAs still waiting. Returns the problems: the key files', then each SA's in the order
        the SAs began (no key, unsupported cipher, failed messages)."""
        for sa in list(self.undecided.values()):
            self._settle(sa, True)
        errors = list(self.keys.errors)
        for sa in self.sas.values():
            errors += self._report(sa)
        return errors

    def _wait(self, sa: _Sa, keyed: _Keyed, msg: IsakmpMessage, body: bytes | None) -> None:
        if not keyed.waiting:
            keyed.since = self.count
            self.undecided[sa.icookie] = sa
        keyed.waiting.append((msg, body))
        self._settle(sa, len(keyed.waiting) >= MAX_WAITING)

    def _overdue(self) -> None:
        """Decide the SAs whose first waiting message came :data:`MAX_BEHIND` messages ago."""
        while self.undecided:
            sa = next(iter(self.undecided.values()))
            if sa.keyed is None or self.count - sa.keyed.since < MAX_BEHIND:
                return
            self._settle(sa, True)

    def _sweep(self, now: float) -> None:
        """Forget what SAs idle for :data:`IDLE_SECONDS` keep: a keyed SA's IV chains and plaintexts, and
        an SA without key or encrypted message altogether."""
        self.swept = now
        for icookie, sa in list(self.sas.items()):
            if now - sa.last <= IDLE_SECONDS:
                continue
            if sa.keyed is None and not sa.encrypted:
                del self.sas[icookie]
            elif sa.keyed is not None and sa.keyed.state is not None:
                sa.keyed.state.forget()

    def _settle(self, sa: _Sa, force: bool) -> None:
        """Choose the SA's candidate when one decrypts every waiting message; with ``force``, choose the one
        decrypting most of them, or say why there is none."""
        keyed = sa.keyed
        if keyed is None:
            return
        usable = [s for s in keyed.suites if s.cipher_id in CIPHERS and s.hash_id in HASHES]
        best = self._best(keyed, usable)
        if not force and (best is None or best[0] < len(keyed.waiting)):
            return
        if best is None:
            keyed.errors.append(self._undecryptable(sa, keyed, usable))
        else:
            keyed.state = best[1]
            for (msg, _body), plain in zip(keyed.waiting, best[2], strict=True):
                self._deliver(sa, keyed, msg, plain)
        keyed.decided = True
        keyed.waiting, keyed.ke = [], {}
        del self.undecided[sa.icookie]

    @staticmethod
    def _best(keyed: _Keyed, suites: list[Suite]) -> _Best | None:
        """The first candidate decrypting every waiting message, else the first decrypting the most."""
        best: _Best | None = None
        for state in keyed.candidates(suites):
            results = [state.decrypt(msg, body) for msg, body in keyed.waiting]
            good = sum(r is not None for r in results)
            if best is None or good > best[0]:
                best = (good, state, results)
            if good == len(results):
                break
        return best

    @staticmethod
    def _undecryptable(sa: _Sa, keyed: _Keyed, usable: list[Suite]) -> ParseError:
        """Why no candidate could be made: unsupported suite, key of the wrong size, or no first IV."""
        where = keyed.waiting[0][0].location  # the SA's first encrypted message
        if not usable:
            what = ", ".join(sorted({_suite_name(s) for s in keyed.suites})) or "no SA payload in the capture"
            return ParseError(where, f"cannot decrypt the ISAKMP SA {sa.icookie}: {what}",
                              "decryption knows DES, 3DES, AES, Blowfish and CAST with MD5 and SHA-1/2 "
                              "and needs the SA payloads of the first two phase-1 messages")
        if not any(suite.cipher_key(key) for key in keyed.keys for suite in usable):
            sizes = ", ".join(sorted({str(len(key.secret)) for key in keyed.keys}))
            return ParseError(where, f"the IKE key for the ISAKMP SA {sa.icookie} has {sizes} bytes, which "
                                     f"does not fit {', '.join(_suite_name(s) for s in usable)}",
                              "give the final encryption key (racoon: `final encryption key computed:`)")
        return ParseError(where, f"cannot decrypt the ISAKMP SA {sa.icookie}: the capture lacks its KE "
                                 "payloads (MM3/MM4 or AM1/AM2) and no IV was given",
                          "capture from before the negotiation starts, or give racoon's -d log as the key")

    def _deliver(self, sa: _Sa, keyed: _Keyed, msg: IsakmpMessage, plain: bytes | None) -> None:
        """Give ``msg`` its decrypted payloads, or count it as failed."""
        if plain is None:
            keyed.failed += 1
            if keyed.failed <= MAX_FAILURES:
                keyed.errors.append(ParseError(msg.location, FAILED,
                                               f"check the key for initiator cookie {sa.icookie}"))
            return
        payloads, problems = self._decode(msg.next_payload, plain)
        self.apply(msg, payloads)
        keyed.errors.extend(ParseError(msg.location, f"decrypted: {text}") for text in problems)

    def _decode(self, first: int, plain: bytes) -> tuple[tuple[Payload, ...], list[str]]:
        decoded = self.decoded
        chain = decoded.get((first, plain))
        if chain is None:
            if len(decoded) >= MAX_SEEN:
                decoded.clear()
            chain = decoded[(first, plain)] = decode_chain(first, plain)
        return chain

    @staticmethod
    def _report(sa: _Sa) -> list[ParseError]:
        """The SA's problems once the capture is read."""
        if not sa.encrypted or sa.where is None:
            return []
        if sa.keyed is None:
            return [ParseError(sa.where, f"no IKE key given for the ISAKMP SA with initiator cookie {sa.icookie}: "
                                         f"its {sa.encrypted} encrypted messages stay encrypted")]
        more = sa.keyed.failed - MAX_FAILURES
        if more <= 0:
            return sa.keyed.errors
        return [*sa.keyed.errors, ParseError(sa.where, f"{more} more messages of the ISAKMP SA {sa.icookie}: {FAILED}")]


def decrypted_wire(wire: Wire, payloads: tuple[Payload, ...]) -> Wire:
    """What an encrypted message with ``wire`` says once decrypted to ``payloads``."""
    w = wire  # built directly: dataclasses.replace costs more than decrypting a DPD probe
    notify, vendor_ids = names_in(payloads)
    return Wire(path=w.path, src=w.src, dst=w.dst, sport=w.sport, dport=w.dport, natt=w.natt,
                next_payload=w.next_payload, version=w.version, exchange_type=w.exchange_type, exchange=w.exchange,
                flags=w.flags, length=w.length, encrypted=w.encrypted, payloads=payloads, notify=notify,
                vendor_ids=vendor_ids, truncated=w.truncated, ip_fragmented=w.ip_fragmented, decrypted=True)


def _suite_name(suite: Suite) -> str:
    cipher = CIPHERS[suite.cipher_id].name if suite.cipher_id in CIPHERS else f"encryption algorithm {suite.cipher_id}"
    return f"{cipher} with {HASHES.get(suite.hash_id, f'hash {suite.hash_id}')}"
