"""The files racoon.conf's `path` lines name: odd values are one-line, non-fatal notes (fuzz finds)."""

from __future__ import annotations

from pathlib import Path

from racoondbg.evidence import load_evidence
from racoondbg.inputs import LoadOptions
from racoondbg.sources import Source


def notes(tmp_path: Path, conf: str) -> list[tuple[str, str, bool]]:
    path = tmp_path / "racoon.conf"
    path.write_text(conf)
    ev = load_evidence([Source(path, "racoon.conf")], options=LoadOptions(root=tmp_path))
    return [(e.path, e.message, e.fatal) for e in ev.errors]


def test_a_path_value_spanning_lines_is_reported_on_one_line(tmp_path: Path) -> None:
    [(where, message, fatal)] = notes(tmp_path, 'log info;\npath pre_shared_key ";\n/etc/racoon/psk.txt";\n')
    assert where == "racoon.conf" and not fatal
    assert message == "`path pre_shared_key` is ';\\n/etc/racoon/psk.txt', not a usable path"


def test_a_psk_path_naming_a_directory_is_a_note_not_a_fatal_read(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    [(where, message, fatal)] = notes(tmp_path, 'log info;\npath pre_shared_key "/etc";\n')
    assert where == str(tmp_path / "etc") and not fatal
    assert message == "named by `path pre_shared_key` in racoon.conf but a directory"
