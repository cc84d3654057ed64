"""Your own certificate and private key: present, valid now, matching, readable by racoon alone."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from datetime import datetime

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.base import Location
from racoondbg.model.certs import Certificate
from racoondbg.model.finding import EvidenceRef, Severity

from ._certsupport import (
    cert_dir,
    cert_ref,
    in_dir,
    own_certificate,
    own_key,
    own_pairs,
    pair_refs,
    reference_time,
)


def _key_ref(name: str, location: Location, note: str | None = None) -> EvidenceRef:
    return EvidenceRef.at(location, excerpt=f"private key {name}", note=note)


@rule(
    "RDB510",
    "cert-expired",
    title="A certificate is expired or not yet valid",
    severity=Severity.ERROR,
    needs={"certs"},
    fix="issue a new certificate (openssl ca ... -days N) or correct the clock",
)
def cert_expired(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: a certificate in the directory (your own, or a CA) is outside its
    notBefore..notAfter window at the reference time (the latest log time when a log is given,
    else now).

    **Why racoon fails**: the peer verifies your certificate and rejects an expired one
    (`certificate has expired(10)`) — racoon only *warns* about its own expired certificate, so
    the failure shows up on the other side. An expired CA makes every peer certificate it signed
    fail here. `certificate is not yet valid(9)` usually means a clock that is wrong (embedded
    boxes without RTC or NTP).

    A CRL racoon finds through its `HHHHHHHH.rN` link whose nextUpdate has passed is fatal too:
    `CRL has expired(12)` rejects every certificate of that CA.

    **Evidence it looks at**: notBefore/notAfter of every certificate in the directory,
    nextUpdate of every linked CRL; the reference time.

    **How to fix**: issue a new certificate (`openssl ca -in host.req -days 1461 ...`) and install it
    on this host; for a CA, renew it and update its hash link; for "not yet valid", set the clock;
    for a CRL, publish a fresh one (`openssl ca -gencrl -out ca.crl`).

    **References**: failure catalog #30 (`cert-verify-other`); RFC 5280 §4.1.2.5.
    """
    store = ev.certs
    if store is None:
        return
    ref = reference_time(ev)
    seen: set[str] = set()
    for cert in store.certificates:
        if cert.fingerprint in seen:
            continue
        seen.add(cert.fingerprint)
        problem = _validity(cert, ref.when)
        if problem is None:
            continue
        role = "CA" if cert.is_ca else "certificate"
        refs = [cert_ref(cert)] + ([ref.evidence] if ref.evidence else [])
        if problem == "expired":
            consequence = ("every peer certificate it signed fails to verify" if cert.is_ca
                           else "peers reject it with `certificate has expired(10)`")
            yield Hit(
                f"The {role} {cert.subject} in {cert.name} expired on {cert.not_after:%Y-%m-%d %H:%M} UTC "
                f"(judged at {ref.label}); {consequence}.",
                refs,
                fix=_renewal(cert),
            )
        else:
            yield Hit(
                f"The {role} {cert.subject} in {cert.name} is not valid before "
                f"{cert.not_before:%Y-%m-%d %H:%M} UTC (judged at {ref.label}): "
                f"`certificate is not yet valid(9)`; usually the clock of this host or the peer is wrong.",
                refs,
                fix="check `date -u` on both hosts and set the clock (ntpdate / ntpd)",
            )
    reachable = {link.yields for link in store.links if link.crl and link.yields}
    for crl in store.crls:
        if crl.fingerprint not in reachable or crl.next_update is None or crl.next_update >= ref.when:
            continue
        yield Hit(
            f"The CRL {crl.name} of {crl.issuer} expired on {crl.next_update:%Y-%m-%d %H:%M} UTC (judged at "
            f"{ref.label}); racoon finds it through its link and rejects every certificate of that CA with "
            f"`CRL has expired(12)`.",
            [EvidenceRef.at(crl.location, excerpt=f"CRL of {crl.issuer}")] + ([ref.evidence] if ref.evidence else []),
            fix=f"publish a fresh CRL: openssl ca -gencrl -out {crl.name} (keeps the link valid)",
        )


def _validity(cert: Certificate, when: datetime) -> str | None:
    if cert.not_after < when:
        return "expired"
    if cert.not_before > when:
        return "not yet valid"
    return None


def _renewal(cert: Certificate) -> str:
    if cert.is_ca:
        return "renew the CA, re-issue the host certificates, and re-create its hash link"
    stem = cert.name.rsplit(".", 1)[0]
    return f"renew it: openssl ca -config openssl.cnf -in {stem}.req -out {cert.name} -days 1461"


@rule(
    "RDB512",
    "cert-key-mismatch",
    title="The private key does not belong to the certificate",
    severity=Severity.ERROR,
    needs={"certs"},
    fix="install the key that was generated with this certificate's request",
)
def cert_key_mismatch(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: the certificate and the private key racoon uses (the pair in
    `certificate_type x509`, or a cert and key with the same file stem when no racoon.conf is
    given) hold different public keys.

    **Why racoon fails**: racoon signs with the key and sends the certificate; the peer checks the
    signature against the certificate's public key and fails (`signature verification failed` or
    AUTHENTICATION-FAILED). Typical after re-generating a key without re-issuing the certificate,
    or copying another host's key.

    **Evidence it looks at**: the public-key fingerprints of the certificate and of the
    (unencrypted) key — no key material is shown.

    **How to fix**: install the key generated together with this certificate's request, or issue
    a new certificate for the key. `openssl x509 -noout -modulus -in c | openssl md5` and
    `openssl rsa -noout -modulus -in k | openssl md5` must agree.

    **References**: failure catalog #30.
    """
    store = ev.certs
    if store is None:
        return
    for pair in own_pairs(ev, store):
        cert, key = own_certificate(ev, store, pair), own_key(ev, store, pair)
        if cert is None or key is None or key.public_key is None or key.public_key == cert.public_key:
            continue
        other = next((c for c in store.certificates if c.public_key == key.public_key), None)
        belongs = f"; it belongs to {other.name} ({other.subject})" if other else ""
        yield Hit(
            f"{key.name} is not the key of {cert.name} ({cert.subject}): the public keys differ "
            f"({cert.public_key} vs {key.public_key}){belongs}. Peers reject racoon's signature.",
            pair_refs(pair, cert_ref(cert), _key_ref(key.name, key.location)),
            fix=f"install the key that belongs to {cert.name}, or issue a new certificate for {key.name}",
            peer=pair.peer,
        )


@rule(
    "RDB513",
    "private-key-unreadable",
    title="racoon cannot read the private key (encrypted or not a key)",
    severity=Severity.ERROR,
    needs={"certs"},
    fix="openssl rsa -in host.key -out host.key.plain && mv host.key.plain host.key && chmod 600 host.key",
)
def private_key_unreadable(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: the private key racoon uses is passphrase-protected, or the key file does
    not hold a key racoon can read.

    **Why racoon fails**: racoon reads the key when a negotiation starts, without any passphrase
    callback — it cannot prompt. It logs `failed to get private key.` and phase 1 fails, while
    the daemon itself started "fine".

    **Evidence it looks at**: the key named by `certificate_type` (or the key with the same stem
    as a host certificate): `ENCRYPTED PRIVATE KEY` or `Proc-Type: 4,ENCRYPTED`.

    **How to fix**: store the key unencrypted and protect it by its mode instead:
    `openssl rsa -in host.key -out host.key.plain && mv host.key.plain host.key && chmod 600 host.key`
    (`openssl pkey` for EC keys).

    **References**: failure catalog #31; racoon's oakley.c.
    """
    store = ev.certs
    if store is None:
        return
    directory = cert_dir(ev, store)
    for pair in own_pairs(ev, store):
        key = own_key(ev, store, pair)
        if key is None or not key.encrypted:
            continue
        name = shlex.quote(key.name)
        yield Hit(
            f"{key.name} is encrypted with a passphrase; racoon cannot prompt for it and fails with "
            f"`failed to get private key.` when a negotiation starts.",
            pair_refs(pair, _key_ref(key.name, key.location, note="encrypted")),
            fix=in_dir(directory, f"openssl pkey -in {name} -out {name}.plain && mv {name}.plain {name} && "
                                  f"chmod 600 {name}"),
            peer=pair.peer,
        )


@rule(
    "RDB514",
    "private-key-permissions",
    title="A private key is readable by group or others, or owned by another user",
    severity=Severity.WARNING,
    needs={"certs"},
    fix="chmod 600 host.key && chown root host.key",
)
def private_key_permissions(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: a private key in the certificate directory grants access to its group or
    to everybody.

    **Why racoon fails**: racoon still uses the key, but anyone on the host can read it and
    impersonate this host to every peer that trusts its certificate. The seed's cookbook ends with
    `chmod go= *.key` for this reason.

    **Evidence it looks at**: the mode of every private key file (of the symlink's target).
    Modes are as found in the evidence: a copy made without `cp -p` may differ from the host.

    **How to fix**: `chmod 600 host.key` (and `chown root`).

    **References**: the seed mail "IPsec vs. OSX"; failure catalog #31.
    """
    store = ev.certs
    if store is None:
        return
    directory = cert_dir(ev, store)
    trusted = {0, store.directory.uid}  # root, or whoever owns a copied directory
    for key in store.keys:
        loose = key.file.group_or_other_access
        foreign = key.file.uid is not None and key.file.uid not in trusted
        if not loose and not foreign:
            continue
        name = shlex.quote(key.name)
        problems = ([f"mode {key.file.permissions} lets group or others read it"] if loose else []) + (
            [f"it is owned by uid {key.file.uid}, who can read and replace it"] if foreign else [])
        commands = ([f"chown root {name}"] if foreign else []) + ([f"chmod 600 {name}"] if loose else [])
        yield Hit(
            f"The private key {key.name}: {'; '.join(problems)}.",
            [_key_ref(key.name, key.location, note=f"mode {key.file.permissions}, uid {key.file.uid}")],
            fix=in_dir(directory, " && ".join(commands)),
        )
