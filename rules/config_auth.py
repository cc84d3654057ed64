"""Authentication set-up in racoon.conf: the psk file, certificates and the files they name."""

from __future__ import annotations

import os
from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import EvidenceRef, Severity

from .config_common import auth_methods, peer_of, remote_ref, resolve, resolve_cert_file, shown

PSK_METHODS = {"pre_shared_key", "xauth_psk_server", "xauth_psk_client"}
#: Methods where this host proves itself with its own certificate and private key.
CERT_METHODS = {"rsasig", "xauth_rsa_server", "xauth_rsa_client", "hybrid_rsa_server", "hybrid_dss_server"}


@rule("RDB110", "psk-not-found", title="Pre-shared key authentication without a usable psk file",
      severity=Severity.ERROR, needs={"conf"},
      fix='path pre_shared_key "/etc/racoon/psk.txt";  (and a line "<peer address or ID> <key>" in it)')
def psk_file_missing(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: a `remote` authenticates with `pre_shared_key` (or `xauth_psk_*`), but
    racoon.conf has no `path pre_shared_key`, or the file it names does not exist.

    **Why racoon fails**: racoon looks the key up in that file when phase 1 reaches the key
    exchange. Without the file it logs `couldn't find the pskey for <peer>` and phase 1 fails after
    the third packet; racoon starts "fine", so nothing warns you earlier.

    **Evidence it looks at**: the proposals' `authentication_method`, the `path pre_shared_key`
    line, and whether that file exists (absolute paths are looked up under `--root`).

    **How to fix**: add `path pre_shared_key "/etc/racoon/psk.txt";` and create the file (mode 600,
    owned by root) with one line per peer: its address or identifier, blanks, the key.

    **References**: racoon.conf(5) `path`; catalog `psk-not-found`.
    """
    conf = ev.conf
    assert conf is not None
    users = [r for r in conf.remotes
             if auth_methods(r) & PSK_METHODS and r.shared_secret in (None, "use") and "proposals" not in r.inherited]
    if not users:
        return
    refs = [remote_ref(r, "authentication_method pre_shared_key") for r in users]
    value = conf.paths.get("pre_shared_key")
    if value is None:
        yield Hit(
            message=f"{len(users)} remote block(s) authenticate with a pre-shared key, but racoon.conf has no "
            "`path pre_shared_key`: racoon has nowhere to look the key up and phase 1 fails with "
            "`couldn't find the pskey`.",
            evidence=refs,
            peer=peer_of(users[0]),
        )
        return
    target = resolve(ev, conf, value)
    if ev.psk is None and not os.path.lexists(target):
        yield Hit(
            message=f"`path pre_shared_key` names {shown(ev, value)}, which does not exist; every pre-shared key "
            "lookup fails (`failed to open pre_share_key file`).",
            evidence=[EvidenceRef.at(conf.path_locations["pre_shared_key"], f'path pre_shared_key "{value}";'),
                      *refs],
            fix=f"create {value} (mode 600, owner root) with a line `<peer address or ID> <key>` per peer, "
            "or correct the path",
            peer=peer_of(users[0]),
        )


@rule("RDB111", "rsasig-without-certificate", title="Certificate authentication without a certificate set up",
      severity=Severity.ERROR, needs={"conf"},
      fix='certificate_type x509 "host.crt" "host.key";  and  path certificate "/etc/racoon/certs";')
def rsasig_without_certificate(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: a `remote` authenticates with `rsasig` (or `xauth_rsa_*`,
    `hybrid_rsa_server`) but has no `certificate_type` line, or racoon.conf has no
    `path certificate`.

    **Why racoon fails**: with no own certificate racoon cannot sign phase 1 (`failed to get my
    CERT`, `no certificate`); without `path certificate` relative certificate names resolve against
    racoon's working directory and peer certificates cannot be verified through the CA's hash links
    (`unable to get local issuer certificate`).

    **Evidence it looks at**: proposals' `authentication_method`, `certificate_type`, `path certificate`.

    **How to fix**: add `certificate_type x509 "host.crt" "host.key";` to the remote and
    `path certificate "/etc/racoon/certs";` at the top of racoon.conf.

    **References**: racoon.conf(5); catalog `cert-verify-other`, `ca-hash-link-missing`.
    """
    conf = ev.conf
    assert conf is not None
    for r in conf.remotes:
        methods = sorted(auth_methods(r) & CERT_METHODS)
        if not methods or "proposals" in r.inherited:
            continue
        if r.certificate_type is None:
            yield Hit(
                message=f"{r.label()} authenticates with {methods[0]} but has no `certificate_type`: racoon has no "
                "certificate of its own to send and phase 1 fails (`failed to get my CERT`).",
                evidence=[remote_ref(r, f"authentication_method {methods[0]}")],
                fix=f'certificate_type x509 "host.crt" "host.key";  (inside {r.label()})',
                peer=peer_of(r),
            )
        elif "certificate" not in conf.paths and r.certificate_type != "in_keychain":
            yield Hit(
                message=f"{r.label()} authenticates with {methods[0]} but racoon.conf has no `path certificate`: "
                "relative certificate names resolve against racoon's working directory and peer certificates "
                "cannot be checked against a CA directory.",
                evidence=[EvidenceRef.at(r.certificate_location or r.location, "certificate_type ...")],
                fix='path certificate "/etc/racoon/certs";  (at the top of racoon.conf)',
                peer=peer_of(r),
            )


_ROLE_WORDS = {"certificate": "certificate", "private_key": "private key", "plain_rsa_key": "PlainRSA key",
               "ca": "CA certificate", "peers_certificate": "peer's certificate"}


@rule("RDB112", "cert-file-missing", title="A certificate or key file named in racoon.conf does not exist",
      severity=Severity.ERROR, needs={"conf"}, fix="Put the file where racoon looks for it, or correct the name.")
def cert_file_missing(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: `certificate_type`, `ca_type` or `peers_certfile` names a file that is not
    there. racoon looks relative names up under `path certificate`; absolute ones as written
    (racoondbg looks them up under `--root`).

    **Why racoon fails**: racoon loads these files while reading racoon.conf (`failed to load
    certificate`) or when phase 1 starts (`failed to get my CERT`, `failed to get private key`);
    either way certificate authentication cannot work. Users were told to find the file racoon
    tries with `strace -eopen racoon -F` — this finding names it directly.

    **Evidence it looks at**: every file named in a `remote` block, resolved like racoon does.

    **How to fix**: copy the file into the certificate directory under the name racoon.conf uses,
    or change the name in racoon.conf. If you are checking a copy of the config on another machine,
    point `--root` at a copy of the box's file system.

    **References**: racoon.conf(5) `certificate_type`, `ca_type`, `peers_certfile`; catalog
    `cert-verify-other` ("failed to get my CERT").
    """
    conf = ev.conf
    assert conf is not None
    seen: set[str] = set()
    for r in conf.remotes:
        for ref in r.files:
            if ref.role not in _ROLE_WORDS or "files" in r.inherited:
                continue
            target = resolve_cert_file(ev, conf, ref.path)
            if str(target) in seen or os.path.lexists(target):
                continue
            seen.add(str(target))
            where = ref.path if ref.path.startswith("/") else f"{conf.paths.get('certificate', '.')}/{ref.path}"
            yield Hit(
                message=f"{r.label()} names the {_ROLE_WORDS[ref.role]} \"{ref.path}\", but {shown(ev, where)} "
                "does not exist.",
                evidence=[EvidenceRef.at(ref.location, f'"{ref.path}"', note=_ROLE_WORDS[ref.role])],
                fix=f"install the {_ROLE_WORDS[ref.role]} as {where}, or correct the name in racoon.conf",
                peer=peer_of(r),
            )
