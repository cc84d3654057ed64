"""Filling a DataTable in one go, with column widths from the content (capped)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

#: No column wider than this (long problems and requests are cut, the detail shows them whole).
MAX_WIDTH = 60


def fill_table(table: DataTable[Any], columns: Sequence[str], rows: Sequence[tuple[str, Sequence[Any]]]) -> None:
    """Replace a table's columns and rows; ``rows`` are ``(key, cells)``."""
    widths = [len(c) for c in columns]
    for _key, cells in rows:
        for i, cell in enumerate(cells):
            width = cell.cell_len if isinstance(cell, Text) else len(str(cell))
            widths[i] = min(MAX_WIDTH, max(widths[i], width))
    table.clear(columns=True)
    for label, width in zip(columns, widths, strict=True):
        table.add_column(label, width=width)
    for key, cells in rows:
        table.add_row(*cells, key=key)
