"""The checks every hardening test makes: how a parser and `racoondbg analyze` may fail, and how not."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from racoondbg.cli import cli
from racoondbg.inputs import InputKind, LoadOptions
from racoondbg.jsonable import jsonable
from racoondbg.model.base import ParseError
from racoondbg.report import printable
from racoondbg.sources import Source
from tests.hardening.budget import MAX_SECONDS_PER_INPUT

#: What `racoondbg analyze` may exit with on any input: clean, findings, bad input (never 2 = usage).
ANALYZE_EXITS = {0, 1, 3}
#: Explicit kind options of `analyze` (`--sad FILE` ...).
EXPLICIT = ("conf", "spd", "sad", "log", "pcap", "certs", "psk")


def check_parse_error(err: ParseError) -> None:
    assert err.message, "a ParseError needs a message"
    assert err.location.path, "a ParseError needs a path"
    assert "\n" not in err.one_line(), f"a ParseError must print on one line: {err.one_line()!r}"


def load_checked(kind: InputKind, path: Path, name: str = "fuzzed-input",
                 options: LoadOptions | None = None) -> Any | None:
    """``kind.load`` may return a model or raise ParseError/OSError; nothing else, and not slowly.

    Returns the model (None when the input was refused); its errors and its JSON are checked too.
    """
    start = time.monotonic()
    try:
        obj = kind.load(Source(path, name), options or LoadOptions())
    except ParseError as err:
        check_parse_error(err)
        if kind.part != "conf":  # a config error may point into an included file
            assert err.location.path == name, f"ParseError names {err.location.path!r}, not the input {name!r}"
        return None
    except OSError:
        return None
    finally:
        elapsed = time.monotonic() - start
        assert elapsed < MAX_SECONDS_PER_INPUT, f"{kind.name}: loading took {elapsed:.1f}s"
    assert obj is not None, f"{kind.name}.load returned None"
    for problem in getattr(obj, "errors", ()) or ():
        assert isinstance(problem, ParseError), f"{kind.name}: errors holds a {type(problem).__name__}"
        check_parse_error(problem)
    data = kind.to_json(obj) if kind.to_json else jsonable(obj)
    json.dumps(data)
    return obj


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    def doc(self) -> dict[str, Any]:
        return json.loads(self.stdout)  # type: ignore[no-any-return]


def run_cli(*args: str) -> Run:
    """`racoondbg ARGS` in-process; an exception escaping the CLI fails the test with its traceback."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


def parse_checked(kind: InputKind, path: Path) -> Run:
    """`racoondbg parse KIND FILE`: JSON or a one-line error, exit 0 or 3, never a traceback."""
    run = run_cli("parse", kind.name, str(path))
    assert run.code in (0, 3), f"exit {run.code}: {run.stderr}"
    for stream in (run.stdout, run.stderr):
        assert "Traceback" not in stream and "internal error" not in stream, stream
    for line in run.stderr.splitlines():
        assert line.startswith("racoondbg: "), f"stray stderr line: {line!r}"
    if run.stdout.strip():
        json.loads(run.stdout)
    return run


def analyze_checked(inputs: Sequence[str], *options: str, fmt: str = "json") -> Run:
    """`racoondbg analyze` on inputs: only exits 0/1/3, no traceback, every error one line naming its file."""
    run = run_cli("analyze", "--format", fmt, "--color", "never", *options, *inputs)
    assert run.code in ANALYZE_EXITS, f"exit {run.code}: {run.stderr}"
    for stream in (run.stdout, run.stderr):
        assert "Traceback" not in stream
        assert "internal error" not in stream, stream
    for line in run.stderr.splitlines():
        assert line.startswith("racoondbg: "), f"stray stderr line: {line!r}"
    for stream in (run.stdout, run.stderr):  # colour is off: any ESC or BEL came from an input
        assert "\x1b" not in stream and "\x07" not in stream, "a control character reached the terminal"
    if fmt == "json":
        doc = run.doc()
        names = [*inputs, *(o for o in options if not o.startswith("-"))]
        printed = run.stderr.splitlines()
        for err in doc["errors"]:
            where = err["path"] + (f"#frame {err['frame']}" if err["frame"] is not None
                                   else f":{err['line']}" if err["line"] is not None else "")
            head, message = printable(f"racoondbg: {where}"), printable(err["message"])
            assert any(line.startswith(head) and message in line for line in printed), (
                f"error not printed on one line naming its file and line/frame: {err}")
            if err["fatal"]:
                assert any(err["path"].startswith(n) for n in names), f"error names no input: {err}"
        if any(err["fatal"] for err in doc["errors"]):
            assert run.code == 3
    return run
