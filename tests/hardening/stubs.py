"""A tiny stand-in input kind, so loader behaviour is tested even before (and apart from) real parsers."""

from __future__ import annotations

from racoondbg.inputs import InputKind, LoadOptions
from racoondbg.model.base import Location, ParseError
from racoondbg.model.log import LogAnalysis
from racoondbg.sources import Source, open_text

MAGIC = b"STUBLOG "


def _sniff(_source: Source, head: bytes) -> int:
    return 90 if head.startswith(MAGIC) else 0


def _load(source: Source, _options: LoadOptions) -> LogAnalysis:
    """Reads every line (so decompression bounds and read errors happen); rejects a NUL byte."""
    with open_text(source.path) as fh:
        for number, line in enumerate(fh, start=1):
            if "\0" in line:
                raise ParseError(Location(source.name, number), "binary data where a log line was expected")
    return LogAnalysis(Location(source.name))


STUB_LOG = InputKind(name="log", part="log", description="stub log", sniff=_sniff, load=_load)
