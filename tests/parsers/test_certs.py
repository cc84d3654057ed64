"""The certificate directory parser: what racoon (through OpenSSL) would find in it."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from racoondbg.parsers.certs import load_directory, sniff_directory

from racoondbg.cli import cli
from racoondbg.inputs import LoadOptions, kind_named, sniff
from racoondbg.sources import Source

SCENARIOS = Path(__file__).parent.parent / "fixtures" / "certs" / "scenarios"
PKI = Path(__file__).parent.parent / "fixtures" / "certs" / "pki"
CA_HASH, CA_HASH_OLD = "75530703", "c45c5754"


def certs_dir(scenario: str) -> Path:
    return SCENARIOS / scenario / "etc" / "racoon" / "certs"


def scan(path: Path, root: Path = Path("/")):  # type: ignore[no-untyped-def]
    return load_directory(Source(path, "certs"), LoadOptions(root=root))


def test_healthy_directory_fields() -> None:
    store = scan(certs_dir("healthy"))
    assert store.flavour == "hashed"
    assert [c.name for c in store.certificates] == ["ihack.cert", "nagasaki.cert"]
    ca, host = store.certificates
    assert ca.is_ca and ca.self_signed and not host.is_ca
    assert ca.subject == "/C=US/ST=Massachusetts/L=Boston/O=ihack.net/CN=ihack.net CA"
    assert (ca.subject_hash, ca.subject_hash_old) == (CA_HASH, CA_HASH_OLD)
    assert host.issuer_hash == CA_HASH and host.issuer == ca.subject
    assert host.subject == "/C=US/ST=Massachusetts/O=ihack.net/CN=nagasaki.ihack.net"
    assert ca.may_have_issued(host) and not host.may_have_issued(ca)
    assert host.not_after.year >= 2040
    [key] = store.keys
    assert (key.name, key.key_type, key.encrypted, key.encoding) == ("nagasaki.key", "RSA", False, "pem")
    assert key.public_key == host.public_key
    [link] = store.links
    assert (link.name, link.hash, link.index, link.crl, link.is_symlink) == (f"{CA_HASH}.0", CA_HASH, 0, False, True)
    assert link.target == "ihack.cert" and link.yields == ca.fingerprint and link.link_text == "ihack.cert"
    assert store.links_for(CA_HASH) == [link] and store.links_for(CA_HASH_OLD) == []
    assert store.errors == [] and store.other == [] and store.broken == []


def test_copy_counts_as_a_link_and_as_a_certificate() -> None:
    store = scan(certs_dir("copy-link"))
    [link] = store.links
    assert not link.is_symlink and link.target == f"{CA_HASH}.0"
    assert {c.name for c in store.certificates} == {"ihack.cert", f"{CA_HASH}.0", "nagasaki.cert"}
    assert link.yields == store.certificate("ihack.cert").fingerprint  # type: ignore[union-attr]


def test_broken_link_and_encrypted_keys() -> None:
    [link] = scan(certs_dir("broken-link")).links
    assert link.broken and not link.loop and link.yields is None and link.link_text == "ihack-2002.cert"
    [key] = scan(certs_dir("encrypted-key")).keys
    assert key.encrypted and key.public_key is None
    [legacy] = scan(certs_dir("encrypted-key-legacy")).keys
    assert legacy.encrypted and legacy.key_type == "RSA"
    [ec] = scan(certs_dir("ec-key")).keys
    assert ec.key_type == "EC" and not ec.encrypted


def test_crl_and_its_link() -> None:
    store = scan(certs_dir("with-crl"))
    [crl] = store.crls
    assert crl.issuer_hash == CA_HASH and crl.next_update is not None
    [crl_link] = [lk for lk in store.links if lk.crl]
    assert crl_link.name == f"{CA_HASH}.r0" and crl_link.yields == crl.fingerprint


def _copy(scenario: str, tmp_path: Path) -> Path:
    target = tmp_path / "certs"
    shutil.copytree(certs_dir(scenario), target, symlinks=True)
    return target


def test_symlink_loop_is_bounded(tmp_path: Path) -> None:
    d = _copy("healthy", tmp_path)
    os.symlink("b.pem", d / "a.pem")
    os.symlink("a.pem", d / "b.pem")
    os.symlink("abcdef01.1", d / "abcdef01.0")
    os.symlink("abcdef01.0", d / "abcdef01.1")
    store = scan(d)
    assert {"a.pem", "b.pem"} <= set(store.broken)
    assert all(lk.loop for lk in store.links if lk.hash == "abcdef01")


def test_absolute_link_resolves_under_root(tmp_path: Path) -> None:
    root = tmp_path / "sysroot"
    d = root / "etc" / "racoon" / "certs"
    shutil.copytree(certs_dir("no-link"), d, symlinks=True)
    os.symlink("/etc/racoon/certs/ihack.cert", d / f"{CA_HASH}.0")
    store = scan(d, root)
    [link] = store.links
    assert link.target == "ihack.cert" and not link.broken
    assert store.host_path == "/etc/racoon/certs"


def test_der_certificate_and_der_link_are_told_apart(tmp_path: Path) -> None:
    from cryptography import x509

    d = _copy("no-link", tmp_path)
    der = x509.load_pem_x509_certificate((d / "ihack.cert").read_bytes()).public_bytes(serialization.Encoding.DER)
    (d / "ihack.der").write_bytes(der)
    os.symlink("ihack.der", d / f"{CA_HASH}.0")
    store = scan(d)
    assert store.certificate("ihack.der").encoding == "der"  # type: ignore[union-attr]
    [link] = store.links
    assert link.yields is None and "DER" in (link.unusable or "")


def test_plain_rsa_key_file(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    n, e = key.public_key().public_numbers().n, key.public_key().public_numbers().e
    (tmp_path / "plain.rsa").write_text(
        f"# : PUB 0sAQ...\n: RSA\t{{\n\t# RSA 1024 bits   nagasaki\n\tModulus: 0x{n:x}\n\tPublicExponent: 0x{e:x}\n"
        "\tPrivateExponent: 0x00\n\t}\n# pubkey=0sAQ\n"
    )
    [plain] = scan(tmp_path).keys
    assert (plain.encoding, plain.key_type, plain.encrypted) == ("plain_rsa", "RSA", False)


def test_sniff_claims_cert_dirs_and_openssl_ca_workdirs_only(tmp_path: Path) -> None:
    assert sniff_directory(Source(certs_dir("healthy"), "x"), b"") == 90
    work = _copy("no-link", tmp_path)
    (work / "index.txt").write_text("V\t410101000000Z\t\t01\tunknown\t/CN=nagasaki\n")
    (work / "serial").write_text("02\n")
    (work / "openssl.cnf").write_text("[ ca ]\ndefault_ca = CA_default\n[ CA_default ]\ndir = .\n")
    (work / "nagasaki.req").write_text("-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n")
    assert sniff(Source(work, "w"), b"", directory=True) == kind_named("certs")
    assert sniff_directory(Source(SCENARIOS / "healthy", "x"), b"") == 0  # racoon.conf beside etc/
    (work / "racoon.conf").write_text('path certificate "/etc/racoon/certs";\n')
    assert sniff_directory(Source(work, "w"), b"") == 0
    assert sniff_directory(Source(tmp_path / "missing", "m"), b"") == 0


def test_parse_certs_prints_json_without_key_material() -> None:
    result = CliRunner().invoke(cli, ["parse", "certs", str(certs_dir("healthy"))])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [k["name"] for k in data["keys"]] == ["nagasaki.key"]
    body = (certs_dir("healthy") / "nagasaki.key").read_text().splitlines()[1:-1]
    assert not any(line in result.output for line in body)
    assert "PRIVATE KEY" not in result.output


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.binary(max_size=300), max_size=4), st.booleans())
def test_fuzz_directory_never_raises(tmp_path: Path, contents: list[bytes], pem: bool) -> None:
    d = tmp_path / f"fuzz{abs(hash(tuple(contents)))}{pem}"
    d.mkdir()
    for i, data in enumerate(contents):
        if pem:
            data = b"-----BEGIN CERTIFICATE-----\n" + data + b"\n-----END CERTIFICATE-----\n"
        (d / f"{i:08x}.0").write_bytes(data)
    store = scan(d)
    assert len(store.links) == len(contents)


def test_not_a_directory_is_a_parse_error(tmp_path: Path) -> None:
    from racoondbg.model import ParseError

    (tmp_path / "f").write_text("x")
    with pytest.raises(ParseError):
        scan(tmp_path / "f")


SYSTEM_CAS = Path("/etc/ssl/certs")


@pytest.mark.skipif(not any(SYSTEM_CAS.glob("*.0")), reason="no c_rehash'ed system CA directory")
def test_system_ca_links_agree_with_our_hashes() -> None:
    """c_rehash named every link in the system CA directory: our hash of each target must be its name."""
    store = scan(SYSTEM_CAS)
    checked = 0
    for link in store.links:
        cert = store.by_fingerprint(link.yields) if link.yields else None
        if cert is not None:
            assert link.hash in (cert.subject_hash, cert.subject_hash_old), link.name
            checked += 1
    assert checked >= 20
