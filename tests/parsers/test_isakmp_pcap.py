"""The ISAKMP capture decoder, checked field by field against tshark's decoding of the same captures.

The tshark JSON beside each capture was generated once by make_captures.sh; tshark is not needed here.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import struct
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from racoondbg.parsers import isakmp_pcap
from racoondbg.parsers.pcap_links import MAX_PENDING, CaptureFormatError, Reassembler

from racoondbg.cli import cli
from racoondbg.inputs import LoadOptions, kind_named
from racoondbg.model.base import ParseError
from racoondbg.model.packets import Capture, IdDetail, NotifyDetail, SaDetail
from racoondbg.sources import Source

PCAPS = Path(__file__).parent.parent / "fixtures" / "pcap"
REAL = sorted(p for p in PCAPS.glob("*.pcap") if p.with_suffix(".tshark.json").exists())


def load(path: Path) -> Capture:
    return isakmp_pcap.load(Source(path, path.name), LoadOptions())


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _tshark_messages(path: Path) -> list[dict[str, Any]]:
    out = []
    for packet in json.loads(path.with_suffix(".tshark.json").read_text()):
        layers = packet["_source"]["layers"]
        if "isakmp" not in layers or "icmp" in layers:
            continue
        out.append(layers)
    return out


def _hexcolon(text: str) -> str:
    return text.replace(":", "")


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.stem)
def test_every_message_matches_tshark(path: Path) -> None:
    cap = load(path)
    expected = _tshark_messages(path)
    assert [m.frame for m in cap.messages] == [int(x["frame"]["frame.number"]) for x in expected]
    for msg, layers in zip(cap.messages, expected, strict=True):
        isakmp = layers["isakmp"]
        ip = layers.get("ip") or layers.get("ipv6")
        assert msg.time == pytest.approx(float(layers["frame"]["frame.time_epoch"]), abs=1e-6)
        assert (msg.src, msg.dst) == (ip.get("ip.src"), ip.get("ip.dst"))
        assert (msg.sport, msg.dport) == (int(layers["udp"]["udp.srcport"]), int(layers["udp"]["udp.dstport"]))
        assert msg.natt == ("udpencap" in layers)
        assert msg.icookie == _hexcolon(isakmp["isakmp.ispi"])
        assert msg.rcookie == _hexcolon(isakmp["isakmp.rspi"])
        assert msg.exchange_type == int(isakmp["isakmp.exchangetype"])
        if msg.ikev2:
            assert msg.version == "2.0"
            continue
        assert msg.flags == int(isakmp["isakmp.flags"], 16)
        assert msg.encrypted == (isakmp["isakmp.flags_tree"]["isakmp.flag_e"] == "1")
        assert msg.message_id == int(isakmp["isakmp.messageid"], 16)
        assert msg.length == int(isakmp["isakmp.length"])
        if msg.encrypted:
            assert msg.payloads == ()
            continue
        assert [p.type for p in msg.payloads] == [int(t) for t in _list(isakmp.get("isakmp.typepayload"))]
        trees = _list(isakmp.get("isakmp.typepayload_tree"))
        notify_codes = [int(t["isakmp.notify.msgtype"]) for t in trees if "isakmp.notify.msgtype" in t]
        assert [n.code for n in msg.notifies()] == notify_codes
        vids = [_hexcolon(t["isakmp.vid_bytes"]) for t in trees if "isakmp.vid_bytes" in t]
        assert [p.detail.hex for p in msg.payloads if p.type == 13] == vids  # type: ignore[union-attr]
        frags = [(int(t["isakmp.frag.packetid"], 0), int(t["isakmp.frag.seq"])) for t in trees
                 if "isakmp.frag.packetid" in t]
        assert [(p.detail.fragment_id, p.detail.number) for p in msg.payloads if p.type == 132] == frags  # type: ignore[union-attr]


def test_icmp_errors_quoting_isakmp_are_not_messages() -> None:
    cap = load(PCAPS / "port_unreachable.pcap")
    assert len(cap.messages) == 4
    assert len(cap.icmp_errors) == 4
    err = cap.icmp_errors[0]
    assert (err.reporter, err.quoted_src, err.quoted_dst, err.quoted_dport, err.kind) == (
        "192.0.2.2", "192.0.2.1", "192.0.2.2", 500, "port unreachable")


def test_main_mode_payloads_decode_to_names() -> None:
    cap = load(PCAPS / "main_mode_psk.pcap")
    mm1 = cap.messages[0]
    sa = mm1.payloads[0].detail
    assert isinstance(sa, SaDetail)
    assert (sa.doi, sa.situation) == (1, 1)
    (transform,) = sa.proposals[0].transforms
    assert transform.name == "KEY_IKE"
    assert {a.name: a.text for a in transform.attributes} == {
        "Encryption Algorithm": "AES-CBC", "Key Length": "128", "Hash Algorithm": "SHA",
        "Group Description": "MODP-2048", "Authentication Method": "pre-shared key", "Life Type": "seconds",
        "Life Duration": transform.attribute("Life Duration").text,  # type: ignore[union-attr]
    }
    assert mm1.vendor_ids == ("XAUTH", "DPD", "FRAGMENTATION", "RFC 3947", "draft-ietf-ipsec-nat-t-ike-02\\n")
    assert [m.step for m in cap.messages] == ["MM1", "MM2", "MM3", "MM4", "MM5", "MM6", "QM1", "QM2", "QM3"]
    assert [m.role for m in cap.messages[:4]] == ["initiator", "responder", "initiator", "responder"]
    assert [m.natt for m in cap.messages] == [False] * 4 + [True] * 5
    mm3 = cap.messages[2]
    assert [p.name for p in mm3.payloads] == ["Key Exchange", "Nonce", "NAT-D", "NAT-D"]
    phase1, quick = cap.exchanges
    assert phase1.complete and quick.complete
    assert phase1.rcookie == cap.messages[1].rcookie != "0" * 16


def test_aggressive_mode_identity_and_notify() -> None:
    am = load(PCAPS / "aggressive_psk.pcap")
    ident = next(p.detail for p in am.messages[0].payloads if p.type == 5)
    assert ident == IdDetail("IPv4_address", 0, 0, "192.0.2.1")
    assert [m.step for m in am.messages] == ["AM1", "AM2", "AM3", "QM1", "QM1", "QM2", "QM3"]
    assert am.messages[4].retransmit_of == am.messages[3].frame
    refused = load(PCAPS / "aggressive_refused.pcap")
    (n,) = refused.messages[1].notifies()
    assert isinstance(n, NotifyDetail)
    assert (n.code, n.name, n.protocol, len(n.spi)) == (24, "AUTHENTICATION-FAILED", "ISAKMP", 32)


def test_retransmissions_and_stall_step() -> None:
    cap = load(PCAPS / "wrong_psk.pcap")
    phase1 = cap.exchanges[0]
    assert phase1.steps == ["MM1", "MM2", "MM3", "MM4", "MM5"]
    assert phase1.stalled_at == "MM5"
    mm5 = phase1.originals[-1]
    assert [m.frame for m in phase1.transmissions(mm5)] == [5, 7, 9, 11]
    assert phase1.intervals(mm5) == pytest.approx([2.0, 2.0, 2.0], abs=0.01)
    silent = load(PCAPS / "silent_responder.pcap").exchanges[0]
    assert not silent.answered and silent.unanswered() == silent.first


def test_retransmissions_share_what_they_say_and_keep_their_own_frame_and_time() -> None:
    cap = load(PCAPS / "wrong_psk.pcap")
    by_frame = {m.frame: m for m in cap.messages}
    resent = [m for m in cap.messages if m.retransmit_of is not None]
    assert len(resent) == 3
    for m in resent:
        original = by_frame[m.retransmit_of]
        assert m.wire is original.wire
        assert (m.src, m.dst, m.dport, m.step, m.payloads, m.length) == (
            original.src, original.dst, original.dport, original.step, original.payloads, original.length)
        assert m.frame > original.frame and m.time > original.time


def test_decrypting_a_message_leaves_others_with_the_same_wire_alone() -> None:
    from racoondbg.parsers.isakmp_decrypt import decrypted_wire

    cap = load(PCAPS / "wrong_psk.pcap")
    resent = next(m for m in cap.messages if m.retransmit_of is not None and m.encrypted)
    original = next(m for m in cap.messages if m.frame == resent.retransmit_of)
    plain = load(PCAPS / "main_mode_psk.pcap").messages[0].payloads
    resent.wire = decrypted_wire(resent.wire, plain)
    cap.messages.rewire(resent)
    assert resent.decrypted and resent.payloads == plain and resent.encrypted
    assert not original.decrypted and original.payloads == () and original.wire is not resent.wire


def test_exchanges_taking_the_same_steps_read_alike() -> None:
    cap = load(PCAPS / "dpd_healthy.pcap")
    infos = [x for x in cap.exchanges if x.exchange_type == 5]
    assert len(infos) > 2 and all(x.steps == ["INFO"] for x in infos)
    assert [x.to_json()["steps"] for x in infos] == [["INFO"]] * len(infos)


def test_ike_fragments_are_one_step() -> None:
    cap = load(PCAPS / "certs_fragmented.pcap")
    assert [m.step for m in cap.messages[4:8]] == ["MM5", "MM5", "MM6", "MM6"]
    assert all(s.complete for s in cap.ike_fragments) and len(cap.ike_fragments) == 2
    cert_req = next(p for p in cap.messages[3].payloads if p.type == 7)
    assert cert_req.detail.encoding == "X.509 signature"  # type: ignore[union-attr]


def test_ikev2_is_recognised_not_decoded() -> None:
    cap = load(PCAPS / "ikev2_to_ikev1.pcap")
    assert [(m.version, m.exchange, m.step) for m in cap.messages] == [
        ("2.0", "IKEv2 IKE_SA_INIT", "IKE_SA_INIT"), ("2.0", "IKEv2 IKE_SA_INIT", "IKE_SA_INIT")]
    assert cap.messages and all(m.ikev2 for m in cap.messages)


def test_nat_t_float_through_nat() -> None:
    cap = load(PCAPS / "nat_t.pcap")
    assert [m.dport for m in cap.messages] == [500] * 4 + [4500] * 5
    assert all(m.natt == (m.dport == 4500) for m in cap.messages)


# -- hand-built edge cases ---------------------------------------------------------------------------

EDGE = PCAPS / "edge"


def test_truncated_packets_are_flagged_not_crashed_on() -> None:
    cap = load(EDGE / "truncated.pcap")
    assert len(cap.messages) == 9
    assert all(m.truncated for m in cap.messages if m.length > 120 - 42)
    assert cap.truncated_frames >= 4
    assert all("snap length" in e.message for e in cap.errors)
    assert cap.messages[0].payloads == ()


@pytest.mark.parametrize("name,flavour", [("big_endian_ns.pcap", "pcap-ns"), ("nanosecond.pcap", "pcap-ns")])
def test_byte_orders_and_resolutions_decode_alike(name: str, flavour: str) -> None:
    base = load(PCAPS / "main_mode_psk.pcap")
    other = load(EDGE / name)
    assert other.flavour == flavour
    assert [(m.icookie, m.step, m.length) for m in other.messages] == [(m.icookie, m.step, m.length)
                                                                        for m in base.messages]
    assert [round(m.time, 6) for m in other.messages] == [round(m.time, 6) for m in base.messages]


def test_pcapng_with_two_link_types() -> None:
    cap = load(EDGE / "two_links.pcapng")
    assert cap.flavour == "pcapng" and cap.link_types == ["ethernet", "linux-sll2"]
    assert not cap.errors
    v6 = [m for m in cap.messages if ":" in m.src]
    assert [(m.src, m.step) for m in v6] == [("2001:db8::1", "MM1"), ("2001:db8::2", "MM2")]
    assert len(cap.exchanges) == 2


def test_garbage_keepalive_esp_and_vlan() -> None:
    cap = load(EDGE / "garbage_500.pcap")
    assert [e.location.frame for e in cap.errors] == [1]
    assert "not a valid ISAKMP message" in cap.errors[0].message
    assert cap.keepalives == {"192.0.2.1 -> 192.0.2.2": 1}
    assert [(f.spi, f.packets, f.udp) for f in cap.esp] == [("c0ffee01", 2, True)]
    assert [(m.frame, m.step) for m in cap.messages] == [(5, "MM1"), (6, "MM2")]


def test_ip_fragments_are_reassembled() -> None:
    cap = load(EDGE / "ip_fragmented.pcap")
    fragmented = [m for m in cap.messages if m.ip_fragmented]
    assert len(fragmented) == 1 and fragmented[0].length == 1248 and fragmented[0].step == "MM5"
    assert not cap.lost_fragments


def test_lost_ip_fragment_is_reported() -> None:
    cap = load(PCAPS.parent / "rules" / "ike-fragmentation" / "hit_ip_fragment_lost.pcap")
    assert len(cap.lost_fragments) == 3
    lost = cap.lost_fragments[0]
    assert (lost.src, lost.dport, lost.total_bytes) == ("192.0.2.1", 4500, None)


def test_reassembly_is_bounded() -> None:
    r = Reassembler()
    for i in range(MAX_PENDING + 50):
        r.add((4, "a", "b", i, 17), i, 0.0, 0, True, b"x" * 8, ("a", "b", 17))
    assert len(r.pending) == MAX_PENDING


# -- registration, sniffing, JSON --------------------------------------------------------------------


def test_sniff_by_magic_only() -> None:
    kind = kind_named("pcap")
    assert kind is not None and kind.part == "pcap"
    src = Source(Path("x"), "x")
    for magic in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"):
        assert kind.sniff(src, magic + b"\x00" * 20) > 50
    assert kind.sniff(src, (EDGE / "two_links.pcapng").read_bytes()[:64]) > 50
    assert kind.sniff(src, b"remote anonymous {\n") == 0


def test_not_a_capture_raises_parse_error(tmp_path: Path) -> None:
    bogus = tmp_path / "x.pcap"
    bogus.write_text("path certificate \"/etc/racoon/certs\";\n")
    with pytest.raises(ParseError):
        load(bogus)


def test_parse_json_shape() -> None:
    path = PCAPS / "wrong_psk.pcap"
    stream = io.StringIO()
    isakmp_pcap.stream(Source(path, path.name), LoadOptions(), stream)
    data = json.loads(stream.getvalue())
    assert data == isakmp_pcap.to_json(load(path))
    assert set(data) == {"messages", "exchanges"}
    assert all(tuple(m) == isakmp_pcap.MESSAGE_KEYS for m in data["messages"])
    assert data["messages"][6]["retransmit_of"] == 5 and data["messages"][6]["exchange"] == "MM5"
    assert data["exchanges"][0]["stalled_at"] == "MM5" and data["exchanges"][0]["retransmits"] == 3


ALL_CAPTURES = sorted([*PCAPS.glob("*.pcap"), *(PCAPS / "edge").glob("*.pcap*")])


def _streamed_and_loaded(path: Path) -> tuple[Any, Any, Capture]:
    """What ``parse pcap`` streams, and the loaded capture's JSON, as data; the capture streaming left."""
    source = Source(path, path.name)
    streamed = io.StringIO()
    cap = isakmp_pcap.stream(source, LoadOptions(), streamed)
    return json.loads(streamed.getvalue()), isakmp_pcap.to_json(isakmp_pcap.load(source, LoadOptions())), cap


@pytest.mark.parametrize("path", ALL_CAPTURES, ids=lambda p: p.name)
def test_streamed_json_is_the_loaded_json(path: Path) -> None:
    streamed, loaded, cap = _streamed_and_loaded(path)
    assert streamed == loaded
    # nothing that grows with the capture is kept while streaming
    assert cap.messages == cap.exchanges == cap.icmp_errors == cap.lost_fragments == cap.ike_fragments == []
    assert [e.message for e in cap.errors] == [e.message for e in load(path).errors]


@pytest.mark.parametrize("path", ALL_CAPTURES, ids=lambda p: p.name)
def test_capture_lookups_match_a_scan_of_every_message(path: Path) -> None:
    """The index answers exactly what scanning the whole capture would."""
    cap = load(path)
    for icookie in {m.icookie for m in cap.messages}:
        assert cap.messages_of(icookie) == [m for m in cap.messages if m.icookie == icookie]
    for address in {m.dst for m in cap.messages} | {e.quoted_dst for e in cap.icmp_errors}:
        assert cap.icmp_errors_to(address) == [e for e in cap.icmp_errors if e.quoted_dst == address]
    assert cap.messages_of("ffffffffffffffff") == [] and cap.icmp_errors_to("203.0.113.254") == []


def test_streamed_exchanges_closed_early_keep_their_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """Exchanges idle for longer than IDLE_SECONDS are written early; the exchange list keeps its order."""
    from racoondbg.parsers import isakmp_exchanges

    monkeypatch.setattr(isakmp_exchanges, "IDLE_SECONDS", 0.5)
    data, loaded, _cap = _streamed_and_loaded(PCAPS / "wrong_psk.pcap")
    assert data == loaded
    assert len(data["exchanges"]) > 2
    assert [x["frames"][0] for x in data["exchanges"]] == sorted(x["frames"][0] for x in data["exchanges"])


def test_parse_command_streams_pcap() -> None:
    from click.testing import CliRunner

    from racoondbg.cli import cli

    path = PCAPS / "wrong_psk.pcap"
    result = CliRunner().invoke(cli, ["parse", "pcap", str(path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == _streamed_and_loaded(path)[1]


# -- fuzzing: never a traceback, only ParseError ------------------------------------------------------

_MM = (PCAPS / "main_mode_psk.pcap").read_bytes()


def _pcap_with_udp(payload: bytes, port: int) -> bytes:
    udp = struct.pack(">HHHH", port, port, 8 + len(payload), 0) + payload
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, bytes([192, 0, 2, 1]),
                     bytes([192, 0, 2, 2])) + udp
    frame = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip
    return _MM[:24] + struct.pack("<IIII", 1, 0, len(frame), len(frame)) + frame


def _decode_bytes(data: bytes) -> None:
    # the loader turns CaptureFormatError (the header itself unusable) into a ParseError
    with contextlib.suppress(ParseError, CaptureFormatError):
        isakmp_pcap.decode(Source(Path("fuzz"), "fuzz"), io.BytesIO(data))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400), st.sampled_from([500, 4500, 1701]))
def test_fuzz_udp_payloads(payload: bytes, port: int) -> None:
    _decode_bytes(_pcap_with_udp(payload, port))


_NG = (PCAPS / "edge" / "two_links.pcapng").read_bytes()
_FRAG = (PCAPS / "edge" / "ip_fragmented.pcap").read_bytes()


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([_MM, _NG, _FRAG]), st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=12),
       st.floats(0.05, 1.0))
def test_fuzz_mutated_capture(original: bytes, flips: list[tuple[int, int]], keep: float) -> None:
    data = bytearray(original)
    for pos, value in flips:
        data[pos % len(data)] = value
    _decode_bytes(bytes(data[:max(24, int(len(data) * keep))]))


# -- link layers and IPv6 fragments, byte by byte ------------------------------------------------------

_IP4 = bytes.fromhex("450000200001000040110000c0000201c0000202")


@pytest.mark.parametrize("link,frame,expected", [
    (1, b"\x02" * 12 + b"\x08\x00" + _IP4, (4, 14)),
    (1, b"\x02" * 12 + b"\x81\x00\x00\x05\x86\xdd" + b"\x60", (6, 18)),
    (1, b"\x02" * 12 + b"\x88\x64" + b"\x11\x00\x00\x01\x00\x20" + b"\x00\x21" + _IP4, (4, 22)),
    (113, b"\x00" * 14 + b"\x08\x00" + _IP4, (4, 16)),
    (276, b"\x86\xdd" + b"\x00" * 18 + b"\x60", (6, 20)),
    (101, _IP4, (4, 0)),
    (229, b"\x60" + b"\x00" * 39, (6, 0)),
    (0, b"\x02\x00\x00\x00" + _IP4, (4, 4)),
    (0, b"\x1e\x00\x00\x00" + b"\x60", (6, 4)),
    (108, b"\x00\x00\x00\x18" + b"\x60", (6, 4)),
    (9, b"\xff\x03\x00\x21" + _IP4, (4, 4)),
    (9, b"\x00\x57" + b"\x60", (6, 2)),
    (1, b"\x02" * 12 + b"\x08\x06" + b"\x00" * 28, None),
    (147, _IP4, None),
])
def test_link_layers(link: int, frame: bytes, expected: tuple[int, int] | None) -> None:
    from racoondbg.parsers.pcap_links import network_layer

    assert network_layer(link, frame) == expected


def test_ipv6_fragments_reassemble_into_one_message() -> None:
    from racoondbg.parsers.pcap_links import Datagram, Decoder, Record

    payload = bytes.fromhex("c0ffee0012345678") + bytes(8) + b"\x01\x10\x02\x00" + bytes(4) \
        + (28 + 100).to_bytes(4, "big") + bytes(100)
    udp = struct.pack(">HHHH", 500, 500, 8 + len(payload), 0) + payload
    src, dst = bytes.fromhex("20010db8" + "00" * 11 + "01"), bytes.fromhex("20010db8" + "00" * 11 + "02")
    pieces = [(0, udp[:64], True), (64, udp[64:], False)]
    records = []
    for i, (off, piece, more) in enumerate(reversed(pieces)):  # out of order on purpose
        frag = struct.pack(">BBHI", 17, 0, off | int(more), 0xABCD) + piece
        ip6 = struct.pack(">IHBB", 0x60000000, len(frag), 44, 64) + src + dst + frag
        records.append(Record(i + 1, 10.0 + i, 229, ip6))
    (item,) = list(Decoder(lambda f, m: None).items(iter(records)))
    assert isinstance(item, Datagram) and item.fragmented and item.frame == 2
    assert (item.src, item.sport, item.payload) == ("2001:db8::1", 500, payload)


def test_streamed_json_stays_whole_when_a_compressed_capture_breaks_off(tmp_path: Path) -> None:
    """`parse pcap` writes while decoding: a .gz cut short still gives JSON (of what came before) and one error."""
    one = (PCAPS / "main_mode_psk.pcap").read_bytes()
    whole = gzip.compress(one[:24] + one[24:] * 2000)  # a few MB: more than one read
    cut = tmp_path / "cut.pcap.gz"
    cut.write_bytes(whole[: len(whole) * 3 // 4])
    run = CliRunner().invoke(cli, ["parse", "pcap", str(cut)])
    assert run.exit_code == 3
    assert json.loads(run.stdout)["messages"]  # what was read before the break is kept
    assert run.stderr.count("\n") == 1 and run.stderr.startswith(f"racoondbg: {cut}: ")
