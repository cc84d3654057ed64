#!/usr/bin/env python3
"""`racoondbg parse pcap --ike-keys` against tshark decrypting the same IKEv1 capture.

    .venv/bin/python bench/run.py --only decrypt --size medium

The capture (one ISAKMP SA, N encrypted DPD exchanges, AES-128/SHA-1) and its Wireshark key table
are built by bench/decrypt_generate.py into bench/data/ (git-ignored).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import DATA, RACOONDBG, Case, Reference, generate, pick  # noqa: E402


def cases(size: str) -> list[Case]:
    count = pick(size, 5_000, 50_000, 200_000)
    path = generate(DATA / f"ikev1-encrypted-{count}.pcap",
                    [str(HERE / "decrypt_generate.py"), str(count), str(DATA / f"ikev1-encrypted-{count}.pcap")])
    table = path.with_suffix(".ikev1_decryption_table")
    tshark = Reference("tshark, decrypting", ("tshark", "-r", str(path), "-o",
                                              f"uat:ikev1_decryption_table:{table.read_text().strip()}",
                                              "-T", "fields", "-e", "isakmp.notify.msgtype"))
    return [Case("decrypt", f"IKEv1 capture, {count} encrypted messages", (path,),
                 (*RACOONDBG, "parse", "pcap", "--ike-keys", str(table), str(path)), (tshark,),
                 target="ratio <= 1 (not slower than tshark)")]
