"""Parse time of racoon.conf for 1k and 10k remote + sainfo blocks, and how it scales.

    python bench/conf_bench.py          # generates bench/data/racoon-{1000,10000}.conf if missing

There is no reference parser to run side by side (racoon itself has no check-only mode and needs
PF_KEY and its ports), so the reference is linear scaling: the 10k/1k ratio should be close to 10.
"""

from __future__ import annotations

import time
from pathlib import Path

from conf_gen import DATA, generate
from racoondbg.parsers.racoon_conf import parse_text


def timed(path: Path) -> tuple[float, int, int]:
    text = path.read_text()
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        conf = parse_text(text, path.name)
        best = min(best, time.perf_counter() - start)
    assert not conf.errors, conf.errors[:3]
    return best, len(conf.remotes) + len(conf.sainfos), text.count("\n")


def main() -> None:
    results = {}
    for n in (1000, 10000):
        path = DATA / f"racoon-{n}.conf"
        if not path.exists():
            generate(n)
        seconds, blocks, lines = timed(path)
        results[n] = seconds
        print(f"{n:>6} remote + {n} sainfo blocks ({lines} lines): {seconds:7.2f} s  "
              f"({lines / seconds:,.0f} lines/s, {blocks / seconds:,.0f} blocks/s)")
    print(f"ratio 10k/1k: {results[10000] / results[1000]:.2f} (linear = 10.00)")


if __name__ == "__main__":
    main()
