#!/usr/bin/env python3
"""Run every area's benchmark and print ONE table: input, size, racoondbg time, reference tool and
its time on the same input, ratio (racoondbg / reference: below 1 is faster), racoondbg peak RSS.

    .venv/bin/python bench/run.py [--size small|medium|full] [--only AREA] [--markdown]

Each command runs in its own process, timed with a monotonic clock; peak RSS is that process's
``ru_maxrss`` from ``wait4``. Every command runs ``--repeat`` times (default 1) and the best time is
kept. Areas are the modules ``bench/*_bench.py`` exposing ``cases(size)`` (see bench/common.py).
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import HERE, SIZES, USER_ENV, Case


@dataclass(frozen=True)
class Timing:
    seconds: float
    peak_mib: float
    ok: bool
    detail: str = ""


def measure(argv: tuple[str, ...], repeat: int) -> Timing:
    """Best wall time of ``repeat`` runs, and the peak RSS of the child (stdout discarded)."""
    best: Timing | None = None
    for _ in range(repeat):
        with tempfile.TemporaryFile() as err:
            start = time.perf_counter()
            proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL,
                                    env=USER_ENV)
            _, status, usage = os.wait4(proc.pid, 0)
            elapsed = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
            err.seek(0)
            tail = err.read()[-300:].decode("utf-8", "replace").strip().splitlines()
        ok = proc.returncode in (0, 1)  # racoondbg exits 1 on findings; wc/lnav/tshark exit 0
        timing = Timing(elapsed, usage.ru_maxrss / 1024, ok, "" if ok else f"exit {proc.returncode}: "
                        + (tail[-1] if tail else ""))
        if best is None or (timing.ok and timing.seconds < best.seconds):
            best = timing
    assert best is not None
    return best


def discover(only: str | None) -> list[str]:
    names = sorted(p.stem for p in HERE.glob("*_bench.py"))
    return [n for n in names if only is None or n.startswith(only)]


def human(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return str(size)


def rows_for(case: Case, repeat: int) -> list[list[str]]:
    mine = measure(case.argv, repeat)
    own = f"{mine.seconds:.2f} s" if mine.ok else f"FAILED ({mine.detail})"
    base = [case.area, case.name, human(case.size_bytes), own]
    rss = f"{mine.peak_mib:.0f} MiB"
    refs = [r for r in case.references if r.available]
    missing = [r.label for r in case.references if not r.available]
    rows = []
    for ref in refs:
        theirs = measure(ref.argv, repeat)
        ratio = f"{mine.seconds / theirs.seconds:.2f}" if theirs.ok and mine.ok and theirs.seconds > 0 else "-"
        rows.append([*base, ref.label, f"{theirs.seconds:.2f} s" if theirs.ok else f"FAILED ({theirs.detail})",
                     ratio, rss, case.target])
    if not rows:
        note = f"({', '.join(missing)} not installed)" if missing else "-"
        rows.append([*base, note, "-", "-", rss, case.target])
    case_seconds[case] = mine.seconds if mine.ok else None
    return rows


case_seconds: dict[Case, float | None] = {}


def growth_rows(cases: list[Case]) -> list[list[str]]:
    rows = []
    for group in sorted({c.growth for c in cases if c.growth}):
        members = sorted((c for c in cases if c.growth == group), key=lambda c: c.size_bytes)
        small, big = members[0], members[-1]
        a, b = case_seconds.get(small), case_seconds.get(big)
        if len(members) < 2 or not a or not b:
            continue
        factor = big.size_bytes / small.size_bytes
        target = f"<= {small.growth_target:g}x" if small.growth_target else ""
        rows.append([small.area, f"growth {group}: biggest / smallest", f"{factor:.1f}x input",
                     f"{b / a:.1f}x time", "-", "-", "-", "-", target])
    return rows


HEADER = ["area", "input", "size", "racoondbg", "reference", "ref time", "ratio", "racoondbg RSS", "target"]


def render(rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [HEADER, *rows])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=SIZES, default="medium")
    parser.add_argument("--only", help="run only areas whose module name starts with this")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args()
    cases: list[Case] = []
    for name in discover(args.only):
        try:
            module = importlib.import_module(name)
            if hasattr(module, "cases"):
                print(f"# preparing {name} ({args.size})", file=sys.stderr)
                cases += module.cases(args.size)
            else:
                print(f"# {name} has no cases(size); not in the table", file=sys.stderr)
        except Exception as exc:  # one broken area must not hide the others' numbers
            print(f"# {name} skipped: {type(exc).__name__}: {exc}", file=sys.stderr)
    rows: list[list[str]] = []
    for case in cases:
        print(f"# running {case.area}: {case.name}", file=sys.stderr)
        rows += rows_for(case, args.repeat)
    rows += growth_rows(cases)
    print(render(rows, args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
