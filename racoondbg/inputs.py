"""The registry of input kinds: what each parser module reads, how to recognise it, how to load it.

Every parser module in :mod:`racoondbg.parsers` declares a module-level ``INPUT_KINDS`` list; the
registry finds them, so adding a format never means editing the CLI or the evidence loader.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import IO, Any

from racoondbg.sources import Source

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LoadOptions:
    """What the user told us about how to read inputs."""

    root: Path = Path("/")
    show_keys: bool = False
    year: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    ike_keys: tuple[str, ...] = ()
    """IKEv1 key tables or racoon -d logs to decrypt captures with (off when empty)."""


#: Parts of :class:`racoondbg.evidence.Evidence` an input kind can fill.
PARTS = ("conf", "spd", "sad", "script", "log", "pcap", "certs", "psk", "host")


@dataclass(frozen=True, slots=True)
class InputKind:
    """One input format.

    ``sniff(source, head)`` looks at the first bytes (already decompressed; ``b""`` for a
    directory) and returns 0 when the input is not of this kind, or a confidence from 1 to 100.
    ``load(source, options)`` returns the model object for the evidence part ``part``; it raises
    :class:`racoondbg.model.ParseError` or ``OSError`` when the input cannot be used at all.
    ``to_json(obj)`` turns that object into JSON-ready data for ``racoondbg parse``.
    ``stream(source, options, out)``, when given, does ``racoondbg parse`` in one pass instead: it
    writes that JSON to ``out`` while reading (for inputs too big to hold) and returns the model
    object, whose ``errors`` are reported as after ``load``.
    """

    name: str
    part: str
    description: str
    sniff: Callable[[Source, bytes], int]
    load: Callable[[Source, LoadOptions], Any]
    to_json: Callable[[Any], Any] | None = None
    stream: Callable[[Source, LoadOptions, IO[str]], Any] | None = None
    directory: bool = False
    aliases: tuple[str, ...] = field(default=())


@cache
def input_kinds() -> tuple[InputKind, ...]:
    """Every input kind the installed parsers declare."""
    import racoondbg.parsers as package

    kinds: list[InputKind] = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for kind in getattr(module, "INPUT_KINDS", ()):
            if kind.part not in PARTS:
                raise ValueError(f"{info.name}: input kind {kind.name} fills unknown part {kind.part}")
            kinds.append(kind)
    return tuple(kinds)


def kind_named(name: str) -> InputKind | None:
    for kind in input_kinds():
        if name == kind.name or name in kind.aliases:
            return kind
    return None


def sniff(source: Source, head: bytes, *, directory: bool = False) -> InputKind | None:
    """The most likely kind of an input, or None when no parser claims it."""
    best: tuple[int, InputKind] | None = None
    for kind in input_kinds():
        if kind.directory != directory:
            continue
        try:
            score = kind.sniff(source, head)
        except Exception:  # a sniffer must never stop the others
            log.debug("sniffer %s failed on %s", kind.name, source.name, exc_info=True)
            continue
        if score > 0 and (best is None or score > best[0]):
            best = (score, kind)
    return best[1] if best else None
