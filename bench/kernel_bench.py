"""Benchmark: parse + every rule on generated SPD and SAD dumps of 10k and 100k entries.

    .venv/bin/python bench/kernel_bench.py            # both sizes, generated into bench/data/
    .venv/bin/python bench/kernel_bench.py 10000      # one size

Each size runs in its own process so that its peak memory (ru_maxrss) is its own. Beside
racoondbg's time it prints a floor: reading the same files line by line in Python. There is no
reference dump analyser to compare with (setkey itself needs PF_KEY, which this machine lacks).
The target: 100k entries take at most 12 times as long as 10k.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
sys.path.insert(0, str(HERE))

from common import Case, analyze, pick  # noqa: E402

SIZES = (10_000, 100_000)
TARGET_RATIO = 12.0


def ensure_data(n: int) -> tuple[Path, Path]:
    spd, sad = DATA / f"spd-{n}.txt", DATA / f"sad-{n}.txt"
    if not (spd.exists() and sad.exists()):
        subprocess.run([sys.executable, str(HERE / "kernel_gen.py"), str(DATA), str(n)], check=True)
    return spd, sad


def one(n: int) -> dict[str, float]:
    """Time one size in this process; returns seconds and peak RSS in MiB."""
    from racoondbg.engine import all_rules, run
    from racoondbg.evidence import load_evidence
    from racoondbg.sources import Source

    spd, sad = ensure_data(n)
    all_rules()  # import the rule modules outside the timed part
    start = time.perf_counter()
    with spd.open() as a, sad.open() as b:
        lines = sum(1 for _ in a) + sum(1 for _ in b)
    floor = time.perf_counter() - start
    start = time.perf_counter()
    ev = load_evidence([Source(spd, spd.name), Source(sad, sad.name)])
    parsed = time.perf_counter()
    result = run(ev)
    done = time.perf_counter()
    assert ev.spd is not None and ev.sad is not None
    return {"n": n, "lines": lines, "policies": len(ev.spd.policies), "sas": len(ev.sad.sas),
            "findings": len(result.findings), "read_floor_s": floor, "parse_s": parsed - start,
            "rules_s": done - parsed, "total_s": done - start,
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def cases(size: str) -> list[Case]:
    """For bench/run.py: SPD + SAD analysis at two sizes ten times apart; the growth row is the measure."""
    small = pick(size, 1_000, 10_000, 10_000)
    return [Case("spd/sad", f"setkey -DP + -D, {n} entries each", ensure_data(n), analyze(*ensure_data(n)),
                 growth="spd+sad", growth_target=TARGET_RATIO, target=f"growth <= {TARGET_RATIO:g}x for 10x")
            for n in (small, small * 10)]


def main(argv: list[str]) -> int:
    if len(argv) > 2 and argv[1] == "--one":
        print(json.dumps(one(int(argv[2]))))
        return 0
    sizes = [int(a) for a in argv[1:]] or list(SIZES)
    rows = []
    for n in sizes:
        ensure_data(n)
        out = subprocess.run([sys.executable, __file__, "--one", str(n)], check=True, capture_output=True, text=True)
        rows.append(json.loads(out.stdout))
    print(f"{'entries':>8} {'policies':>8} {'SAs':>7} {'findings':>8} {'read floor':>10} {'parse':>8} {'rules':>8} "
          f"{'total':>8} {'peak MiB':>8}")
    for r in rows:
        print(f"{r['n']:>8} {r['policies']:>8} {r['sas']:>7} {r['findings']:>8} {r['read_floor_s']:>9.2f}s "
              f"{r['parse_s']:>7.2f}s {r['rules_s']:>7.2f}s {r['total_s']:>7.2f}s {r['peak_mib']:>8.0f}")
    if len(rows) == 2:
        small, big = rows
        ratio = big["total_s"] / small["total_s"]
        floor = big["read_floor_s"] / small["read_floor_s"]
        verdict = "ok" if ratio <= TARGET_RATIO else "OVER TARGET"
        print(f"ratio {big['n']}/{small['n']}: racoondbg {ratio:.1f}x (target <= {TARGET_RATIO:.0f}x: {verdict}); "
              f"plain line reading {floor:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
