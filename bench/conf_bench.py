"""Parse time of racoon.conf for 1k and 10k remote + sainfo blocks, and how it scales.

    python bench/conf_bench.py          # generates bench/data/racoon-{1000,10000}.conf if missing

There is no reference parser to run side by side (racoon itself has no check-only mode and needs
PF_KEY and its ports), so the reference is linear scaling: the 10k/1k ratio should be close to 10.
"""

from __future__ import annotations

import time
from pathlib import Path

from common import RACOONDBG, Case, pick
from conf_gen import DATA, generate
from racoondbg.parsers.racoon_conf import parse_text


def timed(path: Path) -> tuple[float, float, int, int]:
    """Best of three: CPU seconds (steady on a shared machine) and wall seconds."""
    text = path.read_text()
    best_cpu = best_wall = float("inf")
    for _ in range(3):
        cpu, wall = time.process_time(), time.perf_counter()
        conf = parse_text(text, path.name)
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
        assert not conf.errors, conf.errors[:3]
        blocks = len(conf.remotes) + len(conf.sainfos)
        del conf
    return best_cpu, best_wall, blocks, text.count("\n")


def cases(size: str) -> list[Case]:
    """For bench/run.py: `racoondbg check-conf` at two sizes ten times apart (growth should be ~10x)."""
    small = pick(size, 100, 1000, 1000)
    rows = []
    for n in (small, small * 10):
        path = DATA / f"racoon-{n}.conf"
        if not path.exists():
            generate(n)
        rows.append(Case("conf", f"racoon.conf, {n} remote + sainfo", (path,),
                         (*RACOONDBG, "check-conf", "--format", "json", "--exit-zero", str(path)),
                         growth="conf", growth_target=12.0, target="growth <= 12x for 10x"))
    return rows


def main() -> None:
    results = {}
    for n in (1000, 10000):
        path = DATA / f"racoon-{n}.conf"
        if not path.exists():
            generate(n)
        cpu, wall, blocks, lines = timed(path)
        results[n] = cpu
        print(f"{n:>6} remote + {n} sainfo blocks ({lines} lines): {cpu:6.2f} s CPU, {wall:6.2f} s wall  "
              f"({lines / cpu:,.0f} lines/s, {blocks / cpu:,.0f} blocks/s)")
    print(f"ratio 10k/1k (CPU time): {results[10000] / results[1000]:.2f} (linear = 10.00)")


if __name__ == "__main__":
    main()
