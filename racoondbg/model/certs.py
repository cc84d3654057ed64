"""Certificate directories and pre-shared key files, as racoon sees them.

Nothing here holds a secret: private keys are described (type, encrypted or not, public-key
fingerprint), pre-shared keys are kept as :func:`racoondbg.model.base.secret_tag` tags only.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, field
from datetime import datetime

from racoondbg.model.base import Location, ParseError


@dataclass(frozen=True, slots=True)
class FileFacts:
    """What ``lstat``/``stat`` said about a file: racoon cares about modes and owners."""

    permissions: str | None = None  # the mode bits as chmod writes them: "0600"
    uid: int | None = None
    gid: int | None = None
    is_symlink: bool = False
    link_text: str | None = None

    @classmethod
    def of_mode(cls, mode: int, uid: int, gid: int, link_text: str | None = None) -> FileFacts:
        return cls(f"{stat.S_IMODE(mode):04o}", uid, gid, link_text is not None, link_text)

    @property
    def group_or_other_access(self) -> bool:
        """Whether group or others have any access (racoon's test for secret files)."""
        return self.permissions is not None and bool(int(self.permissions, 8) & (stat.S_IRWXG | stat.S_IRWXO))


@dataclass(frozen=True, slots=True)
class Certificate:
    """One X.509 certificate found in the directory (a file, or a hash link's target)."""

    name: str
    location: Location
    encoding: str  # "pem" or "der"
    subject: str
    issuer: str
    subject_hash: str
    subject_hash_old: str
    issuer_hash: str
    issuer_hash_old: str
    serial: str
    not_before: datetime
    not_after: datetime
    is_ca: bool
    self_signed: bool
    fingerprint: str
    public_key: str
    subject_alt_names: tuple[tuple[str, str], ...] = ()
    crl_distribution: bool = False
    key_id: str | None = None  # subjectKeyIdentifier, hex
    authority_key_id: str | None = None  # authorityKeyIdentifier's keyIdentifier, hex
    file: FileFacts = field(default_factory=FileFacts)

    def may_have_issued(self, other: Certificate) -> bool:
        """Whether this CA can be ``other``'s issuer as OpenSSL checks it: the name, then the key id."""
        if other.issuer != self.subject:
            return False
        return other.authority_key_id is None or self.key_id is None or other.authority_key_id == self.key_id


@dataclass(frozen=True, slots=True)
class PrivateKey:
    """A private key file, described without its key material."""

    name: str
    location: Location
    encoding: str  # "pem", "der" or "plain_rsa"
    key_type: str | None  # "RSA", "EC", ... (None when encrypted and unknown)
    encrypted: bool
    public_key: str | None  # fingerprint of the public half; None when it cannot be read
    file: FileFacts = field(default_factory=FileFacts)


@dataclass(frozen=True, slots=True)
class Crl:
    """A certificate revocation list."""

    name: str
    location: Location
    encoding: str
    issuer: str
    issuer_hash: str
    issuer_hash_old: str
    last_update: datetime
    next_update: datetime | None
    fingerprint: str
    file: FileFacts = field(default_factory=FileFacts)


@dataclass(frozen=True, slots=True)
class HashLink:
    """An OpenSSL hash-directory entry ``HHHHHHHH.N`` (certificate) or ``HHHHHHHH.rN`` (CRL).

    ``target`` is the directory entry the link resolves to (itself for a copy), ``None`` when it
    leaves the directory or does not resolve. ``yields`` is the fingerprint of the certificate
    (or CRL) OpenSSL would load through it, ``None`` when it loads nothing.
    """

    name: str
    location: Location
    hash: str
    index: int
    crl: bool
    is_symlink: bool
    link_text: str | None
    target: str | None
    broken: bool = False
    loop: bool = False
    yields: str | None = None
    unusable: str | None = None  # why OpenSSL cannot load the target (DER, not a certificate...)


@dataclass(slots=True)
class CertStore:
    """The directory named by `path certificate`, with every file racoon may read from it."""

    location: Location
    flavour: str | None = None
    errors: list[ParseError] = field(default_factory=list)
    certificates: list[Certificate] = field(default_factory=list)
    keys: list[PrivateKey] = field(default_factory=list)
    crls: list[Crl] = field(default_factory=list)
    links: list[HashLink] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)  # dangling or looping symlinks (not hash links)
    other: list[str] = field(default_factory=list)  # files that are none of the above
    directory: FileFacts = field(default_factory=FileFacts)
    host_path: str | None = None  # where the directory lies on the analysed host (under --root)

    def certificate(self, name: str) -> Certificate | None:
        """The certificate in the file ``name`` (as racoon.conf names it, relative to the directory)."""
        return next((c for c in self.certificates if c.name == name), None)

    def key(self, name: str) -> PrivateKey | None:
        return next((k for k in self.keys if k.name == name), None)

    def by_fingerprint(self, fingerprint: str) -> Certificate | None:
        return next((c for c in self.certificates if c.fingerprint == fingerprint), None)

    def has_entry(self, name: str) -> bool:
        """Whether anything (even an unreadable or broken file) of that name is in the directory."""
        names = [c.name for c in self.certificates] + [k.name for k in self.keys] + [c.name for c in self.crls]
        return name in names or name in [lk.name for lk in self.links] or name in self.broken or name in self.other

    def links_for(self, hash_value: str, *, crl: bool = False) -> list[HashLink]:
        """The hash links OpenSSL tries for a hash, in lookup order, stopping at the first gap."""
        found = {link.index: link for link in self.links if link.hash == hash_value and link.crl == crl}
        ordered = []
        index = 0
        while index in found:
            ordered.append(found[index])
            index += 1
        return ordered


@dataclass(frozen=True, slots=True)
class PskEntry:
    """One psk.txt line: the identifier in clear, the key only as a tag.

    ``key_tag`` is the tag of the key exactly as racoon uses it (hex decoded for ``0x`` keys,
    trailing blanks and ``\\r`` included). The flags describe slips that are easy to make.
    ``key`` holds the key in clear only when the user asked for it (``--show-keys``).
    """

    identifier: str
    key_tag: str
    location: Location
    hex: bool = False
    bad_hex: bool = False
    trailing_space: bool = False
    carriage_return: bool = False
    quoted: bool = False
    key: str | None = None


@dataclass(slots=True)
class PskFile:
    """psk.txt: identifiers and (never shown) keys, plus the file facts racoon checks."""

    location: Location
    flavour: str | None = None
    errors: list[ParseError] = field(default_factory=list)
    entries: list[PskEntry] = field(default_factory=list)
    file: FileFacts = field(default_factory=FileFacts)
    regular: bool = True
    directory_uid: int | None = None
    host_path: str | None = None  # where the file lies on the analysed host (under --root)

    def lookup(self, identifier: str) -> PskEntry | None:
        """The entry racoon uses for an identifier: the first line whose identifier is equal."""
        return next((e for e in self.entries if e.identifier == identifier), None)
