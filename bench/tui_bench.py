"""How fast the TUI opens a gigabyte racoon -ddd log, and how much memory it takes meanwhile.

    python bench/tui_bench.py [--size-mb 1024] [--log PATH] [--analyse]

Generates bench/data/racoon-ddd.log (bench/tui_gen_log.py) unless it exists, opens it headless in
the TUI (Textual's test driver, 120x40), and prints:

* time to the first usable screen: from starting the app until the Log view shows a full screen
  of (folded) lines and answers keys (target < 1 s), beside the start-up time of the same app
  with no input (Textual's own cost on this machine);
* peak RSS of the process while the line index and the hex-dump folds are built (target < 300 MB);
* the full index time beside ``wc -l`` on the same file (the reference), with the ratio.

``--analyse`` also runs the analysis in the background, as ``racoondbg tui`` does (the log parser
then reads the whole file too; its time and memory are included).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from tui_gen_log import generate

from racoondbg.engine import run
from racoondbg.evidence import load_evidence
from racoondbg.sources import Source
from racoondbg.tui import make_app
from racoondbg.tui.views.log import LogView

DATA = Path(__file__).parent / "data"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def measure(path: Path, analyse: bool) -> dict[str, float]:
    source = Source(path, path.name)

    def analysis():  # type: ignore[no-untyped-def]
        evidence = load_evidence([source])
        return evidence, run(evidence)

    app = make_app(analyse=analysis if analyse else None, roots=[source], logs=[source])
    started = time.perf_counter()
    numbers: dict[str, float] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.query_one(LogView)
        while view.projection is None or view.projection.rows < 40 or app.focused is not view.lines:
            await pilot.pause(0.01)
        numbers["shown_s"] = time.perf_counter() - started
        pressing = asyncio.ensure_future(pilot.press("down"))
        while view.lines.cursor != 1:  # the screen answers keys
            await asyncio.sleep(0.005)
        numbers["first_screen_s"] = time.perf_counter() - started
        await pressing
        numbers["rss_at_first_screen_mb"] = peak_rss_mb()
        assert view.index is not None
        while not view.index.done.is_set():
            await pilot.pause(0.1)
        numbers["index_s"] = time.perf_counter() - started
        numbers["lines"] = view.index.line_count
        while view.projection.processed < view.index.line_count:
            await pilot.pause(0.1)
        numbers["folds_s"] = time.perf_counter() - started
        numbers["rows_shown"] = view.projection.rows
        await pilot.press("end")
        await pilot.pause(0.2)
        numbers["peak_rss_mb"] = peak_rss_mb()
        if analyse:
            while app.analyses == 0:
                await pilot.pause(0.5)
            numbers["analysis_s"] = time.perf_counter() - started
            numbers["peak_rss_with_analysis_mb"] = peak_rss_mb()
    return numbers


async def baseline() -> float:
    """The same app with no input at all: what Textual's own start-up costs on this machine."""
    app = make_app()
    started = time.perf_counter()
    async with app.run_test(size=(120, 40)) as pilot:
        while app.focused is None:
            await pilot.pause(0.01)
        await pilot.press("down")
        return time.perf_counter() - started


def wc_seconds(path: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["wc", "-l", str(path)], check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--log", type=Path, default=None)
    parser.add_argument("--analyse", action="store_true")
    args = parser.parse_args()
    path = args.log or DATA / f"racoon-ddd-{args.size_mb}M.log"
    if not path.exists():
        print(f"generating {path} ...", flush=True)
        generate(path, args.size_mb * 1024 * 1024)
    subprocess.run(["cat", str(path)], check=True, stdout=subprocess.DEVNULL)  # warm the page cache for both
    wc = wc_seconds(path)
    empty = asyncio.run(baseline())
    numbers = asyncio.run(measure(path, args.analyse))
    size_mb = path.stat().st_size / 1e6
    print(f"file                      {path} ({size_mb:,.0f} MB, {numbers['lines']:,.0f} lines)")
    print(f"first usable screen       {numbers['first_screen_s']:.2f} s   (target < 1 s; the app with no input "
          f"starts in {empty:.2f} s here)")
    print(f"  (lines on screen at     {numbers['shown_s']:.2f} s)")
    print(f"RSS at first screen       {numbers['rss_at_first_screen_mb']:.0f} MB")
    print(f"full line index           {numbers['index_s']:.2f} s   (wc -l: {wc:.2f} s, ratio "
          f"{numbers['index_s'] / wc:.1f}x)")
    print(f"hex dumps folded          {numbers['folds_s']:.2f} s   ({numbers['rows_shown']:,.0f} rows shown)")
    print(f"peak RSS while indexing   {numbers['peak_rss_mb']:.0f} MB   (target < 300 MB)")
    if args.analyse:
        print(f"analysis (log parser)     {numbers['analysis_s']:.2f} s, peak RSS "
              f"{numbers['peak_rss_with_analysis_mb']:.0f} MB")


if __name__ == "__main__":
    main()
