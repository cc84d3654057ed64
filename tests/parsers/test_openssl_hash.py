"""OpenSSL's subject-name hashes in pure Python, proven against the openssl CLI."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from hypothesis import given, settings
from hypothesis import strategies as st
from racoondbg.parsers.openssl_hash import DerError, canonical_name, name_hash, name_hash_old, tbs_names

NAMES = sorted((Path(__file__).parent.parent / "fixtures" / "certs" / "names").glob("*.pem"))


def names_of(path: Path) -> tuple[bytes, bytes]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return tbs_names(cert.tbs_certificate_bytes)


def test_there_are_enough_tricky_names() -> None:
    assert len(NAMES) >= 20


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")
@pytest.mark.parametrize("path", NAMES, ids=lambda p: p.name)
def test_hashes_equal_the_openssl_cli(path: Path) -> None:
    out = subprocess.run(
        ["openssl", "x509", "-noout", "-hash", "-subject_hash_old", "-issuer_hash", "-issuer_hash_old",
         "-in", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    issuer, subject = names_of(path)
    assert [name_hash(subject), name_hash_old(subject), name_hash(issuer), name_hash_old(issuer)] == out


def test_known_values_without_openssl() -> None:
    """The seed's CA and host certificate, as `openssl x509 -hash / -subject_hash_old` printed them."""
    base = Path(__file__).parent.parent / "fixtures" / "certs" / "names"
    _, subject = names_of(base / "ca-ihack.pem")
    assert (name_hash(subject), name_hash_old(subject)) == ("75530703", "c45c5754")
    host_issuer, _ = names_of(base / "host-nagasaki.pem")
    assert name_hash(host_issuer) == "75530703"


def _name(*rdns: list[tuple[bytes, int, bytes]]) -> bytes:
    def tlv(tag: int, content: bytes) -> bytes:
        assert len(content) < 128
        return bytes([tag, len(content)]) + content

    sets = b"".join(
        tlv(0x31, b"".join(tlv(0x30, tlv(0x06, oid) + tlv(tag, value)) for oid, tag, value in rdn)) for rdn in rdns
    )
    return tlv(0x30, sets)


CN, ORG = b"\x55\x04\x03", b"\x55\x04\x0a"


def test_canonical_form_lowercases_ascii_collapses_spaces_and_makes_utf8() -> None:
    name = _name([(CN, 0x13, b"  Mixed \t CASE  Name ")])
    assert canonical_name(name) == bytes.fromhex("3118") + bytes.fromhex("3016 0603550403 0c0f") + b"mixed case name"


def test_equal_after_canonicalisation_means_equal_new_hash_but_not_old() -> None:
    a = _name([(ORG, 0x13, b"IHACK")], [(CN, 0x0C, b"ca  root")])
    b = _name([(ORG, 0x0C, b"ihack")], [(CN, 0x0C, b"  CA ROOT")])
    assert name_hash(a) == name_hash(b)
    assert name_hash_old(a) != name_hash_old(b)


def test_multi_valued_rdn_is_sorted_like_der_set_of() -> None:
    ab = _name([(CN, 0x0C, b"b"), (ORG, 0x0C, b"a")])
    ba = _name([(ORG, 0x0C, b"a"), (CN, 0x0C, b"b")])
    assert name_hash(ab) == name_hash(ba)


def test_bmp_and_t61_strings_convert_to_utf8() -> None:
    assert name_hash(_name([(CN, 0x1E, "Ω X".encode("utf-16-be"))])) == name_hash(_name([(CN, 0x0C, "Ω x".encode())]))
    # non-ASCII letters are not lower-cased (OpenSSL folds ASCII only)
    assert name_hash(_name([(CN, 0x0C, "Ω".encode())])) != name_hash(_name([(CN, 0x0C, "ω".encode())]))
    assert name_hash(_name([(CN, 0x14, "é".encode("latin-1"))])) == name_hash(_name([(CN, 0x0C, "é".encode())]))


def test_empty_name_hashes_the_empty_string() -> None:
    assert name_hash(b"\x30\x00") == "eea339da"  # SHA-1("") = da39a3ee..., little-endian


def test_garbage_is_a_der_error() -> None:
    with pytest.raises(DerError):
        name_hash(b"\x31\x05abc")
    with pytest.raises(DerError):
        canonical_name(b"\x30\x10\x31")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_never_anything_but_der_error(data: bytes) -> None:
    for fn in (name_hash, name_hash_old, canonical_name):
        with contextlib.suppress(DerError):
            fn(data)
