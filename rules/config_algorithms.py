"""Algorithm, hash, DH group and authentication method names in racoon.conf."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import EvidenceRef, Severity

from .config_common import DH_GROUP_NUMBERS, UNUSABLE, VALID, WEAK, algorithm_uses, peer_of, remote_ref


@rule("RDB101", "unknown-algorithm", title="racoon does not know (or cannot use) an algorithm name",
      severity=Severity.ERROR, needs={"conf"}, fix="Replace the name with one from the valid list.")
def unknown_algorithm(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: racoon.conf names an encryption algorithm, hash, authentication method or
    DH group that racoon does not accept in that place, or one it knows but cannot negotiate
    (`idea`, `rc5`, `tiger`, `dsssig`, `ec2n155`...).

    **Why racoon fails**: racoon's lexer only knows a fixed list of names, and each class
    (`encryption_algorithm` in a proposal, `authentication_algorithm` in a sainfo...) accepts only
    its own. Anything else is a `parse error` / `algorithm mismatched` at start-up, so racoon does
    not start at all; a name it knows but cannot use makes every negotiation fail.

    **Evidence it looks at**: every `proposal { }` and `sainfo { }` of racoon.conf and its includes.

    **How to fix**: use a name from the list the finding gives (`aes`, `3des`, `sha1`, `modp2048`...).
    Note the two families: phase 1 uses `sha1`, phase 2 `hmac_sha1`.

    **References**: ipsec-tools `cftoken.l`, `algorithm.c`; racoon.conf(5).
    """
    assert ev.conf is not None
    for use in algorithm_uses(ev.conf):
        name = use.algorithm.name
        valid = VALID[use.kind]
        if name in valid:
            continue
        if name in UNUSABLE:
            message = f"{use.owner}: {use.kind} `{name}` {UNUSABLE[name]}."
        else:
            elsewhere = [k for k, names in VALID.items() if name in names and k != use.kind]
            message = f"{use.owner}: `{name}` is not a {use.kind} racoon accepts"
            message += f" (it is a {elsewhere[0]} name)." if elsewhere else "."
        close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
        suggestion = close[0] if close else valid[0]
        yield Hit(
            message=f"{message} Valid names: {', '.join(valid)}.",
            evidence=[EvidenceRef.at(use.algorithm.location, use.excerpt())],
            fix=f"{use.statement} {suggestion};",
        )


@rule("RDB102", "weak-algorithm", title="An obsolete or weak algorithm is offered",
      severity=Severity.WARNING, needs={"conf"},
      fix="Offer AES with SHA-1 or SHA-2 and a DH group of at least modp1024 (modp2048 where the peer can).")
def weak_algorithm(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: a proposal or sainfo offers DES, MD5/HMAC-MD5, the 768-bit DH group
    (modp768, group 1), null encryption or no authentication.

    **Why racoon fails**: it does not fail — that is the danger. Such a tunnel can be broken or
    altered, and modern peers refuse these choices, so negotiation with them ends in
    `NO-PROPOSAL-CHOSEN` (catalog `proposal-mismatch-ph1`).

    **Evidence it looks at**: every algorithm and group named in racoon.conf.

    **How to fix**: remove the weak choice, keep a strong one in the list (`aes 128`, `sha1` or
    `sha256`, `modp1024`/`modp2048`); both sides must still share one.

    **References**: RFC 4109 (IKEv1 algorithms), RFC 8247.
    """
    assert ev.conf is not None
    for use in algorithm_uses(ev.conf):
        reason = WEAK.get(use.algorithm.name)
        if reason is None or (use.kind == "sainfo compression_algorithm"):
            continue
        if use.algorithm.name == "1" and use.kind not in ("dh_group", "pfs_group"):
            continue
        better = {"dh_group": "modp2048", "pfs_group": "modp2048", "phase-1 hash_algorithm": "sha256",
                  "sainfo authentication_algorithm": "hmac_sha256"}.get(use.kind, "aes 128")
        yield Hit(
            message=f"{use.owner} offers {use.kind} `{use.algorithm.name}`: {reason}.",
            evidence=[EvidenceRef.at(use.algorithm.location, use.excerpt())],
            fix=f"{use.statement} {better};",
        )


def _group_number(name: str) -> str:
    return str(DH_GROUP_NUMBERS.get(name, name))


@rule("RDB103", "aggressive-dh-group-mismatch", title="Aggressive mode with proposals of different DH groups",
      severity=Severity.ERROR, needs={"conf"}, fix="Use one dh_group in every proposal of the remote block.")
def aggressive_dh_group_mismatch(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: a `remote` allows `exchange_mode aggressive` and its proposals use
    different `dh_group`s.

    **Why racoon fails**: in aggressive mode the key exchange is sent in the first packet, before
    any proposal is chosen, so there can be only one group. racoon refuses the configuration at
    start-up: `DH group must be equal in all proposals when aggressive mode is used.`

    **Evidence it looks at**: `exchange_mode` and each `proposal { dh_group ...; }` of every remote.

    **How to fix**: give every proposal the same `dh_group`, or drop `aggressive` from
    `exchange_mode` if main mode is enough.

    **References**: ipsec-tools `cfparse.y` (`process_rmconf`); RFC 2409 section 5.
    """
    assert ev.conf is not None
    for r in ev.conf.remotes:
        if "aggressive" not in (r.exchange_modes or []) or "proposals" in r.inherited:
            continue
        groups = [p.dh_group for p in r.proposals if p.dh_group is not None]
        if len({_group_number(g.name) for g in groups}) < 2:
            continue
        names = ", ".join(dict.fromkeys(g.name for g in groups))
        yield Hit(
            message=f"{r.label()} allows aggressive mode but its proposals use different DH groups ({names}); "
            "racoon refuses to start with this.",
            evidence=[remote_ref(r, "exchange_mode aggressive"),
                      *(EvidenceRef.at(g.location, f"dh_group {g.name};") for g in groups)],
            fix=f"dh_group {groups[0].name};  (in every proposal of {r.label()})",
            peer=peer_of(r),
        )
