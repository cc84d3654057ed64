"""Packet rules: error notifications seen in clear text, mapped to their usual causes in racoon setups."""

from __future__ import annotations

from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import Severity
from racoondbg.model.packets import Capture, IsakmpMessage, NotifyDetail, Wire

from .pcap_helpers import per_peer_pair, phase1_done, ref, sent_by, transforms, uses_certificates


def _notified(cap: Capture, codes: set[int]) -> Iterator[tuple[IsakmpMessage, NotifyDetail, IsakmpMessage | None]]:
    """(message, notify, the other side's last message before it under the same cookie) per error notify."""
    def carries(w: Wire) -> bool:
        return any(isinstance(p.detail, NotifyDetail) and p.detail.code in codes for p in w.payloads)

    for msg in cap.messages.where(carries, originals=True):
        for n in msg.notifies():
            if n.code in codes:
                before = [m for m in cap.messages_of(msg.icookie, sent_by(msg.dst))
                          if m.time <= msg.time and m.retransmit_of is None]
                yield msg, n, (before[-1] if before else None)


def _hit(msg: IsakmpMessage, prior: IsakmpMessage | None, message: str) -> Hit:
    """A finding about a notify from ``msg.src``, pointing at the refused message and the notify."""
    return Hit(message=message, evidence=[ref(m) for m in (prior, msg) if m is not None], peer=msg.src)


def _refused(prior: IsakmpMessage | None) -> str:
    return f" in answer to {prior.step} (frame {prior.frame})" if prior else ""


def _offer(cap: Capture, prior: IsakmpMessage | None) -> str:
    """The phase-1 transforms the refused message offered, in racoon's words."""
    if prior is None:
        return ""
    ex = next((x for x in cap.exchanges_of(prior.icookie) if x.exchange_type in (2, 4)), None)
    offered = []
    for t in transforms(ex) if ex else []:
        words = [a.text for a in t.attributes if a.name in ("Encryption Algorithm", "Hash Algorithm",
                                                            "Group Description", "Authentication Method")]
        length = t.attribute("Key Length")
        if length is not None and words:
            words[0] += f"-{length.text}"
        offered.append("/".join(words))
    return f" {prior.src} offered: {'; '.join(offered)}." if offered else ""


@rule("RDB410", "proposal-mismatch-ph1", title="The peer refused every phase-1 proposal (NO-PROPOSAL-CHOSEN)",
      severity=Severity.ERROR, needs={"pcap"},
      fix="Make one `proposal { encryption_algorithm; hash_algorithm; authentication_method; dh_group; }` in the "
          "remote block match the peer's phase-1 settings exactly.")
@per_peer_pair
def ph1_no_proposal(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: the peer answered the first phase-1 message with a clear-text
    informational carrying NO-PROPOSAL-CHOSEN (notify 14): none of the offered combinations of
    encryption, hash, authentication method and DH group is acceptable to it.

    **Why racoon fails**: racoon logs `no suitable proposal found.` (0.8) or `rejected enctype: ...`
    (0.7) when it is the responder; as initiator it logs `notification NO-PROPOSAL-CHOSEN received`.

    **Evidence it looks at**: unencrypted notifications of type 14 sent before phase 1 completed;
    the transforms offered in MM1/AM1 (readable in the capture).

    **How to fix**: align the `proposal` blocks with the peer. Common interop sets are AES-128/256 or
    3DES with SHA1 and modp1024/1536; newer peers refuse modp768/modp1024 and DES.

    **References**: failure catalog #2; RFC 2408 §3.14.1.
    """
    for cap in ev.captures:
        for msg, _n, prior in _notified(cap, {14}):
            if phase1_done(cap, msg.icookie):
                continue
            yield _hit(msg, prior, f"{msg.src} refused every phase-1 proposal{_refused(prior)} with "
                                   f"NO-PROPOSAL-CHOSEN.{_offer(cap, prior)}")


@rule("RDB411", "id-mismatch", title="The peer refused the identity or the phase-2 IDs (INVALID-ID-INFORMATION)",
      severity=Severity.ERROR, needs={"pcap"},
      fix="Align my_identifier/peers_identifier (phase 1) or the sainfo/SPD subnets (phase 2) with the peer.")
@per_peer_pair
def invalid_id(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: the peer sent INVALID-ID-INFORMATION (notify 18) in clear text. In phase 1
    the identity (ID payload) did not match what it expects; in phase 2 the proposed subnets did
    not match its configuration.

    **Why racoon fails**: racoon itself stays silent on these failures (it logs `failed to get
    sainfo` or `ID mismatched`); Cisco and strongSwan peers send this notify.

    **Evidence it looks at**: unencrypted notifications of type 18.

    **How to fix**: phase 1: set `my_identifier` to what the peer expects (address, fqdn,
    user_fqdn, asn1dn). Phase 2: make `sainfo` and the SPD mirror the peer's subnets exactly.

    **References**: failure catalog #4 and #18.
    """
    for cap in ev.captures:
        for msg, _n, prior in _notified(cap, {18}):
            phase = "phase-2 subnets (sainfo/SPD)" if phase1_done(cap, msg.icookie) else "phase-1 identity"
            yield _hit(msg, prior, f"{msg.src} refused the {phase}{_refused(prior)} with INVALID-ID-INFORMATION.")


@rule("RDB412", "psk-value-mismatch", title="The peer could not authenticate us (PAYLOAD-MALFORMED, "
      "INVALID-HASH-INFORMATION or AUTHENTICATION-FAILED)", severity=Severity.ERROR, needs={"pcap"},
      fix="Re-enter the same pre-shared key on both ends, and check that the identifiers match the psk.txt entries.")
@per_peer_pair
def auth_notify(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: a clear-text notification says authentication failed: PAYLOAD-MALFORMED
    (16; the peer decrypted garbage, usually because the keys differ), INVALID-HASH-INFORMATION
    (23) or AUTHENTICATION-FAILED (24).

    **Why racoon fails**: with different pre-shared keys each side derives different encryption keys,
    so MM5 decrypts to garbage (`invalid length of payload`, `HASH mismatched`). With certificates
    the signature or the identity did not verify. strongSwan also answers an aggressive-mode PSK
    request with AUTHENTICATION-FAILED when aggressive mode with PSK is not allowed there.

    **Evidence it looks at**: unencrypted notifications of type 16, 23 or 24 and the step they answer.

    **How to fix**: compare the pre-shared keys (`cat -A psk.txt`), the psk.txt identifiers, and
    with certificates `my_identifier asn1dn` and the CA.

    **References**: failure catalog #9, #18 and #29.
    """
    for cap in ev.captures:
        for msg, n, prior in _notified(cap, {16, 23, 24}):
            certs = uses_certificates(cap, msg.icookie)
            cause = ("the certificate, signature or identity did not verify" if certs
                     else "the pre-shared keys differ or no key matches the identifier")
            aggressive = (" (strongSwan also says this when it does not allow aggressive mode with pre-shared "
                          "keys)" if prior is not None and prior.exchange_type == 4 else "")
            yield _hit(msg, prior, f"{msg.src} sent {n.name}{_refused(prior)}: {cause}{aggressive}.")


@rule("RDB413", "ca-hash-link-missing", title="The peer could not verify our certificate (INVALID-CERT-AUTHORITY)",
      severity=Severity.ERROR, needs={"pcap"},
      fix="Install the CA on the verifying side and create its hash link: "
          "ln -s ca.pem $(openssl x509 -noout -hash -in ca.pem).0")
@per_peer_pair
def invalid_ca(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: the peer sent INVALID-CERT-AUTHORITY (notify 22): it does not trust the CA
    that issued the certificate it received.

    **Why racoon fails**: racoon looks CAs up in `path certificate` by subject hash
    (`<hash>.0` links). Without the link it logs `unable to get local issuer certificate` and sends
    this notify.

    **Evidence it looks at**: unencrypted notifications of type 22.

    **How to fix**: put the CA certificate into the peer's certificate directory and create the hash
    link (`c_rehash` or `ln -s`), or name it with `ca_type x509 "ca.pem";`.

    **References**: failure catalog #17 and #30.
    """
    for cap in ev.captures:
        for msg, _n, prior in _notified(cap, {22}):
            yield _hit(msg, prior, f"{msg.src} did not trust the certificate authority{_refused(prior)} "
                                   "(INVALID-CERT-AUTHORITY).")


@rule("RDB414", "ph1-state-desync", title="The peer does not know our ISAKMP SA (INVALID-COOKIE)",
      severity=Severity.ERROR, needs={"pcap"},
      fix="Restart racoon on the side with stale state (or flush: setkey -F; setkey -FP) and enable DPD and "
          "INITIAL-CONTACT so it recovers by itself.")
@per_peer_pair
def invalid_cookie(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: the peer answered with INVALID-COOKIE (notify 4): it has no ISAKMP SA for
    the cookies used, typically because it restarted while this side kept its SA.

    **Why racoon fails**: the side with the stale SA sends quick modes or informationals under it;
    the other logs `unknown ISAKMP-SA`/`none message must be encrypted` and answers with this
    notify. Nothing recovers until the stale SA expires.

    **Evidence it looks at**: unencrypted notifications of type 4.

    **How to fix**: restart the side with stale state; enable DPD (`dpd_delay`) so dead SAs are found,
    and make sure INITIAL-CONTACT is sent.

    **References**: failure catalog #10.
    """
    for cap in ev.captures:
        for msg, _n, prior in _notified(cap, {4}):
            yield _hit(msg, prior, f"{msg.src} sent INVALID-COOKIE{_refused(prior)}: it has no ISAKMP SA for cookies "
                                   f"{msg.icookie}:{msg.rcookie}; one side kept state the other lost.")


@rule("RDB415", "nat-t-mismatch", title="The peer refused a payload type (INVALID-PAYLOAD-TYPE): NAT-T versions "
      "differ", severity=Severity.ERROR, needs={"pcap"},
      fix="Set `nat_traversal on;` on both ends with a common NAT-T version (RFC 3947), or `off` on both when "
          "there is no NAT.")
@per_peer_pair
def invalid_payload_type(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: the peer answered with INVALID-PAYLOAD-TYPE (notify 1). In racoon setups
    this is nearly always a NAT-D or NAT-OA payload of a NAT-T draft version the peer does not
    know (types 15/16 or 130/131).

    **Why racoon fails**: racoon logs `ignore the packet, received unexpecting payload type 130.`
    when the other side uses a NAT-T draft it was not built with; the negotiation dies after MM3.

    **Evidence it looks at**: unencrypted notifications of type 1, and the payload types of the
    message they answer.

    **How to fix**: enable NAT-T on both ends (`nat_traversal on`) with a common version, or
    disable it on both when no NAT is present.

    **References**: failure catalog #5; RFC 3947.
    """
    for cap in ev.captures:
        for msg, _n, prior in _notified(cap, {1}):
            odd = sorted({p.name for p in prior.payloads if p.type in (15, 16, 130, 131)}) if prior else []
            detail = f" ({prior.src} sent {', '.join(odd)})" if prior and odd else ""
            yield _hit(msg, prior, f"{msg.src} sent INVALID-PAYLOAD-TYPE{_refused(prior)}: it does not know a "
                                   f"payload{detail}.")


@rule("RDB416", "exchange-mode-mismatch", title="The peer refused the phase-1 exchange mode (main vs aggressive)",
      severity=Severity.ERROR, needs={"pcap"},
      fix="List both modes on the responder, e.g. `exchange_mode main,aggressive;`, or use the mode it accepts.")
@per_peer_pair
def invalid_exchange_type(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: the peer answered the first phase-1 message with INVALID-EXCHANGE-TYPE
    (notify 7) or UNSUPPORTED-EXCHANGE-TYPE (29): it does not accept main mode (or aggressive mode)
    from this initiator.

    **Why racoon fails**: racoon checks the exchange type against the remote's `exchange_mode`
    list (`not acceptable Aggressive mode` in 0.7, `exchange Aggressive not allowed in any
    applicable rmconf.` in 0.8) and refuses the negotiation.

    **Evidence it looks at**: unencrypted notifications of type 7 or 29 and the exchange type of the
    message they answer.

    **How to fix**: make the initiator's first `exchange_mode` one the responder lists, or list both
    on the responder: `exchange_mode main,aggressive;`.

    **References**: failure catalog #20.
    """
    for cap in ev.captures:
        for msg, n, prior in _notified(cap, {7, 29}):
            mode = f" ({prior.exchange})" if prior is not None else ""
            yield _hit(msg, prior, f"{msg.src} sent {n.name}{_refused(prior)}: it does not accept that exchange "
                                   f"mode{mode} from {msg.dst}.")
