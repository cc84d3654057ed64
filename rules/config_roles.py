"""Who initiates: `generate_policy` and `passive` used on the wrong side."""

from __future__ import annotations

from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import EvidenceRef, Severity

from ._policyconf import ip_text, static_peers
from .config_common import auth_methods, peer_of

_CLIENT_SUFFIX = "_client"


@rule("RDB120", "generate-policy-passive", title="generate_policy or passive on the wrong side",
      severity=Severity.WARNING, needs={"conf"},
      fix="Use passive on + generate_policy on only on the responder (server); give initiators static SPD entries.")
def generate_policy_passive(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: responder-only directives are used where this host has to initiate:
    `generate_policy` on a `remote` for a fixed peer address that this host may also contact
    (not `passive`), or `passive on` on a client (mode_cfg / XAuth / hybrid *client* methods).

    **Why racoon fails**: `generate_policy` only installs SPD entries when the *peer* starts the
    negotiation; when this host needs the tunnel, the kernel has no policy, sends no ACQUIRE and
    racoon never starts phase 1, so the tunnel comes up only from the other side. `passive on`
    makes racoon ignore ACQUIREs (`because of passive mode, ignore the acquire message`, logged at
    DEBUG only), so a client with it never connects and the log stays silent.

    **Evidence it looks at**: each remote's `generate_policy`, `passive`, `mode_cfg`, its peer address
    and its proposals' authentication methods. When the SPD or a setkey script shows static policies
    for the peer, the generate_policy case is RDB232's (racoon replaces those policies) and is left to it.

    **How to fix**: on a road-warrior server use `remote anonymous { passive on; generate_policy on; }`;
    on a client or site-to-site gateway remove both and load static SPD entries with `setkey`.

    **References**: racoon.conf(5) `generate_policy`, `passive`; catalog `generate-policy-passive`.
    """
    assert ev.conf is not None
    statically_covered = static_peers(ev)  # those are RDB232's case: the SPD entry exists, racoon replaces it
    for r in ev.conf.remotes:
        peer = peer_of(r)
        client_methods = sorted(m for m in auth_methods(r) if m.endswith(_CLIENT_SUFFIX))
        if r.passive and (r.mode_cfg or client_methods):
            why = "mode_cfg on" if r.mode_cfg else f"authentication_method {client_methods[0]}"
            yield Hit(
                message=f"{r.label()} is a client ({why}) but says `passive on`: racoon ignores the kernel's "
                "ACQUIREs for it, so this host never starts the connection (logged only at DEBUG).",
                evidence=[EvidenceRef.at(r.passive_location or r.location, "passive on;"),
                          EvidenceRef.at(r.location, f"{r.label()} {{", note=why)],
                fix=f"passive off;  (in {r.label()})",
                peer=peer,
            )
        if (r.generate_policy in ("on", "unique", "require") and not r.passive and peer is not None
                and ip_text(peer) not in statically_covered):
            yield Hit(
                message=f"{r.label()} has `generate_policy {r.generate_policy}` for the fixed peer {peer} and is not "
                "passive: the generated policies only appear when the peer initiates, so traffic from this side "
                "finds no SPD entry and never triggers phase 1.",
                evidence=[EvidenceRef.at(r.generate_policy_location or r.location,
                                         f"generate_policy {r.generate_policy};")],
                fix=f"generate_policy off;  (in {r.label()}) and install static policies with setkey "
                f"(spdadd ... -P out ipsec esp/tunnel/<local>-{peer}/require;)",
                peer=peer,
            )
