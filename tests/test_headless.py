"""The core runs headless: nothing outside racoondbg/tui/ imports textual."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import racoondbg


def test_core_imports_without_textual() -> None:
    modules = [
        m.name
        for m in pkgutil.walk_packages(racoondbg.__path__, "racoondbg.")
        if not m.name.startswith("racoondbg.tui")
    ]
    code = (
        "import sys, importlib\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'textual' or name.startswith('textual.'):\n"
        "            raise ImportError('textual is blocked for this test')\n"
        "sys.meta_path.insert(0, Block())\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "from racoondbg.engine import all_rules\n"
        "all_rules()\n"
        "from racoondbg.inputs import input_kinds\n"
        "input_kinds()\n"
        "assert 'textual' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
