"""Collects the recognition figure so that it is printed at the end of the test run."""

from __future__ import annotations

from typing import Any

RECOGNITION: dict[str, tuple[int, int]] = {}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RECOGNITION:
        return
    known = sum(k for k, _ in RECOGNITION.values())
    total = sum(t for _, t in RECOGNITION.values())
    terminalreporter.write_sep("-", "racoon log recognition")
    for name, (k, t) in sorted(RECOGNITION.items()):
        terminalreporter.write_line(f"{name:48} {k:5}/{t:<5} {k / t:6.1%}")
    terminalreporter.write_line(f"{'all fixtures':48} {known:5}/{total:<5} {known / total:6.1%} of non-hexdump records")
