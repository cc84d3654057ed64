"""The ``racoondbg`` command line (click). Exit codes: 0 clean, 1 findings, 2 usage, 3 bad input."""

from __future__ import annotations

import gc
import io
import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from racoondbg import __version__
from racoondbg.engine import Result, all_rules, find_rules, run
from racoondbg.evidence import Evidence, load_evidence
from racoondbg.inputs import LoadOptions, input_kinds, kind_named
from racoondbg.jsonable import jsonable
from racoondbg.model.base import ParseError
from racoondbg.model.finding import Severity
from racoondbg.modes import copy_with_modes
from racoondbg.report import FORMATS, printable, write_json, write_json_lines, write_sarif, write_text
from racoondbg.sources import Source, spool_stdin

EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE, EXIT_INPUT = 0, 1, 2, 3

F = TypeVar("F", bound=Callable[..., Any])


def console_for(color: str, stream: Any = None) -> Console:
    """A rich console that colours only on a TTY, unless told otherwise; NO_COLOR is honoured."""
    stream = stream or sys.stdout
    if color == "always":
        return Console(file=stream, force_terminal=True, highlight=False, soft_wrap=False)
    if color == "never" or os.environ.get("NO_COLOR"):
        return Console(file=stream, no_color=True, highlight=False, color_system=None)
    return Console(file=stream, highlight=False)


def output_options(func: F) -> F:
    options = [
        click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True),
        click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True),
        click.option(
            "--fail-on",
            type=click.Choice(["error", "warning", "info"]),
            default="warning",
            show_default=True,
            help="Exit 1 when a finding is at least this severe.",
        ),
        click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings."),
        click.option("--ignore", multiple=True, metavar="CODE,...", help="Rule codes or slugs to leave out."),
        click.option("-v", "--verbose", is_flag=True, help="Say which rules could not run and why."),
        click.option("--debug", is_flag=True, help="Show tracebacks of rules that failed."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


IKE_KEYS_HELP = ("Decrypt IKEv1 messages of captures: a Wireshark ikev1_decryption_table (initiator cookie, "
                 "encryption key) or a racoon -d log that printed the keys. Keys are never shown.")


def input_options(func: F) -> F:
    options = [
        click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("/"),
                     help="Resolve racoon.conf's absolute paths under this directory (a sysroot)."),
        click.option("--show-keys", is_flag=True, help="Show ESP/AH keys and PSKs instead of redacted tags."),
        click.option("--year", type=int, help="Year of syslog lines that carry none (default: from the file)."),
        click.option("--since", type=click.DateTime(), help="Only log records at or after this time."),
        click.option("--until", type=click.DateTime(), help="Only log records at or before this time."),
        click.option("--conf", "x_conf", multiple=True, help="racoon.conf (skip sniffing)."),
        click.option("--spd", "x_spd", multiple=True, help="setkey -DP / ip xfrm policy output."),
        click.option("--sad", "x_sad", multiple=True, help="setkey -D / ip xfrm state output."),
        click.option("--log", "x_log", multiple=True, help="racoon log."),
        click.option("--pcap", "x_pcap", multiple=True, help="ISAKMP capture."),
        click.option("--certs", "x_certs", multiple=True, help="certificate directory."),
        click.option("--psk", "x_psk", multiple=True, help="psk.txt."),
        click.option("--ike-keys", multiple=True, metavar="FILE", help=IKE_KEYS_HELP),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _source(arg: str) -> Source:
    return spool_stdin() if arg == "-" else Source.of(arg)


def gather(paths: Sequence[str], opts: dict[str, Any]) -> Evidence:
    explicit = [
        (kind, _source(p))
        for kind in ("conf", "spd", "sad", "log", "pcap", "certs", "psk")
        for p in opts.get(f"x_{kind}", ())
    ]
    options = LoadOptions(root=opts.get("root") or Path("/"), show_keys=bool(opts.get("show_keys")),
                          year=opts.get("year"), since=opts.get("since"), until=opts.get("until"),
                          ike_keys=tuple(opts.get("ike_keys") or ()))
    return load_evidence([_source(p) for p in paths], explicit, options)


def emit(ev: Evidence, result: Result, opts: dict[str, Any]) -> int:
    """Write the report and return the exit code."""
    fmt = opts["fmt"]
    if fmt == "text":
        write_text(ev, result, console_for(opts["color"]), verbose=opts["verbose"])
    else:
        {"json": write_json, "json-lines": write_json_lines, "sarif": write_sarif}[fmt](ev, result, sys.stdout)
        for err in ev.errors:
            click.echo(f"racoondbg: {printable(err.one_line())}", err=True)
    if any(e.fatal for e in ev.errors):
        return EXIT_INPUT
    threshold = Severity.parse(opts["fail_on"])
    if not opts["exit_zero"] and any(f.severity >= threshold for f in result.findings):
        return EXIT_FINDINGS
    return EXIT_CLEAN


def ignored_codes(opts: dict[str, Any]) -> list[str]:
    """The rule codes or slugs of every ``--ignore CODE,...`` option."""
    return [code for item in opts.get("ignore", ()) for code in item.split(",") if code.strip()]


def analyse(ev: Evidence, opts: dict[str, Any]) -> int:
    # The loaded evidence (a million packets: millions of objects) lives until the end; keep the cyclic
    # collector from walking all of it again each time the rules' short-lived objects trigger a full pass.
    gc.freeze()
    try:
        result = run(ev, ignore=ignored_codes(opts), debug=opts.get("debug", False))
    finally:
        gc.unfreeze()
    return emit(ev, result, opts)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="racoondbg")
def cli() -> None:
    """Find out why a racoon (ipsec-tools / KAME) IPsec setup does not work."""
    logging.basicConfig(level=logging.WARNING, format="racoondbg: %(message)s")
    for stream in (sys.stdout, sys.stderr):  # undecodable input bytes print as \udcXX, never crash
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")


@cli.command()
@click.argument("paths", nargs=-1)
@input_options
@output_options
def analyze(paths: tuple[str, ...], **opts: Any) -> None:
    """Analyse captured evidence: files, directories or bundles, recognised by their content.

    Give racoon.conf, setkey -D/-DP dumps, ip xfrm output, setkey scripts, racoon logs,
    captures, psk.txt, certificate directories, or a directory / .tar.gz holding any of them.
    `-` reads standard input.
    """
    if not paths and not any(opts.get(f"x_{k}") for k in ("conf", "spd", "sad", "log", "pcap", "certs", "psk")):
        raise click.UsageError("give at least one input (a file, a directory, a bundle or -)")
    sys.exit(analyse(gather(paths, opts), opts))


@cli.command("check-conf")
@click.argument("path")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("/"))
@output_options
def check_conf(path: str, root: Path, **opts: Any) -> None:
    """Check one racoon.conf (and the files it names): syntax errors exit 3, findings exit 1.

    Every syntax error is printed to stderr compiler-style (file:line:column, the line, a caret,
    a hint); the rules still run on what could be read.
    """
    ev = gather([], {"x_conf": (path,), "root": root})
    if opts["fmt"] == "text" and ev.conf is not None:
        for err in ev.conf.errors:
            pretty = getattr(err, "pretty", err.one_line)
            click.echo(pretty(), err=True)
    sys.exit(analyse(ev, opts))


@cli.command()
@click.argument("kind")
@click.argument("path")
@click.option("--show-keys", is_flag=True, help="Keep key material in clear (never by default).")
@click.option("--year", type=int)
@click.option("--ike-keys", multiple=True, metavar="FILE", help=IKE_KEYS_HELP)
def parse(kind: str, path: str, show_keys: bool, year: int | None, ike_keys: tuple[str, ...]) -> None:
    """Print the parsed model of one input as JSON (KIND: see `racoondbg parse list x`)."""
    if kind == "list":
        for k in input_kinds():
            click.echo(f"{k.name:16} {k.description}")
        return
    input_kind = kind_named(kind)
    if input_kind is None:
        names = ", ".join(k.name for k in input_kinds())
        raise click.UsageError(f"unknown kind {kind!r}; known kinds: {names}")
    source = _source(path)
    options = LoadOptions(show_keys=show_keys, year=year, ike_keys=ike_keys)
    try:
        streamed = input_kind.stream is not None
        if input_kind.stream is not None:
            obj = input_kind.stream(source, options, sys.stdout)
        else:
            obj = input_kind.load(source, options)
    except ParseError as err:
        click.echo(f"racoondbg: {printable(err.one_line())}", err=True)
        sys.exit(EXIT_INPUT)
    except (OSError, UnicodeError, ValueError, EOFError) as err:
        click.echo(f"racoondbg: {source.name}: cannot read: {getattr(err, 'strerror', None) or err}", err=True)
        sys.exit(EXIT_INPUT)
    if not streamed:
        data = input_kind.to_json(obj) if input_kind.to_json else jsonable(obj)
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    problems: list[ParseError] = list(getattr(obj, "errors", ()) or ())
    for problem in problems:
        click.echo(f"racoondbg: {printable(problem.one_line())}", err=True)
    sys.exit(EXIT_INPUT if problems else EXIT_CLEAN)


@cli.command()
@click.argument("code_or_slug")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto")
def explain(code_or_slug: str, color: str) -> None:
    """Explain a rule: what it means, why racoon fails, how to fix it."""
    found = find_rules(code_or_slug)
    if not found:
        raise click.UsageError(f"no rule {code_or_slug!r}; `racoondbg rules` lists them")
    from rich.markdown import Markdown

    console = console_for(color)
    for r in found:
        console.print(f"[bold]{r.code} {r.slug}[/bold] — {r.title} ({r.severity.label}; needs: "
                      f"{', '.join(sorted(r.needs)) or 'nothing'})")
        console.print(Markdown(r.explanation))


@cli.command("rules")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def rules_cmd(fmt: str) -> None:
    """List every rule with its code, slug, severity and the evidence it needs."""
    rules = all_rules()
    if fmt == "json":
        data = [{"code": r.code, "slug": r.slug, "severity": r.severity.label, "title": r.title,
                 "needs": sorted(r.needs), "family": r.family} for r in rules]
        click.echo(json.dumps(data, indent=2))
        return
    table = Table("code", "slug", "severity", "needs", "title", box=None, header_style="bold")
    for r in rules:
        table.add_row(r.code, r.slug, r.severity.label, ", ".join(sorted(r.needs)), r.title)
    console_for("auto").print(table)


def demo_dir() -> Path:
    """The seed network's evidence, shipped inside the package."""
    return Path(str(resources.files("racoondbg") / "demo"))


@cli.command()
@output_options
@click.option("--tui", "tui_mode", is_flag=True, help="Open the demo in the terminal UI.")
def demo(tui_mode: bool, **opts: Any) -> None:
    """Analyse the built-in demo: the network of the 2002 'IPsec vs. OSX' mail."""
    with tempfile.TemporaryDirectory(prefix="racoondbg-demo-") as tmp:  # a copy, to give it its file modes
        base = copy_with_modes(demo_dir(), Path(tmp) / "demo")
        ev = load_evidence([Source(base, "demo")], options=LoadOptions(root=base / "sysroot"))
        if tui_mode:
            from racoondbg.tui_command import open_tui

            open_tui(ev, run(ev), roots=[Source(base, "demo")], title="racoondbg demo")
            return
        code = analyse(ev, opts)
    sys.exit(code)


from racoondbg.timeline import timeline  # noqa: E402  (a command in its own module)

cli.add_command(timeline)


from racoondbg.tui_command import tui  # noqa: E402  (it needs gather and input_options from above)

cli.add_command(tui)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: click's usage errors exit 2; nothing escapes as a traceback."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="racoondbg")
    except KeyboardInterrupt:
        click.echo("racoondbg: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # the last line of defence: never a traceback for the user
        if os.environ.get("RACOONDBG_DEBUG"):
            raise
        click.echo(f"racoondbg: internal error: {type(exc).__name__} (set RACOONDBG_DEBUG=1 for details)", err=True)
        sys.exit(EXIT_INPUT)


from racoondbg.live_cli import collect, diagnose  # noqa: E402  (they use the helpers above)

cli.add_command(diagnose)
cli.add_command(collect)
