"""A real (non-editable) install carries racoondbg.parsers and racoondbg.rules, the grammar and the demo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
PROBE = """
import racoondbg, racoondbg.parsers.racoon_conf as rc
from racoondbg.engine import all_rules
from racoondbg.inputs import kind_named
from racoondbg.cli import demo_dir
print(racoondbg.__file__)
print(sorted(r.code for r in all_rules() if r.code.startswith("RDB1")))
print(kind_named("conf").name, (demo_dir() / "racoon.conf").is_file())
print(len(rc.parse_text((demo_dir() / "racoon.conf").read_text()).remotes))
"""


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("RACOONDBG_SLOW"),
                    reason="builds and installs the package (about 10 s); set RACOONDBG_SLOW=1")
def test_non_editable_install_has_parsers_rules_and_demo(tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
         "--target", str(target), str(ROOT)],
        check=True, cwd=tmp_path, capture_output=True, text=True,
    )
    out = subprocess.run([sys.executable, "-c", PROBE], check=True, cwd=tmp_path, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(target)}).stdout.splitlines()
    assert out[0].startswith(str(target))
    assert "'RDB101'" in out[1] and "'RDB142'" in out[1]
    assert out[2:] == ["conf True", "1"]
