"""Phase-2 (quick mode) failures seen in racoon logs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import Severity
from racoondbg.model.log import Event, Kind, LogAnalysis

from .negotiation_evidence import at, by_peer, events, notifies, peer_words, ref, refs, times

#: How long after an SA expiry the log must go on without a new SA before that counts as a failed rekey.
_REKEY_GRACE = timedelta(seconds=120)


@rule("RDB330", "proposal-mismatch-ph2", title="No common phase-2 proposal", severity=Severity.ERROR,
      needs={"log"}, fix="Make the sainfo's `encryption_algorithm`, `authentication_algorithm` and the encapsulation "
                         "mode identical on both ends.")
def proposal_mismatch_ph2(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** the quick-mode proposals share no transform (cipher, authentication, protocol, mode).

    **Why racoon fails:** the responder logs `no proposal chosen.` / `failed to get proposal for responder.` with
    detail lines `trns_id mismatched: my:3DES peer:AES`, `encmode mismatched: …`, `proto_id mismatched: …` and
    answers NO-PROPOSAL-CHOSEN, which the initiator logs as a received notify. (`authtype mismatched` on its own is
    noise and is not reported.) PFS and lifetime mismatches have their own findings.

    **Evidence it looks at:** those lines and NO-PROPOSAL-CHOSEN received in phase 2.

    **How to fix:** align the sainfo algorithms; macOS/iOS clients accept only a fixed set.

    **References:** failure catalog #8.
    """
    explained = {(e.location.path, e.peer) for _, e in events(ev, Kind.PFS_MISMATCH, Kind.LIFETIME_MISMATCH)}
    local = [(log, e) for log, e in events(ev, Kind.NO_PROPOSAL, Kind.PROPOSAL_REJECTED)
             if e.data.get("phase") == "2" and (e.location.path, e.peer) not in explained]
    for (_, peer), found in by_peer(local).items():
        diffs = sorted({f"{e.data['attribute']}: ours {e.data.get('mine')}, theirs {e.data.get('theirs')}"
                        for e in found if e.kind is Kind.PROPOSAL_REJECTED})
        detail = "; ".join(diffs) if diffs else "run with -d to see both sides' transforms"
        yield Hit(message=f"racoon rejected the quick-mode proposal {peer_words(peer)}: {detail}.",
                  evidence=refs(found), peer=peer)
    for (_, peer), found in by_peer(notifies(ev, ["NO-PROPOSAL-CHOSEN"], phase=2)).items():
        if found[0].data.get("exchange") not in ("phase2 exchange", "phase 2"):
            continue
        yield Hit(message=f"The peer {peer or ''} answered our quick mode with NO-PROPOSAL-CHOSEN. It does not say "
                          "why: its log (`trns_id mismatched`, `pfs group mismatched`, `lifetime mismatched`) or its "
                          "sainfo settles which attribute differs.", evidence=refs(found), peer=peer)


@rule("RDB331", "sainfo-not-found", title="No sainfo matches the quick-mode selectors", severity=Severity.ERROR,
      needs={"log"}, fix="Make `sainfo address <local net> any address <remote net> any` match exactly what the peer "
                         "proposes (same subnets and masks, local/remote not swapped), or add `sainfo anonymous`.")
def sainfo_not_found(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** the responder found no `sainfo` for the traffic selectors (IDs) of the peer's quick mode.

    **Why racoon fails:** `failed to get sainfo.` then `failed to pre-process ph2 packet`; racoon sends **no**
    notify, so the initiator just retransmits quick mode and gives up (`phase2 negotiation failed due to time
    up.`).

    **Evidence it looks at:** `failed to get sainfo.` (responder); on an initiator, quick-mode time-outs after
    phase 1 was established (the responder's log then shows the cause).

    **How to fix:** make the subnets identical on both ends (and in the SPD), or use `sainfo anonymous`.

    **References:** failure catalog #4.
    """
    for (_, peer), found in by_peer(events(ev, Kind.SAINFO_NOT_FOUND)).items():
        yield Hit(message=f"racoon found no sainfo for the quick mode {peer_words(peer)} proposed "
                          f"({times(len(found))}, first at {at(found[0])}); racoon sends no error back, so the peer "
                          "only sees its quick mode time out.", evidence=refs(found), peer=peer)
    for log in ev.logs:
        yield from _silent_quick_modes(log)


def _silent_quick_modes(log: LogAnalysis) -> Iterator[Hit]:
    up = {n.peer for n in log.phase(1) if n.outcome.value == "established"}
    if log.of_kind(Kind.SAINFO_NOT_FOUND):
        return
    silent = [e for e in log.of_kind(Kind.PH2_TIMEOUT)
              if e.data.get("reason") == "no answer to quick mode" and e.peer in up]
    for peer, found in _group(silent).items():
        yield Hit(message=f"Quick mode {peer_words(peer)} was never answered although phase 1 was up "
                          f"({times(len(found))}): the peer silently dropped it — most often it has no sainfo (or "
                          "no policy) for these subnets. Its log would show `failed to get sainfo.` or `no policy "
                          "found`.", evidence=refs(found), peer=peer, severity=Severity.WARNING)


def _group(found: list[Event]) -> dict[str | None, list[Event]]:
    out: dict[str | None, list[Event]] = {}
    for e in found:
        out.setdefault(e.peer, []).append(e)
    return out


@rule("RDB332", "pfs-group-mismatch", title="PFS settings differ", severity=Severity.ERROR, needs={"log"},
      fix="Set the same `pfs_group` in the sainfo on both ends, or remove it on both.")
def pfs_group_mismatch(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** one end wants perfect forward secrecy with a DH group the other does not use (or no PFS).

    **Why racoon fails:** `pfs group mismatched: my:2 peer:1`, `no PFS is specified, but peer sends KE.`, `PFS is
    specified, but peer doesn't sends KE.`; the quick mode is refused with NO-PROPOSAL-CHOSEN.

    **Evidence it looks at:** those lines.

    **How to fix:** same `pfs_group` on both ends (Cisco defaults to no PFS).

    **References:** failure catalog #14.
    """
    for (_, peer), found in by_peer(events(ev, Kind.PFS_MISMATCH)).items():
        first = found[0]
        yield Hit(message=f"PFS differs {peer_words(peer)}: ours {_group_name(first.data.get('mine'))}, theirs "
                          f"{_group_name(first.data.get('theirs'))} ({times(len(found))}).",
                  evidence=refs(found), peer=peer)


def _group_name(value: str | None) -> str:
    if value in (None, "0"):
        return "no PFS"
    return f"DH group {value}" if value and value.isdigit() else value or "?"


@rule("RDB333", "rekey-failure", title="SAs expired and were not renewed", severity=Severity.ERROR, needs={"log"},
      fix="Give the two ends different lifetimes (or let one side own rekeys), enable DPD, and keep the phase-1 "
          "lifetime longer than phase 2's.")
def rekey_failure(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** an IPsec or ISAKMP SA reached the end of its lifetime and no new one came up.

    **Why racoon fails:** both ends rekeying at the same moment, a peer that deletes SAs early, or a stuck
    phase-2 handle (`ignore the acquire because ph2 found`) leave the tunnel without SAs.

    **Evidence it looks at:** `IPsec-SA expired` / `ISAKMP-SA expired` with no `established` for that peer
    afterwards (while the log goes on for two more minutes or shows a failure).

    **How to fix:** stagger lifetimes, enable DPD, flush a stuck state.

    **References:** failure catalog #15.
    """
    for log in ev.logs:
        for peer, expiry in _expiries(log).items():
            later = [e for e in log.events if e.peer == peer and e.time and expiry.time and e.time > expiry.time]
            if any(e.kind in (Kind.PH2_ESTABLISHED, Kind.PH1_ESTABLISHED) for e in later):
                continue
            failures = [e for e in later if e.failure or e.kind is Kind.ACQUIRE_IGNORED]
            long_after = bool(log.last_time and expiry.time and log.last_time - expiry.time >= _REKEY_GRACE)
            if not failures and not long_after:
                continue
            yield Hit(message=f"The SA {peer_words(peer)} expired at {at(expiry)} and no new SA came up afterwards"
                              + (f"; then: {failures[0].message.strip()}" if failures else "") + ".",
                      evidence=[ref(expiry, "expired"), *refs(failures, 3)], peer=peer)


def _expiries(log: LogAnalysis) -> dict[str | None, Event]:
    last: dict[str | None, Event] = {}
    for e in log.of_kind(Kind.SA_EXPIRED, Kind.PH1_EXPIRED):
        if e.peer:
            last[e.peer] = e
    return last


@rule("RDB334", "no-policy-for-acquire", title="No security policy for the negotiated traffic",
      severity=Severity.ERROR, needs={"log"},
      fix="Load the SPD at boot (`setkey -f /etc/ipsec-tools.conf`) with both directions of the tunnel, or use "
          "`generate_policy on;` on a responder.")
def no_policy_for_acquire(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** racoon has no security policy (SPD entry) for the traffic being negotiated.

    **Why racoon fails:** as responder it logs `no policy found: <selector>` and silently drops the quick mode
    (the initiator times out); for an ACQUIRE it logs `no policy found: id:<n>.` when the kernel's SPD changed
    behind racoon's back.

    **Evidence it looks at:** those lines (`policy found, but no IPsec required` is a different problem).

    **How to fix:** load the policies (both directions; endpoints not swapped), or `generate_policy on`; SIGHUP
    racoon after changing the SPD by hand.

    **References:** failure catalog #13.
    """
    found = [(log, e) for log, e in events(ev, Kind.NO_POLICY, Kind.ACQUIRE_NO_POLICY)
             if e.data.get("reason") != "no IPsec required"]
    for (_, peer), group in by_peer(found).items():
        first = group[0]
        what = first.data.get("selector") or f"SPD id {first.data.get('spid')}"
        yield Hit(message=f"racoon found no security policy for {what} {peer_words(peer)} ({times(len(group))}).",
                  evidence=refs(group), peer=peer)
