from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

SYSROOTS = Path(__file__).parent.parent / "fixtures" / "sysroots"
PLATFORMS = sorted(p.name for p in SYSROOTS.iterdir() if (p / "expected.json").is_file())


def private_copy(name: str, target: Path) -> Path:
    """A copy of a sysroot with the modes git does not keep: psk.txt and private keys are 0600 on the boxes."""
    root = target / name
    shutil.copytree(SYSROOTS / name, root, symlinks=True)
    for path in [*root.rglob("psk.txt"), *root.rglob("*.key")]:
        path.chmod(0o600)
    return root


@pytest.fixture
def sysroot(tmp_path: Path) -> Callable[[str], Path]:
    return lambda name: private_copy(name, tmp_path / "sysroots")
