"""The one interface every area's benchmark exposes to bench/run.py.

A module ``bench/<area>_bench.py`` defines ``cases(size: str) -> list[Case]`` where ``size`` is one
of :data:`SIZES`. ``cases`` generates its inputs into bench/data/ if they are missing (never
committed) and describes each run: the racoondbg command line, and the reference tools to time on
the very same input. bench/run.py times every command in its own process and prints one table.
"""

from __future__ import annotations

import compileall
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
#: small: a smoke run (seconds); medium: minutes on a laptop; full: the targets' sizes (1 GB logs...).
SIZES = ("small", "medium", "full")
RACOONDBG = (sys.executable, "-c", "from racoondbg.cli import main; main()")
#: The environment every timed command runs in: a user's, without the settings some CI and container
#: images export that a racoondbg user would not have. PYTHONUNBUFFERED turns each small write into a
#: system call; PYTHONDONTWRITEBYTECODE recompiles every module on each start.
USER_ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE")}


def byte_compile() -> None:
    """Compile racoondbg's modules once, as an installed package has them, before anything is timed."""
    import racoondbg.parsers
    import racoondbg.rules

    for package in (racoondbg, racoondbg.parsers, racoondbg.rules):
        compileall.compile_dir(Path(package.__file__).parent, quiet=1)


@dataclass(frozen=True)
class Reference:
    """A reference tool run on the same input; ``available`` is False when it is not installed."""

    label: str
    argv: tuple[str, ...]

    @property
    def available(self) -> bool:
        return shutil.which(self.argv[0]) is not None


@dataclass(frozen=True)
class Case:
    """One benchmark row.

    ``growth`` groups cases of one input family at different sizes (e.g. SPD/SAD 10k and 100k):
    run.py prints how much slower the biggest is than the smallest, against ``growth_target``.
    """

    area: str
    name: str
    inputs: tuple[Path, ...]
    argv: tuple[str, ...]
    references: tuple[Reference, ...] = ()
    growth: str | None = None
    growth_target: float | None = None
    target: str = ""
    notes: str = field(default="", compare=False)

    @property
    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.inputs if p.exists())


def analyze(*inputs: Path, options: tuple[str, ...] = ()) -> tuple[str, ...]:
    """`racoondbg analyze` as a user runs it, JSON to /dev/null (run.py discards stdout)."""
    return (*RACOONDBG, "analyze", "--format", "json", "--exit-zero", *options, *map(str, inputs))


def generate(output: Path, argv: list[str]) -> Path:
    """Run a generator once; its output is kept in bench/data/ for the next run."""
    if not output.exists():
        output.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, *argv], check=True, stdout=subprocess.DEVNULL)
    return output


def pick(size: str, small: int, medium: int, full: int) -> int:
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}, not {size!r}")
    return {"small": small, "medium": medium, "full": full}[size]
