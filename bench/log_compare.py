"""Check that a change to the log parser keeps its output: snapshot the JSON model, then compare.

    python bench/log_compare.py snapshot DIR [BIG_LOG ...]   # before the change
    python bench/log_compare.py compare DIR [BIG_LOG ...]    # after it: exit 1 on any difference

Inputs: every racoon log among the test fixtures (tests/fixtures/logs and the log files of the rule
fixtures), each read twice — as a small file (the sequential reader) and forced through the counted
fast path that files of FAST_PATH_BYTES and more take — plus bench/data/fixture-mix-40M.log (the
"racoon -l" fixtures repeated, made if missing) and the BIG_LOG files given (bench/data/...).
The model is what `racoondbg parse log FILE` prints (``to_json`` of the loaded LogAnalysis).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from racoondbg.parsers import racoon_log
from racoondbg.parsers.log_lines import FORMATS_BY_NAME, detect

from racoondbg.inputs import LoadOptions
from racoondbg.model.base import ParseError
from racoondbg.sources import Source, read_head

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


def fixture_logs() -> Iterator[Path]:
    """Every fixture file the log parser claims (by content, as `racoondbg analyze` sniffs)."""
    for path in sorted(FIXTURES.rglob("*")):
        if not path.is_file() or path.suffix in (".pcap", ".pcapng", ".der", ".gz", ".bz2", ".png", ".svg"):
            continue
        source = Source(path, path.name)
        try:
            if racoon_log.sniff(source, read_head(path)) >= 45:
                yield path
        except (OSError, UnicodeError):
            continue


def model(path: Path, *, fast: bool, packed: bool = False) -> str:
    """The JSON model of one log (``fast``: as if the file were big enough for the counted path;
    ``packed``: read from a gzip copy, which that path reads in order, without workers)."""
    saved = racoon_log.FAST_PATH_BYTES
    racoon_log.FAST_PATH_BYTES = 0 if fast else saved
    try:
        with tempfile.TemporaryDirectory() as tmp:
            source = Source(path, path.name)
            if packed:
                source = Source(Path(tmp) / (path.name + ".gz"), path.name)
                with gzip.open(source.path, "wb") as fh:
                    fh.write(path.read_bytes())
            try:
                data = racoon_log.to_json(racoon_log.load(source, LoadOptions()))
            except ParseError as err:
                data = {"ParseError": err.one_line()}
    finally:
        racoon_log.FAST_PATH_BYTES = saved
    return json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True, default=str)


def mixed_log(path: Path, size: int = 40 * 1024 * 1024) -> Path:
    """Every racoon -l/-F fixture log, repeated up to ``size``: odd records at big-file scale."""
    if not path.exists():
        parts = [p.read_bytes() for p in fixture_logs()
                 if detect(read_head(p))[0] is FORMATS_BY_NAME["file"]]
        block = b"".join(part if part.endswith(b"\n") else part + b"\n" for part in parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(block * (size // len(block) + 1))
    return path


def runs(big: list[Path], *, packed: bool) -> Iterator[tuple[str, Path, bool, bool]]:
    """(snapshot name, log, fast path, read from gzip): a gzip copy must give the plain file's model."""
    for path in fixture_logs():
        rel = path.relative_to(FIXTURES).as_posix().replace("/", "__")
        yield f"{rel}.seq", path, False, False
        yield f"{rel}.fast", path, True, False
        if packed:
            yield f"{rel}.fast", path, True, True
    for path in big:
        yield f"{path.name}.big", path, False, False


def main() -> None:
    if len(sys.argv) < 3 or sys.argv[1] not in ("snapshot", "compare"):
        raise SystemExit(__doc__)
    mode, out = sys.argv[1], Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    differ = 0
    count = 0
    big = [mixed_log(ROOT / "bench" / "data" / "fixture-mix-40M.log"), *map(Path, sys.argv[3:])]
    for name, path, fast, packed in runs(big, packed=mode == "compare"):
        start = time.process_time()
        text = model(path, fast=fast, packed=packed)
        seconds = time.process_time() - start
        count += 1
        target = out / f"{name}.json"
        if mode == "snapshot":
            target.write_text(text, encoding="utf-8")
            continue
        if not target.exists():
            print(f"NEW     {name}")
            differ += 1
        elif target.read_text(encoding="utf-8") != text:
            differ += 1
            (out / f"{name}.after.json").write_text(text, encoding="utf-8")
            print(f"DIFFERS {name} (see {name}.after.json)")
        elif seconds > 0.5:
            digest = hashlib.sha256(text.encode()).hexdigest()[:12]
            print(f"same    {name} ({seconds:.1f} s CPU, {digest})")
    print(f"{count} models {'written' if mode == 'snapshot' else 'compared'}, {differ} differ")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
