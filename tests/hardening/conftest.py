"""Hypothesis budgets and shared fixtures for the hardening suite.

By default the fuzzers run a small, CI-sized budget (the whole suite stays well under three
minutes on two busy cores). ``pytest tests/hardening --hypothesis-profile=long`` runs them deep.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import racoondbg.inputs
from tests.hardening.stubs import STUB_LOG

settings.register_profile("long", max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture
def stub_kinds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the stub log kind is registered (loader tests independent of the real parsers)."""
    monkeypatch.setattr(racoondbg.inputs, "input_kinds", lambda: (STUB_LOG,))


@pytest.fixture
def deny(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], None]]:
    """Make a file unreadable (permission denied), also when the tests run as root."""
    denied: set[str] = set()

    def refuse(path: object) -> None:
        if isinstance(path, (str, os.PathLike)) and os.path.realpath(path) in denied:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    real_open, real_os_open = builtins.open, os.open

    def guarded_open(file: object, *args: object, **kwargs: object) -> object:
        refuse(file)
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    def guarded_os_open(path: object, *args: object, **kwargs: object) -> int:
        refuse(path)
        return real_os_open(path, *args, **kwargs)  # type: ignore[arg-type]

    def add(path: Path) -> None:
        path.chmod(0)
        denied.add(os.path.realpath(path))
        if os.geteuid() == 0:
            monkeypatch.setattr(builtins, "open", guarded_open)
            monkeypatch.setattr(io, "open", guarded_open)
            monkeypatch.setattr(os, "open", guarded_os_open)

    yield add
