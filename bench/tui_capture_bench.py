"""How the TUI copes with a big capture: load and analysis, then the Messages and Peers views, and
the peak RSS after each.

    python bench/tui_capture_bench.py [PACKETS]        (default 1000000; the capture of pcap_bench.py)

Runs headless (Textual's test driver, 120x40). The Messages view lists a window of messages and
the Peers view draws the last tries with a peer, so neither should grow with the capture; the
loaded capture itself does (about 50 bytes a packet).
"""

from __future__ import annotations

import asyncio
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from pcap_bench import capture

from racoondbg.engine import run
from racoondbg.evidence import load_evidence
from racoondbg.sources import Source
from racoondbg.tui import make_app
from racoondbg.tui.views.messages import MessagesView


def peak_mib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


async def views(source: Source) -> None:
    started = time.perf_counter()
    evidence = load_evidence([source])
    result = run(evidence)
    print(f"load + analysis     {time.perf_counter() - started:6.1f} s   peak RSS {peak_mib()} MiB")
    app = make_app(evidence, result, roots=[source])
    async with app.run_test(size=(120, 40)) as pilot:
        started = time.perf_counter()
        while app.focused is None:
            await pilot.pause(0.05)
        print(f"app started         {time.perf_counter() - started:6.1f} s   peak RSS {peak_mib()} MiB")
        started = time.perf_counter()
        await pilot.press("3")
        view = app.query_one(MessagesView)
        while view.current is None:
            await pilot.pause(0.05)
        print(f"Messages view       {time.perf_counter() - started:6.1f} s   peak RSS {peak_mib()} MiB "
              f"({view.table.row_count} of {view.total} messages listed)")
        started = time.perf_counter()
        await pilot.press("2")
        await pilot.pause(0.5)
        print(f"Peers view          {time.perf_counter() - started:6.1f} s   peak RSS {peak_mib()} MiB")


def main() -> None:
    packets = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    path = capture(packets)
    print(f"capture: {path} ({path.stat().st_size / 1e6:.0f} MB)")
    asyncio.run(views(Source(path, path.name)))


if __name__ == "__main__":
    main()
