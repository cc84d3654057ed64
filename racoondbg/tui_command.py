"""``racoondbg tui PATH...``: the evidence in the terminal UI.

Same inputs and input options as ``analyze``. The UI opens at once (the Log view reads the raw
log files itself); the analysis runs in a thread and the findings appear when it is done.
Textual is imported only when the command runs, so the rest of the CLI stays headless.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from racoondbg.cli import gather, ignored_codes, input_options
from racoondbg.engine import Result, run
from racoondbg.evidence import Evidence
from racoondbg.sources import Source, spool_stdin

_EXPLICIT = ("conf", "spd", "sad", "log", "pcap", "certs", "psk")


def open_tui(
    evidence: Evidence | None,
    result: Result | None,
    *,
    roots: Sequence[Source],
    analyse: Any = None,
    explicit_logs: Sequence[Source] = (),
    show_keys: bool = False,
    theme: str = "dark",
    title: str = "racoondbg",
) -> None:
    """Run the TUI until the user quits (shared by ``tui``, ``demo --tui`` and ``diagnose --tui``)."""
    from racoondbg.tui import make_app
    from racoondbg.tui.session import find_logs

    logs = find_logs(roots, explicit_logs)
    make_app(evidence, result, analyse=analyse, roots=roots, logs=logs, show_keys=show_keys,
             theme=theme, title=title).run()


@click.command("tui")
@click.argument("paths", nargs=-1)
@input_options
@click.option("--theme", type=click.Choice(["dark", "light"]), default="dark", show_default=True)
@click.option("--ignore", multiple=True, metavar="CODE,...", help="Rule codes or slugs to leave out.")
def tui(paths: tuple[str, ...], theme: str, ignore: tuple[str, ...], **opts: Any) -> None:
    """Inspect the evidence in a terminal UI: findings, peers, messages, policies, log, config.

    Give the same inputs as to `analyze`. Keys: 1-6 views, / search, Enter open, Esc back,
    ? help, Ctrl+P commands, q quit.
    """
    if not paths and not any(opts.get(f"x_{k}") for k in _EXPLICIT):
        raise click.UsageError("give at least one input (a file, a directory, a bundle or -)")
    given = [str(spool_stdin().path) if p == "-" else p for p in paths]
    skipped = ignored_codes({"ignore": ignore})

    def analyse() -> tuple[Evidence, Result]:
        evidence = gather(given, opts)
        return evidence, run(evidence, ignore=skipped)

    roots = [Source.of(p) for p in given] + [Source.of(p) for k in _EXPLICIT for p in opts.get(f"x_{k}", ())]
    explicit_logs = [Source.of(p) for p in opts.get("x_log", ()) if Path(p).is_file()]
    open_tui(None, None, roots=roots, analyse=analyse, explicit_logs=explicit_logs,
             show_keys=bool(opts.get("show_keys")), theme=theme)
