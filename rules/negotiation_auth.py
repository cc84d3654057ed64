"""Authentication failures in racoon logs: pre-shared keys, identifiers, certificates, Xauth."""

from __future__ import annotations

from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import Severity
from racoondbg.model.log import Kind

from .negotiation_evidence import at, by_peer, events, notifies, peer_words, refs, times

#: X509 verify errors that mean "the issuing CA was not found" (the hash-link problem).
_ISSUER_NOT_FOUND = {"20", "2"}
#: X509 verify errors racoon tolerates (a missing CRL).
_TOLERATED = {"3"}


@rule("RDB320", "psk-not-found", title="No pre-shared key for the peer", severity=Severity.ERROR, needs={"log"},
      fix="Add a line `<peer address or identifier> <key>` to the file named by `path pre_shared_key`.")
def psk_not_found(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** racoon looked up the peer's identifier and then its address in the pre-shared key file
    and found neither.

    **Why racoon fails:** without a key it cannot compute SKEYID, so phase 1 stops after message 3/4 (main) or
    1 (aggressive): `couldn't find the pskey for <ip>.` (`couldn't find the pskey by address` on macOS).

    **Evidence it looks at:** those lines.

    **How to fix:** add the address or identifier the peer really presents (behind NAT: its private address; with
    FQDN identifiers: the name), re-read is automatic.

    **References:** failure catalog #6.
    """
    for (_, peer), found in by_peer(events(ev, Kind.PSK_NOT_FOUND)).items():
        who = found[0].data.get("peer") or peer
        yield Hit(message=f"racoon has no pre-shared key for {who or 'the peer'} ({times(len(found))}, first at "
                          f"{at(found[0])}).", evidence=refs(found), peer=peer,
                  fix=f"Add `{who or '<peer>'} <key>` to psk.txt (and check `path pre_shared_key`).")


@rule("RDB321", "psk-value-mismatch", title="Both sides have a pre-shared key, but not the same",
      severity=Severity.ERROR, needs={"log"},
      fix="Re-enter the key on both ends as plain text (no quotes, no trailing blanks or CR), `chmod 600 psk.txt`.")
def psk_value_mismatch(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** the authentication hash did not verify, or the first encrypted message decrypted into
    garbage — the two ends derived different keys.

    **Why racoon fails:** with pre-shared keys the encryption key comes from the PSK, so a different key turns
    main-mode message 5 into junk (`invalid length of payload`, `ignore the packet, received unexpecting payload
    type <random>.`) or fails `HASH mismatched`. The peer may report PAYLOAD-MALFORMED, INVALID-HASH-INFORMATION
    or AUTHENTICATION-FAILED.

    **Evidence it looks at:** those lines and notifies in phase 1.

    **How to fix:** make the keys identical (watch quotes, trailing blanks, CRLF, the identity the key is filed
    under).

    **References:** failure catalog #9.
    """
    local = list(events(ev, Kind.HASH_MISMATCH, Kind.DECRYPT_GARBAGE, where=lambda e: e.data.get("phase") != "2"))
    remote = list(notifies(ev, ["PAYLOAD-MALFORMED", "INVALID-HASH-INFORMATION", "AUTHENTICATION-FAILED"], phase=1))
    for (_, peer), found in by_peer(local).items():
        yield Hit(message=f"Phase 1 {peer_words(peer)} failed to verify the peer's hash / decrypt its message "
                          f"({times(len(found))}): the pre-shared keys differ (or a different key was chosen for "
                          "this identity).", evidence=refs(found), peer=peer)
    for (_, peer), found in by_peer(remote).items():
        if (found[0].location.path, peer) in {(e.location.path, e.peer) for _, e in local}:
            continue
        yield Hit(message=f"The peer {peer or ''} rejected our authentication with {found[0].data.get('notify')}: "
                          "most often a different pre-shared key. The peer's log (`HASH mismatched` or `invalid "
                          "length of payload`) confirms it.", evidence=refs(found), peer=peer)


@rule("RDB322", "psk-file-permissions", title="racoon refuses the pre-shared key file", severity=Severity.ERROR,
      needs={"log"}, fix="`chown root:root psk.txt; chmod 600 psk.txt` (racoon re-reads it per lookup).")
def psk_file_permissions(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** the file named by `path pre_shared_key` is readable by others, not owned by root, or
    cannot be opened.

    **Why racoon fails:** racoon refuses such a file (`<path> has weak file permission`, `has invalid owner uid`,
    `failed to open pre_share_key file`), so every key lookup fails.

    **Evidence it looks at:** those lines.

    **How to fix:** owner root, mode 600.

    **References:** failure catalog #19.
    """
    found = [e for _, e in events(ev, Kind.PSK_FILE_PERMISSIONS, Kind.PSK_FILE_UNREADABLE)]
    for log in ev.logs:
        mine = [e for e in found if e.location.path == log.location.path]
        if not mine:
            continue
        path = mine[0].data.get("path", "the pre-shared key file")
        yield Hit(message=f"racoon refused {path}: {mine[0].message.strip()} ({times(len(mine))}). Every key "
                          "lookup fails until the file is owned by root with mode 600.", evidence=refs(mine),
                  fix=f"chown root:root {path}; chmod 600 {path}")


@rule("RDB323", "id-mismatch", title="Identifiers do not agree", severity=Severity.ERROR, needs={"log"},
      fix="Align `my_identifier` on one end with `peers_identifier` on the other; with certificates use `asn1dn`.")
def id_mismatch(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** the identity the peer presented is not the one racoon expects (type or value), or it
    does not match the peer's certificate.

    **Why racoon fails:** `ID mismatched with ASN1 SubjectName.`, `ID mismatched with subjectAltName.`,
    `Expecting IP address type in main mode, but …`, `invalid ID payload.`, `mismatched IDci was returned.`; the
    other side sees INVALID-ID-INFORMATION.

    **Evidence it looks at:** those lines and INVALID-ID-INFORMATION notifies.

    **How to fix:** make identifier types and values agree.

    **References:** failure catalog #18.
    """
    for (_, peer), found in by_peer(events(ev, Kind.ID_ERROR)).items():
        yield Hit(message=f"The peer's identifier was rejected {peer_words(peer)}: {found[0].message.strip()} "
                          f"({times(len(found))}).", evidence=refs(found), peer=peer)
    for (_, peer), found in by_peer(notifies(ev, ["INVALID-ID-INFORMATION"])).items():
        yield Hit(message=f"The peer {peer or ''} answered INVALID-ID-INFORMATION: it rejected our identifier or our "
                          "quick-mode selectors. It does not say which: its log or its `peers_identifier`/sainfo "
                          "lines settle it.", evidence=refs(found), peer=peer)


@rule("RDB324", "cert-verify-other", title="The peer's certificate does not verify", severity=Severity.ERROR,
      needs={"log"}, fix="Check the certificate's dates (and both clocks), the chain and the signature key pair; "
                         "`openssl verify -CApath <certdir> peer.pem` reproduces racoon's check.")
def cert_verify_other(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** certificate verification failed for a reason other than a CA that could not be found:
    expired or not yet valid (clock skew), a bad signature, no certificate sent.

    **Why racoon fails:** `certificate has expired(10) at depth:0 …`, `certificate is not yet valid(9)`, `Invalid
    SIG.`, `no peer's CERT payload found.`, then `the peer's certificate is not verified.` (`unable to get
    certificate CRL(3)` is a tolerated warning and not reported.)

    **Evidence it looks at:** those lines.

    **How to fix:** renew the certificate, fix the clock, send the certificate (`send_cert on`).

    **References:** failure catalog #30.
    """
    errors = list(events(ev, Kind.CERT_ERROR, where=lambda e: e.data.get("tolerated") != "yes"
                         and e.data.get("code") not in _ISSUER_NOT_FOUND | _TOLERATED))
    issuer = {e.location.path for _, e in events(ev, Kind.CERT_ERROR, where=lambda e: e.data.get("code")
                                                in _ISSUER_NOT_FOUND)}
    other = [(log, e) for log, e in events(ev, Kind.CERT_NOT_VERIFIED) if e.location.path not in issuer]
    for (_, peer), found in by_peer(errors + other).items():
        first = next((e for e in found if e.kind is Kind.CERT_ERROR), found[0])
        detail = (f"{first.data.get('error')} (X509 error {first.data.get('code')}) for "
                  f"{first.data.get('subject')}" if first.kind is Kind.CERT_ERROR else first.message.strip())
        yield Hit(message=f"Certificate check {peer_words(peer)} failed: {detail}.", evidence=refs(found), peer=peer)


@rule("RDB325", "ca-hash-link-missing", title="The CA is not found by its hash name", severity=Severity.ERROR,
      needs={"log"}, fix="In the certificate directory: `ln -s ca.pem $(openssl x509 -noout -hash -in ca.pem).0` "
                         "(or `c_rehash .`), or name the CA with `ca_type x509 \"ca.pem\";`.")
def ca_hash_link_missing(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** OpenSSL could not find the CA that issued the peer's certificate.

    **Why racoon fails:** without `ca_type`, racoon looks CAs up in `path certificate` by their subject hash
    (`<hash>.0`); a CA file without that link (or a link made with an OpenSSL of another hash generation) is
    invisible: `unable to get local issuer certificate(20) at depth:0 …`, then `the peer's certificate is not
    verified.`

    **Evidence it looks at:** X509 errors 20 and 2 in the log (the certificate directory itself is checked by the
    certificate rules).

    **How to fix:** create the hash link or name the CA explicitly.

    **References:** failure catalog #17.
    """
    found = events(ev, Kind.CERT_ERROR, where=lambda e: e.data.get("code") in _ISSUER_NOT_FOUND)
    for (_, peer), group in by_peer(found).items():
        first = group[0]
        yield Hit(message=f"racoon could not find the CA of {first.data.get('subject')} {peer_words(peer)} "
                          f"({first.data.get('error')}, depth {first.data.get('depth')}): the CA certificate has "
                          "no `<hash>.0` link in the certificate directory, or is missing.",
                  evidence=refs(group), peer=peer)


@rule("RDB326", "private-key-unreadable", title="racoon cannot read its private key", severity=Severity.ERROR,
      needs={"log"}, fix="Store the key unencrypted and readable by root only: `openssl rsa -in enc.key -out host.key; "
                         "chmod 600 host.key`.")
def private_key_unreadable(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** the key named in `certificate_type x509 "cert" "key";` could not be loaded.

    **Why racoon fails:** racoon reads the key when a negotiation starts (not at start-up), without a passphrase
    prompt: an encrypted, malformed or unreadable key gives `failed to get private key.` and the negotiation dies.

    **Evidence it looks at:** that line (and the Android keystore variants).

    **How to fix:** decrypt the key, fix its path and mode.

    **References:** failure catalog #31.
    """
    for (_, peer), found in by_peer(events(ev, Kind.PRIVATE_KEY_ERROR)).items():
        yield Hit(message=f"racoon could not load its private key ({found[0].message.strip()}; {times(len(found))}); "
                          "negotiations with certificates fail from the first try.", evidence=refs(found), peer=peer)


@rule("RDB327", "xauth-modecfg-failure", title="Xauth or mode-config failed after phase 1", severity=Severity.ERROR,
      needs={"log"}, fix="Check the user's credentials and the authentication backend (system/PAM/RADIUS/LDAP), "
                         "the group names and the address pool.")
def xauth_modecfg_failure(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** phase 1 came up, then extended authentication or the mode-config exchange failed.

    **Why racoon fails:** `login failed for user "…"` (server), `Xauth authentication failed` (client), `No
    more addresses available` (pool exhausted); the phase-1 handle is dropped at once.

    **Evidence it looks at:** those lines.

    **How to fix:** per the message: credentials, backend reachability, pool size.

    **References:** failure catalog #35.
    """
    for (_, peer), found in by_peer(events(ev, Kind.XAUTH_FAILED, Kind.MODECFG_FAILED)).items():
        user = next((e.data["user"] for e in found if e.data.get("user")), None)
        who = f" for user {user!r}" if user else ""
        yield Hit(message=f"Xauth/mode-config failed {peer_words(peer)}{who}: {found[0].message.strip()} "
                          f"({times(len(found))}).", evidence=refs(found), peer=peer)
