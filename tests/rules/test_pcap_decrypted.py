"""Rules on a decrypted capture (--ike-keys): the hidden notify becomes the finding."""

from __future__ import annotations

from pathlib import Path

from racoondbg.engine import run
from racoondbg.evidence import load_evidence
from racoondbg.inputs import LoadOptions
from racoondbg.sources import Source

TS = Path(__file__).parent.parent / "fixtures" / "pcap" / "decrypt" / "qm_ts_mismatch_keys.pcap"


def _codes(*keys: Path) -> list[str]:
    ev = load_evidence([Source(TS, TS.name)], options=LoadOptions(ike_keys=tuple(str(k) for k in keys)))
    return sorted(f.code for f in run(ev).findings)


def test_selector_mismatch_is_named_once_decrypted() -> None:
    assert _codes() == ["RDB406"]  # without keys: "refused QM1", proposal or subnets
    assert _codes(TS.with_suffix(".ikev1_decryption_table")) == ["RDB411"]  # INVALID-ID-INFORMATION
    assert _codes(TS.with_suffix(".racoon.log")) == ["RDB411"]
