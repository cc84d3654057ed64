"""IKEv1 decryption with user-supplied keys.

The real capture (strongSwan main mode + quick mode + DPD, key from charon's ike level 4 log) is
checked against tshark's decryption of it with the same Wireshark key table (JSON generated once by
make_captures.sh; tshark is not needed here). Synthetic captures cover the other ciphers and hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.decrepit.ciphers import algorithms as decrepit
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from racoondbg.parsers import isakmp_pcap
from racoondbg.parsers.ikev1_keys import IkeKey, IkeKeys, load_keys
from racoondbg.parsers.isakmp_decrypt import FAILED, Decryptor, chain_length

from racoondbg.inputs import LoadOptions
from racoondbg.model.base import Location
from racoondbg.model.packets import Capture, DeleteDetail, HashDetail, IdDetail, NotifyDetail
from racoondbg.sources import Source
from tests.hardening.packets import capture, ethernet, ipv4, message_bytes, udp

HERE = Path(__file__).parent.parent / "fixtures" / "pcap" / "decrypt"
PCAP = HERE / "main_mode_psk_keys.pcap"
TABLE = HERE / "main_mode_psk_keys.ikev1_decryption_table"
RACOON_LOG = HERE / "main_mode_psk_keys.racoon.log"


def load(path: Path, *keys: Path | str) -> Capture:
    return isakmp_pcap.load(Source(path, path.name), LoadOptions(ike_keys=tuple(str(k) for k in keys)))


def _decrypted(pcap: Path, key: IkeKey) -> Capture:
    """``pcap`` loaded and decrypted with ``key`` (made here, not read from a file)."""
    with pcap.open("rb") as fh:
        return isakmp_pcap.decode(Source(pcap, "c.pcap"), fh, keys=IkeKeys({key.icookie: [key]}))


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _tshark_decrypted(pcap: Path) -> dict[int, dict[str, Any]]:
    out = {}
    for packet in json.loads(pcap.with_suffix(".tshark.json").read_text()):
        layers = packet["_source"]["layers"]
        enc = layers.get("isakmp", {}).get("isakmp.enc.data")
        if isinstance(enc, dict) and "isakmp.typepayload" in enc:
            out[int(layers["frame"]["frame.number"])] = enc
    return out


@pytest.mark.parametrize("pcap", sorted(HERE.glob("*.pcap")), ids=lambda p: p.stem)
def test_real_captures_decrypt_like_tshark(pcap: Path) -> None:
    cap = load(pcap, pcap.with_suffix(".ikev1_decryption_table"))
    expected = _tshark_decrypted(pcap)
    decrypted = {m.frame: m for m in cap.messages if m.decrypted}
    assert sorted(decrypted) == sorted(expected) == [m.frame for m in cap.messages if m.encrypted]
    assert cap.errors == []
    for frame, enc in expected.items():
        msg = decrypted[frame]
        assert msg.encrypted  # still encrypted on the wire
        assert [p.type for p in msg.payloads] == [int(t) for t in _list(enc["isakmp.typepayload"])]
        for payload, tree in zip(msg.payloads, _list(enc["isakmp.typepayload_tree"]), strict=True):
            assert payload.length == int(tree["isakmp.payloadlength"])
            detail = payload.detail
            if "isakmp.hash" in tree:
                assert isinstance(detail, HashDetail) and detail.hex == tree["isakmp.hash"].replace(":", "")
            if "isakmp.notify.msgtype" in tree:
                assert isinstance(detail, NotifyDetail) and detail.code == int(tree["isakmp.notify.msgtype"])
            if "isakmp.id.type" in tree:
                assert isinstance(detail, IdDetail)
                assert (detail.protocol, detail.port) == (int(tree["isakmp.id.protoid"]), int(tree["isakmp.id.port"]))
                data = tree["isakmp.id.data"]
                if tree["isakmp.id.type"] == "4":  # IPV4_ADDR_SUBNET (tshark calls the mask "subnet")
                    mask = sum(bin(int(o)).count("1") for o in data["isakmp.id.data.ipv4_subnet"].split("."))
                    assert detail.value == f"{data['isakmp.id.data.ipv4_addr']}/{mask}"
                else:
                    assert detail.value == data["isakmp.id.data.ipv4_addr"]
    assert "[decrypted]" in decrypted[min(decrypted)].excerpt()


def test_what_the_real_captures_say_once_decrypted() -> None:
    cap = load(PCAP, TABLE)
    assert [m.step for m in cap.messages if m.decrypted][:5] == ["MM5", "MM6", "QM1", "QM2", "QM3"]
    assert {m.notify for m in cap.messages if m.step == "INFO"} == {("R-U-THERE",), ("R-U-THERE-ACK",)}
    ts = HERE / "qm_ts_mismatch_keys.pcap"
    cap = load(ts, ts.with_suffix(".racoon.log"))  # 3DES-MD5: the key is SKEYID_e stretched (K1 | K2)
    assert [(m.step, m.notify) for m in cap.messages if m.decrypted] == [
        ("MM5", ("INITIAL-CONTACT",)), ("MM6", ()), ("QM1", ()), ("INFO", ("INVALID-ID-INFORMATION",))]
    qm1 = next(m for m in cap.messages if m.step == "QM1")
    assert [p.detail.value for p in qm1.payloads if isinstance(p.detail, IdDetail)] == [
        "203.0.113.0/26", "203.0.113.64/26"]


def test_skeyid_e_alone_is_stretched_to_the_3des_key(tmp_path: Path) -> None:
    """A log that printed SKEYID_e but not the final key: Ka = prf(SKEYID_e, 0) | prf(SKEYID_e, K1) cut."""
    ts = HERE / "qm_ts_mismatch_keys.pcap"
    lines = ts.with_suffix(".racoon.log").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if "final encryption key" in line)
    log = tmp_path / "racoon.log"
    log.write_text("\n".join(lines[:start] + lines[start + 3:]) + "\n")
    (key,) = load_keys([log]).for_cookie(load(ts).messages[0].icookie)
    assert key.kind == "skeyid_e" and len(key.secret) == 16
    assert [m.payloads for m in load(ts, log).messages] == [m.payloads for m in load(ts, ts.with_suffix(
        ".ikev1_decryption_table")).messages]


def test_racoon_log_gives_the_same_key_and_iv() -> None:
    from_log = load(PCAP, RACOON_LOG)
    from_table = load(PCAP, TABLE)
    assert [m.payloads for m in from_log.messages] == [m.payloads for m in from_table.messages]
    (key,) = load_keys([RACOON_LOG]).for_cookie(from_log.messages[0].icookie)
    (row,) = load_keys([TABLE]).for_cookie(from_log.messages[0].icookie)
    assert key.secret == row.secret and key.kind == "key" and key.location.line == 4
    # charon's "initial IV" (copied to racoon's "IV computed:") is hash(g^xi | g^xr): ours must agree
    mm3, mm4 = from_log.messages[2:4]
    raw = message_bytes(PCAP)
    ke = [_first_payload_body(raw[m.frame]) for m in (mm3, mm4)]
    assert key.iv == hashlib.sha1(ke[0] + ke[1]).digest()[:16]


def _first_payload_body(message: bytes) -> bytes:
    (length,) = struct.unpack_from("!H", message, 30)
    return message[32:28 + length]


def test_off_by_default_and_without_key() -> None:
    plain = load(PCAP)
    assert not any(m.decrypted or (m.encrypted and m.payloads) for m in plain.messages)
    assert "decrypted_frames" not in isakmp_pcap.to_json(plain)
    assert isakmp_pcap.to_json(load(PCAP, TABLE))["decrypted_frames"] == [m.frame for m in plain.messages
                                                                          if m.encrypted]


def test_wrong_key_says_so_per_message(tmp_path: Path) -> None:
    table = tmp_path / "keys"
    table.write_text(TABLE.read_text().split(",")[0] + ",00112233445566778899aabbccddeeff\n")
    cap = load(PCAP, table)
    encrypted = [m for m in cap.messages if m.encrypted]
    assert not any(m.decrypted or m.payloads for m in encrypted)
    assert [(e.location.frame, e.message) for e in cap.errors] == [(m.frame, FAILED) for m in encrypted]


def test_many_failures_are_counted(tmp_path: Path) -> None:
    big = tmp_path / "big.pcap"
    generator = Path(__file__).parent.parent.parent / "bench" / "decrypt_generate.py"
    subprocess.run([sys.executable, str(generator), "40", str(big)], check=True)
    table = big.with_suffix(".ikev1_decryption_table")
    assert len(load(big, table).errors) == 0
    cookie = table.read_text().split(",")[0]
    table.write_text(f"{cookie},{'00' * 16}\n")
    errors = load(big, table).errors
    assert [e.message for e in errors] == [FAILED] * 20 + [f"22 more messages of the ISAKMP SA {cookie}: {FAILED}"]


def test_key_for_another_sa_and_bad_lengths(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.write_text("0102030405060708,00112233445566778899aabbccddeeff\n")
    (err,) = load(PCAP, other).errors
    assert "no IKE key given" in err.message and err.location.frame == 5
    short = tmp_path / "short"
    short.write_text(TABLE.read_text().split(",")[0] + ",0011223344556677\n")
    (err,) = load(PCAP, short).errors
    assert "has 8 bytes" in err.message and "AES-CBC" in err.message
    assert "0011223344556677" not in str(err) + (err.hint or "")


def test_missing_key_file_is_an_error_not_a_crash(tmp_path: Path) -> None:
    cap = load(PCAP, tmp_path / "nope")
    assert any("cannot read the IKE key file" in e.message for e in cap.errors)
    assert not any(m.decrypted for m in cap.messages)


# --- synthetic captures: every cipher and hash, SKEYID_e stretching, retransmissions, phase-2 IVs ---

ICOOKIE, RCOOKIE = bytes.fromhex("a1b2c3d4e5f60718"), bytes.fromhex("1827364554637281")
SUITES = {  # name: (encryption id, key bytes or None, hash id, hashlib name, block, cipher factory)
    "des-md5": (1, None, 1, "md5", 8, decrepit.TripleDES, 8),
    "3des-md5": (5, None, 1, "md5", 8, decrepit.TripleDES, 24),
    "blowfish-sha1": (3, 128, 2, "sha1", 8, decrepit.Blowfish, 16),
    "cast-sha1": (6, 128, 2, "sha1", 8, decrepit.CAST5, 16),
    "aes128-sha256": (7, 128, 4, "sha256", 16, algorithms.AES, 16),
    "aes192-sha384": (7, 192, 5, "sha384", 16, algorithms.AES, 24),
    "aes256-sha512": (7, 256, 6, "sha512", 16, algorithms.AES, 32),
    "aes256-sha1": (7, 256, 2, "sha1", 16, algorithms.AES, 32),
}


def _payloads(items: list[tuple[int, bytes]]) -> bytes:
    out = b""
    for i, (_ptype, body) in enumerate(items):
        nxt = items[i + 1][0] if i + 1 < len(items) else 0
        out += struct.pack("!BBH", nxt, 0, 4 + len(body)) + body
    return out


def _sa(enc: int, bits: int | None, hash_id: int, *more: tuple[int, int | None, int]) -> bytes:
    """A phase-1 SA payload body: one proposal with a transform per (encryption, key bits, hash)."""
    transforms = b""
    offers = [(enc, bits, hash_id), *more]
    for number, (e, b, h) in enumerate(offers, 1):
        attrs = struct.pack("!HH", 0x8001, e) + struct.pack("!HH", 0x8002, h) + struct.pack("!HH", 0x8003, 1)
        attrs += struct.pack("!HH", 0x8004, 14) + (struct.pack("!HH", 0x800E, b) if b else b"")
        nxt = 3 if number < len(offers) else 0
        transforms += struct.pack("!BBHBBH", nxt, 0, 8 + len(attrs), number, 1, 0) + attrs
    proposal = struct.pack("!BBHBBBB", 0, 0, 8 + len(transforms), 1, 1, 0, len(offers)) + transforms
    return struct.pack("!II", 1, 1) + proposal


class _Peer:
    """Encrypts like an IKEv1 implementation (RFC 2409 IVs), independently of the decoder."""

    def __init__(self, suite: str, key: bytes) -> None:
        enc, bits, hash_id, self.hash, self.block, self.factory, _klen = SUITES[suite]
        self.key, self.sa = key, _sa(enc, bits, hash_id)
        self.gxi, self.gxr = bytes(range(1, 129)), bytes(range(127, 255))
        self.p1_iv = hashlib.new(self.hash, self.gxi + self.gxr).digest()[:self.block]
        self.ivs: dict[int, bytes] = {}

    def encrypt(self, msgid: int, items: list[tuple[int, bytes]]) -> bytes:
        plain = _payloads(items)
        plain += b"\0" * (-len(plain) % self.block)
        if msgid == 0:
            iv = self.p1_iv
        else:
            iv = self.ivs.get(msgid) or hashlib.new(self.hash, self.p1_iv + msgid.to_bytes(4, "big")).digest()[
                :self.block]
        enc = Cipher(self.factory(self.key), modes.CBC(iv)).encryptor()
        body = enc.update(plain) + enc.finalize()
        if msgid == 0:
            self.p1_iv = body[-self.block:]
        else:
            self.ivs[msgid] = body[-self.block:]
        return body


def _message(items_or_body: list[tuple[int, bytes]] | bytes, first: int, exch: int, msgid: int = 0,
             encrypted: bool = False, rcookie: bytes = RCOOKIE) -> bytes:
    body = items_or_body if isinstance(items_or_body, bytes) else _payloads(items_or_body)
    header = ICOOKIE + rcookie + struct.pack("!BBBBII", first, 0x10, exch, int(encrypted), msgid, 28 + len(body))
    return header + body


def _frame(message: bytes, from_initiator: bool) -> bytes:
    src, dst = ("192.0.2.1", "198.51.100.7") if from_initiator else ("198.51.100.7", "192.0.2.1")
    return ethernet(ipv4(udp(message), src=src, dst=dst))


ID_I = (5, bytes([1, 17, 1, 244]) + bytes([192, 0, 2, 1]))
ID_R = (5, bytes([1, 17, 1, 244]) + bytes([198, 51, 100, 7]))
HASH = (8, bytes(range(20)))


def _conversation(peer: _Peer) -> bytes:
    """MM1..MM6 (MM5 sent twice), QM1..QM3, then an informational DELETE."""
    nonce = (10, bytes(16))
    qm_id = 0x11223344
    frames = [
        _frame(_message([(1, peer.sa)], 1, 2, rcookie=bytes(8)), True),
        _frame(_message([(1, peer.sa)], 1, 2), False),
        _frame(_message([(4, peer.gxi), nonce], 4, 2), True),
        _frame(_message([(4, peer.gxr), nonce], 4, 2), False),
    ]
    mm5 = _message(peer.encrypt(0, [ID_I, HASH]), 5, 2, encrypted=True)
    frames += [_frame(mm5, True), _frame(mm5, True)]
    frames.append(_frame(_message(peer.encrypt(0, [ID_R, HASH]), 5, 2, encrypted=True), False))
    id_net = (5, bytes([4, 0, 0, 0]) + bytes([203, 0, 113, 0, 255, 255, 255, 192]))
    qm1 = [HASH, (1, struct.pack("!II", 1, 1) + struct.pack("!BBHBBBB", 0, 0, 8, 1, 3, 4, 0) + b"\x01\x02\x03\x04"),
           nonce, id_net, id_net]
    frames.append(_frame(_message(peer.encrypt(qm_id, qm1), 8, 32, qm_id, True), True))
    frames.append(_frame(_message(peer.encrypt(qm_id, qm1), 8, 32, qm_id, True), False))
    frames.append(_frame(_message(peer.encrypt(qm_id, [HASH]), 8, 32, qm_id, True), True))
    delete = (12, struct.pack("!IBBH", 1, 3, 4, 1) + bytes.fromhex("c0ffee01"))
    frames.append(_frame(_message(peer.encrypt(0x55667788, [HASH, delete]), 8, 5, 0x55667788, True), True))
    return capture(*frames)


def _stretched(skeyid_e: bytes, hash_name: str, want: int) -> bytes:
    block = hmac.new(skeyid_e, b"\x00", hash_name).digest()
    out = block
    while len(out) < want:
        block = hmac.new(skeyid_e, block, hash_name).digest()
        out += block
    return out[:want]


@pytest.mark.parametrize("suite", sorted(SUITES))
@pytest.mark.parametrize("kind", ["key", "skeyid_e"])
def test_synthetic_suites(tmp_path: Path, suite: str, kind: str) -> None:
    klen, hash_name = SUITES[suite][6], SUITES[suite][3]
    skeyid_e = hashlib.new(hash_name, suite.encode()).digest()  # what SKEYID_e looks like: one prf output
    key = skeyid_e[:klen] if len(skeyid_e) >= klen else _stretched(skeyid_e, hash_name, klen)
    if suite.startswith("des"):
        key = bytes.fromhex("0123456789abcdef")
        skeyid_e = key + bytes(8)
    pcap = tmp_path / "c.pcap"
    pcap.write_bytes(_conversation(_Peer(suite, key)))
    cap = isakmp_pcap.load(Source(pcap, "c.pcap"), LoadOptions(ike_keys=("unused",)))  # raw kept, file missing
    assert cap.errors and not any(m.decrypted for m in cap.messages)
    secret = key if kind == "key" else skeyid_e
    cap = _decrypted(pcap, IkeKey(ICOOKIE.hex(), secret, kind, Location("k")))
    assert cap.errors == []
    by_step = {(m.step, m.retransmit_of is not None): m for m in cap.messages}
    mm5, mm5_again = by_step[("MM5", False)], by_step[("MM5", True)]
    assert mm5.decrypted and mm5_again.decrypted and mm5.payloads == mm5_again.payloads
    assert [p.type for p in mm5.payloads] == [5, 8]
    assert isinstance(mm5.payloads[0].detail, IdDetail) and mm5.payloads[0].detail.value == "192.0.2.1"
    assert by_step[("MM6", False)].payloads[0].detail.value == "198.51.100.7"  # type: ignore[union-attr]
    assert [p.type for p in by_step[("QM1", False)].payloads] == [8, 1, 10, 5, 5]
    assert [p.type for p in by_step[("QM3", False)].payloads] == [8]
    info = by_step[("INFO", False)]
    assert isinstance(info.payloads[1].detail, DeleteDetail) and info.payloads[1].detail.spis == ("c0ffee01",)


def test_without_the_responders_sa_every_offer_is_tried(tmp_path: Path) -> None:
    peer = _Peer("3des-md5", bytes(range(24)))
    peer.sa = _sa(7, 192, 2, (5, None, 1))  # AES-192 (same key size) offered first; 3DES-MD5 was chosen
    pcap = tmp_path / "c.pcap"
    conversation = _conversation(peer)
    mm2 = conversation.index(ICOOKIE + RCOOKIE) - 16 - 42  # the first frame with both cookies: drop it
    mm2_end = conversation.index(ICOOKIE + RCOOKIE, mm2 + 100) - 16 - 42
    pcap.write_bytes(conversation[:mm2] + conversation[mm2_end:])
    cap = load(pcap, _table(tmp_path, bytes(range(24))))
    assert [m.step for m in cap.messages][:2] == ["MM1", "MM3"]
    assert cap.errors == [] and all(m.decrypted for m in cap.messages if m.encrypted)


def _table(tmp_path: Path, key: bytes) -> Path:
    table = tmp_path / "table"
    table.write_text(f"# This file is automatically generated, DO NOT MODIFY.\n{ICOOKIE.hex()},{key.hex()}\n")
    return table


def test_unsupported_cipher_is_named(tmp_path: Path) -> None:
    peer = _Peer("3des-md5", bytes(range(24)))
    peer.sa = _sa(2, None, 1)  # IDEA
    pcap = tmp_path / "c.pcap"
    pcap.write_bytes(_conversation(peer))
    (err,) = load(pcap, _table(tmp_path, bytes(range(24)))).errors
    assert "encryption algorithm 2 with md5" in err.message


def test_chain_length() -> None:
    chain = _payloads([HASH, (11, bytes(12))])
    assert chain_length(8, chain + bytes(7)) == len(chain)
    assert chain_length(8, chain[:-1]) is None
    assert chain_length(99, chain) is None
    assert chain_length(8, chain + bytes(300)) is None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.binary(min_size=1, max_size=70), noise=st.binary(max_size=64), kind=st.sampled_from(["key", "skeyid_e"]))
def test_any_key_never_crashes(key: bytes, noise: bytes, kind: str) -> None:
    cap, raw = load(PCAP), message_bytes(PCAP)
    for frame in list(raw)[-3:]:
        raw[frame] = raw[frame][:28] + noise
    first = cap.messages[0].icookie
    decryptor = Decryptor(IkeKeys({first: [IkeKey(first, key, kind, Location("k"))]}), lambda _msg, _payloads: None)
    for msg in cap.messages:
        decryptor.message(msg, raw[msg.frame])
    assert all(e.message for e in decryptor.finish())


def test_without_ke_payloads_the_logged_iv_is_used(tmp_path: Path) -> None:
    peer = _Peer("aes128-sha256", bytes(range(16)))
    first_iv = peer.p1_iv
    conversation = _conversation(peer)
    offsets, off = [], 24
    while off < len(conversation):
        offsets.append(off)
        off += 16 + struct.unpack_from("<I", conversation, off + 8)[0]
    pcap = tmp_path / "c.pcap"
    pcap.write_bytes(conversation[:offsets[2]] + conversation[offsets[4]:])  # MM3 and MM4 not captured
    cap = _decrypted(pcap, IkeKey(ICOOKIE.hex(), bytes(range(16)), "key", Location("racoon.log"), first_iv))
    assert cap.errors == [] and all(m.decrypted for m in cap.messages if m.encrypted)
    cap = _decrypted(pcap, IkeKey(ICOOKIE.hex(), bytes(range(16)), "key", Location("table")))
    (err,) = cap.errors
    assert "lacks its KE payloads" in err.message and not any(m.decrypted for m in cap.messages)


def test_decrypted_xauth_password_stays_hidden(tmp_path: Path) -> None:
    """XAUTH runs in encrypted transaction exchanges: once decrypted, the password must not show."""
    peer = _Peer("aes128-sha256", bytes(range(16)))
    frames = _conversation(peer)
    attrs = struct.pack("!HH", 16521, 17) + b"alice@example.org" + struct.pack("!HH", 16522, 13) + b"hunter2secret"
    body = peer.encrypt(0x0BADF00D, [HASH, (14, struct.pack("!BBH", 2, 0, 7) + attrs)])
    pcap = tmp_path / "c.pcap"
    pcap.write_bytes(frames + capture(_frame(_message(body, 8, 6, 0x0BADF00D, True), True))[24:])
    cap = load(pcap, _table(tmp_path, bytes(range(16))))
    txn = cap.messages[-1]
    assert txn.decrypted and cap.errors == []
    shown = json.dumps(isakmp_pcap.to_json(cap)) + repr(cap)
    assert "alice@example.org" in shown and "hunter2secret" not in shown and "<13 bytes>" in shown
