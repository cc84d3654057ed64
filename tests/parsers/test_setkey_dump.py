"""setkey -D / -DP (every flavour) and ip xfrm output: fixture pairs, fields, sniffing, robustness."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from racoondbg.parsers import setkey_dump, xfrm

from racoondbg.inputs import LoadOptions, kind_named, sniff
from racoondbg.jsonable import jsonable
from racoondbg.model.base import ParseError, secret_tag
from racoondbg.model.kernel import SadDump, SpdDump
from racoondbg.sources import Source, read_head

KERNEL = Path(__file__).parent.parent / "fixtures" / "kernel"
RAWS = sorted(KERNEL.rglob("*.raw"))
#: Fixture folder → the flavour the parser must report (folder names cannot hold '/').
FLAVOUR_OF_FOLDER = {"ipsec-tools-0.8-linux": "ipsec-tools-0.8/linux", "ipsec-tools-0.7-kame": "ipsec-tools-0.7/kame",
                     "unknown": None}


def load(rel: str, *, show_keys: bool = False) -> SadDump | SpdDump:
    kind = kind_named(rel.split("/")[0])
    assert kind is not None
    return kind.load(Source(KERNEL / rel, rel), LoadOptions(show_keys=show_keys))


@pytest.mark.parametrize("raw", RAWS, ids=lambda p: p.relative_to(KERNEL).as_posix())
def test_fixture_parses_into_its_expected_model(raw: Path) -> None:
    rel = raw.relative_to(KERNEL).as_posix()
    obj = load(rel)
    assert jsonable(obj) == json.loads(raw.with_suffix(".json").read_text())
    folder = raw.parent.name
    assert obj.flavour == FLAVOUR_OF_FOLDER.get(folder, folder)
    assert not obj.errors


def test_every_flavour_has_fixtures() -> None:
    flavours = {FLAVOUR_OF_FOLDER.get(p.parent.name, p.parent.name) for p in RAWS}
    assert flavours >= {"ipsec-tools-0.8/linux", "ipsec-tools-0.8", "ipsec-tools", "ipsec-tools-0.7/kame", "freebsd",
                        "kame-2001", "macos", "setkey-Dl", "linux-xfrm", None}


def test_natt_sa_keeps_ports_nat_oa_and_a_continued_key() -> None:
    dump = load("sad/ipsec-tools-0.8/natt-tunnel.raw", show_keys=True)
    assert isinstance(dump, SadDump)
    sa = dump.sas[0]
    assert (sa.src, sa.src_port, sa.dst, sa.dst_port, sa.natt, sa.nat_oa) == (
        "203.0.113.9", 4500, "10.0.2.15", 4500, True, "192.168.1.20")
    assert (sa.proto, sa.mode, sa.spi, sa.reqid) == ("esp", "tunnel", 0x12345678, 16389)
    assert sa.auth_alg == "hmac-sha512" and sa.auth_key is not None and len(sa.auth_key) == 128  # 64 bytes, 2 lines
    raw = (KERNEL / "sad/ipsec-tools-0.8/natt-tunnel.raw").read_text().splitlines()
    assert raw[5].startswith(" ") and raw[5].split()[-1] == sa.auth_key[-8:]


def test_keys_are_tags_unless_asked() -> None:
    clear = load("sad/ipsec-tools-0.8/natt-tunnel.raw", show_keys=True)
    tagged = load("sad/ipsec-tools-0.8/natt-tunnel.raw")
    assert isinstance(clear, SadDump) and isinstance(tagged, SadDump)
    assert clear.sas[0].enc_key and tagged.sas[0].enc_key == secret_tag(bytes.fromhex(clear.sas[0].enc_key))


def test_ipcomp_state_line_continues_the_c_line() -> None:
    dump = load("sad/ipsec-tools/ipcomp.raw")
    assert isinstance(dump, SadDump)
    comp, esp = dump.sas
    assert (comp.proto, comp.comp_alg, comp.replay, comp.state, comp.enc_key) == (
        "ipcomp", "deflate", 0, "mature", None)
    assert (esp.enc_alg, esp.auth_alg) == ("blowfish-cbc", "hmac-md5")


def test_dead_sas_are_kept_and_flagged() -> None:
    dump = load("sad/ipsec-tools/dead-with-a.raw")
    assert isinstance(dump, SadDump)
    assert [sa.state for sa in dump.sas] == ["dead", "mature"] and dump.dead_included


def test_apple_flags2_and_interfaces() -> None:
    dump = load("sad/macos/l2tp.raw")
    assert isinstance(dump, SadDump)
    sa = dump.sas[0]
    assert sa.flags2 == 0 and sa.interfaces == {"internal_if": "en0", "outgoing_if": "en0", "ipsec_if": "ipsec0",
                                                 "disabled": "0"}


def test_selinux_context_and_ipv6() -> None:
    dump = load("sad/ipsec-tools-0.8-linux/selinux-ipv6.raw")
    assert isinstance(dump, SadDump)
    sa = dump.sas[0]
    assert (sa.src, sa.security_context) == ("2001:db8:1::1", "system_u:object_r:ipsec_spd_t:s0")


def test_old_kame_state_line_and_never_used_sa() -> None:
    dump = load("sad/kame-2001/transport.raw")
    assert isinstance(dump, SadDump)
    used, unused = dump.sas
    assert (used.enc_alg, used.sadb_seq, used.pid, used.refcnt) == ("rijndael-cbc", 1, 377, 1)
    assert unused.last_used is None and unused.bytes == 0


def test_short_loop_format_keeps_the_latest_line_per_sa() -> None:
    dump = load("sad/setkey-Dl/loop.raw")
    assert isinstance(dump, SadDump)
    assert [(sa.spi, sa.state, sa.age) for sa in dump.sas] == [
        (0x0DD01A73, "mature", 294), (0xBB40E64D, "dying", None), (0, "larval", None)]
    assert dump.sas[0].location.line == 2 and dump.sas[1].location.line == 5


def test_spd_priorities_sockets_and_reqids() -> None:
    dump = load("spd/ipsec-tools-0.8-linux/prio-forms.raw")
    assert isinstance(dump, SpdDump)
    out, inn, fwd, ike, icmp, sock = dump.policies
    assert (out.priority, out.priority_text, out.requests[0].level, out.requests[0].reqid) == (
        0x40000000, "high", "unique", 16385)
    assert (inn.priority, inn.requests[0].reqid, inn.requests[0].text()) == (
        0xC0000000 - 5, 5, "esp/tunnel/198.51.100.7-192.0.2.1/unique:5")
    assert (fwd.direction, fwd.priority) == ("fwd", 0x80000000 + 100)
    assert (ike.action, ike.proto, ike.src_port, ike.priority) == ("none", "udp", 500, None)
    assert (icmp.proto, icmp.src, icmp.dst, icmp.action) == ("icmp6", "2001:db8::/32", "::/0", "discard")
    assert sock.per_socket and sock.action == "bypass" and sock.src is None


def test_freebsd_scope_and_kame_lifetime() -> None:
    freebsd = load("spd/freebsd/scope.raw")
    kame = load("spd/kame-2001/bypass.raw")
    assert isinstance(freebsd, SpdDump) and isinstance(kame, SpdDump)
    assert (freebsd.policies[0].scope, freebsd.policies[0].ifname) == ("ifnet", "ipsec0")
    first = kame.policies[0]
    assert (first.src, first.dst, first.proto, first.dst_port, first.lifetime, first.created) == (
        "fec0::10/128", "fec0::11/128", "tcp", 110, 0, None)


def test_generated_policy_lifetime_is_kept() -> None:
    dump = load("spd/ipsec-tools-0.8/netbsd-tunnel.raw")
    assert isinstance(dump, SpdDump)
    assert all(p.generated and p.lifetime == 3600 for p in dump.policies)


def test_xfrm_policy_maps_actions_templates_and_levels() -> None:
    dump = load("xfrm/linux-xfrm/policy.raw")
    assert isinstance(dump, SpdDump)
    by_dir = {(p.direction, p.action, p.proto): p for p in dump.policies}
    out = by_dir[("out", "ipsec", "any")]
    assert out.requests[0].text() == "esp/tunnel/192.0.2.1-198.51.100.7/require#16385"
    assert by_dir[("out", "ipsec", "tcp")].requests[0].level == "use"
    assert by_dir[("out", "discard", "icmp")].proto_detail == "type 8 code 0"
    assert by_dir[("in", "none", "udp")].src_port == 500


def test_xfrm_socket_policies_have_no_selector() -> None:
    dump = load("xfrm/linux-xfrm/socket.raw")
    assert isinstance(dump, SpdDump)
    assert [(p.direction, p.action, p.per_socket, p.src) for p in dump.policies] == [
        ("in", "none", True, None), ("out", "none", True, None)]


def test_xfrm_state_acquire_is_larval() -> None:
    dump = load("xfrm/linux-xfrm/state-acquire.raw")
    assert isinstance(dump, SadDump)
    assert (dump.sas[0].spi, dump.sas[0].state) == (0, "larval")


def test_spd_and_sad_kinds_accept_xfrm_output_too() -> None:
    for rel, kind in (("xfrm/linux-xfrm/policy.raw", "spd"), ("xfrm/linux-xfrm/state-s.raw", "sad")):
        found = kind_named(kind)
        assert found is not None
        obj = found.load(Source(KERNEL / rel, rel), LoadOptions())
        assert obj.flavour == "linux-xfrm"


@pytest.mark.parametrize("raw", RAWS, ids=lambda p: p.relative_to(KERNEL).as_posix())
def test_sniffing_tells_the_dumps_apart(raw: Path) -> None:
    kind = sniff(Source(raw, raw.name), read_head(raw))
    assert kind is not None
    expected = raw.relative_to(KERNEL).parts[0]
    if expected == "xfrm":
        assert kind.name in ("xfrm-policy", "xfrm-state")
    else:
        assert kind.name == expected


def test_a_bad_entry_is_reported_and_the_rest_parsed(tmp_path: Path) -> None:
    text = (KERNEL / "sad/kame-2001/transport.raw").read_text().splitlines(keepends=True)
    broken = [*text[:1], "\tesp mode=transport spi=garbage\n", *text[2:]]
    path = tmp_path / "sad.txt"
    path.write_text("".join(broken))
    dump = setkey_dump.load_sad(Source(path, "sad.txt"), LoadOptions())
    assert len(dump.sas) == 1 and len(dump.errors) == 1 and dump.errors[0].location.line == 1


def test_unusable_input_raises_parse_error(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_text("hello\n\tworld\n")
    with pytest.raises(ParseError):
        setkey_dump.load_spd(Source(path, "x.txt"), LoadOptions())
    with pytest.raises(ParseError):
        xfrm.load_policy(Source(path, "x.txt"), LoadOptions())


_LINES = st.sampled_from([
    "10.0.0.1 10.0.0.2 ", "\tesp mode=tunnel spi=1(0x00000001) reqid=0(0x00000000)", "\tE: aes-cbc  00112233",
    " 44556677", "\tseq=0x00000000 replay=4 flags=0x00000000 state=mature ", "\tdiff: x(s)\thard: 1(s)\tsoft: 1(s)",
    "\tcreated: Mar  1 10:00:06 2014\tcurrent: Mar 99 10:00:06 2014", "10.0.0.0/8[any] 10.0.0.0/8[any] any",
    "\tout prio def ipsec", "\tesp/tunnel/1.2.3.4-/require", "\tlifetime:0 validtime:0", "\trefcnt=x",
    "src 10.0.0.1 dst 10.0.0.2", "\tdir out priority 0 ptype main", "\ttmpl src 1.1.1.1 dst 2.2.2.2",
    "\t\tproto esp reqid 1 mode tunnel", "\tproto esp spi 0x1 reqid 1 mode tunnel", "\tenc cbc(aes) 0x0011",
    "No SAD entries.", "garbage [ ] ( )",
])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.one_of(_LINES, st.text(max_size=40)), max_size=30))
def test_fuzz_never_a_traceback(tmp_path: Path, lines: list[str]) -> None:
    path = tmp_path / "fuzz.txt"
    path.write_text("\n".join(lines), encoding="utf-8", errors="surrogateescape")
    for loader in (setkey_dump.load_sad, setkey_dump.load_spd, xfrm.load_any):
        with contextlib.suppress(ParseError):
            loader(Source(path, "fuzz.txt"), LoadOptions())
