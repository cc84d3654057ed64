"""File modes that git cannot keep: a ``modes.txt`` beside a fixture or demo tree lists them.

Each line is ``<octal mode> <relative path>``, in chmod's order (``#`` starts a comment). :func:`copy_with_modes`
copies the tree (symlinks kept as symlinks) and applies the modes to the copy, so the original
checkout is never touched.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

MODES_FILE = "modes.txt"


def apply_modes(root: Path) -> None:
    """chmod the files ``root/modes.txt`` lists; paths may not leave ``root``."""
    listing = root / MODES_FILE
    if not listing.is_file():
        return
    base = root.resolve()
    for line in listing.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        mode, name = line.split(None, 1)
        target = (root / name).resolve()
        if base not in target.parents:
            raise ValueError(f"{MODES_FILE}: {name} leaves {root}")
        os.chmod(target, int(mode, 8))


def copy_with_modes(src: Path, dst: Path) -> Path:
    """A copy of ``src`` at ``dst`` with the modes of ``src/modes.txt`` applied; returns ``dst``."""
    shutil.copytree(src, dst, symlinks=True)
    apply_modes(dst)
    return dst
