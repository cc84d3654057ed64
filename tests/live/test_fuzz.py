"""Never a traceback: the table readers and the redactors on arbitrary text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from racoondbg.bundle import REDACTORS, pseudo_hex, redact_psk, redact_sad
from racoondbg.live.logs import line_time, syslog_targets
from racoondbg.live.tables import conf_argument, parse_ip_addr, parse_ip_route, parse_ps, parse_sockets, parse_sysctl

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400)
LINES = st.lists(st.sampled_from([
    "\tE: aes-cbc  1a2b3c4d 5e6f7081", " 00112233 44556677", "\tA: hmac-sha1  0a1b2c3d", "198.51.100.7 key",
    "\tenc cbc(aes) 0x0a0b0c0d", "UNCONN 0 0 192.0.2.1:500 0.0.0.0:*", "0a0b0c0d 0e0f", "", "#", "\"q\"",
    "racoon  412 root 6u IPv4 0x1 0t0 UDP 192.0.2.1:500", "root racoon 611 6 udp4 *:500 *:*", "  12 racoon -f x",
    "2: eth0    inet 192.0.2.1/24 scope global eth0", "2: x inet 300.1.1.1/99", "default via 192.0.2.254 dev eth0",
    "unreachable 10.0.0.0/8", "\tnexthop via 192.0.2.9 dev eth1 weight 1", "blackhole metric x", "10.1.2.3 dev",
]) | TEXT, max_size=30)


@settings(max_examples=200, deadline=None)
@given(LINES)
def test_readers_and_redactors_never_raise(lines: list[str]) -> None:
    text = "\n".join(lines) + "\n"
    for tool in ("ss", "sockstat", "netstat", "lsof"):
        for row in parse_sockets(tool, text):
            assert row.port in (500, 4500)
    parse_ps(text)
    parse_sysctl(text)
    parse_ip_addr(text)
    parse_ip_route(text)
    syslog_targets(text)
    for line in lines:
        line_time(line, 2026)
        conf_argument(tuple(line.split()))
    for redactor in REDACTORS.values():
        "".join(redactor(text.splitlines(keepends=True)))


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"[!-~]{8,40}", fullmatch=True).filter(lambda k: not k.startswith(("#", '"', "'"))))
def test_a_psk_never_survives_redaction(key: str) -> None:
    out = "".join(redact_psk([f"198.51.100.7 {key}\n"]))
    assert key not in out


@settings(max_examples=200, deadline=None)
@given(st.lists(st.from_regex(r"[0-9a-f]{8}", fullmatch=True), min_size=2, max_size=16))
def test_a_setkey_key_never_survives_and_keeps_its_shape(words: list[str]) -> None:
    first, rest = words[:8], words[8:]
    text = "\tE: aes-cbc  " + " ".join(first) + "\n" + (" " + " ".join(rest) + "\n" if rest else "")
    out = "".join(redact_sad(text.splitlines(keepends=True)))
    assert [len(line) for line in out.splitlines()] == [len(line) for line in text.splitlines()]
    assert "".join(words) not in out.replace(" ", "")
    assert pseudo_hex("".join(words)) == out.split("  ", 1)[1].replace(" ", "").replace("\n", "")
