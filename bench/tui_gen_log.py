"""Generate a large racoon ``-ddd``-like log (file/stdout layout of ipsec-tools 0.8) for the TUI bench.

Usage: python bench/tui_gen_log.py [SIZE_MB] [OUT]   (default 1024 MB, bench/data/racoon-ddd-<SIZE>M.log)

Each cycle is one peer's phase-1/phase-2 negotiation with DEBUG lines and packet hex dumps, as
``racoon -F -ddd -l FILE`` writes them; every seventh peer times out. Deterministic: the same size
gives the same file.
"""

from __future__ import annotations

import random
import sys
from datetime import datetime, timedelta
from pathlib import Path

PEERS = [f"198.51.100.{n}" for n in range(2, 60)] + [f"203.0.113.{n}" for n in range(2, 40)]
LOCAL = "192.0.2.1"


def hexdump(rng: random.Random, nbytes: int) -> list[str]:
    words = [f"{rng.getrandbits(32):08x}" for _ in range((nbytes + 3) // 4)]
    return [" ".join(words[i : i + 8]) for i in range(0, len(words), 8)]


def cycle(rng: random.Random, t: datetime, n: int) -> list[str]:
    peer = PEERS[n % len(PEERS)]
    ck = f"{rng.getrandbits(64):016x}"
    rk = f"{rng.getrandbits(64):016x}"

    def at(sec: int, level: str, msg: str, addr: str | None = None) -> str:
        stamp = (t + timedelta(seconds=sec)).strftime("%Y-%m-%d %H:%M:%S")
        prefix = f"[{addr}] " if addr else ""
        return f"{stamp}: {prefix}{level}: {msg}"

    out = [
        at(0, "INFO", f"IPsec-SA request for {peer} queued due to no phase1 found."),
        at(0, "INFO", f"initiate new phase 1 negotiation: {LOCAL}[500]<=>{peer}[500]"),
        at(0, "INFO", "begin Identity Protection mode."),
        at(0, "DEBUG", "new cookie:"),
        ck,
        at(0, "DEBUG", "add payload of len 52, next type 13"),
        at(0, "DEBUG", f"{200 + n % 50} bytes from {LOCAL}[500] to {peer}[500]"),
        at(0, "DEBUG", "sockname " + LOCAL + "[500]"),
        at(0, "DEBUG", "send packet from " + LOCAL + "[500]"),
        at(0, "DEBUG", "send packet to " + peer + "[500]"),
        at(0, "DEBUG", "1 times of 200 bytes message will be sent to " + peer + "[500]"),
        at(0, "DEBUG", ""),
    ]
    out += hexdump(rng, 200)
    if n % 7 == 3:
        for k in (10, 20, 30):
            out.append(at(k, "DEBUG", f"resend phase1 packet {ck}:0000000000000000"))
        out.append(at(40, "ERROR", f"phase1 negotiation failed due to time up. {ck}:0000000000000000"))
        return out
    out += [
        at(1, "DEBUG", "==="),
        at(1, "DEBUG", f"124 bytes message received from {peer}[500] to {LOCAL}[500]"),
        at(1, "DEBUG", ""),
        *hexdump(rng, 124),
        at(1, "INFO", "received Vendor ID: RFC 3947"),
        at(1, "INFO", "received Vendor ID: DPD"),
        at(1, "INFO", "Selected NAT-T version: RFC 3947", peer),
        at(1, "DEBUG", "compute DH's private."),
        at(1, "DEBUG", ""),
        *hexdump(rng, 128),
        at(1, "DEBUG", "SKEYID computed:"),
        at(1, "DEBUG", ""),
        *hexdump(rng, 20),
        at(2, "INFO", "NAT not detected "),
        at(2, "INFO", f"ISAKMP-SA established {LOCAL}[500]-{peer}[500] spi:{ck}:{rk}"),
        at(2, "INFO", f"initiate new phase 2 negotiation: {LOCAL}[500]<=>{peer}[500]"),
        at(2, "DEBUG", "KEYMAT computed."),
        at(2, "DEBUG", ""),
        *hexdump(rng, 40),
        at(3, "INFO", f"IPsec-SA established: ESP/Tunnel {peer}[0]->{LOCAL}[0] spi={rng.getrandbits(31)}(0x0)"),
        at(3, "INFO", f"IPsec-SA established: ESP/Tunnel {LOCAL}[0]->{peer}[0] spi={rng.getrandbits(31)}(0x0)"),
    ]
    if n % 11 == 5:
        out.append(at(3, "WARNING", "ignore INITIAL-CONTACT notification, because it is only accepted after phase1."))
    return out


def generate(path: Path, size: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    t = datetime(2014, 3, 1, 10, 0, 0)
    written = 0
    n = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="ascii", newline="\n") as out:
        head = ["2014-03-01 10:00:00: INFO: @(#)ipsec-tools 0.8.2 (http://ipsec-tools.sourceforge.net)",
                '2014-03-01 10:00:00: INFO: Reading configuration from "/etc/racoon/racoon.conf"']
        text = "\n".join(head) + "\n"
        out.write(text)
        written += len(text)
        while written < size:
            text = "\n".join(cycle(rng, t, n)) + "\n"
            out.write(text)
            written += len(text)
            n += 1
            t += timedelta(seconds=45 if n % 7 == 4 else 5)


def main() -> None:
    size_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).parent / "data" / f"racoon-ddd-{size_mb}M.log"
    generate(out, size_mb * 1024 * 1024)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.0f} MB)")


if __name__ == "__main__":
    main()
