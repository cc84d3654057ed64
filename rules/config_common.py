"""What the racoon.conf rules share: racoon's name tables, file resolution, evidence excerpts.

No rules live here. Name tables come from ipsec-tools' ``cftoken.l`` / ``algorithm.c`` (0.8 / HEAD)
plus Apple's additions; see the project's racoon-conf-grammar reference, section 3.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from racoondbg.evidence import Evidence, resolve_conf_path
from racoondbg.model.conf import Algorithm, RacoonConf, Remote
from racoondbg.model.finding import EvidenceRef

DH_GROUP_NUMBERS = {"modp768": 1, "modp1024": 2, "modp1536": 5, "modp2048": 14, "modp3072": 15,
                    "modp4096": 16, "modp6144": 17, "modp8192": 18}
_DH_VALID = (*DH_GROUP_NUMBERS, *(str(n) for n in DH_GROUP_NUMBERS.values()))

#: Every algorithm class: where it is written, the names racoon accepts, the ones it knows but cannot use.
VALID: dict[str, tuple[str, ...]] = {
    "phase-1 encryption_algorithm": ("des", "3des", "blowfish", "cast128", "aes", "rijndael", "camellia"),
    "phase-1 hash_algorithm": ("md5", "sha1", "sha256", "sha2_256", "sha384", "sha2_384", "sha512", "sha2_512"),
    "authentication_method": ("pre_shared_key", "rsasig", "gssapi_krb", "hybrid_rsa_server", "hybrid_rsa_client",
                              "hybrid_dss_server", "hybrid_dss_client", "xauth_psk_server", "xauth_psk_client",
                              "xauth_rsa_server", "xauth_rsa_client", "eap_rsa_client", "eap_psk_client"),
    "dh_group": _DH_VALID,
    "pfs_group": _DH_VALID,
    "sainfo encryption_algorithm": ("des", "3des", "des_iv64", "des_iv32", "blowfish", "cast128", "null_enc", "null",
                                    "aes", "rijndael", "aes_gcm_16", "twofish", "camellia", "rc5", "idea", "3idea",
                                    "rc4"),
    "sainfo authentication_algorithm": ("hmac_md5", "hmac_sha1", "hmac_sha256", "hmac_sha2_256", "hmac_sha384",
                                        "hmac_sha2_384", "hmac_sha512", "hmac_sha2_512", "non_auth", "kpdk",
                                        "hmac_md5_96", "hmac_sha1_96"),
    "sainfo compression_algorithm": ("deflate", "oui", "lzs"),
}

#: Names racoon's lexer knows but that cannot be negotiated (why, in words).
UNUSABLE = {
    "idea": "needs an OpenSSL built with IDEA, which distributions do not ship",
    "rc5": "needs an OpenSSL built with RC5, which distributions do not ship",
    "tiger": "is lexed but has no implementation",
    "dsssig": "is listed but not implemented for negotiation",
    "rsaenc": "is listed but not implemented for negotiation",
    "rsarev": "is listed but not implemented for negotiation",
    "3": "(EC2N-155) is not a usable group",
    "4": "(EC2N-185) is not a usable group",
    "ec2n155": "is not a usable group",
    "ec2n185": "is not a usable group",
    "des_mac": "is lexed but no kernel implements it",
}

#: Weak or obsolete choices: name -> why.
WEAK = {
    "des": "56-bit DES is broken (brute-forced in hours)",
    "des_iv64": "56-bit DES is broken",
    "des_iv32": "56-bit DES is broken",
    "md5": "MD5 is broken for collision resistance",
    "hmac_md5": "HMAC-MD5 is obsolete",
    "modp768": "the 768-bit group (1) is breakable today",
    "1": "group 1 (768-bit MODP) is breakable today",
    "null_enc": "null encryption sends the traffic in clear",
    "null": "null encryption sends the traffic in clear",
    "non_auth": "no integrity protection: anyone on the path can alter packets",
}


@dataclass(frozen=True, slots=True)
class AlgorithmUse:
    """One algorithm name as written, with its class and the block it is in."""

    kind: str  # a key of VALID
    algorithm: Algorithm
    statement: str  # the directive name as written
    owner: str  # "remote 10.0.0.1" / "sainfo anonymous"

    def excerpt(self) -> str:
        return f"{self.statement} {self.algorithm.text()};"


def algorithm_uses(conf: RacoonConf) -> Iterator[AlgorithmUse]:
    """Every algorithm, hash, method and group the config names (inherited ones once, where written)."""
    for r in conf.remotes:
        label = r.label()
        if "proposals" not in r.inherited:
            for p in r.proposals:
                for kind, stmt, alg in (("phase-1 encryption_algorithm", "encryption_algorithm", p.encryption),
                                        ("phase-1 hash_algorithm", "hash_algorithm", p.hash),
                                        ("authentication_method", "authentication_method", p.auth_method),
                                        ("dh_group", "dh_group", p.dh_group)):
                    if alg is not None:
                        yield AlgorithmUse(kind, alg, stmt, label)
        if r.dh_group is not None and "dh_group" not in r.inherited:
            yield AlgorithmUse("dh_group", r.dh_group, "dh_group", label)
    for s in conf.sainfos:
        label = s.label()
        if s.pfs_group is not None:
            yield AlgorithmUse("pfs_group", s.pfs_group, "pfs_group", label)
        for kind, stmt, algs in (("sainfo encryption_algorithm", "encryption_algorithm", s.encryption),
                                 ("sainfo authentication_algorithm", "authentication_algorithm", s.authentication),
                                 ("sainfo compression_algorithm", "compression_algorithm", s.compression)):
            for alg in algs:
                yield AlgorithmUse(kind, alg, stmt, label)


def auth_methods(remote: Remote) -> set[str]:
    return {p.auth_method.name for p in remote.proposals if p.auth_method is not None}


def peer_of(remote: Remote) -> str | None:
    if remote.selector.kind == "address":
        return remote.selector.address
    return remote.remote_address.address if remote.remote_address else None


def conf_file(conf: RacoonConf) -> Path:
    return Path(conf.disk_path or conf.location.path)


def resolve(ev: Evidence, conf: RacoonConf, value: str) -> Path:
    """Where racoon finds a ``path`` value: absolute ones under ``--root``, others beside the config."""
    return resolve_conf_path(conf_file(conf), value, ev.options.root)


def resolve_cert_file(ev: Evidence, conf: RacoonConf, name: str) -> Path:
    """Where racoon opens a certificate/key file: absolute as is, relative under ``path certificate``."""
    if name.startswith("/"):
        return resolve(ev, conf, name)
    base = conf.paths.get("certificate")
    return (resolve(ev, conf, base) / name) if base else conf_file(conf).parent / name


def shown(ev: Evidence, value: str) -> str:
    """A path as the administrator knows it, with the --root it was looked up under when there is one."""
    root = str(ev.options.root)
    return value if root == "/" else f"{value} (under --root {root})"


def remote_ref(remote: Remote, note: str | None = None) -> EvidenceRef:
    return EvidenceRef.at(remote.location, f"{remote.label()} {{", note)
