"""A loaded capture keeps messages, exchanges and ICMP errors as columns: what it answers is what a
scan of every object would answer, and its memory per message stays small."""

from __future__ import annotations

import struct
import tracemalloc
from array import array
from collections.abc import Callable
from pathlib import Path

import dpkt
import pytest
from racoondbg.parsers import isakmp_exchanges, isakmp_pcap

from racoondbg.inputs import LoadOptions
from racoondbg.model.packets import Capture, Exchange, IsakmpMessage, _extended, _stored
from racoondbg.sources import Source

PCAPS = Path(__file__).parent.parent / "fixtures" / "pcap"
ALL_CAPTURES = sorted(PCAPS.glob("*.pcap")) + sorted((PCAPS.parent / "rules").glob("*/*.pcap"))

#: Exchange questions the packet rules ask (ExchangeTable.where runs them on a bare exchange).
TESTS: dict[str, Callable[[Exchange], bool]] = {
    "unanswered phase 1": lambda x: x.exchange_type in (2, 4) and not x.answered,
    "stalled quick mode": lambda x: x.exchange_type == 32 and not x.complete and x.stalled_at == "QM1",
    "main mode not complete": lambda x: x.exchange_type == 2 and not x.complete,
    "answered transaction": lambda x: x.exchange_type == 6 and x.answered,
}


def load(path: Path) -> Capture:
    return isakmp_pcap.load(Source(path, path.name), LoadOptions())


@pytest.mark.parametrize("path", ALL_CAPTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_exchange_lookups_match_a_scan_of_every_exchange(path: Path) -> None:
    cap = load(path)
    exchanges = list(cap.exchanges)
    for icookie in {x.icookie for x in exchanges} | {"ffffffffffffffff", "not hex"}:
        assert cap.exchanges_of(icookie) == [x for x in exchanges if x.icookie == icookie]
    for test in TESTS.values():
        assert list(cap.exchanges.where(test)) == [x for x in exchanges if test(x)]
    assert list(cap.phase1()) == [x for x in exchanges if x.exchange_type in (2, 4)]
    assert list(cap.messages.retransmitted()) == [x for x in exchanges if x.retransmits]
    assert sorted(m.frame for x in exchanges for m in x.messages) == [m.frame for m in cap.messages]


@pytest.mark.parametrize("path", [p for p in ALL_CAPTURES if load(p).icmp_errors], ids=lambda p: p.name)
def test_icmp_errors_read_back_as_they_were_decoded(path: Path) -> None:
    cap = load(path)
    errors = list(cap.icmp_errors)
    assert all(e.location.path == path.name and e.location.frame for e in errors)
    assert [e.location.frame for e in errors] == sorted(e.location.frame or 0 for e in errors)
    for address in {e.quoted_dst for e in errors}:
        assert list(cap.icmp_errors_to(address)) == [e for e in errors if e.quoted_dst == address]


def _replayed(times: int) -> list[tuple[float, bytes]]:
    """Every fixture capture's frames, ``times`` over, each replay under fresh initiator cookies that
    differ only in a counter (the cookie index must spread them) and a minute later."""
    frames: list[tuple[float, bytes, int | None]] = []
    for path in sorted(PCAPS.glob("*.pcap")):
        with path.open("rb") as fh:
            captured = [(ts, bytes(buf)) for ts, buf in dpkt.pcap.Reader(fh)]
        frames += [(ts - captured[0][0], buf, _isakmp_offset(buf)) for ts, buf in captured]
    out = []
    for replay in range(times):
        tag = struct.pack(">I", replay)
        for rel, buf, off in frames:
            if off is not None:
                buf = buf[:off + 4] + tag + buf[off + 8:]
            out.append((1_700_000_000.0 + 60.0 * replay + rel, buf))
    return out


def _isakmp_offset(frame: bytes) -> int | None:
    if frame[12:14] != b"\x08\x00" or frame[23] != 17:
        return None
    udp = 14 + (frame[14] & 0x0F) * 4
    ports = struct.unpack_from(">HH", frame, udp)
    if 500 in ports:
        return udp + 8
    if 4500 in ports and frame[udp + 8:udp + 12] == b"\x00\x00\x00\x00":
        return udp + 12
    return None


def _write(path: Path, frames: list[tuple[float, bytes]]) -> None:
    with path.open("wb") as fh:
        writer = dpkt.pcap.Writer(fh, snaplen=65535)
        for ts, buf in frames:
            writer.writepkt(buf, ts)


def _held(path: Path) -> tuple[int, Capture]:
    """Bytes a loaded capture holds (Python allocations), and the capture."""
    tracemalloc.start()
    try:
        cap = load(path)
        return tracemalloc.get_traced_memory()[0], cap
    finally:
        tracemalloc.stop()


def test_a_loaded_capture_holds_no_object_per_message_or_exchange(tmp_path: Path) -> None:
    sizes = []
    for replays in (100, 200):
        path = tmp_path / f"replayed-{replays}.pcap"
        _write(path, _replayed(replays))
        held, cap = _held(path)
        sizes.append((held, len(cap.messages), len(cap.exchanges)))
    (small, small_messages, _), (big, messages, exchanges) = sizes
    assert messages > 20_000 and exchanges > messages // 4
    # what each further message costs: columns, about 24 bytes a message and 30 an exchange (one
    # object per message or exchange cost over 150)
    per_message = (big - small) / (messages - small_messages)
    assert per_message < 56, f"{per_message:.0f} bytes a message"


def test_columns_widen_when_a_value_does_not_fit(tmp_path: Path) -> None:
    """An exchange of 300 messages (retransmissions) outgrows a one-byte count."""
    frames = _replayed(1)
    first = next(buf for _ts, buf in frames if _isakmp_offset(buf) is not None)
    path = tmp_path / "resent.pcap"
    _write(path, [(1_700_000_000.0 + i, first) for i in range(300)])
    (ex,) = load(path).exchanges
    assert len(ex.messages) == 300 and len(ex.retransmits) == 299
    assert {m.retransmit_of for m in ex.retransmits} == {ex.first.frame}
    assert [m.frame for m in ex.messages] == list(range(1, 301))


def test_a_flood_of_exchanges_is_held_in_flight_only_up_to_the_cap(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond MAX_OPEN exchanges in flight the ones silent for longest are over: the builder never holds
    more, and a capture whose exchanges never come back after the cap reads exactly as without it."""
    path = tmp_path / "replayed.pcap"
    _write(path, _replayed(20))
    uncapped = load(path)
    held: list[int] = []
    real_add = isakmp_exchanges.ExchangeBuilder.add

    def add(builder: isakmp_exchanges.ExchangeBuilder, msg: IsakmpMessage, digest: int) -> Exchange:
        exchange = real_add(builder, msg, digest)
        held.append(len(builder._open))
        return exchange

    monkeypatch.setattr(isakmp_exchanges, "MAX_OPEN", 64)
    monkeypatch.setattr(isakmp_exchanges.ExchangeBuilder, "add", add)
    capped = load(path)
    assert max(held) == 64
    # every replay is a minute apart: no exchange is still going 64 exchanges later
    assert list(capped.exchanges) == list(uncapped.exchanges)
    assert list(capped.messages) == list(uncapped.messages)


@pytest.mark.parametrize(("typecode", "value", "widened"), [("B", 256, "H"), ("H", 70_000, "I"), ("I", 1 << 40, "q")])
def test_a_column_widens_and_keeps_its_values(typecode: str, value: int, widened: str) -> None:
    column = array(typecode, [1, 2])
    grown = _extended(column, [3, value, 4])
    assert grown.typecode == widened and list(grown) == [1, 2, 3, value, 4]
    stored = _stored(array(typecode, [1, 2]), 1, value)
    assert stored.typecode == widened and list(stored) == [1, value]
    assert _extended(column, [5]) is column and list(column) == [1, 2, 5]  # no value too big: the same array
