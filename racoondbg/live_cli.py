"""``racoondbg diagnose`` (collect from this box, then analyse) and ``racoondbg collect`` (write a bundle)."""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click

from racoondbg.bundle import write_bundle
from racoondbg.cli import EXIT_USAGE, analyse, ignored_codes, output_options
from racoondbg.engine import run
from racoondbg.live.collect import CollectOptions, load_collection
from racoondbg.live.collect import collect as collect_into
from racoondbg.live.manifest import read_collection
from racoondbg.sources import Source

_SPAN = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(text: str) -> tuple[datetime | None, timedelta | None]:
    """``1h``/``30m``/``2d``: a window; ``all``: everything; else an ISO date and time."""
    text = text.strip()
    if text == "all":
        return None, None
    if m := _SPAN.match(text):
        return None, timedelta(**{_UNITS[m.group(2)]: float(m.group(1))})
    try:
        return datetime.fromisoformat(text), None
    except ValueError as err:
        raise click.BadParameter(f"{text!r}: give 1h, 30m, 2d, all, or a date like 2026-11-28T17:00") from err


def collect_options(func: Any) -> Any:
    options = [
        click.option("--root", type=click.Path(file_okay=False, exists=True, path_type=Path), default=Path("/"),
                     show_default=True,
                     help="Read a sysroot (a mounted disk image, a test fixture) instead of this box; command "
                          "outputs come from ROOT/.racoondbg/commands/KEY.out."),
        click.option("--since", default="1h", show_default=True,
                     help="How much log to read: 1h, 30m, 2d, all, or a date (sysroot: relative to the log's end)."),
        click.option("--capture", type=click.IntRange(0, 3600), default=0, metavar="SECONDS",
                     help="Also capture UDP 500/4500 for this long (root only; tcpdump, or a raw socket without it)."),
        click.option("--timeout", type=click.FloatRange(0.5, 600), default=20.0, show_default=True,
                     help="Seconds each command may take."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _options(root: Path, since: str, capture: int, timeout: float, redact: bool) -> CollectOptions:
    start, window = parse_since(since)
    if start is None and window is None:
        window = timedelta(days=365 * 100)
    return CollectOptions(root=root, since=start, window=window or timedelta(hours=1), capture=capture,
                          redact=redact, timeout=timeout)


def _progress(verbose: bool) -> Any:
    def say(message: str) -> None:
        if verbose:
            click.echo(f"racoondbg: {message}", err=True)

    return say


@click.command()
@collect_options
@click.option("--show-keys", is_flag=True, help="Do not redact keys (they may then appear in the output).")
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path),
              help="Keep what was collected in this (new) directory.")
@click.option("--tui", "tui_mode", is_flag=True, help="Open the findings and the evidence in the terminal UI.")
@output_options
def diagnose(root: Path, since: str, capture: int, timeout: float, show_keys: bool, keep: Path | None,
             tui_mode: bool, **opts: Any) -> None:
    """Collect everything racoon's world holds on this box (read-only), then analyse it.

    Reads racoon.conf and the files it names, the SAD/SPD (setkey, or ip xfrm where Linux has no
    PF_KEY), racoon's process and who holds UDP 500/4500, sysctls and the recent log. Run as root
    for the full picture.
    """
    if keep is not None and keep.exists() and any(keep.iterdir()):
        click.echo(f"racoondbg: {keep} is not empty", err=True)
        sys.exit(EXIT_USAGE)
    work = keep or Path(tempfile.mkdtemp(prefix="racoondbg-diagnose-"))
    try:
        collect_into(work, _options(root, since, capture, timeout, not show_keys), _progress(opts["verbose"]))
        if tui_mode:
            _open_tui(work, show_keys, opts)
            code = 0
        else:
            code = analyse(load_collection(work, show_keys), opts)
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(code)


def _open_tui(work: Path, show_keys: bool, opts: dict[str, Any]) -> None:
    """The collection in the TUI: every view finds its file by the name findings cite
    (``/etc/racoon/racoon.conf``, ``setkey -D``), and the Log view opens racoon's log at once."""
    from racoondbg.tui_command import open_tui

    evidence = load_collection(work, show_keys)
    result = run(evidence, ignore=ignored_codes(opts), debug=opts.get("debug", False))
    roots = [Source(item.path, item.name) for item in read_collection(work).inputs]
    roots.append(Source(work / "root", ""))  # included files and anything else under the host's paths
    host = evidence.host
    name = host.hostname if host is not None and host.hostname else "this box"
    open_tui(evidence, result, roots=roots, show_keys=show_keys, title=f"racoondbg diagnose: {name}")


@click.command()
@collect_options
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="FILE.tar.gz (a bundle) or a new directory.")
@click.option("--no-redact", is_flag=True,
              help="Keep keys, PSKs and private keys in clear. Only for your own eyes.")
@click.option("-v", "--verbose", is_flag=True, help="Say what is being read.")
def collect(root: Path, since: str, capture: int, timeout: float, output: Path, no_redact: bool,
            verbose: bool) -> None:
    """Write everything `diagnose` reads, with a manifest, as a bundle for `racoondbg analyze`.

    Keys, pre-shared keys, private keys and log hex dumps are replaced by stable tags unless
    --no-redact is given, so the bundle can be shared.
    """
    options = _options(root, since, capture, timeout, not no_redact)
    as_dir = not output.name.endswith((".tar.gz", ".tgz"))
    if output.exists() and (not as_dir or any(output.iterdir())):
        click.echo(f"racoondbg: {output} exists; not overwriting it", err=True)
        sys.exit(EXIT_USAGE)
    if as_dir:
        collect_into(output, options, _progress(verbose))
        target = output
    else:
        with tempfile.TemporaryDirectory(prefix="racoondbg-collect-") as tmp:
            collect_into(Path(tmp), options, _progress(verbose))
            with output.open("xb") as fh:
                write_bundle(Path(tmp), fh)
        output.chmod(0o600)
        target = output
    state = "in clear (--no-redact)" if no_redact else "secrets redacted"
    click.echo(f"racoondbg: wrote {target} ({state}); read it with `racoondbg analyze {target}`", err=True)
