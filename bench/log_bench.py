"""racoondbg on a big -ddd log, side by side with lnav (headless index + count) and `wc -l` (the floor).

    python bench/log_bench.py 1G            # generates bench/data/racoon-ddd-1G.log if missing

Prints each tool's wall time, CPU time and peak RSS, and the ratios racoondbg/lnav and racoondbg/wc.
Targets: ratio to lnav < 1, racoondbg peak RSS < 300 MB.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from common import USER_ENV, Case, Reference, analyze, byte_compile  # noqa: E402
from log_generate import Generator, parse_size  # noqa: E402


def measure(argv: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user+sys, children included) and peak RSS in MB of one command."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=USER_ENV)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"{argv[0]} failed with status {status}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024


def log_file(size: str) -> Path:
    path = HERE / "data" / f"racoon-ddd-{size}.log"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {path} ...", file=sys.stderr, flush=True)
        Generator().write(path, parse_size(size))
    return path


def cases(size: str) -> list[Case]:
    """For bench/run.py: the generated -ddd log against `wc -l` and lnav's headless indexing."""
    label = {"small": "16M", "medium": "256M", "full": "1G"}[size]
    path = log_file(label)
    byte_compile()
    refs = (Reference("wc -l", ("wc", "-l", str(path))),
            Reference("lnav -n", ("lnav", "-n", "-c", ";SELECT count(*) FROM all_logs", str(path))))
    return [Case("logs", f"racoon -ddd log ({label})", (path,), analyze(path), refs,
                 target="faster than lnav; RSS < 300 MB")]


def main() -> None:
    size = sys.argv[1] if len(sys.argv) > 1 else "1G"
    path = log_file(size)
    byte_compile()
    racoondbg = shutil.which("racoondbg") or str(Path(sys.executable).with_name("racoondbg"))
    runs = {
        "wc -l": ["wc", "-l", str(path)],
        "lnav": ["lnav", "-n", "-c", ";SELECT count(*) FROM all_logs", str(path)],
        "racoondbg": [racoondbg, "analyze", "--format", "json", "--exit-zero", str(path)],
    }
    results = {}
    for name, argv in runs.items():
        if shutil.which(argv[0]) is None and not Path(argv[0]).exists():
            print(f"{name}: not installed, skipped")
            continue
        results[name] = measure(argv)
        wall, cpu, rss = results[name]
        print(f"{name:10} wall {wall:7.2f} s   cpu {cpu:7.2f} s   peak RSS {rss:5d} MB")
    mine = results.get("racoondbg")
    if mine:
        for other in ("lnav", "wc -l"):
            if other in results:
                print(f"racoondbg / {other}: wall {mine[0] / results[other][0]:.2f}x, "
                      f"cpu {mine[1] / max(results[other][1], 1e-3):.2f}x")
        print(f"racoondbg peak RSS {mine[2]} MB (target < 300 MB)")
    print(f"file: {path} ({path.stat().st_size / 1024**2:.0f} MB), load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
