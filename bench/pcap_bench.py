#!/usr/bin/env python3
"""`racoondbg parse pcap` against tshark on a big generated ISAKMP capture: wall time, ratio, peak RSS.

    .venv/bin/python bench/pcap_bench.py [PACKETS]        (default 1000000; needs tshark)

The capture is built by bench/pcap_generate.py into bench/data/ (git-ignored). Both tools write
to /dev/null; peak RSS is each child's own maximum (os.wait4). Memory flatness is shown by running
racoondbg on a tenth of the capture too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
sys.path.insert(0, str(HERE))

from common import RACOONDBG, Case, Reference, pick  # noqa: E402


def measure(argv: list[str]) -> tuple[float, int, float]:
    """Wall seconds, peak RSS (MiB) and CPU seconds (user + system) of one command, output discarded."""
    start = time.perf_counter()
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen(argv, stdout=null, stderr=null)
        _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in (0, 3):
        raise SystemExit(f"{argv[0]} failed with status {status}")
    return elapsed, usage.ru_maxrss // 1024, usage.ru_utime + usage.ru_stime


def capture(packets: int) -> Path:
    path = DATA / f"isakmp-{packets}.pcap"
    if not path.exists():
        subprocess.run([sys.executable, str(HERE / "pcap_generate.py"), str(packets), str(path)], check=True)
    return path


def cases(size: str) -> list[Case]:
    """For bench/run.py: `racoondbg parse pcap` against tshark dissecting ISAKMP, same capture."""
    packets = pick(size, 20_000, 200_000, 1_000_000)
    path = capture(packets)
    tshark = Reference("tshark -Y isakmp", ("tshark", "-r", str(path), "-Y", "isakmp", "-T", "fields",
                                            "-e", "isakmp.ispi", "-e", "isakmp.exchangetype"))
    return [Case("pcaps", f"ISAKMP capture ({packets} packets)", (path,), (*RACOONDBG, "parse", "pcap", str(path)),
                 (tshark,), target="ratio <= 0.5 (2x faster than tshark)")]


def main() -> None:
    packets = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    if shutil.which("tshark") is None:
        raise SystemExit("tshark is not installed (apt-get install tshark)")
    racoondbg = str(Path(sys.executable).with_name("racoondbg"))
    big, small = capture(packets), capture(packets // 10)
    ours_small = measure([racoondbg, "parse", "pcap", str(small)])
    ours = measure([racoondbg, "parse", "pcap", str(big)])
    theirs = measure(["tshark", "-r", str(big), "-Y", "isakmp", "-T", "fields", "-e", "isakmp.ispi",
                      "-e", "isakmp.exchangetype"])
    print(f"capture: {big} ({packets} packets, {big.stat().st_size / 1e6:.0f} MB)")
    print(f"racoondbg parse pcap : {ours[0]:7.2f} s wall {ours[2]:7.2f} s CPU  peak RSS {ours[1]:5d} MiB "
          f"({packets // 10} packets: {ours_small[0]:.2f} s, {ours_small[1]} MiB)")
    print(f"tshark -Y isakmp     : {theirs[0]:7.2f} s wall {theirs[2]:7.2f} s CPU  peak RSS {theirs[1]:5d} MiB")
    print(f"ratio (tshark / racoondbg): {theirs[0] / ours[0]:.2f}x faster (wall), {theirs[2] / ours[2]:.2f}x (CPU); "
          f"memory {theirs[1] / max(ours[1], 1):.2f}x less")


if __name__ == "__main__":
    main()
