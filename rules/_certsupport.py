"""What the certificate and PSK rules share: the reference time, racoon's OpenSSL, lookups, commands.

No rules live here; the certs_* modules import these helpers.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import PurePosixPath
from typing import Any

from racoondbg.evidence import Evidence
from racoondbg.model.base import Location
from racoondbg.model.certs import Certificate, CertStore, HashLink, PrivateKey
from racoondbg.model.finding import EvidenceRef

#: Attributes a log model may carry its time span under (newest first); read defensively.
_LOG_TIME_ATTRS = ("last_time", "end_time", "end", "last", "first_time", "start_time", "start")
_OPENSSL_VERSION = re.compile(r"(\d+)\.(\d+)")


@dataclass(frozen=True, slots=True)
class ReferenceTime:
    when: datetime
    label: str  # "now" or "the time of racoon.log"
    evidence: EvidenceRef | None = None


def reference_time(ev: Evidence) -> ReferenceTime:
    """The time validity is judged at: the latest log time in the evidence, else now."""
    until = getattr(ev.options, "until", None)
    if isinstance(until, datetime):
        return ReferenceTime(_aware(until), "the --until time")
    latest: tuple[datetime, Any] | None = None
    for log in ev.logs:
        for attr in _LOG_TIME_ATTRS:
            value = getattr(log, attr, None)
            if isinstance(value, datetime):
                value = _aware(value)
                if latest is None or value > latest[0]:
                    latest = (value, log)
                break
    if latest is None:
        return ReferenceTime(datetime.now(timezone.utc), "now")
    loc = getattr(latest[1], "location", None)
    where = loc.path if isinstance(loc, Location) else "the log"
    ref = EvidenceRef.at(loc, note="reference time") if isinstance(loc, Location) else None
    return ReferenceTime(latest[0], f"the time of {where} ({latest[0]:%Y-%m-%d %H:%M} UTC)", ref)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


@dataclass(frozen=True, slots=True)
class OpensslStyle:
    """Which hash racoon's OpenSSL looks up: ``"new"`` (>= 1.0), ``"old"`` (0.9.x) or None (unknown)."""

    style: str | None
    version: str | None = None
    evidence: EvidenceRef | None = None


def openssl_style(ev: Evidence) -> OpensslStyle:
    """From the ``This product linked OpenSSL ...`` log line when a log has it."""
    for log in ev.logs:
        version = getattr(log, "openssl_version", None)
        if not version:
            continue
        match = _OPENSSL_VERSION.search(str(version))
        if not match:
            continue
        style = "old" if int(match.group(1)) == 0 else "new"
        loc = getattr(log, "location", None)
        ref = EvidenceRef.at(loc, excerpt=f"This product linked {version}") if isinstance(loc, Location) else None
        return OpensslStyle(style, str(version), ref)
    return OpensslStyle(None)


def cert_dir(ev: Evidence, store: CertStore) -> str:
    """The directory as racoon names it (`path certificate`), else where we found it."""
    paths = getattr(ev.conf, "paths", None) or {}
    return str(paths.get("certificate") or store.host_path or store.location.path)


def in_dir(directory: str, command: str) -> str:
    return f"cd {shlex.quote(directory)} && {command}"


def loaded_through(store: CertStore, hash_value: str) -> list[Certificate]:
    """The certificates OpenSSL's hashed lookup loads for a hash (``H.0``, ``H.1``... up to a gap)."""
    found = []
    for link in store.links_for(hash_value):
        cert = store.by_fingerprint(link.yields) if link.yields else None
        if cert is not None:
            found.append(cert)
    return found


def hash_of(cert: Certificate, style: str) -> str:
    return cert.subject_hash if style == "new" else cert.subject_hash_old


def free_index(store: CertStore, hash_value: str) -> int:
    return len(store.links_for(hash_value))


def distinct_cas(store: CertStore) -> list[Certificate]:
    """Each CA certificate once (a hash-link copy and its original are the same CA)."""
    seen: set[str] = set()
    cas = []
    for cert in sorted(store.certificates, key=lambda c: (_is_link_name(c.name), c.name)):
        if cert.is_ca and cert.fingerprint not in seen:
            seen.add(cert.fingerprint)
            cas.append(cert)
    return cas


def _is_link_name(name: str) -> bool:
    return bool(re.match(r"^[0-9a-f]{8}\.r?\d+$", name))


def cert_ref(cert: Certificate, note: str | None = None) -> EvidenceRef:
    kind = "CA" if cert.is_ca else "certificate"
    return EvidenceRef.at(cert.location, excerpt=f"{kind} {cert.subject}", note=note)


def link_ref(link: HashLink, note: str | None = None) -> EvidenceRef:
    arrow = f" -> {link.link_text}" if link.link_text else " (a copy)"
    return EvidenceRef.at(link.location, excerpt=f"{link.name}{arrow}", note=note)


# ---- what racoon.conf says (read defensively: the conf model grows on its own branch) ----


@dataclass(frozen=True, slots=True)
class OwnPair:
    """A certificate and key racoon will use, as racoon.conf names them (or guessed by file stem)."""

    cert_name: str | None
    key_name: str | None
    location: Location | None  # the certificate_type line, None when guessed
    peer: str | None = None


def own_pairs(ev: Evidence, store: CertStore) -> list[OwnPair]:
    """``certificate_type x509 "c" "k"`` of every remote; without a config, non-CA certs and same-stem keys."""
    pairs = [pair for remote in remotes(ev) if (pair := _pair_of(remote)) is not None]
    if ev.conf is not None and getattr(ev.conf, "remotes", None) is not None:
        return _unique(pairs)
    keys = {PurePosixPath(k.name).stem: k for k in store.keys}
    guessed = []
    for cert in store.certificates:
        if cert.is_ca or _is_link_name(cert.name):
            continue
        key = keys.get(PurePosixPath(cert.name).stem)
        guessed.append(OwnPair(cert.name, key.name if key else None, None))
    return guessed


def _unique(pairs: list[OwnPair]) -> list[OwnPair]:
    seen: set[tuple[str | None, str | None]] = set()
    out = []
    for pair in pairs:
        if (pair.cert_name, pair.key_name) not in seen:
            seen.add((pair.cert_name, pair.key_name))
            out.append(pair)
    return out


def remotes(ev: Evidence) -> Iterator[Any]:
    yield from getattr(ev.conf, "remotes", None) or ()


def _pair_of(remote: Any) -> OwnPair | None:
    """The files of ``certificate_type x509 "cert" "key";`` (or ``plain_rsa "key"``) in a remote."""
    if getattr(remote, "certificate_type", None) not in ("x509", "plain_rsa"):
        return None
    files = {ref.role: ref.path for ref in getattr(remote, "files", None) or ()}
    key = files.get("private_key") or files.get("plain_rsa_key")
    loc = getattr(remote, "certificate_location", None) or getattr(remote, "location", None)
    return OwnPair(files.get("certificate"), key, loc if isinstance(loc, Location) else None, peer_of(remote))


def peer_of(remote: Any) -> str | None:
    """The peer address a remote block is for; None for ``remote anonymous``."""
    selector = getattr(remote, "selector", None)
    if getattr(selector, "kind", None) == "address":
        return str(selector.address)  # type: ignore[union-attr]
    endpoint = getattr(remote, "remote_address", None)
    return str(endpoint.address) if endpoint is not None else None


def auth_methods(remote: Any) -> set[str]:
    return {
        str(proposal.auth_method.name)
        for proposal in getattr(remote, "proposals", None) or ()
        if getattr(proposal, "auth_method", None) is not None
    }


def verifies_certificates(ev: Evidence) -> bool:
    """Whether racoon will verify peer certificates: true without a config (we cannot tell otherwise)."""
    if ev.conf is None or getattr(ev.conf, "remotes", None) is None:
        return True
    return any(
        getattr(r, "verify_cert", None) is not False
        and (getattr(r, "certificate_type", None) == "x509" or "rsasig" in auth_methods(r))
        for r in remotes(ev)
    )


def named_cas(ev: Evidence) -> set[str]:
    """Files named by ``ca_type x509 "..."``: racoon has those CAs without a hash lookup."""
    return {ref.path for r in remotes(ev) for ref in getattr(r, "files", None) or () if ref.role == "ca"}


def relative(name: str, directory: str) -> str:
    """A certificate_type file name as it sits in the store: racoon prefixes relative names with the dir."""
    if name.startswith("/"):
        prefix = directory.rstrip("/") + "/"
        return name[len(prefix):] if name.startswith(prefix) else name
    return name


def own_certificate(ev: Evidence, store: CertStore, pair: OwnPair) -> Certificate | None:
    return store.certificate(relative(pair.cert_name, cert_dir(ev, store))) if pair.cert_name else None


def own_key(ev: Evidence, store: CertStore, pair: OwnPair) -> PrivateKey | None:
    return store.key(relative(pair.key_name, cert_dir(ev, store))) if pair.key_name else None


def pair_refs(pair: OwnPair, *refs: EvidenceRef) -> list[EvidenceRef]:
    conf_ref = [EvidenceRef.at(pair.location, note="certificate_type")] if pair.location else []
    return [*refs, *conf_ref]
