#!/usr/bin/env python3
"""`racoondbg parse pcap` and `racoondbg analyze` against tshark on a big generated ISAKMP capture:
wall and CPU time (user + system), ratios, peak RSS.

    .venv/bin/python bench/pcap_bench.py [PACKETS]        (default 1000000; needs tshark)

The capture is built by bench/pcap_generate.py into bench/data/ (git-ignored). Every tool writes to
/dev/null; peak RSS and CPU time are each child's own (os.wait4). Memory flatness is shown by running
racoondbg on a tenth of the capture too. The package is byte-compiled first (as `pip install` does),
so a run with PYTHONDONTWRITEBYTECODE set does not time the compiler.
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

from common import RACOONDBG, USER_ENV, Case, Reference, analyze, byte_compile, pick  # noqa: E402


def measure(argv: list[str]) -> tuple[float, int, float]:
    """Wall seconds, peak RSS (MiB) and CPU seconds (user + system) of one command, output discarded."""
    start = time.perf_counter()
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen(argv, stdout=null, stderr=null, env=USER_ENV)
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


def tshark_argv(path: Path) -> list[str]:
    return ["tshark", "-r", str(path), "-Y", "isakmp", "-T", "fields", "-e", "isakmp.ispi",
            "-e", "isakmp.exchangetype"]


def cases(size: str) -> list[Case]:
    """For bench/run.py: `racoondbg parse pcap` and `racoondbg analyze` against tshark dissecting ISAKMP
    (full: 4 M packets, a 1.05 GB capture, the size of the RSS target)."""
    packets = pick(size, 20_000, 200_000, 4_000_000)
    path = capture(packets)
    byte_compile()
    tshark = Reference("tshark -Y isakmp", tuple(tshark_argv(path)))
    name = f"ISAKMP capture ({packets} packets)"
    target = "ratio <= 0.5 (2x faster than tshark)"
    return [Case("pcaps", f"parse pcap: {name}", (path,), (*RACOONDBG, "parse", "pcap", str(path)), (tshark,),
                 target=target),
            Case("pcaps", f"analyze: {name}", (path,), analyze(path), (tshark,), target=target)]


def main() -> None:
    packets = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    if shutil.which("tshark") is None:
        raise SystemExit("tshark is not installed (apt-get install tshark)")
    byte_compile()
    racoondbg = str(Path(sys.executable).with_name("racoondbg"))
    big, small = capture(packets), capture(packets // 10)
    theirs = measure(tshark_argv(big))
    print(f"capture: {big} ({packets} packets, {big.stat().st_size / 1e6:.0f} MB)")
    print(f"tshark -Y isakmp     : {theirs[0]:7.2f} s wall {theirs[2]:7.2f} s CPU  peak RSS {theirs[1]:5d} MiB")
    for label, args in (("parse pcap", ["parse", "pcap"]), ("analyze", ["analyze", "--format", "json", "--exit-zero"])):
        ours_small = measure([racoondbg, *args, str(small)])
        ours = measure([racoondbg, *args, str(big)])
        print(f"racoondbg {label:11}: {ours[0]:7.2f} s wall {ours[2]:7.2f} s CPU  peak RSS {ours[1]:5d} MiB "
              f"({packets // 10} packets: {ours_small[0]:.2f} s, {ours_small[2]:.2f} s CPU, {ours_small[1]} MiB)")
        print(f"  ratio racoondbg / tshark: {ours[0] / theirs[0]:.2f} (wall), {ours[2] / theirs[2]:.2f} (CPU); "
              f"target <= 0.5")


if __name__ == "__main__":
    main()
