"""Generate a realistic racoon -ddd log (ipsec-tools 0.8, `racoon -F -ddd -l FILE`) of a chosen size.

Many peers, interleaved negotiations, hexdumps of every packet and key, DEBUG2 PF_KEY chatter, and a
mix of failures (silent peers, missing sainfo, wrong pre-shared keys, proposal mismatches, DPD).

    python bench/log_generate.py 1G bench/data/racoon-ddd-1G.log
"""

from __future__ import annotations

import random
import sys
from datetime import datetime, timedelta
from pathlib import Path

_UNITS = {"K": 1024, "M": 1024**2, "G": 1024**3}


def parse_size(text: str) -> int:
    text = text.strip().upper()
    if text[-1] in _UNITS:
        return int(float(text[:-1]) * _UNITS[text[-1]])
    return int(text)


class Generator:
    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.now = datetime(2024, 3, 1, 0, 0, 0)
        self.local = "192.0.2.1"
        self.peers = [f"198.51.100.{i}" for i in range(2, 250)] + [f"203.0.113.{i}" for i in range(2, 120)]
        self.hex_lines = [self._hex_line(8) for _ in range(4096)]

    def _hex_line(self, words: int) -> str:
        return " ".join(f"{self.rng.getrandbits(32):08x}" for _ in range(words))

    def _ts(self) -> str:
        return self.now.strftime("%Y-%m-%d %H:%M:%S: ")

    def _tick(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def _dump(self, out: list[str], nbytes: int) -> None:
        out.append(self._ts() + "DEBUG: \n")
        lines = max(1, nbytes // 32)
        for _ in range(lines):
            out.append(self.hex_lines[self.rng.randrange(4096)] + "\n")

    def _line(self, out: list[str], level: str, msg: str, addr: str | None = None) -> None:
        prefix = f"[{addr}] " if addr else ""
        out.append(f"{self._ts()}{prefix}{level}: {msg}\n")

    def _packet_in(self, out: list[str], peer: str, nbytes: int) -> None:
        self._line(out, "DEBUG", "===")
        self._line(out, "DEBUG", f"{nbytes} bytes message received from {peer}[500] to {self.local}[500]")
        self._dump(out, nbytes)
        self._line(out, "DEBUG", "begin decryption.")
        self._line(out, "DEBUG", "encryption(aes)")
        self._line(out, "DEBUG", "IV was saved for next processing:")
        self._dump(out, 16)
        self._line(out, "DEBUG", "with key:")
        self._dump(out, 32)
        self._line(out, "DEBUG", "decrypted payload by IV:")
        self._dump(out, 16)
        self._line(out, "DEBUG", "decrypted payload, but not trimed.")
        self._dump(out, nbytes)
        self._line(out, "DEBUG", "padding len=4")
        self._line(out, "DEBUG", "skip to trim padding.")
        self._line(out, "DEBUG", "decrypted.")
        self._dump(out, nbytes)
        for payload in ("hash", "id", "notify"):
            self._line(out, "DEBUG", f"received payload of type {payload}")
        self._line(out, "DEBUG", "succeed.")

    def _packet_out(self, out: list[str], peer: str, nbytes: int) -> None:
        for length, kind in ((24, 8), (12, 5), (20, 0)):
            self._line(out, "DEBUG", f"add payload of len {length}, next type {kind}")
        self._line(out, "DEBUG", "HASH with:")
        self._dump(out, 48)
        self._line(out, "DEBUG", "hmac(hmac_sha1)")
        self._line(out, "DEBUG", "HASH computed:")
        self._dump(out, 20)
        self._line(out, "DEBUG", "begin encryption.")
        self._line(out, "DEBUG", "encryption(aes)")
        self._line(out, "DEBUG", "pad length = 8")
        self._dump(out, nbytes)
        self._line(out, "DEBUG", "with key:")
        self._dump(out, 32)
        self._line(out, "DEBUG", "encrypted payload by IV:")
        self._dump(out, 16)
        self._line(out, "DEBUG", "save IV for next:")
        self._dump(out, 16)
        self._line(out, "DEBUG", "encrypted.")
        self._line(out, "DEBUG", f"{nbytes} bytes from {self.local}[500] to {peer}[500]")
        self._line(out, "DEBUG", f"sockname {self.local}[500]")
        self._line(out, "DEBUG", f"send packet from {self.local}[500]")
        self._line(out, "DEBUG", f"send packet to {peer}[500]")
        self._line(out, "DEBUG", f"src4 {self.local}[500]")
        self._line(out, "DEBUG", f"dst4 {peer}[500]")
        self._line(out, "DEBUG", f"1 times of {nbytes} bytes message will be sent to {peer}[500]")
        self._dump(out, nbytes)

    def negotiation(self) -> list[str]:
        out: list[str] = []
        peer = self.rng.choice(self.peers)
        icookie = f"{self.rng.getrandbits(64):016x}"
        rcookie = f"{self.rng.getrandbits(64):016x}"
        roll = self.rng.random()
        self._line(out, "INFO", f"IPsec-SA request for {peer} queued due to no phase1 found.")
        self._line(out, "DEBUG", "===")
        self._line(out, "INFO", f"initiate new phase 1 negotiation: {self.local}[500]<=>{peer}[500]")
        self._line(out, "INFO", "begin Identity Protection mode.")
        self._line(out, "DEBUG", "new cookie:")
        out.append(icookie + "\n")
        self._line(out, "DEBUG", "add payload of len 52, next type 13")
        self._line(out, "DEBUG", "add payload of len 16, next type 13")
        self._packet_out(out, peer, 180)
        if roll < 0.06:  # silent peer
            for _ in range(5):
                self._tick(10)
                self._line(out, "DEBUG", f"resend phase1 packet {icookie}:0000000000000000")
                self._packet_out(out, peer, 180)
            self._tick(10)
            self._line(out, "ERROR", f"phase1 negotiation failed due to time up. {icookie}:0000000000000000")
            return out
        self._tick(0.2)
        self._packet_in(out, peer, 120)
        self._line(out, "DEBUG", "begin compare proposals.")
        self._line(out, "DEBUG", "prop#=1, prot-id=ISAKMP, spi-size=0, #trns=1")
        self._line(out, "DEBUG", "trns#=1, trns-id=IKE")
        self._line(out, "DEBUG", "type=Encryption Algorithm, flag=0x8000, lorv=AES-CBC")
        self._line(out, "DEBUG", "type=Hash Algorithm, flag=0x8000, lorv=SHA")
        self._line(out, "DEBUG", "type=Authentication Method, flag=0x8000, lorv=pre-shared key")
        self._line(out, "DEBUG", "type=Group Description, flag=0x8000, lorv=1024-bit MODP group")
        if roll < 0.09:
            self._line(out, "ERROR", "notification NO-PROPOSAL-CHOSEN received in identity exchange.", peer)
            self._line(out, "ERROR", "phase1 negotiation failed.")
            return out
        self._line(out, "INFO", "received Vendor ID: DPD")
        self._line(out, "DEBUG", "compute DH's private.")
        self._dump(out, 128)
        self._line(out, "DEBUG", "compute DH's public.")
        self._dump(out, 128)
        self._packet_out(out, peer, 228)
        self._tick(0.1)
        self._packet_in(out, peer, 228)
        self._line(out, "DEBUG", "compute DH's shared.")
        self._dump(out, 128)
        for name in ("SKEYID", "SKEYID_d", "SKEYID_a", "SKEYID_e"):
            self._line(out, "DEBUG", f"{name} computed:")
            self._dump(out, 20)
        self._line(out, "DEBUG", "final encryption key computed:")
        self._dump(out, 16)
        if roll < 0.12:
            self._packet_in(out, peer, 76)
            self._line(out, "ERROR", "invalid length of payload")
            self._line(out, "ERROR", "HASH mismatched")
            self._line(out, "ERROR", "phase1 negotiation failed.")
            return out
        self._packet_out(out, peer, 76)
        self._tick(0.1)
        self._packet_in(out, peer, 76)
        self._line(out, "DEBUG", "HASH received:")
        self._dump(out, 20)
        self._line(out, "DEBUG", "HASH for PSK validated.")
        self._line(out, "INFO", f"ISAKMP-SA established {self.local}[500]-{peer}[500] spi:{icookie}:{rcookie}")
        self._line(out, "INFO", f"initiate new phase 2 negotiation: {self.local}[500]<=>{peer}[500]")
        self._line(out, "DEBUG", "begin QUICK mode.")
        self._packet_out(out, peer, 300)
        if roll < 0.15:
            for _ in range(3):
                self._tick(10)
                self._line(out, "DEBUG", f"resend phase2 packet {icookie}:{rcookie}:0000c1a2")
            self._tick(10)
            self._line(out, "ERROR", f"phase2 negotiation failed due to time up. ESP {self.local}[0]->{peer}[0] ")
            return out
        self._tick(0.2)
        self._packet_in(out, peer, 300)
        self._line(out, "DEBUG", "KEYMAT computed.")
        self._dump(out, 64)
        self._line(out, "DEBUG", "call pfkey_send_update2")
        self._line(out, "DEBUG", "pfkey update sent.")
        self._line(out, "DEBUG", "call pfkey_send_add2")
        self._line(out, "DEBUG", "pfkey add sent.")
        self._line(out, "DEBUG2", "get pfkey UPDATE message")
        spi_in, spi_out = self.rng.getrandbits(32), self.rng.getrandbits(32)
        self._line(out, "INFO", f"IPsec-SA established: ESP/Tunnel {peer}[0]->{self.local}[0] "
                                f"spi={spi_in}({spi_in:#x})")
        self._line(out, "DEBUG2", "get pfkey ADD message")
        self._line(out, "INFO", f"IPsec-SA established: ESP/Tunnel {self.local}[0]->{peer}[0] "
                                f"spi={spi_out}({spi_out:#x})")
        if roll > 0.97:
            self._tick(30)
            self._line(out, "DEBUG", "DPD R-U-There sent (0)", peer)
            self._line(out, "INFO", f"DPD: remote (ISAKMP-SA spi={icookie}:{rcookie}) seems to be dead.", peer)
        return out

    def write(self, path: Path, size: int) -> None:
        written = 0
        with path.open("w", encoding="ascii", buffering=1 << 20) as fh:
            fh.write(f"{self._ts()}INFO: @(#)ipsec-tools 0.8.2 (http://ipsec-tools.sourceforge.net)\n")
            while written < size:
                block = "".join(self.negotiation())
                fh.write(block)
                written += len(block)
                self._tick(self.rng.random() * 2)


def main(argv: list[str]) -> None:
    if len(argv) != 3:
        raise SystemExit(__doc__)
    path = Path(argv[2])
    path.parent.mkdir(parents=True, exist_ok=True)
    Generator().write(path, parse_size(argv[1]))


if __name__ == "__main__":
    main(sys.argv)
