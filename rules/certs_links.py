"""OpenSSL hash links in the certificate directory: how racoon finds its CAs (and CRLs)."""

from __future__ import annotations

import shlex
from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.certs import Certificate, CertStore, HashLink
from racoondbg.model.finding import EvidenceRef, Severity

from ._certsupport import (
    cert_dir,
    cert_ref,
    distinct_cas,
    free_index,
    hash_of,
    in_dir,
    link_ref,
    loaded_through,
    named_cas,
    openssl_style,
    own_certificate,
    own_pairs,
    relative,
    verifies_certificates,
)

_BOTH = {"new": "OpenSSL 1.0 or later", "old": "OpenSSL 0.9.x"}


def _linked(store: CertStore, ca: Certificate, style: str) -> bool:
    return any(c.fingerprint == ca.fingerprint for c in loaded_through(store, hash_of(ca, style)))


def _ln(store: CertStore, ca: Certificate, style: str) -> str:
    value = hash_of(ca, style)
    return f"ln -s {shlex.quote(ca.name)} {value}.{free_index(store, value)}"


@rule(
    "RDB501",
    "ca-hash-link-missing",
    title="A CA certificate has no hash link: racoon cannot find it",
    severity=Severity.ERROR,
    needs={"certs"},
    fix="ln -s ca.cert `openssl x509 -noout -hash -in ca.cert`.0",
)
def ca_hash_link_missing(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: a CA certificate lies in the certificate directory, but no file named after
    its subject-name hash (`HHHHHHHH.0`) leads to it.

    **Why racoon fails**: racoon does not read every file in `path certificate`. To verify a peer's
    certificate it asks OpenSSL for the issuer, and OpenSSL's hashed-directory lookup opens only
    `<hash of the issuer name>.0`, `.1`, ... Without the link the CA is invisible: racoon logs
    `unable to get local issuer certificate(20)` at debug level, answers with
    INVALID-CERT-AUTHORITY, and at the default log level both sides just retransmit — the seed's
    "no log messages to tell you what the Hell is going on".

    **Evidence it looks at**: every CA certificate in the directory (basicConstraints CA:TRUE or
    self-signed), its subject hash in both forms (`openssl x509 -hash` for OpenSSL >= 1.0,
    `-subject_hash_old` for 0.9.x), the `HHHHHHHH.N` links; the issuer of your own certificate;
    racoon's OpenSSL version from a log's `This product linked OpenSSL` line when one is given.

    **How to fix**: in the certificate directory, `ln -s ca.cert $(openssl x509 -noout -hash -in
    ca.cert).0` (or run `c_rehash .`), for the OpenSSL racoon is linked with. Alternatively name the
    CA explicitly with `ca_type x509 "ca.cert";` in the `remote` block.

    **References**: the seed mail "IPsec vs. OSX" (2002); failure catalog #17; OpenSSL
    `X509_LOOKUP_hash_dir`, `openssl-rehash(1)`.
    """
    store = ev.certs
    if store is None or not verifies_certificates(ev):
        return
    style = openssl_style(ev)
    directory = cert_dir(ev, store)
    explicit = {relative(name, directory) for name in named_cas(ev)}
    for ca in distinct_cas(store):
        if ca.name in explicit:
            continue  # `ca_type x509` names it: racoon has it without a hash lookup
        wanted = [style.style] if style.style else ["new", "old"]
        if any(link.yields == ca.fingerprint for link in store.links) or any(
            store.links_for(hash_of(ca, s)) for s in wanted
        ):
            continue  # linked in some form, or its name is taken: RDB502/RDB503 judge those links
        refs = [cert_ref(ca)]
        if style.evidence:
            refs.append(style.evidence)
        names = " or ".join(f"{hash_of(ca, s)}.0 ({_BOTH[s]})" for s in wanted)
        fix = in_dir(directory, _ln(store, ca, wanted[0]))
        if not style.style:
            fix += f"   # racoon linked with OpenSSL 0.9.x looks for the old name: {_ln(store, ca, 'old')}"
        yield Hit(
            message=(
                f"The CA {ca.subject} in {ca.name} has no hash link, so racoon never sees it and rejects "
                f"every peer certificate it signed (`unable to get local issuer certificate`). racoon "
                f"looks it up as {names} in {directory}."
            ),
            evidence=refs,
            fix=fix,
        )
    yield from _issuer_absent(ev, store, directory, style.style)


def _issuer_absent(ev: Evidence, store: CertStore, directory: str, style: str | None) -> Iterator[Hit]:
    """Your own certificate's CA is not in the directory at all (peers signed by it cannot be verified)."""
    if named_cas(ev):
        return  # `ca_type x509` names a CA racoon loads directly, wherever it lies
    reported: set[str] = set()
    for pair in own_pairs(ev, store):
        cert = own_certificate(ev, store, pair)
        if cert is None or cert.self_signed or cert.issuer in reported:
            continue
        if any(ca.subject == cert.issuer for ca in store.certificates) or any(
            loaded_through(store, h) for h in (cert.issuer_hash, cert.issuer_hash_old)
        ):
            continue
        link = cert.issuer_hash_old if style == "old" else cert.issuer_hash
        reported.add(cert.issuer)
        yield Hit(
            message=(
                f"{cert.name} was issued by {cert.issuer}, but that CA certificate is not in {directory}. "
                f"Peers whose certificates the same CA signed cannot be verified."
            ),
            evidence=[cert_ref(cert, note="issuer not found")],
            fix=in_dir(directory, f"cp /path/to/ca.cert . && ln -s ca.cert {link}.0"),
        )


@rule(
    "RDB502",
    "ca-hash-link-missing",
    title="A CA is linked only under the other OpenSSL version's hash",
    severity=Severity.WARNING,
    needs={"certs"},
    fix="ln -s ca.cert `openssl x509 -noout -hash -in ca.cert`.0",
)
def ca_hash_link_wrong_style(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: the CA has a hash link, but named with the hash of another OpenSSL
    generation than the one racoon uses.

    **Why racoon fails**: OpenSSL 1.0 changed the subject-name hash from MD5 over the raw name
    (`-subject_hash_old`) to SHA-1 over a canonical form (`-hash`). A link made on an old system
    (or by an old `c_rehash`) is invisible to a racoon linked with OpenSSL >= 1.0, and the reverse.
    The symptom is the same as a missing link: `unable to get local issuer certificate(20)`.

    **Evidence it looks at**: the CA's hash in both forms, the `HHHHHHHH.N` links, racoon's OpenSSL
    version (`This product linked OpenSSL ...` in a log). Without a log the rule only warns about a
    directory linked for OpenSSL 0.9.x alone, and names both links.

    **How to fix**: add the missing name beside the old one (both may exist), e.g.
    `ln -s ca.cert $(openssl x509 -noout -hash -in ca.cert).0`, or run `c_rehash` / `openssl rehash`
    with the OpenSSL racoon uses.

    **References**: OpenSSL 1.0.0 changelog (X509_NAME_hash); failure catalog #17.
    """
    store = ev.certs
    if store is None or not verifies_certificates(ev):
        return
    style = openssl_style(ev)
    directory = cert_dir(ev, store)
    for ca in distinct_cas(store):
        new, old = _linked(store, ca, "new"), _linked(store, ca, "old")
        if new == old:
            continue
        have, lack = ("new", "old") if new else ("old", "new")
        if style.style is None and lack == "old":
            continue  # linked for modern OpenSSL; only an old racoon would miss it, and nothing says so
        if style.style is not None and style.style == have:
            continue
        refs = [cert_ref(ca)] + [link_ref(lk) for lk in store.links_for(hash_of(ca, have))]
        known = style.style is not None
        if style.evidence:
            refs.append(style.evidence)
        reason = (f"racoon is linked with {style.version}, which looks for {hash_of(ca, lack)}.0"
                  if known else f"a racoon linked with {_BOTH[lack]} looks for {hash_of(ca, lack)}.0")
        yield Hit(
            message=(
                f"The CA {ca.subject} ({ca.name}) is linked only as {hash_of(ca, have)}.N, the "
                f"{_BOTH[have]} name; {reason}. racoon will not find the CA and rejects peer certificates."
            ),
            evidence=refs,
            fix=in_dir(directory, _ln(store, ca, lack)) + ("" if known else "   # keep the existing link as well"),
            severity=Severity.ERROR if known else None,
        )


@rule(
    "RDB503",
    "ca-hash-link-missing",
    title="A hash link leads OpenSSL to the wrong file, or nowhere",
    severity=Severity.ERROR,
    needs={"certs"},
    fix="ln -sf ca.cert `openssl x509 -noout -hash -in ca.cert`.0",
)
def stale_hash_link(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: a `HHHHHHHH.N` entry exists but does not give OpenSSL the CA it should:
    it is a broken symlink or a loop, it points at a DER file or at something that is not a
    certificate, its name is not the hash of what it points at (the CA was replaced or renamed),
    it still points at a superseded CA after a renewal, or it sits after a gap (`.1` without `.0`)
    where OpenSSL stops looking.

    **Why racoon fails**: OpenSSL opens `<hash>.0`, `<hash>.1`, ... and stops at the first name
    that is missing; it loads PEM only. A stale link makes racoon verify peers against the old CA
    (signature failure) or against nothing (`unable to get local issuer certificate(20)`).

    **Evidence it looks at**: every `HHHHHHHH.N` entry, what it resolves to (symlinks are
    followed, absolute targets under `--root`), the subject hash of the certificate it yields, and
    the other CA certificates with the same subject.

    **How to fix**: re-point the link at the current CA, `ln -sf ca.cert $(openssl x509 -noout
    -hash -in ca.cert).0`, remove dangling links, convert DER with `openssl x509 -inform DER`, or
    rebuild all links with `c_rehash .` / `openssl rehash .`.

    **References**: `openssl-rehash(1)`; OpenSSL `X509_LOOKUP_hash_dir`; failure catalog #17.
    """
    store = ev.certs
    if store is None or not verifies_certificates(ev):
        return
    directory = cert_dir(ev, store)
    for link in store.links:
        if link.crl:
            continue
        hit = _link_problem(store, link, directory)
        if hit is not None:
            yield hit


def _link_problem(store: CertStore, link: HashLink, directory: str) -> Hit | None:
    ref = link_ref(link)
    if link.broken or link.loop:
        what = "a symlink loop" if link.loop else f"a dangling symlink to {link.link_text}"
        owner = next((c for c in distinct_cas(store) if link.hash in (c.subject_hash, c.subject_hash_old)), None)
        return Hit(
            f"{link.name} is {what}; OpenSSL stops at it and loads no CA under {link.hash}"
            + (f", so {owner.name} ({owner.subject}) is never found." if owner else "."),
            [ref] + ([cert_ref(owner)] if owner else []),
            in_dir(directory, f"ln -sf {shlex.quote(owner.name)} {link.name}" if owner
                   else f"rm {link.name}   # then: c_rehash . (or openssl rehash .)"),
        )
    if link.unusable:
        return Hit(f"{link.name} cannot be used: {link.unusable}.", [ref],
                   in_dir(directory, f"openssl x509 -inform DER -in {link.target or link.name} -out ca.pem && "
                                     f"ln -sf ca.pem {link.name}"))
    if link.index > 0 and len(store.links_for(link.hash)) <= link.index:
        return Hit(f"{link.name} follows a gap ({link.hash}.{link.index - 1} is missing); OpenSSL stops at the "
                   f"gap and never reads it.", [ref],
                   in_dir(directory, f"mv {link.name} {link.hash}.{len(store.links_for(link.hash))}"))
    cert = store.by_fingerprint(link.yields) if link.yields else None
    if cert is None:
        return None
    if link.hash not in (cert.subject_hash, cert.subject_hash_old):
        return Hit(
            f"{link.name} holds {cert.subject} ({link.target}), whose hash is {cert.subject_hash} "
            f"(old style {cert.subject_hash_old}): the link name is stale, so OpenSSL finds it under "
            f"the wrong name and the CA under its real name not at all.",
            [ref, cert_ref(cert)],
            in_dir(directory, f"rm {link.name} && ln -s {link.target or link.name} {cert.subject_hash}.0"),
        )
    loaded = {x.fingerprint for x in loaded_through(store, link.hash)}
    current = _renewed(store, cert, loaded)
    if current is not None:
        return Hit(
            f"{link.name} still points at {link.target or link.name}, the superseded CA {cert.subject}; "
            f"{current.name} holds the renewed CA with the same name that no link leads to. Certificates "
            f"signed by the renewed CA fail to verify against the old one.",
            [ref, cert_ref(cert, note="superseded"), cert_ref(current, note="current")],
            in_dir(directory, f"ln -sf {shlex.quote(current.name)} {link.name}"),
        )
    return None


def _renewed(store: CertStore, linked: Certificate, loaded: set[str]) -> Certificate | None:
    """A CA with the linked CA's name that no link loads, and that signed a certificate the linked one did not."""
    for other in store.certificates:
        if other.fingerprint in loaded or not other.is_ca or other.subject != linked.subject:
            continue
        signed = [c for c in store.certificates if c.fingerprint != other.fingerprint and other.may_have_issued(c)]
        if any(not linked.may_have_issued(c) for c in signed) or (not signed and other.not_before > linked.not_before):
            return other
    return None


@rule(
    "RDB504",
    "crl-missing",
    title="A CRL racoon should use is not reachable",
    severity=Severity.WARNING,
    needs={"certs"},
    fix="ln -s ca.crl `openssl crl -noout -hash -in ca.crl`.r0",
)
def crl_missing(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: a CRL was put in the certificate directory but racoon cannot find it
    (no `HHHHHHHH.r0` link under its issuer's hash), or an `.rN` link leads nowhere.

    **Why racoon fails**: OpenSSL finds CRLs like CAs, through `<issuer hash>.r0`, `.r1`...
    racoon treats a missing CRL as a warning (`unable to get certificate CRL(3)`, benign on its
    own), so revoked peer certificates are silently accepted — the CRL you deployed does nothing.

    **Evidence it looks at**: the CRL files in the directory, their issuer hash, the `.rN` links.

    **How to fix**: `ln -s ca.crl $(openssl crl -noout -hash -in ca.crl).r0`, or `c_rehash .`.

    **References**: `openssl-rehash(1)`; failure catalog #30 (the benign CRL warning).
    """
    store = ev.certs
    if store is None:
        return
    directory = cert_dir(ev, store)
    reachable = {link.yields for link in store.links if link.crl and link.yields}
    for crl in store.crls:
        if crl.fingerprint in reachable or crl.name.startswith(f"{crl.issuer_hash}.r"):
            continue
        index = len(store.links_for(crl.issuer_hash, crl=True))
        yield Hit(
            f"The CRL {crl.name} of {crl.issuer} has no {crl.issuer_hash}.r{index} link: racoon never reads it "
            f"and accepts certificates it revokes.",
            [EvidenceRef.at(crl.location, excerpt=f"CRL of {crl.issuer}")],
            in_dir(directory, f"ln -s {shlex.quote(crl.name)} {crl.issuer_hash}.r{index}"),
        )
    for link in store.links:
        if link.crl and (link.broken or link.loop or link.unusable):
            why = link.unusable or ("a symlink loop" if link.loop else f"a dangling symlink to {link.link_text}")
            yield Hit(
                f"{link.name} should give OpenSSL a CRL but is {why}.",
                [link_ref(link)],
                in_dir(directory, f"rm {link.name}   # then link the current CRL: c_rehash ."),
            )
