"""Severity labels in theme colours (``$error``, ``$warning``, ``$accent``), the same in every view."""

from __future__ import annotations

from rich.text import Text
from textual.content import Content

from racoondbg.model.finding import Finding, Severity

_STYLE = {Severity.ERROR: "bold $error", Severity.WARNING: "bold $warning", Severity.INFO: "bold $accent"}
#: For widgets that take Rich text (Tree labels): ANSI colours, which the theme maps.
_RICH = {Severity.ERROR: "bold red", Severity.WARNING: "bold yellow", Severity.INFO: "bold cyan"}
_MARK = {Severity.ERROR: "✖", Severity.WARNING: "▲", Severity.INFO: "●"}


def severity_style(severity: Severity) -> str:
    return _STYLE[severity]


def severity_label(severity: Severity) -> Content:
    """``✖ error`` in the theme's error colour."""
    return Content.assemble((f"{_MARK[severity]} {severity.label}", _STYLE[severity]))


def finding_line(finding: Finding) -> Content:
    """One finding on one line: mark, code, slug, message."""
    return Content.assemble(
        (f"{_MARK[finding.severity]} ", _STYLE[finding.severity]),
        (f"{finding.code} ", "bold"),
        finding.message,
    )


def severity_text(severity: Severity, suffix: str = "") -> Text:
    """``✖ error`` as Rich text (for Tree labels)."""
    return Text.assemble((f"{_MARK[severity]} {severity.label}", _RICH[severity]), suffix)


def finding_text(finding: Finding) -> Text:
    """A finding as one Rich-text line (for Tree labels): code in its severity's colour, message."""
    return Text.assemble((f"{finding.code} ", _RICH[finding.severity]), finding.message)


def rich_style(severity: Severity) -> str:
    """The Rich style of a severity (for DataTable cells and Tree labels)."""
    return _RICH[severity]
