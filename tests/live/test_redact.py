from __future__ import annotations

from pathlib import Path

from racoondbg.bundle import (
    copy_redacted,
    pseudo_hex,
    redact_cert_file,
    redact_conf,
    redact_log,
    redact_psk,
    redact_sad,
    redact_script,
)
from racoondbg.model.base import secret_tag

SYSROOTS = Path(__file__).parent.parent / "fixtures" / "sysroots"

LONG_KEY = """192.0.2.1 198.51.100.7~
	esp mode=tunnel spi=2864434397(0xaabbccdd) reqid=16386(0x00004002)
	E: aes-cbc  76543210 fedcba98 89abcdef 01234567
	A: hmac-sha512  00112233 44556677 8899aabb ccddeeff 00112233 44556677 8899aabb ccddeeff
 99887766 55443322 11009988 77665544 33221100 99887766 55443322 11009988
	seq=0x00000000 replay=4 flags=0x00000000 state=mature~
""".replace("~", " ")


def run(redactor, text: str) -> str:  # type: ignore[no-untyped-def]
    return "".join(redactor(text.splitlines(keepends=True)))


def test_setkey_keys_become_pseudo_keys_in_the_same_layout() -> None:
    out = run(redact_sad, LONG_KEY)
    lines, before = out.splitlines(), LONG_KEY.splitlines()
    assert len(lines) == len(before)
    for secret in ("76543210", "fedcba98", "00112233", "99887766", "11009988"):
        assert secret not in out
    assert lines[2].startswith("\tE: aes-cbc  ") and len(lines[2]) == len(before[2])
    assert lines[3].startswith("\tA: hmac-sha512  ") and len(lines[3]) == len(before[3])
    assert lines[4].startswith(" ") and not lines[4].startswith("\t") and len(lines[4]) == len(before[4])
    assert [len(w) for w in lines[4].split()] == [8] * 8
    assert lines[0] == before[0] and lines[5] == before[5]


def test_equal_keys_give_equal_pseudo_keys_on_two_boxes() -> None:
    assert run(redact_sad, LONG_KEY) == run(redact_sad, LONG_KEY)
    assert pseudo_hex("0123abcd") == pseudo_hex("0123ABCD") != pseudo_hex("0123abce")
    assert len(pseudo_hex("ab" * 100)) == 200


def test_xfrm_state_keys() -> None:
    text = ("\tauth-trunc hmac(sha1) 0xfeedface0123456789abcdeffeedface01234567 96\n"
            "\tenc cbc(aes) 0x0a0b0c0d0e0f10111213141516171819\n"
            "\taead rfc4106(gcm(aes)) 0x00112233445566778899aabbccddeeff01020304 128\n")
    out = run(redact_sad, text)
    assert "feedface" not in out and "0a0b0c0d" not in out and "00112233" not in out
    assert out.splitlines()[0].endswith(" 96") and out.splitlines()[2].endswith(" 128")
    assert [len(line) for line in out.splitlines()] == [len(line) for line in text.splitlines()]


def test_setkey_script_keys_hex_and_quoted() -> None:
    text = ('add 192.0.2.1 198.51.100.7 esp 0x1001 -m tunnel -E aes-cbc 0x00112233445566778899aabbccddeeff\n'
            '        -A hmac-sha1 "twenty-byte-secret!!";\n'
            "add 192.0.2.1 198.51.100.7 esp 0x1002 -E null -A null;\n")
    out = run(redact_script, text)
    assert "00112233" not in out and "twenty-byte-secret" not in out
    assert '-A hmac-sha1 "' in out and len(out.splitlines()[1]) == len(text.splitlines()[1])
    assert out.splitlines()[2] == text.splitlines()[2]


def test_psk_keys_become_tags_keeping_what_goes_wrong() -> None:
    text = ('# comment stays\n198.51.100.7\tplain-secret\n203.0.113.9  "quoted secret"  \r\n'
            "peer@example.org 0x41424344\n\nlonely-identifier\n")
    out = run(redact_psk, text)
    lines = out.splitlines(keepends=True)
    assert lines[0] == "# comment stays\n"
    assert lines[1] == f"198.51.100.7\t{secret_tag('plain-secret')}\n"
    assert lines[2] == f'203.0.113.9  "{secret_tag("quoted secret")}"  \r\n'
    assert lines[3] == f"peer@example.org {secret_tag(b'ABCD')}\n"
    assert lines[4:] == ["\n", "lonely-identifier\n"]
    assert "plain-secret" not in out and "quoted secret" not in out


def test_apple_shared_secret_in_racoon_conf() -> None:
    out = run(redact_conf, '        shared_secret key "apple-secret";\n        lifetime time 1 hour;\n')
    assert "apple-secret" not in out
    assert out.startswith(f'        shared_secret key "{secret_tag("apple-secret")}";')


def test_log_hexdumps_collapse_to_a_tag_line() -> None:
    text = ("2026-11-28 17:05:12: DEBUG: SKEYID computed:\n2026-11-28 17:05:12: DEBUG: \n"
            "5ec2e7ed ab12cd34 ef56ab78 cd90ef12\n34567890 0badc0de\n2026-11-28 17:05:13: INFO: next\n")
    out = run(redact_log, text)
    lines = out.splitlines()
    assert "5ec2e7ed" not in out and "0badc0de" not in out
    assert lines[0] == "2026-11-28 17:05:12: DEBUG: SKEYID computed:"
    assert len(lines) == 4 and lines[3] == "2026-11-28 17:05:13: INFO: next"
    first, second = lines[2].split()
    assert len(first) == 8 and len(second) == 4


def test_private_key_replaced_by_its_public_half(tmp_path: Path) -> None:
    src = SYSROOTS / "linux-setkey" / "etc/racoon/certs/gw-a.key"
    dst = tmp_path / "gw-a.key"
    assert redact_cert_file(src, dst)
    secret_body = src.read_text().splitlines()[3]
    out = dst.read_text()
    assert secret_body not in out and "PRIVATE KEY-----" not in out.replace("RSA PRIVATE KEY redacted", "")
    assert "-----BEGIN PUBLIC KEY-----" in out
    assert oct(dst.stat().st_mode & 0o777) == oct(src.stat().st_mode & 0o777)
    cert = SYSROOTS / "linux-setkey" / "etc/racoon/certs/cacert.pem"
    assert not redact_cert_file(cert, tmp_path / "ca.pem")
    assert (tmp_path / "ca.pem").read_bytes() == cert.read_bytes()


def test_copy_redacted_reports_changes(tmp_path: Path) -> None:
    src = tmp_path / "psk.txt"
    src.write_text("198.51.100.7 k\n")
    assert copy_redacted(src, tmp_path / "a", "psk")
    src.write_text("# nothing secret\n")
    assert not copy_redacted(src, tmp_path / "b", "psk")
    assert not copy_redacted(src, tmp_path / "c", None)


def test_included_configs_are_redacted_too(tmp_path: Path) -> None:
    from racoondbg.live.collect import CollectOptions, collect

    root = tmp_path / "root"
    (root / "etc/racoon/peers").mkdir(parents=True)
    (root / "etc/os-release").write_text('PRETTY_NAME="Test"\n')
    (root / "etc/racoon/racoon.conf").write_text('path include "/etc/racoon";\ninclude "peers/*.conf";\n')
    (root / "etc/racoon/peers/mac.conf").write_text('remote 198.51.100.2 { shared_secret key "in-include-secret"; }\n')
    collect(tmp_path / "c", CollectOptions(root=root))
    copied = (tmp_path / "c/root/etc/racoon/peers/mac.conf").read_text()
    assert "in-include-secret" not in copied and secret_tag("in-include-secret") in copied
