"""What racoon.conf promises and the certificate directory or psk.txt cannot keep (needs racoon.conf)."""

from __future__ import annotations

import difflib
import ipaddress
import re
import shlex
from collections.abc import Iterator
from typing import Any

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.certs import Certificate
from racoondbg.model.finding import EvidenceRef, Severity

from ._certsupport import (
    auth_methods,
    cert_dir,
    cert_ref,
    own_certificate,
    own_key,
    own_pairs,
    pair_refs,
    peer_of,
    relative,
    remotes,
)
from .certs_psk import psk_path


@rule(
    "RDB511",
    "cert-verify-other",
    title="The certificate or key racoon.conf names is not in the certificate directory",
    severity=Severity.ERROR,
    needs={"certs", "conf"},
    fix='copy the file into the certificate directory, or correct certificate_type x509 "cert" "key";',
)
def own_cert_missing(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: `certificate_type x509 "host.cert" "host.key";` names a file that is not
    in the `path certificate` directory (relative names are looked up there), or is not a
    certificate.

    **Why racoon fails**: racoon reads the files only when a negotiation starts, so it starts
    "fine" and then logs `failed to get my CERT` / `failed to get private key` for every peer.

    **Evidence it looks at**: racoon.conf's `certificate_type` lines and `path certificate`; the
    files in the directory.

    **How to fix**: copy the certificate and key for this host into the directory (see the seed's
    cookbook), or correct the names in `certificate_type`.

    **References**: failure catalog #30 and #31; "What users wish existed" #3 (`strace -eopen racoon`).
    """
    store = ev.certs
    if store is None:
        return
    directory = cert_dir(ev, store)
    for pair in own_pairs(ev, store):
        for name, what in ((pair.cert_name, "certificate"), (pair.key_name, "private key")):
            if name is None:
                continue
            local = relative(name, directory)
            if local.startswith("/"):
                continue  # outside the certificate directory: not in the evidence, cannot judge
            found = own_certificate(ev, store, pair) if what == "certificate" else own_key(ev, store, pair)
            if found is not None:
                continue
            present = store.has_entry(local)
            state = ("is there but holds no " + what) if present else "does not exist"
            if local in store.broken:
                state = "is a dangling symlink"
            yield Hit(
                f"racoon.conf names the {what} {name}, but {directory}/{local} {state}; racoon fails every "
                f"negotiation with `failed to get my CERT` / `failed to get private key`.",
                pair_refs(pair, EvidenceRef(f"{store.location.path}", note=f"{local} {state}")),
                fix=f"install the {what} as {directory}/{local} (or correct certificate_type)",
                peer=pair.peer,
            )






@rule(
    "RDB532",
    "psk-not-found",
    title="A peer authenticated by pre-shared key has no line in psk.txt",
    severity=Severity.ERROR,
    needs={"psk", "conf"},
    fix="add `<peer address or ID> <key>` to psk.txt",
)
def psk_not_found_static(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: a `remote` block uses `authentication_method pre_shared_key` (or
    `xauth_psk_*`), and psk.txt has no line for the identifier racoon will look up.

    **Why racoon fails**: racoon looks the key up by the peer's ID payload when it has one before
    computing SKEYID (aggressive mode, with `peers_identifier`), and otherwise — always in main
    mode, where the ID arrives encrypted — by the peer's address. With no line it logs
    `couldn't find the pskey for <ip>.` and phase 1 fails after MM3/MM4.

    **Evidence it looks at**: racoon.conf's `remote` blocks (address, exchange modes,
    `peers_identifier`, authentication methods) and the identifiers in psk.txt (exact match).

    **How to fix**: add a line `<address or ID><TAB><key>` for the peer, with the same key as the
    peer has.

    **References**: failure catalog #6; racoon.conf(5) `path pre_shared_key`.
    """
    psk = ev.psk
    if psk is None:
        return
    for remote, peer in _psk_peers(ev):
        wanted = _lookup_ids(remote, peer)
        if not wanted or any(psk.lookup(i) for i in wanted):
            continue
        refs = [EvidenceRef.at(remote.location, excerpt=remote.label(), note="authentication_method pre_shared_key"),
                EvidenceRef.at(psk.location, note="no line for " + " or ".join(wanted))]
        near = difflib.get_close_matches(wanted[-1], [e.identifier for e in psk.entries], n=1, cutoff=0.8)
        hint = f" ({near[0]} is there: a typo, or the peer's old address?)" if near else ""
        yield Hit(
            f"racoon will look up the pre-shared key for {' or '.join(wanted)}, but {psk_path(ev, psk)} has no "
            f"such line{hint}: phase 1 fails with `couldn't find the pskey for {wanted[-1]}.`",
            refs,
            fix=f"printf '{wanted[-1]}\\t<the key the peer has>\\n' >> {shlex.quote(psk_path(ev, psk))}",
            peer=wanted[-1],
        )




_PSK_METHODS = re.compile(r"^(pre_shared_key|xauth_psk_(server|client))$")


def _psk_peers(ev: Evidence) -> Iterator[tuple[Any, str | None]]:
    """(remote, peer address) for every remote authenticated by a pre-shared key.

    ``remote anonymous`` stands for the peers the kernel's policies send IPsec to (tunnel
    endpoints, or the far host of a transport policy) that no address-specific remote covers.
    """
    psk_remotes = [r for r in remotes(ev) if any(_PSK_METHODS.match(m) for m in auth_methods(r))]
    specific = {peer_of(r) for r in remotes(ev)} - {None}
    for remote in psk_remotes:
        peer = peer_of(remote)
        if peer is not None:
            yield remote, peer
        elif getattr(remote.selector, "kind", None) == "anonymous":
            for address in sorted(_policy_peers(ev) - specific):
                yield remote, address


def _policy_peers(ev: Evidence) -> set[str]:
    peers: set[str] = set()
    policies = list(getattr(ev.spd, "policies", None) or ())
    for script in ev.scripts:
        policies.extend(getattr(script, "policies", None) or ())
    for policy in policies:
        if getattr(policy, "direction", None) != "out" or getattr(policy, "action", None) != "ipsec":
            continue
        for request in getattr(policy, "requests", None) or ():
            if request.mode == "tunnel" and request.dst:
                peers.add(str(request.dst))
            elif request.mode == "transport" and _single_host(policy.dst):
                peers.add(str(policy.dst).split("/", 1)[0])
    return peers


def _single_host(text: Any) -> bool:
    try:
        return ipaddress.ip_network(str(text).split("[", 1)[0], strict=False).num_addresses == 1
    except ValueError:
        return False


def _lookup_ids(remote: Any, peer: str | None) -> list[str]:
    """What racoon tries, in order: the peer's ID (aggressive mode only: main mode's ID arrives
    encrypted with the key), then the peer's address."""
    ids: list[str] = []
    if "aggressive" in (getattr(remote, "exchange_modes", None) or ()):
        ids += [str(i.value) for i in getattr(remote, "peers_identifiers", None) or () if i.value]
    if peer is not None:
        ids.append(peer)
    return ids


@rule(
    "RDB540",
    "id-mismatch",
    title="The identifier racoon sends does not match its certificate",
    severity=Severity.ERROR,
    needs={"certs", "conf"},
    fix="my_identifier asn1dn;",
)
def id_mismatch_static(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: with certificate authentication, the ID racoon sends (`my_identifier`)
    must agree with its certificate: `asn1dn "DN"` with the certificate's subject, `fqdn` /
    `user_fqdn` / `address` with a subjectAltName of that type and value. The default
    `my_identifier` is `address`, which needs an IP subjectAltName most certificates lack.

    **Why racoon fails**: the peer compares the ID payload with the certificate it received and
    rejects the exchange: `ID mismatched with ASN1 SubjectName.`, `ID mismatched with
    subjectAltName.` or `failed to get subjectAltName` (usually a forgotten `my_identifier
    asn1dn`), then INVALID-ID-INFORMATION.

    **Evidence it looks at**: each `remote` with `certificate_type x509`: its `my_identifier`,
    and the subject and subjectAltNames of the certificate it names.

    **How to fix**: `my_identifier asn1dn;` (without a string: racoon takes the subject from the
    certificate), or issue a certificate whose subjectAltName carries the FQDN / address.

    **References**: failure catalog #18; racoon.conf(5) `my_identifier`.
    """
    store = ev.certs
    if store is None:
        return
    for remote in remotes(ev):
        if getattr(remote, "certificate_type", None) != "x509" or "rsasig" not in auth_methods(remote):
            continue
        pair = next((p for p in own_pairs(ev, store) if p.location == _cert_loc(remote)), None)
        cert = own_certificate(ev, store, pair) if pair else None
        if cert is None:
            continue
        ident = getattr(remote, "my_identifier", None)
        problem = _id_problem(ident, cert)
        if problem is None:
            continue
        refs = [EvidenceRef.at(ident.location, note="my_identifier")] if ident is not None else [
            EvidenceRef.at(remote.location, excerpt=remote.label(), note="no my_identifier: address is sent")]
        fix = "my_identifier asn1dn;"
        kind, value = getattr(ident, "kind", None), getattr(ident, "value", None)
        if kind in ("fqdn", "user_fqdn") and value:
            fix += f"   (or issue a certificate with subjectAltName = {'DNS' if kind == 'fqdn' else 'email'}:{value})"
        yield Hit(problem, [*refs, cert_ref(cert)], fix=fix, peer=peer_of(remote))


def _cert_loc(remote: Any) -> Any:
    return getattr(remote, "certificate_location", None) or remote.location


_DN_PART = re.compile(r"\s*((?:[^,\\]|\\.)+)")


def dn_parts(text: str) -> list[tuple[str, str]]:
    """``C=JP, O=WIDE, CN=foo`` (racoon's asn1dn string) or ``/C=JP/O=WIDE/CN=foo`` as (type, value) pairs."""
    pieces = text.strip("/").split("/") if text.startswith("/") else [m.group(1) for m in _DN_PART.finditer(text)]
    parts = []
    for piece in pieces:
        for atom in piece.split("+"):
            key, _, value = atom.partition("=")
            parts.append((key.strip().upper(), value.strip().replace("\\,", ",")))
    return parts


def _dn_matches(want: list[tuple[str, str]], have: list[tuple[str, str]]) -> bool:
    """racoon's eay_cmp_asn1dn: the same attributes in the same order, ``*`` matching any value."""
    return len(want) == len(have) and all(
        w[0] == h[0] and w[1] in ("*", h[1]) for w, h in zip(want, have, strict=True)
    )


def _id_problem(ident: Any, cert: Certificate) -> str | None:
    kind = getattr(ident, "kind", None) or "address"
    value = getattr(ident, "value", None)
    sans = {(k.upper(), v.lower()) for k, v in cert.subject_alt_names}
    if kind == "asn1dn":
        if value is None:
            return None
        if _dn_matches(dn_parts(value), dn_parts(cert.subject)):
            return None
        return (f'my_identifier asn1dn "{value}" is not the subject of {cert.name} ({cert.subject}); the peer '
                f"rejects it with `ID mismatched with ASN1 SubjectName.`")
    san_type = {"fqdn": "DNS", "user_fqdn": "RFC822", "address": "IPADDRESS"}.get(kind)
    if san_type is None:
        return None
    if kind == "address":
        if any(k == "IPADDRESS" for k, _ in sans):
            return None
        return (f"No my_identifier is set, or it is `address`: racoon sends its IP address as ID, but {cert.name} "
                f"has no IP subjectAltName; the peer fails with `failed to get subjectAltName` / `ID mismatched "
                f"with subjectAltName.`")
    if value is not None and (san_type, value.lower()) in sans:
        return None
    names = ", ".join(f"{k}:{v}" for k, v in sorted(sans)) or "none"
    return (f'my_identifier {kind} "{value}" is not among the subjectAltNames of {cert.name} ({names}); the '
            f"peer fails with `ID mismatched with subjectAltName.`")
