"""psk.txt, read as racoon's getpsk() reads it; keys only ever as tags."""

from __future__ import annotations

import json
import os
from pathlib import Path

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from racoondbg.parsers.psk import load, parse_lines, sniff, split_line

from racoondbg.cli import cli
from racoondbg.inputs import LoadOptions
from racoondbg.model import secret_tag
from racoondbg.sources import Source

PSK = Path(__file__).parent.parent / "fixtures" / "certs" / "psk"


def entries(text: bytes):  # type: ignore[no-untyped-def]
    return parse_lines(text.splitlines(keepends=True), "psk.txt")


def test_racoon_example_file() -> None:
    psk = load(Source(PSK / "clean" / "psk.txt", "psk.txt"), LoadOptions())
    assert [e.identifier for e in psk.entries] == [
        "10.160.94.3", "172.16.1.133", "194.100.55.1", "3ffe:501:410:ffff:200:86ff:fe05:80fa",
        "3ffe:501:410:ffff:210:4bff:fea2:8baa", "foo@kame.net", "foo.kame.net",
    ]
    assert psk.entries[0].location.line == 2
    assert psk.entries[0].key_tag == secret_tag(b"mekmitasdigoat")
    hexed = psk.lookup("172.16.1.133")
    assert hexed is not None and hexed.hex and not hexed.bad_hex
    assert hexed.key_tag == secret_tag(bytes.fromhex("12345678"))
    assert psk.lookup("10.160.94.4") is None
    assert psk.errors == [] and psk.regular


def test_key_is_the_whole_rest_of_the_line() -> None:
    found, errors = entries(b"198.51.100.7 \t Office key with  spaces  \r\n")
    [e] = found
    assert e.key_tag == secret_tag(b"Office key with  spaces  \r")
    assert e.carriage_return and e.trailing_space and not e.quoted
    assert errors == []


def test_first_line_wins_and_comments_only_in_column_one() -> None:
    found, errors = entries(b"#comment\n10.0.0.1 first\n10.0.0.1 second\n #not a comment\n")
    assert [e.key_tag for e in found] == [secret_tag(b"first"), secret_tag(b"second")]
    assert len(errors) == 1 and errors[0].location.line == 4
    assert split_line(b"10.0.0.1") is None and split_line(b"10.0.0.1   ") is None
    assert split_line(b"a\tb c") == (b"a", b"b c")


def test_quotes_and_bad_hex_are_flagged() -> None:
    quoted, bad = entries(b'10.3.0.1 "secret"\n10.3.0.2 0x123\n')[0]
    assert quoted.quoted and bad.bad_hex and bad.hex


def test_modes_and_owner_are_recorded(tmp_path: Path) -> None:
    path = tmp_path / "psk.txt"
    path.write_text("10.0.0.1 key\n")
    os.chmod(path, 0o644)
    psk = load(Source(path, "psk.txt"), LoadOptions(root=tmp_path))
    assert psk.file.permissions == "0644" and psk.file.group_or_other_access
    assert psk.file.uid == os.getuid() and psk.directory_uid == os.getuid()
    assert psk.host_path == "/psk.txt"
    os.chmod(path, 0o600)
    assert not load(Source(path, "psk.txt"), LoadOptions()).file.group_or_other_access


def test_sniff_claims_psk_files_only() -> None:
    src = Source(Path("x"), "x")
    assert sniff(src, (PSK / "clean" / "psk.txt").read_bytes()) == 80
    assert sniff(src, (PSK / "crlf" / "psk.txt").read_bytes()) == 80
    not_psk = [
        b'path certificate "/etc/racoon/certs";\nremote anonymous\n{\n\texchange_mode main;\n}\n',
        b"Nov 28 12:00:01 gw racoon: INFO: @(#)ipsec-tools 0.8.2 (http://ipsec-tools.sourceforge.net)\n",
        b"2026-11-28 12:00:01: INFO: isakmp.c:1234:isakmp_ph1begin_i(): initiate new phase 1 negotiation\n",
        b"flush;\nspdflush;\nspdadd 10.3.0.2 10.3.0.0/24 any -P out ipsec esp/transport//require;\n",
        b"10.3.0.1 10.3.0.2 \n\tesp mode=tunnel spi=1234(0x000004d2) reqid=0(0x00000000)\n\tE: rijndael-cbc  "
        b"01020304\n\tA: hmac-sha1  0a0b0c0d\n\tseq=0x00000000 replay=4 flags=0x00000000 state=mature \n",
        b"src 10.3.0.1 dst 10.3.0.2\n\tproto esp spi 0x000004d2 reqid 1 mode tunnel\n",
        b"0600 etc/racoon/certs/nagasaki.key\n",
        b"",
    ]
    for text in not_psk:
        assert sniff(src, text) == 0, text


def test_parse_psk_json_has_no_key() -> None:
    result = CliRunner().invoke(cli, ["parse", "psk", str(PSK / "world-readable" / "psk.txt")])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [e["identifier"] for e in data["entries"]] == ["198.51.100.7", "203.0.113.20", "vpn.example.net"]
    for secret in ("Office gateway key with spaces", "6d656b6d6974617364696f676174", "road-warrior-secret"):
        assert secret not in result.output
    shown = CliRunner().invoke(cli, ["parse", "psk", "--show-keys", str(PSK / "world-readable" / "psk.txt")])
    assert json.loads(shown.output)["entries"][0]["key"] == "Office gateway key with spaces"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=80), max_size=10))
def test_fuzz_lines_never_raise(lines: list[bytes]) -> None:
    found, _ = parse_lines(lines, "f")
    assert all(e.key_tag.startswith("secret:") for e in found)
    sniff(Source(Path("f"), "f"), b"\n".join(lines))
