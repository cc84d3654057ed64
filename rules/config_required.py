"""What racoon checks after reading each block: the settings it cannot do without."""

from __future__ import annotations

from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import EvidenceRef, Severity

from .config_common import peer_of, remote_ref

_PROPOSAL_PARTS = (("encryption", "encryption_algorithm aes;", "encryption algorithm required."),
                   ("hash", "hash_algorithm sha1;", "hash algorithm required."),
                   ("auth_method", "authentication_method pre_shared_key;", "authentication method required."),
                   ("dh_group", "dh_group modp1024;", "DH group required."))
_SAINFO_PARTS = (("encryption", "encryption_algorithm aes;", "no encryption algorithm at"),
                 ("authentication", "authentication_algorithm hmac_sha1;", "no authentication algorithm at"),
                 ("compression", "compression_algorithm deflate;", "no compression algorithm at"))


@rule("RDB143", "incomplete-block", title="A remote, proposal or sainfo block lacks a required setting",
      severity=Severity.ERROR, needs={"conf"}, fix="Add the missing statement the finding names.")
def incomplete_block(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: a block misses something racoon requires: a `remote` without
    `exchange_mode` or without any `proposal`, a `proposal` without its encryption, hash,
    authentication method or DH group, a `sainfo` without an encryption, authentication or
    compression algorithm, or `my_identifier asn1dn` with no certificate.

    **Why racoon fails**: racoon checks every block right after reading it and stops with a fatal
    configuration error (`no exchange mode specified.`, `DH group required.`, `no compression
    algorithm at ...`, `ASN1 ID not specified and no CERT defined!`): the daemon does not start.
    `compression_algorithm deflate;` is required even when nothing is compressed.

    **Evidence it looks at**: every remote (after `inherit`), proposal and sainfo block.

    **How to fix**: add the statement the finding gives.

    **References**: ipsec-tools `cfparse.y` (`process_rmconf`, `set_isakmp_proposal`, sainfo checks).
    """
    assert ev.conf is not None
    for r in ev.conf.remotes:
        missing: list[tuple[str, str]] = []
        if not r.exchange_modes:
            missing.append(("exchange_mode main;", "no exchange mode specified."))
        if not r.proposals and r.shared_secret is None:
            missing.append(("proposal { encryption_algorithm aes; hash_algorithm sha1; "
                            "authentication_method pre_shared_key; dh_group modp1024; }", "no remote specification"))
        if r.my_identifier is not None and r.my_identifier.kind == "asn1dn" and not r.my_identifier.value \
                and r.certificate_type is None:
            missing.append(('certificate_type x509 "host.crt" "host.key";', "ASN1 ID not specified and no CERT "
                            "defined!"))
        for fix, says in missing:
            yield Hit(message=f"{r.label()} lacks `{fix.split(' ', 1)[0]}`: racoon stops reading the config "
                      f"(`{says}`).", evidence=[remote_ref(r)], fix=fix, peer=peer_of(r))
        if "proposals" in r.inherited:
            continue
        for p in r.proposals:
            for attr, fix, says in _PROPOSAL_PARTS:
                if getattr(p, attr) is None:
                    yield Hit(message=f"a proposal of {r.label()} has no `{fix.split(' ', 1)[0]}`: racoon refuses "
                              f"the config (`{says}`).", evidence=[EvidenceRef.at(p.location, "proposal {")],
                              fix=fix, peer=peer_of(r))
    for s in ev.conf.sainfos:
        for attr, fix, says in _SAINFO_PARTS:
            if not getattr(s, attr):
                yield Hit(message=f"`{s.label()}` has no `{fix.split(' ', 1)[0]}`: racoon refuses the config "
                          f"(`{says} {s.label()[7:]}`).", evidence=[EvidenceRef.at(s.location, s.label() + " {")],
                          fix=fix)
