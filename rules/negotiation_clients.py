"""Failures of operating systems' built-in racoon clients (the macOS/iOS VPN client) seen in their logs."""

from __future__ import annotations

from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import Severity
from racoondbg.model.log import Event, Kind, LogAnalysis

from .negotiation_evidence import notify_phase, refs, times

#: The log flavours of Apple's racoon (10.5-10.8 ipsec-tools layout, and 10.9+ ASL).
_APPLE = ("apple", "apple-old")
_PROPOSAL_NOTIFIES = ("NO-PROPOSAL-CHOSEN", "NO_PROPOSAL_CHOSEN")


def _proposal_trouble(log: LogAnalysis) -> list[Event]:
    """Proposal rejections in either phase: rejected attributes, no suitable proposal, NO-PROPOSAL-CHOSEN."""
    found = log.of_kind(Kind.PROPOSAL_REJECTED, Kind.NO_PROPOSAL, Kind.PFS_MISMATCH)
    found += [e for e in log.of_kind(Kind.NOTIFY_RECEIVED) if e.data.get("notify") in _PROPOSAL_NOTIFIES]
    return sorted(found, key=lambda e: e.line or 0)


def _phase(event: Event) -> str:
    if event.kind is Kind.NOTIFY_RECEIVED:
        return {1: "phase 1", 2: "phase 2"}.get(notify_phase(event), "phase 1 or 2")
    return "phase 2" if event.kind is Kind.PFS_MISMATCH or event.data.get("phase") == "2" else "phase 1"


@rule("RDB350", "macos-client-constraints", title="The macOS/iOS VPN client cannot meet this server",
      severity=Severity.WARNING, needs={"log"},
      fix="Re-enter the shared secret in the VPN settings (System Settings → VPN → the service → Shared Secret; "
          "it lives in the System keychain), and let the server offer what the Apple client proposes: phase 1 "
          "AES-256/AES-128/3DES with SHA1 (or SHA2-256) and DH group 2 or 14, phase 2 AES/3DES with SHA1/MD5, "
          "transport mode for L2TP.")
def macos_client_constraints(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** the log comes from Apple's racoon (the built-in macOS/iOS "Cisco IPSec" and
    "L2TP over IPSec" client), and it failed for one of the two reasons that client is known for: the
    pre-shared key is not there (`couldn't find the pskey by address …`, then `failed to generate
    SKEYID`), or the server's proposals are outside the client's fixed set.

    **Why racoon fails:** the Apple client keeps the shared secret in the System keychain, not in a
    psk.txt; after a migration, a restore or a profile reinstall the keychain item can be missing or
    unreadable to racoon, and racoon cannot compute SKEYID. The GUI only says "The VPN server did not
    respond". The client's proposals cannot be edited: phase 1 AES/3DES with SHA1 (SHA2-256 on newer
    releases) and DH group 2 (14 on newer ones), phase 2 AES/3DES with SHA1/MD5, and transport mode for
    L2TP; a server that insists on anything else rejects every proposal.

    **Evidence it looks at:** the log flavour (Apple's tracer lines `IPSec Phase 1 started …`, ASL or
    `[pid] LEVEL:` layout), `couldn't find the pskey …`, `failed to generate SKEYID`, rejected proposal
    attributes, `no suitable proposal found.` and NO-PROPOSAL-CHOSEN notifies.

    **What would confirm it:** medium confidence. Apple's own tracer line `IKE Packet: receive failed.
    (Initiator, Aggressive-Mode Message 2).` is not a racoon message racoondbg maps; the keychain item
    (`security find-generic-password -l "<VPN name>"`, or the "Shared Secret" field being empty) and the
    server's proposal list (its log shows what it rejected) settle which of the two it is.

    **How to fix:** re-enter the shared secret; widen the server's proposals to the client's set.

    **References:** failure catalog #29; monodot "Missing VPN shared secret on OS X"; libreswan#2023.
    """
    for log in ev.logs:
        if log.flavour not in _APPLE:
            continue
        # `couldn't find pskey by peer's ID.` is followed by a lookup by address: only that one's failure counts
        missing = [e for e in log.of_kind(Kind.PSK_NOT_FOUND) if "peer's ID" not in e.message]
        if missing:
            skeyid = log.of_kind(Kind.SKEYID_FAILED)
            peer = next((e.peer for e in missing if e.peer), None)
            yield Hit(
                message=f"The Apple VPN client found no shared secret for {peer or 'the server'} "
                        f"({times(len(missing))})" + (", so it could not compute SKEYID" if skeyid else "")
                        + ": the keychain item holding the secret is missing or unreadable (typical after a "
                          "migration or a restored backup). The Mac only says the server did not respond.",
                evidence=refs(missing + skeyid), peer=peer,
                fix="Open the VPN service's Authentication Settings and type the shared secret again (it is "
                    "stored in the System keychain), then reconnect.")
            continue
        trouble = _proposal_trouble(log)
        if not trouble:
            continue
        first = trouble[0]
        detail = ""
        if first.kind is Kind.PROPOSAL_REJECTED and first.data.get("theirs"):
            detail = (f" ({first.data.get('attribute', 'an attribute')}: the client proposed "
                      f"{first.data.get('mine', '?')}, the server {first.data.get('theirs')})")
        peer = next((e.peer for e in trouble if e.peer), None)
        yield Hit(
            message=f"The Apple VPN client and {peer or 'the server'} found no common {_phase(first)} proposal"
                    f"{detail} ({len(trouble)} log line(s) show it). The Apple client's transforms are fixed, "
                    "so the server has to offer one of them.",
            evidence=refs(trouble), peer=peer)
