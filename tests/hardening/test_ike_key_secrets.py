"""IKEv1 keys given with --ike-keys are secrets: decrypting a capture shows none of them anywhere.

The keys (Wireshark table) and the racoon -d log holding SKEYID_e, the encryption key and the IV
are the real ones of tests/fixtures/pcap/decrypt; every output format, `parse pcap`, log messages
and the model are searched for them, also when the key is wrong or the key file damaged.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from racoondbg.parsers import isakmp_pcap

from racoondbg.inputs import LoadOptions
from racoondbg.jsonable import jsonable
from racoondbg.sources import Source
from tests.hardening.harness import analyze_checked, run_cli
from tests.hardening.test_secrets import OUTPUT_VARIANTS, _damaged, leaks, where

HERE = Path(__file__).parent.parent / "fixtures" / "pcap" / "decrypt"
PCAP = HERE / "main_mode_psk_keys.pcap"
TABLE = HERE / "main_mode_psk_keys.ikev1_decryption_table"
RACOON_LOG = HERE / "main_mode_psk_keys.racoon.log"


def _needles() -> tuple[str, ...]:
    """The key, SKEYID_e and IV, contiguous and as racoon's 4-byte hexdump words."""
    key = TABLE.read_text().strip().split(",")[1]
    dumps = [line for line in RACOON_LOG.read_text().splitlines() if not line.startswith("20")]
    words = [w for line in dumps for w in line.split()]
    return (key, key[:16], "".join(words[:3]), " ".join(words[:2]), *words[-4:-2])


def _printed(*options: str) -> str:
    out = []
    for variant in OUTPUT_VARIANTS:
        run = analyze_checked([str(PCAP)], *options, *variant[2:], fmt=variant[1])
        out += [run.stdout, run.stderr]
    run = run_cli("parse", "pcap", *options, str(PCAP))
    assert run.code in (0, 3), run.stderr
    return "\n".join([*out, run.stdout, run.stderr])


@pytest.mark.parametrize("keys", [TABLE, RACOON_LOG], ids=["table", "racoon-log"])
def test_decrypting_shows_no_key(keys: Path, caplog: pytest.LogCaptureFixture) -> None:
    needles = _needles()
    assert leaks(keys.read_text(), needles)  # the detector can fail
    caplog.set_level(logging.DEBUG)
    printed = _printed("--ike-keys", str(keys))
    assert '"decrypted_frames"' in printed  # it did decrypt
    assert not leaks(printed, needles), where(printed, needles)
    cap = isakmp_pcap.load(Source(PCAP, PCAP.name), LoadOptions(ike_keys=(str(keys),)))
    shown = repr(cap) + repr(jsonable(cap))
    assert not leaks(shown, needles), where(shown, needles)
    assert not leaks("\n".join(r.getMessage() for r in caplog.records), needles)


def test_damaged_or_wrong_key_files_quote_no_key(tmp_path: Path) -> None:
    needles = _needles()
    path = tmp_path / "keys"
    for source in (TABLE, RACOON_LOG):
        for variant in _damaged(source.read_bytes())[::3]:
            path.write_bytes(variant)
            cap = isakmp_pcap.load(Source(PCAP, PCAP.name), LoadOptions(ike_keys=(str(path),)))
            shown = "\n".join([*(e.one_line() + (e.hint or "") for e in cap.errors), repr(cap)])
            assert not leaks(shown, needles), where(shown, needles)
    key = needles[0]
    path.write_text(TABLE.read_text().replace(key, key[::-1]))
    printed = _printed("--ike-keys", str(path))
    assert "decryption failed (wrong key or IV)" in printed
    assert not leaks(printed, needles), where(printed, needles)
