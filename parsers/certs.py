"""The certificate directory (`path certificate`): certificates, keys, CRLs and OpenSSL hash links.

Every file is read the way racoon (through OpenSSL) would read it: PEM or DER certificates,
private keys (encrypted or not), CRLs, racoon's plain-RSA key files, and the ``HHHHHHHH.N`` /
``HHHHHHHH.rN`` hash links OpenSSL's directory lookup follows. Symlinks are resolved by hand,
under ``--root`` for absolute targets, with a bound on hops so loops end. Private key material
never leaves this module: keys are described by type, encryption and public-key fingerprint.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.utils import CryptographyDeprecationWarning

from racoondbg.inputs import InputKind, LoadOptions
from racoondbg.model.base import Location, ParseError
from racoondbg.model.certs import Certificate, CertStore, Crl, FileFacts, HashLink, PrivateKey
from racoondbg.sources import Source

from .openssl_hash import DerError, children, name_hash, name_hash_old, read_tlv, tbs_names

#: Bounds: entries looked at, bytes read per file, symlink hops followed.
MAX_ENTRIES = 500
MAX_FILE_BYTES = 1 << 20
MAX_HOPS = 16

HASH_LINK = re.compile(r"^(?P<hash>[0-9a-f]{8})\.(?P<crl>r?)(?P<index>\d+)$")
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)
_CERT_LABELS = {b"CERTIFICATE", b"X509 CERTIFICATE", b"TRUSTED CERTIFICATE"}
_KEY_LABELS = {
    b"PRIVATE KEY": None,
    b"ENCRYPTED PRIVATE KEY": None,
    b"RSA PRIVATE KEY": "RSA",
    b"EC PRIVATE KEY": "EC",
    b"DSA PRIVATE KEY": "DSA",
}
_PLAIN_RSA = re.compile(
    rb"^\s*:\s*RSA\s*\{.*?Modulus:\s*0x([0-9a-fA-F]+).*?PublicExponent:\s*0x([0-9a-fA-F]+)", re.S | re.M
)
#: Files an `openssl ca` working directory holds besides certificates (the seed's cookbook).
_HOUSEKEEPING = re.compile(
    rb"(-----BEGIN (NEW )?CERTIFICATE REQUEST-----|^\[ ?(ca|req|CA_default) ?\]|^[VRE]\t\d{12,14}Z\t"
    rb"|^[0-9A-F]{2,40}\s*$|^unique_subject)",
    re.M,
)
_SHA256 = hashes.SHA256()
_Ext = TypeVar("_Ext", bound=x509.ExtensionType)
_SHORT_NAMES = {
    "countryName": "C",
    "stateOrProvinceName": "ST",
    "localityName": "L",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "commonName": "CN",
    "domainComponent": "DC",
    "userID": "UID",
    "emailAddress": "emailAddress",
}


def public_key_fingerprint(public_key: Any) -> str:
    """A short, non-secret fingerprint of a public key (SHA-256 of its SubjectPublicKeyInfo)."""
    spki = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(spki).hexdigest()[:16]


def oneline(name: x509.Name) -> str:
    """A Name the way racoon logs it (OpenSSL's oneline form): ``/C=JP/O=ihack/CN=nagasaki``."""
    parts = []
    for rdn in name.rdns:
        values = []
        for attr in rdn:
            label = _SHORT_NAMES.get(attr.oid._name, attr.oid._name)
            if label == "Unknown OID":
                label = attr.oid.dotted_string
            value = attr.value if isinstance(attr.value, str) else attr.value.hex()
            values.append(f"{label}={value}")
        parts.append("+".join(values))
    return "".join(f"/{p}" for p in parts)


@dataclass(slots=True)
class _Resolved:
    path: Path | None
    target: str | None
    problem: str | None  # "broken" or "loop"


def resolve(path: Path, directory: Path, root: Path) -> _Resolved:
    """Follow a symlink chain by hand: absolute targets live under ``root``; at most MAX_HOPS hops."""
    current = path
    seen: set[str] = set()
    for _ in range(MAX_HOPS):
        if not current.is_symlink():
            if not current.exists():
                return _Resolved(None, None, "broken")
            inside = current.parent.resolve() == directory.resolve()
            return _Resolved(current, current.name if inside else None, None)
        text = os.readlink(current)
        step = root / text.lstrip("/") if text.startswith("/") else current.parent / text
        key = os.path.normpath(step)
        if key in seen:
            return _Resolved(None, None, "loop")
        seen.add(key)
        current = Path(key)
    return _Resolved(None, None, "loop")


def _facts(path: Path, target: Path | None) -> FileFacts:
    link = path.lstat()
    is_link = stat.S_ISLNK(link.st_mode)
    info = target.stat() if target is not None else link
    return FileFacts.of_mode(info.st_mode, info.st_uid, info.st_gid, os.readlink(path) if is_link else None)


def host_path(path: Path, root: Path) -> str | None:
    """``path`` as the analysed host names it: relative to ``--root``, made absolute."""
    try:
        return "/" + str(path.resolve().relative_to(root.resolve())).removeprefix(".")
    except (ValueError, OSError):
        return None


def _read(path: Path, size: int = MAX_FILE_BYTES) -> bytes:
    with path.open("rb") as fh:
        return fh.read(size)


def _certificate(name: str, loc: Location, cert: x509.Certificate, encoding: str, facts: FileFacts) -> Certificate:
    issuer_der, subject_der = tbs_names(cert.tbs_certificate_bytes)
    basic = _extension(cert, x509.BasicConstraints)
    # without basicConstraints, a v1 self-signed certificate is a CA to OpenSSL
    is_ca = basic.ca if basic is not None else issuer_der == subject_der
    san = _extension(cert, x509.SubjectAlternativeName)
    sans = [(type(g).__name__.removesuffix("Name"), str(g.value)) for g in san] if san is not None else []
    ski = _extension(cert, x509.SubjectKeyIdentifier)
    aki = _extension(cert, x509.AuthorityKeyIdentifier)
    return Certificate(
        name=name,
        location=loc,
        encoding=encoding,
        subject=oneline(cert.subject),
        issuer=oneline(cert.issuer),
        subject_hash=name_hash(subject_der),
        subject_hash_old=name_hash_old(subject_der),
        issuer_hash=name_hash(issuer_der),
        issuer_hash_old=name_hash_old(issuer_der),
        serial=f"{cert.serial_number:X}",
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        is_ca=is_ca,
        self_signed=issuer_der == subject_der,
        fingerprint="sha256:" + cert.fingerprint(_SHA256).hex()[:32],
        public_key=public_key_fingerprint(cert.public_key()),
        subject_alt_names=tuple(sans),
        crl_distribution=_extension(cert, x509.CRLDistributionPoints) is not None,
        key_id=ski.digest.hex() if ski is not None else None,
        authority_key_id=aki.key_identifier.hex() if aki is not None and aki.key_identifier else None,
        file=facts,
    )


def _extension(cert: x509.Certificate, kind: type[_Ext]) -> _Ext | None:
    """The value of an extension, None when absent or malformed (OpenSSL ignores what it cannot parse)."""
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except (x509.ExtensionNotFound, ValueError):
        return None


def _crl_issuer_der(tbs: bytes) -> bytes:
    outer = read_tlv(tbs, 0)
    fields = children(tbs, outer)
    if fields and fields[0].tag == 0x02:  # version
        fields = fields[1:]
    if len(fields) < 2:
        raise DerError("TBSCertList has no issuer")
    return fields[1].raw(tbs)


def _crl(name: str, loc: Location, crl: x509.CertificateRevocationList, encoding: str, facts: FileFacts) -> Crl:
    issuer_der = _crl_issuer_der(crl.tbs_certlist_bytes)
    return Crl(
        name=name,
        location=loc,
        encoding=encoding,
        issuer=oneline(crl.issuer),
        issuer_hash=name_hash(issuer_der),
        issuer_hash_old=name_hash_old(issuer_der),
        last_update=crl.last_update_utc,
        next_update=crl.next_update_utc,
        fingerprint="sha256:" + crl.fingerprint(_SHA256).hex()[:32],
        file=facts,
    )


def _private_key(name: str, loc: Location, data: bytes, label: bytes | None, facts: FileFacts) -> PrivateKey:
    """Describe a key without keeping it: the key object lives only inside this function."""
    encoding = "pem" if label is not None else "der"
    encrypted = label == b"ENCRYPTED PRIVATE KEY" or b"Proc-Type: 4,ENCRYPTED" in data
    key_type = _KEY_LABELS.get(label) if label is not None else None
    public = None
    if not encrypted:
        loader = serialization.load_pem_private_key if label is not None else serialization.load_der_private_key
        try:
            key = loader(data, password=None)
        except TypeError:
            encrypted = True
        else:
            key_type = type(key).__name__.removeprefix("_").split("PrivateKey")[0].upper() or key_type
            public = public_key_fingerprint(key.public_key())
            del key
    return PrivateKey(name, loc, encoding, key_type, encrypted, public, facts)


def _plain_rsa(name: str, loc: Location, match: re.Match[bytes], facts: FileFacts) -> PrivateKey:
    modulus, exponent = int(match.group(1), 16), int(match.group(2), 16)
    public = public_key_fingerprint(rsa.RSAPublicNumbers(exponent, modulus).public_key())
    return PrivateKey(name, loc, "plain_rsa", "RSA", False, public, facts)


def classify(name: str, loc: Location, data: bytes, facts: FileFacts) -> Certificate | PrivateKey | Crl | None:
    """What one file holds for racoon: the first certificate, key or CRL in it (PEM first, then DER).

    OpenSSL accepts certificates ``cryptography`` only warns about (negative serial numbers in old
    CAs): those warnings are not the user's business here.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return _classify(name, loc, data, facts)


def _classify(name: str, loc: Location, data: bytes, facts: FileFacts) -> Certificate | PrivateKey | Crl | None:
    for match in _PEM_BLOCK.finditer(data):
        label, block = match.group(1), match.group(0)
        if label in _CERT_LABELS:
            return _certificate(name, loc, x509.load_pem_x509_certificate(_as_plain_pem(block)), "pem", facts)
        if label in _KEY_LABELS:
            return _private_key(name, loc, block, label, facts)
        if label == b"X509 CRL":
            return _crl(name, loc, x509.load_pem_x509_crl(block), "pem", facts)
    plain = _PLAIN_RSA.search(data)
    if plain:
        return _plain_rsa(name, loc, plain, facts)
    if data[:1] == b"\x30":
        return _der(name, loc, data, facts)
    return None


def _as_plain_pem(block: bytes) -> bytes:
    """``TRUSTED CERTIFICATE`` / ``X509 CERTIFICATE`` blocks hold a certificate first; re-label them."""
    label = block.split(b"-----", 2)[1].removeprefix(b"BEGIN ")
    if label == b"CERTIFICATE":
        return block
    return block.replace(label, b"CERTIFICATE")


def _der(name: str, loc: Location, data: bytes, facts: FileFacts) -> Certificate | PrivateKey | Crl | None:
    try:
        return _certificate(name, loc, x509.load_der_x509_certificate(data), "der", facts)
    except ValueError:
        pass
    try:
        return _crl(name, loc, x509.load_der_x509_crl(data), "der", facts)
    except ValueError:
        pass
    try:
        return _private_key(name, loc, data, None, facts)
    except (ValueError, TypeError):
        return None


def is_housekeeping(data: bytes) -> bool:
    """An `openssl ca` working file (index.txt, serial, openssl.cnf, a request) or an empty file."""
    return not data.strip() or bool(_HOUSEKEEPING.search(data[:4096]))


def scan(source: Source, options: LoadOptions) -> CertStore:
    """Read a certificate directory as racoon would."""
    directory = source.path
    dir_name = source.name.rstrip("/")
    store = CertStore(Location(source.name), directory=_facts(directory, directory),
                      host_path=host_path(directory, options.root))
    names = sorted(os.listdir(directory))
    if len(names) > MAX_ENTRIES:
        store.errors.append(ParseError(Location(source.name), f"more than {MAX_ENTRIES} entries; the rest skipped"))
    for name in names[:MAX_ENTRIES]:
        path = directory / name
        loc = Location(f"{dir_name}/{name}")
        try:
            _scan_entry(store, path, name, loc, directory, options.root)
        except (OSError, ValueError, DerError) as err:
            reason = err.strerror.lower() if isinstance(err, OSError) and err.strerror else str(err)
            store.errors.append(ParseError(loc, f"cannot use {name}: {reason}"))
            store.other.append(name)
    has_links = bool(store.links)
    store.flavour = "hashed" if has_links else "plain"
    return store


def _scan_entry(store: CertStore, path: Path, name: str, loc: Location, directory: Path, root: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        return
    resolved = resolve(path, directory, root)
    link_match = HASH_LINK.match(name)
    facts = _facts(path, resolved.path)
    content = None
    if resolved.path is not None and resolved.path.is_file():
        data = _read(resolved.path)
        try:
            content = classify(name, loc, data, facts)
        except (ValueError, DerError) as err:
            store.errors.append(ParseError(loc, f"{name} looks like a certificate file but does not parse: {err}"))
    if link_match:
        store.links.append(_hash_link(name, loc, link_match, facts, resolved, content))
        points_inside = facts.is_symlink and resolved.target is not None
        if points_inside:
            return  # the same file is listed under its own name
    if resolved.problem is not None and not link_match:
        store.broken.append(name)
        return
    if isinstance(content, Certificate):
        store.certificates.append(content)
    elif isinstance(content, PrivateKey):
        store.keys.append(content)
    elif isinstance(content, Crl):
        store.crls.append(content)
    elif not link_match:
        store.other.append(name)


def _hash_link(
    name: str,
    loc: Location,
    match: re.Match[str],
    facts: FileFacts,
    resolved: _Resolved,
    content: Certificate | PrivateKey | Crl | None,
) -> HashLink:
    crl = bool(match.group("crl"))
    wanted = Crl if crl else Certificate
    unusable = None
    yields = None
    if isinstance(content, wanted):
        yields = content.fingerprint
        if content.encoding != "pem":
            unusable = "it is DER; OpenSSL's hashed-directory lookup (as racoon sets it up) reads PEM only"
    elif resolved.problem is None:
        unusable = f"it does not hold a {'CRL' if crl else 'certificate'} in PEM"
    return HashLink(
        name=name,
        location=loc,
        hash=match.group("hash"),
        index=int(match.group("index")),
        crl=crl,
        is_symlink=facts.is_symlink,
        link_text=facts.link_text,
        target=resolved.target if facts.is_symlink else name,
        broken=resolved.problem == "broken",
        loop=resolved.problem == "loop",
        yields=yields if unusable is None else None,
        unusable=unusable,
    )


def sniff_directory(source: Source, head: bytes) -> int:
    """A directory of certificate material: certificates, keys, CRLs, hash links and CA bookkeeping only."""
    try:
        names = sorted(os.listdir(source.path))[:MAX_ENTRIES]
    except OSError:
        return 0
    material = 0
    for name in names:
        path = source.path / name
        if HASH_LINK.match(name) and (path.is_symlink() or path.is_file()):
            material += 1
            continue
        if path.is_dir() or not path.is_file():
            continue
        try:
            data = _read(path, 65536)
        except OSError:
            continue
        if _PEM_BLOCK.search(data) or _PLAIN_RSA.search(data) or _is_der_material(data):
            material += 1
        elif not is_housekeeping(data):
            return 0
    return 90 if material else 0


def _is_der_material(data: bytes) -> bool:
    if data[:1] != b"\x30":
        return False
    try:
        return read_tlv(data, 0).end == len(data)
    except DerError:
        return False


def load_directory(source: Source, options: LoadOptions) -> CertStore:
    if not source.path.is_dir():
        raise ParseError(Location(source.name), "not a directory", "`path certificate` names a directory")
    return scan(source, options)


INPUT_KINDS = [
    InputKind(
        name="certs",
        part="certs",
        description="certificate directory (path certificate): certificates, keys, CRLs, hash links",
        sniff=sniff_directory,
        load=load_directory,
        directory=True,
        aliases=("certdir", "certificates"),
    )
]
