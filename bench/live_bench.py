"""Benchmarks for the live collector and bundle redaction (run by hand; numbers go in reports).

    .venv/bin/python bench/live_bench.py [--lines 2000000]

1. Redacting a -ddd racoon log (hex dumps collapse to tags), streaming, against `sed -E` doing the
   comparable one-pass substitution (the reference tool): lines per second and the ratio.
2. Redacting a `setkey -D` dump of many SAs against `sed -E` replacing the key words.
3. `racoondbg collect` and `diagnose` on each sysroot fixture (wall time).
The generated inputs go to bench/data/ (git-ignored).
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from racoondbg.bundle import copy_redacted  # noqa: E402

DATA = HERE / "data"
SYSROOTS = HERE.parent / "tests" / "fixtures" / "sysroots"


def make_log(path: Path, lines: int) -> None:
    rng = random.Random(7)
    with path.open("w") as out:
        n = 0
        while n < lines:
            out.write("2026-11-28 17:05:12: DEBUG: 92 bytes message received from 198.51.100.7[500] "
                      "to 192.0.2.1[500]\n")
            out.write("2026-11-28 17:05:12: DEBUG: \n")
            for _ in range(3):
                out.write(" ".join(f"{rng.getrandbits(32):08x}" for _ in range(8)) + "\n")
            out.write("2026-11-28 17:05:12: INFO: ISAKMP-SA established 192.0.2.1[500]-198.51.100.7[500] "
                      "spi:1f2e3d4c5b6a7988:8a9b0c1d2e3f4051\n")
            n += 6


def make_sad(path: Path, sas: int) -> None:
    rng = random.Random(11)
    with path.open("w") as out:
        for i in range(sas):
            out.write(f"192.0.2.{i % 250 + 1} 198.51.100.7 \n\tesp mode=tunnel spi={i + 1000}(0x{i + 1000:08x}) "
                      "reqid=0(0x00000000)\n")
            out.write("\tE: aes-cbc  " + " ".join(f"{rng.getrandbits(32):08x}" for _ in range(4)) + "\n")
            out.write("\tA: hmac-sha1  " + " ".join(f"{rng.getrandbits(32):08x}" for _ in range(5)) + "\n")
            out.write("\tseq=0x00000000 replay=4 flags=0x00000000 state=mature \n\tsadb_seq=1 pid=2412 refcnt=0\n")


def timed(func) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def run_time(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, capture_output=True, check=True)
    return time.perf_counter() - start


def compare(name: str, src: Path, part: str, sed_expr: str, lines: int) -> None:
    ours = timed(lambda: copy_redacted(src, DATA / f"{name}.redacted", part))
    with (DATA / f"{name}.sed").open("w") as out:
        sed = timed(lambda: subprocess.run(["sed", "-E", sed_expr, str(src)], stdout=out, check=True))
    print(f"{name}: {lines} lines; racoondbg {ours:.2f} s ({lines / ours:,.0f} lines/s), "
          f"sed -E {sed:.2f} s ({lines / sed:,.0f} lines/s); ratio racoondbg/sed = {ours / sed:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=2_000_000)
    args = parser.parse_args()
    DATA.mkdir(exist_ok=True)
    log, sad = DATA / "ddd.log", DATA / "sad.txt"
    make_log(log, args.lines)
    sas = args.lines // 6
    make_sad(sad, sas)
    compare("log", log, "log", r"s/^[0-9a-f]{2,8}( [0-9a-f]{2,8})*$/0000 0000/", args.lines)
    compare("sad", sad, "sad", r"s/^(\t[EA]: \S+  ).*/\1 00000000/", sas * 6)
    racoondbg = Path(sys.executable).with_name("racoondbg")
    for root in sorted(p for p in SYSROOTS.iterdir() if p.is_dir()):
        with tempfile.TemporaryDirectory() as tmp:
            collect = run_time([str(racoondbg), "collect", "--root", str(root), "-o", f"{tmp}/b.tar.gz"])
            diagnose = run_time([str(racoondbg), "diagnose", "--root", str(root), "--exit-zero"])
        print(f"sysroot {root.name}: collect -o .tar.gz {collect:.2f} s, diagnose {diagnose:.2f} s")


if __name__ == "__main__":
    main()
