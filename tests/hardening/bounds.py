"""Time and memory bounds the hostile-input tests hold every parser to."""

from __future__ import annotations

import os
import resource
import signal
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from racoondbg.inputs import InputKind, LoadOptions
from tests.hardening.harness import load_checked

MiB = 1024 * 1024
#: Python-level memory a parser may allocate at peak on any hostile input of this suite.
MAX_PEAK_BYTES = 64 * MiB
#: Wall time for one hostile input (generous: two cores shared with other work, tracemalloc on).
MAX_SECONDS = 30.0


#: Address space a load may add on top of what the test process already maps: a parser that tries
#: to allocate gigabytes gets a MemoryError (a test failure) instead of an OOM kill of the machine.
MAX_EXTRA_ADDRESS_SPACE = 2048 * MiB


class Hung(Exception):
    """Raised in the test when a parser blocks past the bound (e.g. reading a FIFO or /dev/zero)."""


@contextmanager
def alarm(seconds: float) -> Iterator[None]:
    def expire(_signum: int, _frame: object) -> None:
        raise Hung(f"still running after {seconds}s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def address_space_cap(extra: int = MAX_EXTRA_ADDRESS_SPACE) -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as fh:
        mapped = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    cap = mapped + extra if hard == resource.RLIM_INFINITY else min(hard, mapped + extra)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@dataclass(frozen=True)
class Measured:
    result: Any
    seconds: float
    peak: int


def measured_load(kind: InputKind, path: Path, name: str = "hostile-input", options: LoadOptions | None = None,
                  seconds: float = MAX_SECONDS, peak: int = MAX_PEAK_BYTES) -> Measured:
    """Load under the time and memory bounds (and every check of :func:`load_checked`)."""
    tracemalloc.start()
    start = time.monotonic()
    try:
        with alarm(seconds), address_space_cap():
            result = load_checked(kind, path, name, options)
        used = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    elapsed = time.monotonic() - start
    assert used < peak, f"{kind.name}: peak {used / MiB:.0f} MiB on {name}"
    return Measured(result, elapsed, used)
