"""Decryption while the capture is read: bounded state per ISAKMP SA, the same answers as a loaded capture.

The decryptor keeps an SA's suites and KE values until its first encrypted messages choose the key,
then only its crypto state: these tests walk the objects it holds and count them, and check that
``parse pcap --ike-keys`` (streamed) prints what the loaded capture prints.
"""

from __future__ import annotations

import dataclasses
import gc
import io
import json
import struct
import subprocess
import sys
import types
from pathlib import Path

import pytest
from racoondbg.parsers import isakmp_decrypt, isakmp_pcap
from racoondbg.parsers.ikev1_keys import load_keys
from racoondbg.parsers.isakmp_decrypt import FAILED, MAX_BEHIND, MAX_WAITING, Decryptor
from racoondbg.parsers.isakmp_exchanges import IDLE_SECONDS

from racoondbg.inputs import LoadOptions
from racoondbg.model.packets import Capture, IsakmpMessage
from racoondbg.sources import Source
from tests.hardening.packets import message_bytes
from tests.parsers.test_isakmp_decrypt import HERE, ICOOKIE, _conversation, _Peer

GENERATOR = Path(__file__).parent.parent.parent / "bench" / "decrypt_generate.py"
ICOOKIE_BENCH = "0badc0ffee15900d"


def _generated(tmp_path: Path, count: int) -> tuple[Path, Path]:
    """bench/decrypt_generate.py: main mode, then ``count`` encrypted DPD messages, each its own message id."""
    pcap = tmp_path / f"dpd{count}.pcap"
    subprocess.run([sys.executable, str(GENERATOR), str(count), str(pcap)], check=True)
    return pcap, pcap.with_suffix(".ikev1_decryption_table")


def _decoded(pcap: Path) -> tuple[Capture, dict[int, bytes]]:
    return isakmp_pcap.load(Source(pcap, pcap.name), LoadOptions()), message_bytes(pcap)


def _reachable(root: object) -> list[object]:
    """Every object ``root`` holds, directly or not (classes, functions and modules left out)."""
    skip = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType)
    seen: dict[int, object] = {}
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) not in seen and not isinstance(obj, skip):
            seen[id(obj)] = obj
            stack.extend(gc.get_referents(obj))
    return list(seen.values())


def _wrong(tmp_path: Path, count: int = 40) -> tuple[Path, Path]:
    """The generated capture with a key table whose key is wrong."""
    pcap, table = _generated(tmp_path, count)
    table.write_text(f"{ICOOKIE_BENCH},{'00' * 16}\n")
    return pcap, table


def _fed(pcap: Path, table: Path) -> tuple[Decryptor, list[IsakmpMessage]]:
    """A decryptor given every message of ``pcap``, and the messages it decrypted."""
    cap, raw = _decoded(pcap)
    decrypted: list[IsakmpMessage] = []
    decryptor = Decryptor(load_keys([table]), lambda msg, _payloads: decrypted.append(msg))
    for msg in cap.messages:
        decryptor.message(msg, raw[msg.frame])
    return decryptor, decrypted


def test_no_message_bytes_are_kept_once_the_sa_chose_its_key(tmp_path: Path) -> None:
    pcap, table = _generated(tmp_path, 3)
    cap, raw = _decoded(pcap)
    decryptor = Decryptor(load_keys([table]), lambda msg, payloads: None)
    for msg in cap.messages:
        decryptor.message(msg, raw[msg.frame])
        sa = decryptor.sas[msg.icookie]
        assert sa.keyed is not None and not decryptor.holds(msg)
        if msg.encrypted:  # the first encrypted message (MM5) decrypts with the key: chosen at once
            assert sa.keyed.decided and sa.keyed.waiting == [] and sa.keyed.ke == {}
            assert not any(isinstance(o, IsakmpMessage) for o in _reachable(decryptor))
    assert decryptor.finish() == []


def test_state_stays_bounded_over_many_encrypted_messages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each DPD message has its own message id and ciphertext: the per-SA caches stop at their limits."""
    monkeypatch.setattr(isakmp_decrypt, "MAX_MESSAGE_IDS", 8)
    monkeypatch.setattr(isakmp_decrypt, "MAX_SEEN", 8)
    sizes = []
    for count in (200, 2000):
        decryptor, decrypted = _fed(*_generated(tmp_path, count))
        assert len(decrypted) == count + 2  # MM5, MM6 and every DPD message
        state = decryptor.sas[ICOOKIE_BENCH].keyed.state  # type: ignore[union-attr]
        assert state is not None and len(state.ivs) <= 8 and len(state.seen) <= 8
        held = _reachable(decryptor)
        sizes.append((sum(isinstance(o, bytes) for o in held), sum(sys.getsizeof(o) for o in held)))
    (few_bytes, few_size), (many_bytes, many_size) = sizes
    assert many_bytes <= few_bytes + 32  # not ten times as many messages' worth
    assert many_size <= few_size + 16_000


def test_idle_sas_drop_their_caches_and_sas_without_key_go(tmp_path: Path) -> None:
    pcap, table = _generated(tmp_path, 5)
    decryptor, _decrypted = _fed(pcap, table)
    mm1 = _decoded(pcap)[0].messages[0]
    unknown = dataclasses.replace(mm1, icookie="01" * 8, time=mm1.time + 10)  # an SA without key
    decryptor.message(unknown, None)
    state = decryptor.sas[ICOOKIE_BENCH].keyed.state  # type: ignore[union-attr]
    assert state is not None and state.ivs and state.seen and unknown.icookie in decryptor.sas
    decryptor.message(dataclasses.replace(mm1, icookie="02" * 8, time=mm1.time + 2 * IDLE_SECONDS), None)
    assert not state.ivs and not state.seen  # the key, cipher and phase-1 IV stay
    assert unknown.icookie not in decryptor.sas and ICOOKIE_BENCH in decryptor.sas


def test_a_wrong_key_waits_for_a_few_encrypted_messages_then_fails_them_all(tmp_path: Path) -> None:
    pcap, table = _wrong(tmp_path, 40)
    cap, raw = _decoded(pcap)
    decryptor = Decryptor(load_keys([table]), lambda msg, payloads: None)
    encrypted = [m for m in cap.messages if m.encrypted]
    for n, msg in enumerate(cap.messages):
        decryptor.message(msg, raw[msg.frame])
        waited = sum(m.frame <= msg.frame for m in encrypted)
        assert decryptor.holds(msg) == (0 < waited < MAX_WAITING and msg.encrypted), n
    more = f"22 more messages of the ISAKMP SA {ICOOKIE_BENCH}: {FAILED}"
    assert [e.message for e in decryptor.finish()] == [FAILED] * 20 + [more]


def test_an_sa_waits_at_most_so_many_messages_of_the_capture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An SA whose key fails and which sends little more holds the messages after it back only so long."""
    monkeypatch.setattr(isakmp_decrypt, "MAX_BEHIND", 3)
    pcap, table = _wrong(tmp_path, 10)
    cap, raw = _decoded(pcap)
    decryptor = Decryptor(load_keys([table]), lambda msg, payloads: None)
    messages = list(cap.messages)
    mm5 = next(i for i, m in enumerate(messages) if m.encrypted)
    for msg in messages[:mm5 + 3]:
        decryptor.message(msg, raw[msg.frame])
    assert decryptor.holds(messages[mm5])
    decryptor.message(messages[mm5 + 3], raw[messages[mm5 + 3].frame])
    assert not decryptor.holds(messages[mm5]) and not decryptor.undecided
    assert MAX_BEHIND > MAX_WAITING  # by default a failing SA decides on its own messages first


def _records(pcap: bytes) -> list[bytes]:
    out, off = [], 24
    while off < len(pcap):
        end = off + 16 + struct.unpack_from("<I", pcap, off + 8)[0]
        out.append(pcap[off:end])
        off = end
    return out


def _two_sas(tmp_path: Path) -> tuple[Path, Path]:
    """Two ISAKMP SAs whose messages alternate; the table has a wrong key for the first, then the right one
    for both."""
    one = _conversation(_Peer("aes128-sha256", bytes(range(16))))
    other_cookie = bytes.fromhex("feedfacecafebeef")
    two = _conversation(_Peer("3des-md5", bytes(range(24)))).replace(ICOOKIE, other_cookie)
    mixed = [r for pair in zip(_records(one), _records(two), strict=True) for r in pair]
    pcap = tmp_path / "two.pcap"
    pcap.write_bytes(one[:24] + b"".join(mixed))
    table = tmp_path / "two.keys"
    table.write_text(f"{ICOOKIE.hex()},{'11' * 16}\n{ICOOKIE.hex()},{bytes(range(16)).hex()}\n"
                     f"{other_cookie.hex()},{bytes(range(24)).hex()}\n")
    return pcap, table


CASES = {
    "fixture-table": lambda tmp: (HERE / "main_mode_psk_keys.pcap", HERE / "main_mode_psk_keys.ikev1_decryption_table"),
    "fixture-log": lambda tmp: (HERE / "qm_ts_mismatch_keys.pcap", HERE / "qm_ts_mismatch_keys.racoon.log"),
    "wrong-key": _wrong,
    "two-sas": _two_sas,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_streamed_json_and_errors_are_the_loaded_ones(tmp_path: Path, case: str) -> None:
    pcap, keys = CASES[case](tmp_path)
    source, options = Source(pcap, pcap.name), LoadOptions(ike_keys=(str(keys),))
    streamed = io.StringIO()
    cap = isakmp_pcap.stream(source, options, streamed)
    loaded = isakmp_pcap.load(source, options)
    assert json.loads(streamed.getvalue()) == isakmp_pcap.to_json(loaded)
    assert [e.one_line() for e in cap.errors] == [e.one_line() for e in loaded.errors]
    if case == "two-sas":
        assert loaded.errors == [] and all(m.decrypted for m in loaded.messages if m.encrypted)
