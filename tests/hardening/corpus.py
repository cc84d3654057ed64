"""Seeds for the fuzzers: every committed fixture and every planted sample, grouped by the kind
:func:`racoondbg.inputs.sniff` says it is (so a parser that lands brings its fixtures along)."""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path

from racoondbg.inputs import InputKind, input_kinds, sniff
from racoondbg.sources import Source, read_head
from tests.hardening.samples import SAMPLES

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
#: Seeds larger than this are left out (fuzzing is about shapes, not volume).
MAX_SEED_BYTES = 256 * 1024
#: At most this many seeds per kind, chosen evenly over the sorted list so every area is seen.
MAX_SEEDS = 48


def file_kinds() -> list[InputKind]:
    return [k for k in input_kinds() if not k.directory]


def directory_kinds() -> list[InputKind]:
    return [k for k in input_kinds() if k.directory]


@cache
def _sample_dir() -> Path:
    directory = Path(tempfile.mkdtemp(prefix="racoondbg-samples-"))
    for sample in SAMPLES:
        sample.write(directory)
    return directory


def _candidates() -> list[Path]:
    found = sorted(p for p in FIXTURES.rglob("*") if p.is_file() and not p.is_symlink()) if FIXTURES.is_dir() else []
    return [*found, *sorted(_sample_dir().iterdir())]


@cache
def seeds_by_kind() -> dict[str, tuple[bytes, ...]]:
    """Kind name -> contents of the fixtures and samples sniffed as that kind (plain, decompressed)."""
    grouped: dict[str, list[bytes]] = {}
    for path in _candidates():
        if path.stat().st_size > MAX_SEED_BYTES:
            continue
        head = read_head(path, MAX_SEED_BYTES + 1)
        source = Source(path, path.name)
        if not head or sniff(source, head) is None:
            continue
        for kind in file_kinds():  # every kind that claims it, also parse-only kinds that never win
            if _score(kind, source, head) > 0:
                grouped.setdefault(kind.name, []).append(head)
    for kind in file_kinds():  # a parse-only kind that sniffs nothing borrows its module siblings' seeds
        if kind.name not in grouped:
            siblings = [k.name for k in file_kinds() if k.load.__module__ == kind.load.__module__]
            grouped[kind.name] = [blob for name in siblings for blob in grouped.get(name, ())]
    return {name: _spread(blobs) for name, blobs in grouped.items() if blobs}


def _score(kind: InputKind, source: Source, head: bytes) -> int:
    try:
        return kind.sniff(source, head)
    except Exception:  # the fuzzers report sniffer bugs; here a seed is simply not claimed
        return 0


@cache
def directory_seeds(kind_name: str) -> tuple[Path, ...]:
    """Fixture directories sniffed as a directory kind."""
    kind = next(k for k in directory_kinds() if k.name == kind_name)
    dirs = sorted(p for p in FIXTURES.rglob("*") if p.is_dir()) if FIXTURES.is_dir() else []
    return tuple(_spread([d for d in dirs if _claims(kind, d)]))


def _claims(kind: InputKind, directory: Path) -> bool:
    return _score(kind, Source(directory, directory.name), b"") > 0


def _spread(items: list) -> tuple:  # type: ignore[type-arg]
    if len(items) <= MAX_SEEDS:
        return tuple(items)
    step = len(items) / MAX_SEEDS
    return tuple(items[int(i * step)] for i in range(MAX_SEEDS))


def all_seeds() -> tuple[bytes, ...]:
    return tuple(blob for blobs in seeds_by_kind().values() for blob in blobs)
