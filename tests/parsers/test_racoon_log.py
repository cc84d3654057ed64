from __future__ import annotations

import bz2
import contextlib
import gzip
import json
import os
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from racoondbg.parsers import racoon_log

from racoondbg.inputs import LoadOptions, sniff
from racoondbg.jsonable import jsonable
from racoondbg.model.base import ParseError
from racoondbg.model.log import Kind, LogAnalysis, Outcome
from racoondbg.sources import Source, read_head

from .conftest import RECOGNITION

LOGS = Path(__file__).parent.parent / "fixtures" / "logs"
DEMO = Path(__file__).parent.parent.parent / "racoondbg" / "demo" / "racoon.log"
RULES = Path(__file__).parent.parent / "fixtures" / "rules"


def load(path: Path, **options: object) -> LogAnalysis:
    return racoon_log.load(Source(path, path.name), LoadOptions(**options))  # type: ignore[arg-type]


def outcomes(a: LogAnalysis) -> list[tuple[int, str | None, str]]:
    return [(n.phase, n.peer, n.outcome.value) for n in a.negotiations]


def kinds(a: LogAnalysis) -> list[tuple[str, int | None]]:
    return [(e.kind.value, e.line) for e in a.events]


# file, line format, flavour, records, negotiations (phase, peer, outcome)
FORMATS = [
    ("healthy-0.8-file.log", "file", "0.8", 24,
     [(1, "198.51.100.7", "established"), (2, "198.51.100.7", "established")]),
    ("ddd-hexdump-glued.log", "file", "0.8", 65,
     [(1, "198.51.100.23", "established"), (2, "198.51.100.23", "established")]),
    ("wrapped-paste.txt", "file", "0.8", 7, [(1, "198.51.100.14", "failed")]),
    ("syslog-rollover.log", "syslog", "0.8", 11,
     [(1, "198.51.100.7", "timeout"), (2, "198.51.100.7", "timeout"), (1, "198.51.100.7", "timeout")]),
    ("journal-short-dup.log", "syslog", "0.8", 10, [(1, "2001:db8:20::7", "failed")]),
    ("journal-short-iso.log", "iso", "0.8", 6, [(1, "198.51.100.90", "failed")]),
    ("rfc5424.log", "rfc5424", "0.8", 4, [(2, "203.0.113.66", "failed")]),
    ("macos-asl-system.log", "syslog", "apple", 12,
     [(1, "203.0.113.9", "established"), (2, "203.0.113.9", "established")]),
    ("apple-old-syslog.log", "syslog", "apple-old", 17,
     [(1, "203.0.113.9", "established"), (2, "203.0.113.9", "established")]),
    ("android-brief.log", "logcat", "android", 15,
     [(1, "203.0.113.9", "established"), (2, "203.0.113.9", "established")]),
    ("android-threadtime.log", "threadtime", "android", 10,
     [(1, "198.51.100.200", "established"), (2, "198.51.100.200", "established")]),
    ("pfsense-clog.log", "syslog", "0.8", 7, [(1, "198.51.100.40", "failed"), (2, "198.51.100.40", "timeout")]),
    ("macos-log-show.txt", "unified", "apple", 4, [(1, "198.51.100.61", "timeout")]),
    ("bare-gui-copy.txt", "bare", "0.8", 5, [(1, "203.0.113.25", "failed")]),
]


@pytest.mark.parametrize("name,line_format,flavour,records,negotiations", FORMATS)
def test_every_output_format(name: str, line_format: str, flavour: str, records: int,
                             negotiations: list[tuple[int, str, str]]) -> None:
    a = load(LOGS / name)
    assert (a.line_format, a.flavour, a.records) == (line_format, flavour, records)
    assert outcomes(a) == negotiations
    assert not a.errors


def test_file_format_fields_and_events() -> None:
    a = load(LOGS / "healthy-0.8-file.log")
    assert a.racoon_version == "0.8.2"
    assert a.openssl_version == "OpenSSL 1.0.1e 11 Feb 2013"
    assert (a.first_time, a.last_time) == (datetime(2014, 3, 1, 10, 0), datetime(2014, 3, 1, 10, 0, 6))
    ph1, ph2 = a.negotiations
    assert (ph1.role, ph1.exchange, ph1.local, ph1.cookies) == (
        "initiator", "Identity Protection", "192.0.2.1", "1f2e3d4c5b6a7988:8a9b0c1d2e3f4051")
    assert ph1.start.line == 8 and ph1.end is not None and ph1.end.line == 21
    assert ph2.spis == ["0xdd01a73", "0xbb40e64d"] and ph2.mode == "Tunnel"
    nat = a.of_kind(Kind.NAT_DETECTED)[0]
    assert nat.data["what"] == "not detected" and nat.line == 20
    assert a.peers["198.51.100.7"].line() == "phase 1 up since 10:00:06, phase 2 up since 10:00:06"


def test_records_carry_prefix_fields() -> None:
    records = list(racoon_log.iter_records(Source.of(LOGS / "ddd-hexdump-glued.log")))
    natt = next(r for r in records if r.message.startswith("Selected NAT-T"))
    assert (natt.line, natt.addr, natt.level) == (18, "198.51.100.23", "INFO")
    dump = next(r for r in records if r.line == 20)
    assert dump.message == "" and dump.hexdump_lines == 4 and dump.end_line == 24
    cookie = next(r for r in records if r.message == "new cookie:")
    assert cookie.hexdump_lines == 1
    kame = next(iter(racoon_log.iter_records(Source.of(DEMO))))
    assert kame.origin == "isakmp.c:1363:isakmp_open()" and kame.host == "nagasaki"
    assert kame.time == datetime(2002, 10, 19, 2, 9, 58)


def test_glued_messages_are_split_on_the_same_line() -> None:
    records = list(racoon_log.iter_records(Source.of(LOGS / "ddd-hexdump-glued.log")))
    glued = [r for r in records if r.line == 7]
    assert [r.message for r in glued] == [
        "key length is not allowed",
        "compression algorithm can not be checked because sadb message doesn't support it.",
    ]
    assert [r.level for r in glued] == ["ERROR", "DEBUG"]


def test_hexdump_content_never_reaches_the_model() -> None:
    a = load(LOGS / "ddd-hexdump-glued.log")
    text = json.dumps(jsonable(a))
    for word in ("d41c8e2f", "3a9f0c1e", "5c0e9a7b", "e3b1d02c9a7f4410\n"):
        assert word not in text
    assert a.hexdump_records == 7


def test_wrapped_paste_lines_are_joined() -> None:
    a = load(LOGS / "wrapped-paste.txt")
    start = a.of_kind(Kind.PH1_START)[0]
    assert start.location.line == 3 and start.location.end_line == 4
    assert start.data["peer"] == "198.51.100.14[500]"
    retransmit = a.of_kind(Kind.RETRANSMIT)[0]
    assert retransmit.peer == "198.51.100.14"
    assert a.negotiations[0].reason == "invalid length of payload"


def test_journal_duplicates_from_racoon_minus_f_are_dropped() -> None:
    a = load(LOGS / "journal-short-dup.log")
    assert len(a.of_kind(Kind.PSK_NOT_FOUND)) == 1
    assert a.racoon_version == "0.8.2" and a.openssl_version == "OpenSSL 1.1.1c  28 May 2019"


def test_other_programs_in_syslog_are_skipped() -> None:
    a = load(LOGS / "syslog-rollover.log")
    assert a.records == 11 and a.recognition == 1.0 and not a.errors


def test_year_rollover_with_explicit_year() -> None:
    a = load(LOGS / "syslog-rollover.log", year=2014)
    assert a.events[0].time == datetime(2014, 12, 31, 23, 59, 1)
    assert a.events[-1].time == datetime(2015, 1, 1, 0, 1, 50)


def test_year_rollover_inferred_from_mtime(tmp_path: Path) -> None:
    copy = tmp_path / "messages"
    copy.write_bytes((LOGS / "syslog-rollover.log").read_bytes())
    stamp = datetime(2019, 1, 5).timestamp()
    os.utime(copy, (stamp, stamp))
    a = load(copy)
    assert a.events[0].time == datetime(2018, 12, 31, 23, 59, 1)
    assert a.last_time == datetime(2019, 1, 1, 0, 1, 50)


def test_since_and_until() -> None:
    a = load(LOGS / "syslog-rollover.log", year=2014, since=datetime(2015, 1, 1, 0, 0, 30))
    assert [e.kind for e in a.events] == [Kind.ACQUIRE, Kind.PH1_START, Kind.PH1_MODE, Kind.PH1_TIMEOUT]
    b = load(LOGS / "healthy-0.8-file.log", until=datetime(2014, 3, 1, 10, 0, 5))
    assert b.records == 20 and not b.of_kind(Kind.PH1_ESTABLISHED)


@pytest.mark.parametrize("opener,suffix", [(gzip.open, ".gz"), (bz2.open, ".bz2")])
def test_compressed_logs_read_the_same(tmp_path: Path, opener: object, suffix: str) -> None:
    packed = tmp_path / f"racoon.log{suffix}"
    with opener(packed, "wb") as fh:  # type: ignore[operator]
        fh.write((LOGS / "ddd-hexdump-glued.log").read_bytes())
    a, b = load(packed), load(LOGS / "ddd-hexdump-glued.log")
    assert (a.records, a.recognised, a.hexdump_records, kinds(a)) == (b.records, b.recognised, b.hexdump_records,
                                                                      kinds(b))


@pytest.mark.parametrize("packed", [False, True], ids=["workers", "gzip-in-order"])
def test_counted_fast_path_agrees_with_the_full_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                     packed: bool) -> None:
    full = load(LOGS / "ddd-hexdump-glued.log")
    path = LOGS / "ddd-hexdump-glued.log"
    if packed:
        path = tmp_path / "ddd.log.gz"
        with gzip.open(path, "wb") as fh:
            fh.write((LOGS / "ddd-hexdump-glued.log").read_bytes())
    monkeypatch.setattr(racoon_log, "FAST_PATH_BYTES", 0)
    fast = load(path)
    assert (fast.records, fast.recognised, fast.hexdump_records, fast.lines) == (
        full.records, full.recognised, full.hexdump_records, full.lines)
    skipped = {Kind.PACKET_SENT, Kind.PACKET_RECEIVED, Kind.DPD_PROBE}
    assert kinds(fast) == [(e.kind.value, e.line) for e in full.events if e.kind not in skipped]
    assert fast.of_kind(Kind.PH1_START)[0].location.path == path.name
    assert outcomes(fast) == outcomes(full)


@pytest.mark.parametrize("packed,workers", [(False, 2), (False, 3), (True, 2)],
                         ids=["two-workers", "three-workers", "gzip-in-order"])
def test_counted_fast_path_merges_small_chunks_like_one_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                             packed: bool, workers: int) -> None:
    """Many chunks, read in worker processes or in order: events, times, version, unknown samples and
    flavour come out as one sequential read gives them."""
    from racoondbg.parsers import log_fastpath

    text = (LOGS / "ddd-hexdump-glued.log").read_bytes()
    unknown = b"".join(b"2016-05-12 09:20:%02d: INFO: no such racoon message %d\n" % (i, i) for i in range(30))
    path = tmp_path / "ddd.log"
    path.write_bytes(text + unknown + text.replace(b"2016-05-12 09:1", b"2016-05-12 09:3"))
    full = load(path)
    if packed:
        path = tmp_path / "ddd.log.gz"
        with gzip.open(path, "wb") as fh:
            fh.write((tmp_path / "ddd.log").read_bytes())
    monkeypatch.setattr(racoon_log, "FAST_PATH_BYTES", 0)
    monkeypatch.setattr(log_fastpath, "_CHUNK", 700)
    monkeypatch.setattr(log_fastpath, "_WORKERS", workers)
    fast = load(path)
    skipped = {Kind.PACKET_SENT, Kind.PACKET_RECEIVED, Kind.DPD_PROBE}
    assert kinds(fast) == [(e.kind.value, e.line) for e in full.events if e.kind not in skipped]
    assert (fast.records, fast.recognised, fast.hexdump_records, fast.lines) == (
        full.records, full.recognised, full.hexdump_records, full.lines)
    # the counted path sees the times of the records it reads (here: the last one is an event's)
    assert fast.first_time == full.first_time == datetime(2016, 5, 12, 9, 14, 2)
    assert fast.last_time == max(e.time for e in fast.events if e.time) == datetime(2016, 5, 12, 9, 34, 11)
    assert fast.racoon_version == full.racoon_version == "0.8.2" and fast.flavour == full.flavour == "0.8"
    assert fast.unrecognised_samples == full.unrecognised_samples
    assert len(fast.unrecognised_samples) == 20 and fast.unrecognised_samples[0].endswith("racoon message 0")
    assert outcomes(fast) == outcomes(full)


def test_counted_fast_path_replays_repeated_records_as_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A record text seen before is replayed, not read again: same events (time, line, data, peer),
    counters and flavour as the plain path, also when the repeats fall in later chunks."""
    from racoondbg.parsers import log_fastpath

    lines = [b"2024-03-01 00:00:%02d: INFO: initiate new phase 1 negotiation: 192.0.2.1[500]<=>198.51.100.%d[500]\n",
             b"2024-03-01 00:00:%02d: [198.51.100.%d] INFO: begin Identity Protection mode.\n",
             b"2024-03-01 00:00:%02d: ERROR: phase1 negotiation failed due to time up. 0123456789abcdef:%04d\n",
             b"2024-03-01 00:00:%02d: DEBUG: 84 bytes message received from 198.51.100.%d[500] to 192.0.2.1[500]\n"
             b"00000000 11111111 22222222\n"]
    path = tmp_path / "repeats.log"
    path.write_bytes(b"".join(line % (second % 60, second % 3) for second in range(90) for line in lines))
    full = load(path)
    monkeypatch.setattr(racoon_log, "FAST_PATH_BYTES", 0)
    monkeypatch.setattr(log_fastpath, "_CHUNK", 900)
    fast = load(path)

    def events(a: LogAnalysis) -> list[tuple[object, ...]]:
        return [(e.kind, e.line, e.location.end_line, e.time, e.message, e.level, e.peer, e.data) for e in a.events
                if e.kind is not Kind.PACKET_RECEIVED]

    assert len(events(full)) == 270 and events(fast) == events(full)
    assert (fast.records, fast.recognised, fast.hexdump_records, fast.first_time, fast.last_time, fast.flavour) == (
        full.records, full.recognised, full.hexdump_records, full.first_time, full.last_time, full.flavour)
    assert outcomes(fast) == outcomes(full)


def _children_of_this_process() -> set[int]:
    """The live (not reaped) children of this process, from /proc."""
    me = str(os.getpid())
    found: set[int] = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if fields[1] == me:
                found.add(int(stat.parent.name))
    return found


@pytest.mark.skipif(not hasattr(os, "fork") or not Path("/proc/self/stat").exists(), reason="needs fork and /proc")
def test_counted_fast_path_workers_fail_loudly_and_leave_nothing_behind(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path: Path) -> None:
    """A failure while a worker reads its chunk is raised in the parent with its own type and text; a
    reader that stops early, or fails, leaves no worker process running or unreaped."""
    from racoondbg.parsers import log_fastpath
    from racoondbg.parsers.log_lines import FORMATS_BY_NAME

    path = tmp_path / "ddd.log"
    path.write_bytes((LOGS / "ddd-hexdump-glued.log").read_bytes() * 4)
    monkeypatch.setattr(log_fastpath, "_CHUNK", 700)
    before = _children_of_this_process()
    fmt = FORMATS_BY_NAME["file"]

    def failing(chunk: log_fastpath.ChunkResult) -> None:
        if chunk.lines and any(b"ISAKMP-SA established" in block for _, block in chunk.wanted):
            raise ValueError("reader gave up")

    with open(path, "rb") as stream, pytest.raises(ValueError, match="reader gave up"):
        list(log_fastpath.scan_counted(stream, path, fmt, compressed=False, reader=failing))
    assert _children_of_this_process() == before
    with open(path, "rb") as stream:
        results = log_fastpath.scan_counted(stream, path, fmt, compressed=False)
        first = next(results)
        assert first.offset == 0 and first.lines > 0
        results.close()  # the caller stops after one chunk: the workers still writing are stopped
    assert _children_of_this_process() == before


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_worker_that_dies_is_one_clear_read_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A worker killed mid-read (out of memory, a signal) gives the log a one-line read error; the
    analysis of the other inputs goes on."""
    from racoondbg.parsers import log_fastpath

    from racoondbg.evidence import load_evidence

    def dies(*_: object) -> None:
        os._exit(9)

    path = tmp_path / "ddd.log"
    path.write_bytes((LOGS / "ddd-hexdump-glued.log").read_bytes())
    monkeypatch.setattr(racoon_log, "FAST_PATH_BYTES", 0)
    monkeypatch.setattr(log_fastpath, "_CHUNK", 700)
    monkeypatch.setattr(log_fastpath, "_child", dies)
    conf = LOGS.parent / "conf/upstream/ipsec-tools/racoon/roadwarrior/server/racoon.conf"
    ev = load_evidence([Source(path, "ddd.log"), Source(conf, "racoon.conf")])
    assert [e.one_line() for e in ev.errors if e.path == "ddd.log"] == [
        "ddd.log: cannot read: a worker process reading the file ended without its result (killed, or out of "
        "memory?)"]
    assert ev.conf is not None and not ev.logs


_GLUE_PIECES = st.sampled_from([b"2024-03-01 00:00:00: ", b"INFO: ", b"DEBUG2: ", b"[192.0.2.1] ", b": ", b"x",
                                b"7", b"2014-13-45 99:99:99: ", b" ", b"ERROR: ", b"[", b"]"])


@settings(max_examples=200, deadline=None)
@given(pieces=st.lists(_GLUE_PIECES, max_size=10), pos=st.integers(0, 3))
def test_find_glue_finds_what_the_glue_regex_finds(pieces: list[bytes], pos: int) -> None:
    from racoondbg.parsers.log_lines import GLUE, find_glue

    message = b"".join(pieces)
    expected, found = GLUE.search(message, pos), find_glue(message, pos)
    assert (expected and expected.span()) == (found and found.span())


def test_timeout_reason_follows_the_responder_cookie() -> None:
    a = load(RULES / "ph1-retransmit-timeout" / "hit_silent_peer.log")
    assert a.phase(1)[0].reason == "the peer never answered"
    b = load(RULES / "ph1-retransmit-timeout" / "hit_stalled_mm5_syslog.log", year=2020)
    neg = b.phase(1)[0]
    assert neg.outcome is Outcome.TIMEOUT and neg.peer == "2001:db8::77"
    assert neg.reason == "the peer answered, then the exchange stalled"
    assert len([e for e in neg.events if e.kind is Kind.RETRANSMIT]) == 2


def test_restart_loop_negotiations_are_superseded() -> None:
    a = load(DEMO)
    assert [n.outcome.value for n in a.phase(1)] == ["superseded"] * 3 + ["established"]
    assert a.flavour == "kame" and a.recognition == 1.0


def test_android_framework_lines_become_events() -> None:
    a = load(RULES / "android-legacy-vpn-start" / "hit_racoon_dead_threadtime.log", year=2016)
    errors = a.of_kind(Kind.ANDROID_VPN_ERROR)
    assert [e.line for e in errors] == [4] and errors[0].data["tag"] == "LegacyVpnRunner"
    assert a.records == 2  # framework lines are not racoon records


def test_interface_ipcomp_and_skeyid_lines_become_events() -> None:
    a = load(RULES / "interface-rescan-bind" / "hit_07_tun_after_rescan.log")
    names = [(e.data["address"], e.data["ifname"], e.line) for e in a.of_kind(Kind.INTERFACE_ADDRESS)]
    assert names[:3] == [("192.0.2.5", "em0", 3), ("127.0.0.1", "lo0", 4), ("192.0.2.5", "em0", 8)]
    assert all(e.peer is None for e in a.of_kind(Kind.INTERFACE_ADDRESS))
    netlink = load(RULES / "interface-rescan-bind" / "hit_linux_netlink_ppp" / "racoon.log")
    (added,) = netlink.of_kind(Kind.INTERFACE_ADDRESS)
    assert (added.data["address"], added.data["action"], added.line) == ("10.64.64.64", "added", 7)
    ipcomp = load(RULES / "ipcomp-install-failure" / "hit_update_einval_after_ipcomp.log")
    assert [e.line for e in ipcomp.of_kind(Kind.IPCOMP_CPI)] == [8]
    apple = load(RULES / "macos-client-constraints" / "hit_keychain_secret_missing.log", year=2020)
    assert apple.flavour == "apple" and [e.line for e in apple.of_kind(Kind.SKEYID_FAILED)] == [7]
    assert apple.of_kind(Kind.SKEYID_FAILED)[0].failure


def test_sniff_claims_logs_and_nothing_else() -> None:
    for path in LOGS.iterdir():
        assert racoon_log.sniff(Source.of(path), path.read_bytes()[:65536]) >= 45, path
    conf = b'remote anonymous {\n\texchange_mode main;\n}\nsainfo anonymous { pfs_group 2; }\n'
    assert racoon_log.sniff(Source.of("racoon.conf"), conf) == 0
    sad = b"192.0.2.1 198.51.100.7\n\tesp mode=tunnel spi=231742451(0x0dd01a73) reqid=0(0x00000000)\n"
    assert racoon_log.sniff(Source.of("sad"), sad) == 0


def test_unified_log_times_keep_the_local_clock() -> None:
    a = load(LOGS / "macos-log-show.txt")
    timeout = a.of_kind(Kind.PH1_TIMEOUT)[0]
    assert timeout.time == datetime(2019, 3, 1, 10, 0, 35, 441907) and timeout.level == "ERROR"
    assert timeout.data["cookies"] == "9f8e7d6c5b4a3921:0000000000000000"


def test_not_a_log_is_one_parse_error(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("nothing to see here\n")
    with pytest.raises(ParseError):
        load(junk)


def all_fixture_logs() -> list[Path]:
    found = [*sorted(LOGS.iterdir()), DEMO]
    found += sorted(p for p in RULES.rglob("*") if p.is_file() and _sniffs_as_log(p))
    return found


def _sniffs_as_log(path: Path) -> bool:
    """Rule fixtures hold every kind of evidence; only the ones the loader would read as a log count."""
    kind = sniff(Source(path, path.name), read_head(path))
    return kind is not None and kind.name == "log"


def test_recognition_share_on_every_fixture() -> None:
    known = total = 0
    for path in all_fixture_logs():
        a = load(path, year=2020)
        counted = a.records - a.hexdump_records
        RECOGNITION[path.parent.name + "/" + path.name] = (a.recognised, counted)
        known += a.recognised
        total += counted
    print(f"racoon log recognition: {known}/{total} = {known / total:.1%} of non-hexdump records")
    assert known / total >= 0.95


_LINE = st.sampled_from([
    "2014-03-01 10:00:05: INFO: initiate new phase 1 negotiation: 192.0.2.1[500]<=>198.51.100.7[500]",
    "2014-03-01 10:00:05: DEBUG: ", "1f2e3d4c 5b6a7988 8a9b0c1d", "Mar  1 10:00:05 gw racoon: ERROR: HASH mismatched",
    "2014-03-01 10:00:35: ERROR: phase1 negotiation failed due to time up. 1f2e3d4c5b6a7988:0000000000000000",
    "I/racoon  ( 2764): IPsec-SA established: ESP/Tunnel 1.2.3.4[0]->5.6.7.8[0] spi=1(0x1)",
    "2014-13-45 99:99:99: INFO: garbage", "Feb 30 25:61:61 h racoon[x]: INFO:", "ISAKMP-SA established",
])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.one_of(_LINE, st.text(max_size=80)), max_size=30))
def test_fuzz_never_a_traceback(tmp_path: Path, lines: list[str]) -> None:
    path = tmp_path / "fuzz.log"
    path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    try:
        a = load(path)
    except ParseError:
        return
    assert a.records >= 0 and 0.0 <= a.recognition <= 1.0
    racoon_log.to_json(a)


def test_big_logs_keep_memory_flat(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from racoondbg.parsers import log_negotiations

    lines = []
    for i in range(60):
        stamp = f"2014-03-01 10:{i // 60:02d}:{i % 60:02d}"
        lines += [f"{stamp}: INFO: initiate new phase 1 negotiation: 192.0.2.1[500]<=>198.51.100.7[500]",
                  f"{stamp}: INFO: ISAKMP-SA established 192.0.2.1[500]-198.51.100.7[500] "
                  f"spi:{i:016x}:8a9b0c1d2e3f4051"]
    path = tmp_path / "big.log"
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(racoon_log, "FAST_PATH_BYTES", 0)
    monkeypatch.setattr(log_negotiations, "_PRUNE_GROWTH", 10)
    monkeypatch.setattr(log_negotiations, "_KEEP_PER_PEER", 4)
    a = load(path)
    assert a.negotiations_dropped == 56 and len(a.negotiations) == 4  # the last 4, after the final pruning
    assert all(len(n.events) <= 2 for n in a.negotiations)
    assert a.peers["198.51.100.7"].line().startswith("phase 1 up since 10:00:59")
    assert a.records == 120 and a.recognition == 1.0
