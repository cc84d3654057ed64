"""``racoondbg timeline``: the negotiations of one or more racoon logs as a compact terminal timeline.

Negotiations are grouped per pair of endpoints, so both peers' logs merge into one story ordered by
time; failures are highlighted. Captures are drawn by :mod:`racoondbg.ladder` when it is installed.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.text import Text

from racoondbg.evidence import Evidence, load_evidence
from racoondbg.inputs import LoadOptions
from racoondbg.model.log import FAILURE_KINDS, Event, Kind, LogAnalysis, Negotiation, Outcome
from racoondbg.sources import Source, spool_stdin

_MARK = {
    Outcome.ESTABLISHED: ("✔", "green"),
    Outcome.FAILED: ("✘", "bold red"),
    Outcome.TIMEOUT: ("✘", "bold red"),
    Outcome.SUPERSEDED: ("↻", "yellow"),
    Outcome.PENDING: ("…", "cyan"),
}
#: Events shown under a negotiation besides its outcome (the rest is summarised by counts).
_DETAIL = FAILURE_KINDS | {Kind.NAT_DETECTED, Kind.INTERFACE_CHANGE, Kind.SIGNAL}


@dataclass(frozen=True, slots=True)
class Row:
    """One negotiation of one log, placed on the merged timeline."""

    when: datetime | None
    log: str
    negotiation: Negotiation


def pair_key(log: LogAnalysis, neg: Negotiation) -> str:
    """The two endpoints of a negotiation, in a stable order, so both sides' logs land together."""
    ends = sorted({e for e in (neg.local, neg.peer) if e})
    return " ↔ ".join(ends) if ends else "unknown peer"


def rows_by_pair(logs: Iterable[LogAnalysis]) -> dict[str, list[Row]]:
    groups: dict[str, list[Row]] = {}
    for log in logs:
        locals_ = {n.local for n in log.negotiations if n.local}
        for neg in log.negotiations:
            if neg.local is None and len(locals_) == 1:
                neg.local = next(iter(locals_))
            groups.setdefault(pair_key(log, neg), []).append(Row(neg.started, log.location.path, neg))
    for rows in groups.values():
        rows.sort(key=lambda r: (r.when or datetime.min, r.negotiation.start.line or 0))
    return groups


def render_logs(logs: list[LogAnalysis], console: Console, *, verbose: bool = False) -> None:
    """Print the merged timeline of every log."""
    several = len(logs) > 1
    for log in logs:
        share = f"{log.recognition:.0%} of {log.records - log.hexdump_records} records recognised"
        console.print(Text.assemble((log.location.path, "bold"), f"  {log.flavour or 'unknown flavour'}, "
                                    f"{log.line_format} format, {share}"))
        for event in _loose_failures(log):
            console.print(Text.assemble("  ", _clock(event.time), "  ", ("✘ " + event.message.strip(), "bold red"),
                                        f"  [{_where(event)}]"))
    for pair, rows in rows_by_pair(logs).items():
        console.print()
        console.print(Text(pair, style="bold underline"))
        for log in logs:
            for peer, status in log.peers.items():
                if peer in pair:
                    console.print(Text.assemble("  ", (status.line(), "dim"), f"  ({log.location.path})" if several
                                                else ""))
        for row in rows:
            _render_row(row, console, several=several, verbose=verbose)


def _render_row(row: Row, console: Console, *, several: bool, verbose: bool) -> None:
    neg = row.negotiation
    mark, style = _MARK[neg.outcome]
    took = f" in {neg.seconds:.0f} s" if neg.seconds is not None and neg.done else ""
    what = neg.outcome.value + took
    if neg.reason and neg.outcome is not Outcome.ESTABLISHED:
        what += f": {neg.reason.strip()}"
    extra = []
    if neg.exchange:
        extra.append(neg.exchange)
    if neg.role:
        extra.append(neg.role)
    if neg.mode:
        extra.append(neg.mode)
    if neg.spis:
        extra.append("spi " + ", ".join(neg.spis))
    retransmits = sum(1 for e in neg.events if e.kind is Kind.RETRANSMIT)
    if retransmits:
        extra.append(f"{retransmits} retransmits")
    source = f"{Path(row.log).name}:{neg.start.line}" if several else f"line {neg.start.line}"
    console.print(Text.assemble(
        "  ", _clock(neg.started), f"  P{neg.phase} ", (f"{mark} {what}", style),
        (f"  ({'; '.join(extra)})" if extra else "", "dim"), (f"  [{source}]", "dim"),
    ))
    for event in neg.events:
        if event.kind in _DETAIL or verbose:
            style = "red" if event.failure else "dim"
            console.print(Text.assemble("      ", _clock(event.time), "  ", (event.message.strip(), style),
                                        (f"  [{_where(event)}]", "dim")))


def _loose_failures(log: LogAnalysis) -> list[Event]:
    """Failures that belong to no negotiation (start-up, configuration, kernel)."""
    inside = {id(e) for n in log.negotiations for e in n.events}
    return [e for e in log.events if e.failure and id(e) not in inside][:20]


def _clock(when: datetime | None) -> str:
    return f"{when:%m-%d %H:%M:%S}" if when else "--:--:--"


def _where(event: Event) -> str:
    return f"{Path(event.location.path).name}:{event.location.line}"


def render_captures(ev: Evidence, console: Console) -> None:
    """Draw each capture with the capture ladder, when that module is installed."""
    if not ev.captures:
        return
    try:
        ladder: Any = importlib.import_module("racoondbg.ladder")
    except ImportError:
        console.print(f"{len(ev.captures)} capture(s) given: captures are not supported by `timeline` yet.")
        return
    for capture in ev.captures:
        console.print()
        ladder.render_capture_ladder(capture, console)


@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--since", type=click.DateTime(), help="Only events at or after this time.")
@click.option("--until", type=click.DateTime(), help="Only events at or before this time.")
@click.option("--year", type=int, help="Year of syslog lines that carry none (default: from the file).")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True)
@click.option("-v", "--verbose", is_flag=True, help="Show every event of every negotiation.")
def timeline(paths: tuple[str, ...], since: datetime | None, until: datetime | None, year: int | None, color: str,
             verbose: bool) -> None:
    """Show racoon's negotiations per peer as a timeline; several logs (both peers') are merged by time.

    Captures given too are drawn as ladders when racoondbg's capture ladder is available.
    """
    from racoondbg.cli import console_for

    sources = [spool_stdin() if p == "-" else Source.of(p) for p in paths]
    ev = load_evidence(sources, options=LoadOptions(year=year, since=since, until=until))
    console = console_for(color)
    for err in ev.errors:
        click.echo(f"racoondbg: {err.one_line()}", err=True)
    if not ev.logs and not ev.captures:
        click.echo("racoondbg: no racoon log or capture among the inputs", err=True)
        sys.exit(3)
    render_logs(ev.logs, console, verbose=verbose)
    render_captures(ev, console)
