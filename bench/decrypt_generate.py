#!/usr/bin/env python3
"""An IKEv1 capture with one ISAKMP SA and N encrypted DPD exchanges, plus its Wireshark key table.

    python bench/decrypt_generate.py N OUT.pcap      (writes OUT.ikev1_decryption_table beside it)

Main mode (AES-128, SHA-1; MM5/MM6 encrypted), then N R-U-THERE / R-U-THERE-ACK informational
messages, each with its own message id and RFC 2409 phase-2 IV.
"""

from __future__ import annotations

import hashlib
import struct
import sys
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

ICOOKIE, RCOOKIE = bytes.fromhex("0badc0ffee15900d"), bytes.fromhex("5eed5eed5eed5eed")
KEY = hashlib.sha1(b"racoondbg bench").digest()[:16]
A, B = bytes([192, 0, 2, 1]), bytes([198, 51, 100, 7])


def chain(*payloads: tuple[int, bytes]) -> bytes:
    out = b""
    for i, (_ptype, body) in enumerate(payloads):
        nxt = payloads[i + 1][0] if i + 1 < len(payloads) else 0
        out += struct.pack("!BBH", nxt, 0, 4 + len(body)) + body
    return out


def message(first: int, exch: int, msgid: int, body: bytes, encrypted: bool, rcookie: bytes = RCOOKIE) -> bytes:
    return ICOOKIE + rcookie + struct.pack("!BBBBII", first, 0x10, exch, int(encrypted), msgid, 28 + len(body)) + body


def frame(msg: bytes, from_a: bool, ts: float) -> bytes:
    src, dst = (A, B) if from_a else (B, A)
    udp = struct.pack("!HHHH", 500, 500, 8 + len(msg), 0) + msg
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0, src, dst) + udp
    eth = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00" + ip
    return struct.pack("<IIII", int(ts), int(ts % 1 * 1e6), len(eth), len(eth)) + eth


def encrypt(iv: bytes, plain: bytes) -> bytes:
    plain += b"\0" * (-len(plain) % 16)
    enc = Cipher(algorithms.AES(KEY), modes.CBC(iv)).encryptor()
    return enc.update(plain) + enc.finalize()


def main() -> None:
    count, out = int(sys.argv[1]), Path(sys.argv[2])
    attrs = b"".join(struct.pack("!HH", 0x8000 | t, v) for t, v in ((1, 7), (2, 2), (3, 1), (4, 14), (14, 128)))
    transform = struct.pack("!BBHBBH", 0, 0, 8 + len(attrs), 1, 1, 0) + attrs
    sa = struct.pack("!II", 1, 1) + struct.pack("!BBHBBBB", 0, 0, 8 + len(transform), 1, 1, 0, 1) + transform
    gxi, gxr = hashlib.sha512(b"i").digest() * 4, hashlib.sha512(b"r").digest() * 4
    frames = [message(1, 2, 0, chain((1, sa)), False, bytes(8)), message(1, 2, 0, chain((1, sa)), False),
              message(4, 2, 0, chain((4, gxi), (10, bytes(16))), False),
              message(4, 2, 0, chain((4, gxr), (10, bytes(16))), False)]
    iv = hashlib.sha1(gxi + gxr).digest()[:16]
    for who in (A, B):
        body = encrypt(iv, chain((5, bytes([1, 17, 1, 244]) + who), (8, bytes(20))))
        frames.append(message(5, 2, 0, body, True))
        iv = body[-16:]
    for n in range(count):
        msgid = 0x10000000 + n
        notify = struct.pack("!IBBH", 1, 1, 16, 36136 + n % 2) + ICOOKIE + RCOOKIE + struct.pack("!I", n)
        body = encrypt(hashlib.sha1(iv + msgid.to_bytes(4, "big")).digest()[:16], chain((8, bytes(20)), (11, notify)))
        frames.append(message(8, 5, msgid, body, True))
    with out.open("wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, msg in enumerate(frames):
            fh.write(frame(msg, i % 2 == 0, 1_700_000_000 + i * 0.001))
    out.with_suffix(".ikev1_decryption_table").write_text(f"{ICOOKIE.hex()},{KEY.hex()}\n")


if __name__ == "__main__":
    main()
