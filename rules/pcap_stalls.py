"""Packet rules: the peer answered, then the exchange stopped at a step (after MM4, after QM1, after QM2)."""

from __future__ import annotations

from collections.abc import Iterator

from racoondbg.correlate import never_took_reply
from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import Severity
from racoondbg.model.packets import Capture, Exchange, IsakmpMessage

from .pcap_helpers import implementation, per_peer_pair, phase1_done, ref, resent_after, schedule, uses_certificates

_AUTH_STALLS = {"MM5", "AM2"}
_ERROR_NOTIFIED = {"PAYLOAD-MALFORMED", "INVALID-HASH-INFORMATION", "AUTHENTICATION-FAILED", "INVALID-ID-INFORMATION",
                   "INVALID-CERT-AUTHORITY"}


def _auth_stalls(ev: Evidence, cap: Capture) -> Iterator[tuple[Exchange, IsakmpMessage]]:
    """Phase-1 exchanges that got past the key exchange and stopped at authentication (MM5 or AM2)."""
    for ex in cap.phase1(lambda x: not x.complete and x.stalled_at in _AUTH_STALLS and x.answered):
        last = ex.originals[-1]
        if last.ip_fragmented or any(p.type == 132 for p in last.payloads):
            continue  # ike-fragmentation explains it
        if last.natt and not cap.sent_natt(last.dst):
            continue  # udp-500-4500-blocked explains it
        if cap.messages_of(ex.icookie, lambda w: not _ERROR_NOTIFIED.isdisjoint(w.notify)):
            continue  # a clear-text notify names the cause
        if never_took_reply(ev.logs, ex.icookie):
            continue  # racoon's log says the answer never reached it: udp-500-4500-blocked (RDB634)
        yield ex, last

def _answers_after(cap: Capture, ex: Exchange, msg: IsakmpMessage) -> list[IsakmpMessage]:
    """Encrypted informationals the other side sent under the same ISAKMP SA after ``msg``."""
    return [m for m in cap.messages_of(ex.icookie, lambda w: w.src == msg.dst and w.exchange_type == 5)
            if m.time >= msg.time]


def _stall_message(cap: Capture, ex: Exchange, last: IsakmpMessage, auth: str, cause: str) -> str:
    """What the capture shows of the stall, then what it means with this ``auth`` method (``cause``); when the
    receiver kept resending its previous message, also how to tell a rejection from a loss (racoon resends
    in both cases)."""
    infos = _answers_after(cap, ex, last)
    sent = len(ex.transmissions(last))
    times = "once" if sent == 1 else f"{sent} times"
    resent = resent_after(ex, last)
    if infos:
        reply = (f"{last.dst} answered each time with an encrypted notification instead of the next message "
                 f"({len(infos)} informational exchanges)")
    elif resent is not None:
        reply = f"{last.dst} kept resending its {resent.step} instead of answering ({schedule(ex, resent)})"
    else:
        reply = f"{last.dst} never answered it"
    ambiguous = resent is not None and not infos
    means = "most likely means" if ambiguous else "means"
    text = (f"Phase 1 between {ex.initiator} and {ex.responder} got through the key exchange, then stopped at "
            f"{last.step}: {last.src} sent it {times} ({schedule(ex, last)}) and {reply}. With {auth} this {means} "
            f"{cause}.")
    if ambiguous:
        text += (f" racoon keeps resending its previous message both when it rejects the next one and when that "
                 f"never arrives: if the racoon log on {last.dst} shows nothing at those times (no `HASH "
                 f"mismatched`, `invalid length of payload` or `couldn't find the pskey`), {last.step} is lost on "
                 f"the way instead (capture on {last.dst} to see whether it arrives).")
    return text


@rule("RDB403", "psk-value-mismatch",
      title="Phase 1 stops after the key exchange (MM5/AM2): the pre-shared keys differ",
      severity=Severity.ERROR, needs={"pcap"},
      fix="Re-enter the same pre-shared key on both ends in psk.txt (plain text, no quotes, no trailing blanks or CR).")
@per_peer_pair
def psk_stall(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: Main Mode messages 1-4 went both ways (the peers agreed on a proposal and
    exchanged Diffie-Hellman values), but the first encrypted message (MM5, or AM2 in aggressive
    mode) was not accepted. With pre-shared keys, MM5 is encrypted with a key derived from the PSK:
    if the keys differ, the peer cannot decrypt it.

    **Why racoon fails**: the receiver logs `invalid length of payload`, `HASH mismatched` or
    `PAYLOAD-MALFORMED`; the sender retransmits MM5 until `phase1 negotiation failed due to time up`.
    A missing key for that peer (`couldn't find the pskey`) looks the same on the wire. A racoon receiver
    also keeps resending its MM4 (it cancels the resend only once a message passes), which on the wire
    looks like MM5 lost on the way: the finding then says how the receiver's log tells the two apart.
    When racoon's own log shows it never took the peer's answer, RDB634 reports that instead.

    **Evidence it looks at**: phase-1 exchanges with pre-shared-key authentication whose last step is
    MM5 (or AM2), and the encrypted notifications sent back instead of MM6.

    **How to fix**: compare the keys (`cat -A psk.txt` shows CR and trailing blanks), make the psk.txt
    line's identifier match the address or ID the peer really uses, and keep the file mode 600.

    **References**: failure catalog #6 and #9; RFC 2409 §5.4.
    """
    for cap in ev.captures:
        for ex, last in _auth_stalls(ev, cap):
            if uses_certificates(cap, ex.icookie):
                continue
            yield Hit(
                message=_stall_message(cap, ex, last, "pre-shared keys", "the keys (or the psk.txt entry found for "
                                       "this peer's identifier) differ"),
                evidence=[ref(m) for m in (last, *(_answers_after(cap, ex, last)[:1]))],
                fix=(f"Put the same key for {ex.responder} on {ex.initiator} and for {ex.initiator} on "
                     f"{ex.responder} (psk.txt: `<address-or-id> <key>`, mode 600)."),
                peer=ex.responder,
            )


@rule("RDB404", "id-mismatch", title="Phase 1 stops at authentication with certificates (MM5/AM2 not accepted)",
      severity=Severity.ERROR, needs={"pcap"},
      fix="Align my_identifier/peers_identifier with the certificates (use asn1dn), and check the CA on both ends.")
@per_peer_pair
def cert_stall(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: with certificate (RSA/DSS signature) authentication, Main Mode got through
    messages 1-4 and then the peer did not accept MM5 (or AM2): the identity or the certificate was
    refused.

    **Why racoon fails**: racoon checks the peer's ID payload against `peers_identifier` and the
    certificate subject (`ID mismatched with ASN1 SubjectName`), and verifies the certificate
    against the CA in `path certificate`. Either failure ends phase 1 without MM6.

    **Evidence it looks at**: phase-1 exchanges proposing signature authentication whose last step
    is MM5 (or AM2).

    **How to fix**: use `my_identifier asn1dn;` and `peers_identifier asn1dn;` with certificates,
    make sure each side trusts the other's CA (hash links in the cert dir), check the dates.

    **References**: failure catalog #17, #18 and #30.
    """
    for cap in ev.captures:
        for ex, last in _auth_stalls(ev, cap):
            if not uses_certificates(cap, ex.icookie):
                continue
            yield Hit(
                message=_stall_message(cap, ex, last, "certificates", "the peer refused the identity or could not "
                                       "verify the certificate"),
                evidence=[ref(last)],
                peer=ex.responder,
            )


def _qm_stalls(cap: Capture, at: str) -> Iterator[Exchange]:
    for ex in cap.exchanges.where(lambda x: x.exchange_type == 32 and not x.complete and x.stalled_at == at):
        if phase1_done(cap, ex.icookie):
            yield ex


@rule("RDB405", "sainfo-not-found", title="Quick Mode message 1 is never answered: phase-2 selectors (sainfo) "
      "do not match", severity=Severity.ERROR, needs={"pcap"},
      fix="Make the phase-2 subnets (sainfo and the SPD) identical on both ends, mirrored.")
@per_peer_pair
def qm1_silent(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: phase 1 completed, the initiator sent Quick Mode message 1 (QM1) and resent
    it, and the responder never answered - not even with a notification.

    **Why racoon fails**: a racoon responder that finds no `sainfo` for the proposed IDs (`failed to
    get sainfo.`) or no policy for them drops QM1 without a notify. The initiator retransmits QM1
    and finally logs phase-2 `time up`.

    **Evidence it looks at**: Quick Mode exchanges under an established ISAKMP SA whose only step is
    QM1, retransmitted, with nothing from the responder afterwards.

    **How to fix**: the responder's `sainfo address <local-net> any address <remote-net> any` and its
    SPD must mirror the initiator's exactly (same prefix lengths). Read the responder's log for
    `failed to get sainfo` or `no policy found`.

    **References**: failure catalog #4 and #13.
    """
    for cap in ev.captures:
        for ex in _qm_stalls(cap, "QM1"):
            qm1 = ex.first
            if len(ex.transmissions(qm1)) < 2 or _answers_after(cap, ex, qm1):
                continue
            yield Hit(
                message=(f"Phase 1 with {ex.responder} is up, but its answer to Quick Mode never came: "
                         f"{ex.initiator} sent QM1 (message id {ex.message_id:08x}) {len(ex.transmissions(qm1))} "
                         f"times ({schedule(ex, qm1)}) with no reply. A racoon responder drops QM1 silently when "
                         f"no sainfo or policy matches the proposed subnets."),
                evidence=[ref(qm1, "QM1"), ref(ex.last, "last retransmission")],
                fix=(f"On {ex.responder}, add a `sainfo` (and SPD entries) mirroring the subnets {ex.initiator} "
                     f"proposes; check its log for `failed to get sainfo`."),
                peer=ex.responder,
            )


@rule("RDB406", "proposal-mismatch-ph2", title="Quick Mode message 1 is answered by a notification instead of QM2",
      severity=Severity.ERROR, needs={"pcap"},
      fix="Make the phase-2 proposal (sainfo encryption/authentication algorithms, pfs_group, lifetime) and the "
          "subnets identical on both ends.")
@per_peer_pair
def qm1_refused(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: phase 1 is up, the initiator sent Quick Mode message 1 and the responder
    sent back an encrypted informational message instead of QM2. Without keys the notify type is
    hidden, but it is NO-PROPOSAL-CHOSEN (algorithms, PFS group or lifetime differ) or, from
    strongSwan/Cisco peers, INVALID-ID-INFORMATION (the subnets differ).

    **Why racoon fails**: racoon as responder logs `no proposal chosen`/`failed to get proposal for
    responder`; as initiator `notification NO-PROPOSAL-CHOSEN received`. racoon itself stays silent
    on selector mismatches, so a racoon responder that answers means the proposal.

    **Evidence it looks at**: Quick Mode exchanges with only QM1, followed by an informational
    exchange from the responder under the same ISAKMP SA. When the capture was decrypted
    (`--ike-keys`), only a NO-PROPOSAL-CHOSEN answer counts: the notify rules name any other.

    **How to fix**: align `sainfo` algorithms, `pfs_group` and `lifetime` with the peer's phase-2
    settings; when the peer is strongSwan or Cisco, also compare the subnets.

    **References**: failure catalog #8, #14 and #26; RFC 2409 §5.5.
    """
    for cap in ev.captures:
        for ex in _qm_stalls(cap, "QM1"):
            qm1 = ex.first
            infos = _answers_after(cap, ex, qm1)
            if not infos or (infos[0].decrypted and "NO-PROPOSAL-CHOSEN" not in infos[0].notify):
                continue
            who = implementation(cap, ex.responder)
            selectors = (f" {ex.responder} looks like {who}, which also answers this way when the subnets differ "
                         f"(INVALID-ID-INFORMATION)." if who and "racoon" not in who else "")
            yield Hit(
                message=(f"{ex.initiator} sent Quick Mode message 1 (message id {ex.message_id:08x}) and "
                         f"{ex.responder} answered with an encrypted notification instead of QM2: it refused the "
                         f"phase-2 proposal.{selectors}"),
                evidence=[ref(qm1, "QM1"), ref(infos[0], "the answer: an informational exchange")],
                peer=ex.responder,
            )


@rule("RDB407", "kernel-sa-install-failed", title="The initiator got QM2 but sent a notification instead of QM3",
      severity=Severity.ERROR, needs={"pcap"},
      fix="Check the initiator's log for `pfkey UPDATE failed`/`pfkey ADD failed` and its kernel's IPsec support "
          "(af_key/xfrm modules, algorithms).")
@per_peer_pair
def qm3_missing(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: Quick Mode messages 1 and 2 went through, and then the initiator sent an
    informational message (a notification or delete) instead of QM3: it gave up on the SAs it had
    just negotiated.

    **Why racoon fails**: after QM2 racoon asks the kernel to install the SAs (pfkey UPDATE/ADD).
    When the kernel refuses (missing algorithm or module, `Invalid argument`, `No buffer space`),
    racoon drops the negotiation; other implementations send NO-PROPOSAL-CHOSEN or DELETE.

    **Evidence it looks at**: Quick Mode exchanges whose last step is QM2, followed by an
    informational exchange from the initiator.

    **How to fix**: read the initiator's log around that time (`pfkey ... failed`), load the kernel
    modules (`af_key`, `esp4`, `xfrm_user`), and pick algorithms the kernel supports.

    **References**: failure catalog #11.
    """
    for cap in ev.captures:
        for ex in _qm_stalls(cap, "QM2"):
            qm2 = next(m for m in ex.originals if m.step == "QM2")
            infos = [m for m in _answers_after(cap, ex, qm2) if m.src == ex.initiator]
            if not infos:
                continue
            yield Hit(
                message=(f"{ex.responder} answered Quick Mode with QM2, but {ex.initiator} then sent an encrypted "
                         f"notification instead of QM3: the initiator dropped the SAs it had just negotiated - "
                         f"usually its kernel refused to install them."),
                evidence=[ref(qm2, "QM2"), ref(infos[0], "instead of QM3")],
                peer=ex.responder,
            )
