"""Rendering findings: text for people (rich), JSON / JSON lines / SARIF for machines.

The JSON document (schema ``racoondbg/1``) is stable; see README.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import IO, Any

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from racoondbg import __version__
from racoondbg.engine import Result, Rule, all_rules
from racoondbg.evidence import Evidence
from racoondbg.jsonable import jsonable
from racoondbg.live.status import peer_rows
from racoondbg.live.summary import host_lines, status_table
from racoondbg.model.finding import Finding, Severity

SCHEMA = "racoondbg/1"
FORMATS = ("text", "json", "json-lines", "sarif")
DOCS_URL = "https://racoondbg.invalid/rules/{slug}"

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def finding_json(f: Finding) -> dict[str, Any]:
    return {
        "code": f.code,
        "slug": f.slug,
        "severity": f.severity.label,
        "title": f.title,
        "message": f.message,
        "peer": f.peer,
        "evidence": [
            {"path": e.path, "line": e.line, "frame": e.frame, "excerpt": e.excerpt, "note": e.note}
            for e in f.evidence
        ],
        "fix": f.fix,
    }


def document(ev: Evidence, result: Result) -> dict[str, Any]:
    """The whole analysis as the ``racoondbg/1`` JSON document."""
    return {
        "schema": SCHEMA,
        "version": __version__,
        "inputs": [{"path": i.path, "kind": i.kind, "flavour": i.flavour} for i in ev.inputs],
        "host": jsonable(ev.host) if ev.host is not None else None,
        "peers": jsonable(peer_rows(ev)),
        "findings": [finding_json(f) for f in result.findings],
        "coverage": {
            "ran": list(result.coverage.ran),
            "skipped": [{"slug": slug, "needs": needs} for slug, needs in result.coverage.skipped],
        },
        "errors": [
            {"path": e.path, "line": e.line, "column": e.column, "frame": e.frame, "message": e.message,
             "fatal": e.fatal}
            for e in ev.errors
        ],
    }


def write_json(ev: Evidence, result: Result, out: IO[str]) -> None:
    """The report as one JSON document, in one write (json.dump writes each token on its own, which
    is a system call per token when Python runs unbuffered, as under many service managers)."""
    out.write(json.dumps(document(ev, result), indent=2, ensure_ascii=False) + "\n")


def write_json_lines(ev: Evidence, result: Result, out: IO[str]) -> None:
    """One finding per line (then one line per input error), for grep and jq."""
    for f in result.findings:
        out.write(json.dumps({"type": "finding", **finding_json(f)}, ensure_ascii=False) + "\n")
    for e in ev.errors:
        out.write(
            json.dumps(
                {"type": "error", "path": e.path, "line": e.line, "frame": e.frame, "message": e.message},
                ensure_ascii=False,
            )
            + "\n"
        )


_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def sarif(ev: Evidence, result: Result, rules: Iterable[Rule] | None = None) -> dict[str, Any]:
    """SARIF 2.1.0: one run, every rule's metadata, one result per finding."""
    rule_list = list(rules if rules is not None else all_rules())
    index = {r.code: i for i, r in enumerate(rule_list)}
    results = []
    for f in result.findings:
        locations = []
        for e in f.evidence:
            physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(e.path)}}
            if e.line is not None:
                region: dict[str, Any] = {"startLine": e.line}
                if e.excerpt:
                    region["snippet"] = {"text": e.excerpt}
                physical["region"] = region
            loc: dict[str, Any] = {"physicalLocation": physical}
            if e.frame is not None or e.note:
                parts = (f"frame {e.frame}" if e.frame is not None else "", e.note or "")
                loc["message"] = {"text": " ".join(p for p in parts if p)}
            locations.append(loc)
        entry: dict[str, Any] = {
            "ruleId": f.code,
            "level": _SARIF_LEVEL[f.severity],
            "message": {"text": f"{f.title}: {f.message}" + (f"\nFix: {f.fix}" if f.fix else "")},
            "locations": locations,
        }
        if f.code in index:
            entry["ruleIndex"] = index[f.code]
        results.append(entry)
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "racoondbg",
                        "version": __version__,
                        "informationUri": "https://racoondbg.invalid/",
                        "rules": [
                            {
                                "id": r.code,
                                "name": r.slug,
                                "shortDescription": {"text": r.title},
                                "fullDescription": {"text": r.explanation.split("\n\n", 1)[0]},
                                "help": {"text": r.explanation, "markdown": r.explanation},
                                "helpUri": DOCS_URL.format(slug=r.slug),
                                "defaultConfiguration": {"level": _SARIF_LEVEL[r.severity]},
                            }
                            for r in rule_list
                        ],
                    }
                },
                "artifacts": [{"location": {"uri": _uri(i.path)}} for i in ev.inputs],
                "invocations": [_invocation(ev)],
                "results": results,
            }
        ],
    }


def _invocation(ev: Evidence) -> dict[str, Any]:
    """Input errors (e.g. racoon.conf syntax errors) as SARIF tool execution notifications."""
    notes = []
    for e in ev.errors:
        note: dict[str, Any] = {"level": "error" if e.fatal else "warning", "message": {"text": e.message}}
        physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(e.path)}}
        if e.line is not None:
            physical["region"] = {"startLine": e.line, **({"startColumn": e.column} if e.column else {})}
        note["locations"] = [{"physicalLocation": physical}]
        notes.append(note)
    return {"executionSuccessful": not any(e.fatal for e in ev.errors), "toolExecutionNotifications": notes}


def _uri(path: str) -> str:
    return path.replace("\\", "/").replace(" ", "%20")


def write_sarif(ev: Evidence, result: Result, out: IO[str]) -> None:
    out.write(json.dumps(sarif(ev, result), indent=2, ensure_ascii=False) + "\n")


_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def printable(text: str) -> str:
    """Text from (possibly hostile) inputs made safe for a terminal: control characters (ESC
    sequences could retitle or repaint the admin's terminal) and undecodable bytes (kept by the
    parsers as surrogate escapes) are shown as ``\\xNN``; tabs and newlines stay."""
    return _UNPRINTABLE.sub(_escape_char, text)


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable input byte, kept by errors="surrogateescape"
        return f"\\x{code - 0xDC00:02x}"
    if code >= 0xD800:
        return f"\\u{code:04x}"
    return f"\\x{code:02x}"


def write_text(ev: Evidence, result: Result, console: Console, *, verbose: bool = False) -> None:
    """The report for people: worst first, each finding with why, where and what to do.

    The findings are printed in one call: a call per line costs rich a size and buffer check each
    (seconds for the thousands of lines a big log's findings make).
    """
    findings = result.findings
    if ev.inputs:
        read = ", ".join(f"{i.path} ({i.kind}{', ' + i.flavour if i.flavour else ''})" for i in ev.inputs)
        console.print(Text("Read: ", style="dim") + Text(printable(read)))
    if ev.host is not None:
        for host_line in host_lines(ev, ev.host, verbose=verbose):
            console.print(Text(printable(host_line), style="dim"))
    if (table := status_table(ev)) is not None:
        console.print(table)
    for err in ev.errors:
        style = "red" if err.fatal else "yellow"
        console.print(Text("! ", style=style) + Text(printable(err.one_line())))
    if not findings:
        console.print(Text("No problems found in what was read.", style="green"))
    out: list[Text] = []
    for f in findings:
        out.append(Text())
        head = Text()
        head.append(f"{f.severity.label.upper():7} ", style=_STYLE[f.severity])
        head.append(f"{f.code} {f.slug}", style="bold")
        head.append(printable(f"  {f.title}"))
        if f.peer:
            head.append(printable(f"  [{f.peer}]"), style="magenta")
        out.append(head)
        out.append(Text(printable("  " + f.message)))
        for e in f.evidence:
            line = Text("    at ", style="dim") + Text(printable(e.where()), style="underline")
            if e.note:
                line.append(printable(f"  ({e.note})"), style="dim")
            out.append(line)
            if e.excerpt:
                for ex in e.excerpt.splitlines()[:6]:
                    out.append(Text("      | ", style="dim") + Text(printable(ex)))
        if f.fix:
            out.append(Text("  fix: ", style="green bold") + Text(printable(f.fix)))
        if f.debug:
            out.append(Text(printable(f.debug), style="dim"))
    if out:
        console.print(*out, sep="\n")
    console.print()
    counts = {s: sum(1 for f in findings if f.severity is s) for s in Severity}
    summary = ", ".join(f"{counts[s]} {s.label}{'s' if counts[s] != 1 else ''}" for s in reversed(Severity))
    console.print(Text(summary, style="bold"))
    skipped = result.coverage.skipped
    if skipped:
        wanted: dict[str, int] = {}
        for _slug, needs in skipped:
            for need in needs:
                wanted[need] = wanted.get(need, 0) + 1
        hint = ", ".join(f"{need} (+{n} rules)" for need, n in sorted(wanted.items(), key=lambda kv: -kv[1]))
        console.print(
            Text(f"{len(result.coverage.ran)} rules ran; {len(skipped)} could not. ", style="dim")
            + Text(f"More evidence would help: {escape(hint)}", style="dim")
        )
        if verbose:
            for slug, needs in skipped:
                console.print(Text(f"  skipped {slug}: needs {', '.join(needs)}", style="dim"))
    else:
        console.print(Text(f"{len(result.coverage.ran)} rules ran.", style="dim"))
