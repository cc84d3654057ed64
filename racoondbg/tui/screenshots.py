"""Regenerate the README's TUI screenshots (SVG, from Textual's own screenshot).

    python -m racoondbg.tui.screenshots [OUTDIR]      (default: docs/screenshots)

Each main view is shown on the demo (``racoondbg demo --tui``); the Messages view, which needs a
capture and the demo has none, is shown on the test capture of a main mode that stalls at MM5.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

from racoondbg.cli import demo_dir
from racoondbg.engine import run
from racoondbg.evidence import load_evidence
from racoondbg.inputs import LoadOptions
from racoondbg.sources import Source
from racoondbg.tui import make_app
from racoondbg.tui.app import RacoonApp
from racoondbg.tui.session import find_logs

SIZE = (110, 32)
CAPTURE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "tui" / "mm5-unanswered.pcap"


def demo_app() -> RacoonApp:
    base = demo_dir()
    root = Source(base, "demo")
    evidence = load_evidence([root], options=LoadOptions(root=base / "sysroot"))
    return make_app(evidence, run(evidence), roots=[root], logs=find_logs([root]), title="racoondbg demo")


def capture_app() -> RacoonApp:
    source = Source(CAPTURE, "ike.pcap")
    evidence = load_evidence([source])
    return make_app(evidence, run(evidence), roots=[source])


#: (file name, app factory, keys pressed before the shot).
SHOTS: list[tuple[str, Callable[[], RacoonApp], list[str]]] = [
    ("findings.svg", demo_app, []),
    ("peers.svg", demo_app, ["2", "enter"]),
    ("messages.svg", capture_app, ["3", "down", "down", "down", "down"]),
    ("policies.svg", demo_app, ["4", "down", "down", "down"]),
    ("log.svg", demo_app, ["5", "l", "l"]),
    ("config.svg", demo_app, ["6", "n"]),
]


async def shoot(app: RacoonApp, keys: list[str], path: Path) -> None:
    async with app.run_test(size=SIZE) as pilot:
        while app.focused is None:
            await pilot.pause(0.05)
        for key in keys:
            await pilot.press(key)
            await pilot.pause(0.2)
        await pilot.pause(0.5)  # the Log view's status tick, index threads
        path.write_text(app.export_screenshot(title=f"racoondbg tui — {path.stem}"), encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else Path("docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    for name, factory, keys in SHOTS:
        asyncio.run(shoot(factory(), keys, out / name))
        print(out / name)


if __name__ == "__main__":
    main()
