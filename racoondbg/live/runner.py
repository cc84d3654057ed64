"""Running commands read-only, or reading their recorded output from a sysroot.

Every command runs without a shell, with a timeout, in the C locale, with its output streamed to
a file of the collection; every run is recorded (:class:`racoondbg.model.host.CommandRun`).

With ``--root DIR`` nothing runs at all: the output of the command with key ``KEY`` is taken from
``DIR/.racoondbg/commands/KEY.out`` when that file exists (exit code from ``KEY.rc``, default 0;
standard error from ``KEY.err``). This is how sysroot fixtures and mounted disk images carry
command output; the keys are listed in ``racoondbg/live/README.md``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from racoondbg.model.host import CommandRun

#: Where a sysroot keeps recorded command outputs.
RECORDED_DIR = Path(".racoondbg") / "commands"

DEFAULT_TIMEOUT = 20.0

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/pkg/sbin:/usr/pkg/bin"
_ENV = {"LC_ALL": "C", "LANG": "C", "PATH": PATH, "SYSTEMD_PAGER": "", "PAGER": "cat"}


@dataclass(frozen=True, slots=True)
class Output:
    """Where a command's output went and how the command ended."""

    run: CommandRun
    path: Path | None
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.run.ok and self.path is not None

    def text(self) -> str:
        if self.path is None:
            return ""
        return self.path.read_text(encoding="utf-8", errors="replace")


@dataclass(slots=True)
class Runner:
    """Runs commands on this box (``root`` is ``/``) or looks them up in a sysroot."""

    root: Path
    outdir: Path
    timeout: float = DEFAULT_TIMEOUT
    runs: list[CommandRun] = field(default_factory=list)

    @property
    def live(self) -> bool:
        return self.root == Path("/")

    def run(self, key: str, argv: list[str], *, timeout: float | None = None) -> Output:
        """Run (or look up) one command; its output lands in ``outdir/commands/KEY.out``."""
        target = self.outdir / "commands" / f"{key}.out"
        target.parent.mkdir(parents=True, exist_ok=True)
        output = self._recorded(key, argv, target) if not self.live else self._run(key, argv, target, timeout)
        self.runs.append(output.run)
        return output

    def skip(self, key: str, argv: list[str], why: str) -> None:
        self.runs.append(CommandRun(key, tuple(argv), "skipped", why=why))

    def _recorded(self, key: str, argv: list[str], target: Path) -> Output:
        base = self.root / RECORDED_DIR
        out = base / f"{key}.out"
        if not out.is_file():
            why = f"no recorded output {RECORDED_DIR}/{key}.out in the sysroot"
            run = CommandRun(key, tuple(argv), "not-found", why=why)
            return Output(run, None)
        shutil.copyfile(out, target)
        rc_file, err_file = base / f"{key}.rc", base / f"{key}.err"
        exit_code = int(rc_file.read_text().strip() or 0) if rc_file.is_file() else 0
        stderr = err_file.read_text(encoding="utf-8", errors="replace") if err_file.is_file() else ""
        return Output(CommandRun(key, tuple(argv), "recorded", exit_code, 0.0, why=_first_line(stderr)), target, stderr)

    def _run(self, key: str, argv: list[str], target: Path, timeout: float | None) -> Output:
        program = shutil.which(argv[0], path=_ENV["PATH"])
        if program is None:
            return Output(CommandRun(key, tuple(argv), "not-found", why=f"{argv[0]} is not installed"), None)
        start = time.monotonic()
        try:
            with target.open("wb") as out:
                proc = subprocess.run(
                    [program, *argv[1:]], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE,
                    timeout=timeout or self.timeout, env=_ENV, check=False, close_fds=True,
                )
        except subprocess.TimeoutExpired:
            took = time.monotonic() - start
            return Output(CommandRun(key, tuple(argv), "timeout", None, round(took, 3),
                                     why=f"stopped after {timeout or self.timeout:g} s"), target)
        except OSError as err:
            return Output(CommandRun(key, tuple(argv), "error", why=err.strerror or str(err)), None)
        took = time.monotonic() - start
        stderr = proc.stderr.decode("utf-8", "replace")
        return Output(CommandRun(key, tuple(argv), "ran", proc.returncode, round(took, 3),
                                 why=_first_line(stderr) if proc.returncode else None),
                      target, stderr)


def _first_line(text: str) -> str | None:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:300]
    return None


def is_root_user() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0
