"""Phase-1 (ISAKMP-SA) failures seen in racoon logs."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from racoondbg.parsers.log_negotiations import host_of

from racoondbg.correlate import answered_on_wire
from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import Severity
from racoondbg.model.log import Event, Kind, Negotiation
from racoondbg.model.packets import ZERO_COOKIE

from .negotiation_evidence import (
    MAX_REFS,
    at,
    by_peer,
    events,
    negotiation_index,
    notifies,
    peer_words,
    port_of,
    ref,
    refs,
    times,
)

_BIG_PACKET = 1300


@rule("RDB301", "ph1-retransmit-timeout", title="Phase 1 gave up: the peer never answered (or stopped answering)",
      severity=Severity.ERROR, needs={"log"},
      fix="Check that UDP 500/4500 (and ESP) reach the peer: `tcpdump -n udp port 500 or udp port 4500` on both "
          "ends, open or forward the ports, and check the `remote` address.")
def ph1_retransmit_timeout(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** racoon sent its phase-1 message, retransmitted it `timer { counter; interval; }` times
    and gave up (`phase1 negotiation failed due to time up. <icookie>:<rcookie>`).

    **Why racoon fails:** an all-zero responder cookie means the peer never answered even once: the packet did
    not arrive (UDP 500 filtered or not forwarded, wrong peer address, the peer has no matching `remote`) or the
    answer never came back. A non-zero responder cookie means the peer answered at least once and the exchange
    stalled later — in main mode usually at message 5, the first encrypted one (pre-shared key or identifier
    mismatch, or IP fragments of a large certificate message lost).

    **Evidence it looks at:** the time-up line and its cookies, the retransmissions logged at `-d`. When a
    capture shows the peer's answer under the same cookies, the peer did answer: RDB634 reports that instead.

    **How to fix:** capture on both ends; open/forward UDP 500, 4500 and ESP; correct the peer address. For a
    stall after the first answer, compare pre-shared keys and identifiers, or enable `ike_frag on;`.

    **References:** failure catalog #1, #3, #33; racoon.conf(5) `timer`.
    """
    for (_, peer), found in by_peer(events(ev, Kind.PH1_TIMEOUT)).items():
        unanswered = [e for e in found if e.data.get("cookies", "").endswith(ZERO_COOKIE)]
        stalled = [e for e in found if e not in unanswered]
        # a capture that shows the peer's answer to these cookies: racoon lost it on the last metres (RDB634)
        silent = [e for e in unanswered if not answered_on_wire(e.data.get("cookies"), ev.captures)]
        if silent:
            yield Hit(
                message=f"Phase 1 {peer_words(peer)} never got an answer ({times(len(silent))}, first at "
                        f"{at(silent[0])}): the responder cookie is all zeros, so not a single reply arrived. "
                        "The peer's side does not say why: a capture on the peer (does our packet arrive?) "
                        "or the peer's racoon log (does it log anything at that time?) settles whether the "
                        "packet is lost on the way or ignored by the peer.",
                evidence=refs(silent), peer=peer)
        if stalled:
            yield Hit(
                message=f"Phase 1 {peer_words(peer)} timed out after the peer had answered ({times(len(stalled))}, "
                        f"cookies {stalled[0].data.get('cookies')}): the exchange stalled later, typically at "
                        "main-mode message 5 — pre-shared key or identifier mismatch, or lost IP fragments. "
                        "The peer's log at that time says which.",
                evidence=refs(stalled), peer=peer,
                fix="Compare the pre-shared key and `my_identifier`/`peers_identifier` on both ends; with "
                    "certificates enable `ike_frag on;` or fix the path that drops IP fragments.")


@rule("RDB302", "proposal-mismatch-ph1", title="No common phase-1 proposal", severity=Severity.ERROR,
      needs={"log"}, fix="Make the `proposal { encryption_algorithm; hash_algorithm; authentication_method; "
                         "dh_group; }` blocks of both ends share at least one combination.")
def proposal_mismatch_ph1(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** the two ends share no phase-1 transform (encryption, hash, authentication method,
    DH group).

    **Why racoon fails:** the responder compares every proposal of the initiator with its `proposal {}` blocks;
    with no match it logs `no suitable proposal found.` (0.8) or one `rejected <attribute>: DB(...):Peer(...) =
    mine:theirs` line per difference (0.5–0.7, Apple) and answers NO-PROPOSAL-CHOSEN.

    **Evidence it looks at:** `no suitable proposal found.`, `rejected …` lines, `invalid DH group`, and a
    NO-PROPOSAL-CHOSEN notify received in a phase-1 exchange.

    **How to fix:** align the proposals; 3DES or AES-128/256 with SHA1 and modp1024/1536 is the usual common set.

    **References:** failure catalog #2.
    """
    local = list(events(ev, Kind.NO_PROPOSAL, Kind.PROPOSAL_REJECTED, where=lambda e: e.data.get("phase") == "1"))
    for (_, peer), found in by_peer(local).items():
        diffs = sorted({f"{e.data['attribute']}: ours {e.data.get('mine', '?')}, theirs {e.data.get('theirs', '?')}"
                        for e in found if e.kind is Kind.PROPOSAL_REJECTED})
        detail = ("; ".join(diffs)) if diffs else ("the DEBUG lines (`-d`) before it list both sides' transforms")
        yield Hit(message=f"racoon rejected the phase-1 proposal {peer_words(peer)}: {detail}.",
                  evidence=refs(found), peer=peer)
    remote = list(notifies(ev, ["NO-PROPOSAL-CHOSEN"], phase=1))
    for (_, peer), found in by_peer(remote).items():
        if not _phase1_notify(ev, found):
            continue
        yield Hit(message=f"The peer {peer or ''} answered our phase-1 proposal with NO-PROPOSAL-CHOSEN. It does "
                          "not say which attribute it disliked: its log (`no suitable proposal found.` or the "
                          "`rejected …` lines) or its `proposal` blocks settle it.",
                  evidence=refs(found), peer=peer)


def _phase1_notify(ev: Evidence, found: list[Event]) -> bool:
    """A notify belongs to phase 1 when its exchange says so, or when it came during a phase-1 negotiation."""
    if any(e.data.get("exchange") in ("identity exchange", "aggressive exchange", "phase 1") for e in found):
        return True
    for log in ev.logs:
        owners = negotiation_index(log)
        if any((neg := owners.get(id(e))) is not None and neg.phase == 1 for e in found):
            return True
    return False


@rule("RDB303", "exchange-mode-mismatch", title="The peer uses an exchange mode our remote block does not allow",
      severity=Severity.ERROR, needs={"log"},
      fix="List both modes on the responder, e.g. `exchange_mode main,aggressive;`, or make both ends use the same.")
def exchange_mode_mismatch(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** the peer started phase 1 in main mode while our `remote` allows only aggressive (or
    the reverse).

    **Why racoon fails:** racoon 0.8 logs `exchange <mode> not allowed in any applicable rmconf.` (0.7: `not
    acceptable <mode> mode`) and drops the packet; mid-exchange it logs `exchange type is mismatched`. In 0.8 the
    same line also appears when no `remote` block matches the peer at all.

    **Evidence it looks at:** those lines.

    **How to fix:** allow the peer's mode in `exchange_mode`, or check that a `remote` block covers the peer.

    **References:** failure catalog #20.
    """
    for (_, peer), found in by_peer(events(ev, Kind.EXCHANGE_NOT_ALLOWED, Kind.EXCHANGE_MISMATCH)).items():
        first = found[0]
        if first.kind is Kind.EXCHANGE_MISMATCH:
            text = (f"racoon and the peer disagree on the exchange type (ours {first.data.get('mine')}, "
                    f"the packet's {first.data.get('theirs')})")
        else:
            text = (f"the peer {peer or ''} used {first.data.get('exchange')} mode, which no applicable `remote` "
                    "block allows (in 0.8 this also means no `remote` block matched the peer)")
        yield Hit(message=f"{text}; seen {times(len(found))}.", evidence=refs(found), peer=peer)


@rule("RDB304", "no-remote-config", title="No remote block for the peer", severity=Severity.ERROR, needs={"log"},
      fix="Add a `remote <peer address> { … }` block (or `remote anonymous`) for this peer.")
def no_remote_config(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** racoon received a packet from, or was asked to negotiate with, a peer that no `remote`
    block covers.

    **Why racoon fails:** without a `remote` racoon has no proposal, identifier or key for the peer:
    `no configuration found for <ip>.` (0.8), `couldn't find configuration.` (0.5–0.7, Apple).

    **Evidence it looks at:** those lines.

    **How to fix:** add or correct the `remote` block (a typo in the address, a changed peer address), or use
    `remote anonymous`.

    **References:** failure catalog #37.
    """
    for (_, peer), found in by_peer(events(ev, Kind.NO_REMOTE_CONFIG)).items():
        who = found[0].data.get("peer") or peer or "the peer"
        yield Hit(message=f"racoon has no `remote` block for {who} ({times(len(found))}, first at {at(found[0])}).",
                  evidence=refs(found), peer=peer,
                  fix=f"Add `remote {who} {{ … }}` (or `remote anonymous`) to racoon.conf.")


@rule("RDB305", "ph1-state-desync", title="One side still uses an ISAKMP-SA the other forgot", severity=Severity.ERROR,
      needs={"log"}, fix="Restart racoon on both ends (or flush with `setkey -F; setkey -FP` and reload), then "
                         "enable DPD (`dpd_delay 30;`) so a restarted peer is noticed.")
def ph1_state_desync(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** one peer restarted or lost its state while the other kept its ISAKMP-SA and goes on
    sending quick modes or informational messages under it.

    **Why racoon fails:** the side without state logs `<exchange> message must be encrypted` or `unknown
    Informational exchange received.`; the side with stale state logs `can't start the quick mode, there is no
    ISAKMP-SA` or receives INVALID-COOKIE.

    **Evidence it looks at:** those lines (`unknown Informational exchange` alone only when it repeats).

    **How to fix:** restart or flush both ends; enable DPD and INITIAL-CONTACT so it heals by itself.

    **References:** failure catalog #10.
    """
    strong = list(events(ev, Kind.MUST_BE_ENCRYPTED, Kind.NO_ISAKMP_SA)) + list(notifies(ev, ["INVALID-COOKIE"]))
    weak = by_peer(events(ev, Kind.UNKNOWN_INFORMATIONAL))
    groups = by_peer(strong)
    for key, found in weak.items():
        if len(found) >= 3:
            groups.setdefault(key, []).extend(found)
    for (_, peer), found in groups.items():
        yield Hit(message=f"The two ends disagree about the ISAKMP-SA {peer_words(peer)}: one side sends under "
                          f"an SA the other does not know ({times(len(found))}, first at {at(found[0])}). The "
                          "other side's log (a restart, `unknown Informational exchange`) confirms which end "
                          "lost its state.", evidence=refs(found), peer=peer)


@rule("RDB306", "ike-fragmentation", title="Large phase-1 messages are lost or mis-reassembled",
      severity=Severity.WARNING, needs={"log"},
      fix="Enable IKE fragmentation on both ends (`ike_frag on;` in the remote block) or fix the path MTU / the "
          "firewall that drops IP fragments.")
def ike_fragmentation(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** a phase-1 message too big for one IP packet (certificates) is lost as IP fragments,
    or IKE fragments do not reassemble.

    **Why racoon fails:** the peer never answers the big message, so phase 1 times out with a non-zero responder
    cookie; the 0.9 fork and IKE fragmentation code log fragment errors.

    **Evidence it looks at:** fragment errors, and a phase-1 time-out with a non-zero responder cookie right
    after racoon sent a message of 1300 bytes or more (seen at `-d`).

    **How to fix:** `ike_frag on;`, or let fragments through.

    **References:** failure catalog #33.
    """
    for (_, peer), found in by_peer(events(ev, Kind.FRAGMENT_ERROR)).items():
        yield Hit(message=f"IKE fragment errors {peer_words(peer)} ({times(len(found))}).", evidence=refs(found),
                  peer=peer)
    for log in ev.logs:
        for neg in log.phase(1):
            if neg.outcome.value != "timeout" or not neg.cookies or neg.cookies.endswith(ZERO_COOKIE):
                continue
            big = [e for e in neg.events if e.kind is Kind.PACKET_SENT and int(e.data.get("bytes", "0")) >= _BIG_PACKET]
            if big:
                yield Hit(message=f"Phase 1 {peer_words(neg.peer)} stalled after racoon sent a "
                                  f"{big[-1].data.get('bytes')}-byte message: too big for one IP packet, so it "
                                  "travels as fragments, and the peer never answered. A capture on the peer shows "
                                  "whether the fragments arrive.",
                          evidence=[ref(big[-1]), *refs(neg.events[-1:])], peer=neg.peer)


@rule("RDB307", "nat-t-mismatch", title="NAT traversal is not agreed by both ends", severity=Severity.ERROR,
      needs={"log"}, fix="Set `nat_traversal on;` on both ends and listen on UDP 4500 (`isakmp_natt <ip> [4500];`); "
                         "with no NAT in between, `nat_traversal off;` on both.")
def nat_t_mismatch(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** one end speaks NAT-T (NAT-D payloads, UDP 4500) and the other does not, or they use
    incompatible drafts.

    **Why racoon fails:** a racoon with NAT-T off receives the draft NAT-D payload (type 130) and logs `ignore
    the packet, received unexpecting payload type 130.`; the peer may answer INVALID-PAYLOAD-TYPE.

    **Evidence it looks at:** those lines and notifies.

    **How to fix:** enable NAT-T on both ends (and listen on 4500) or on neither.

    **References:** failure catalog #5.
    """
    found = list(events(ev, Kind.NATT_UNEXPECTED_PAYLOAD)) + list(notifies(ev, ["INVALID-PAYLOAD-TYPE"]))
    for (_, peer), group in by_peer(found).items():
        first = group[0]
        if first.kind is Kind.NATT_UNEXPECTED_PAYLOAD:
            text = (f"racoon received NAT-T payload type {first.data.get('payload')} {peer_words(peer)} and does not "
                    "expect it: NAT-T is on at the peer and off here")
        else:
            text = (f"the peer {peer or ''} rejected a payload as INVALID-PAYLOAD-TYPE — usually our NAT-T payloads "
                    "reaching a peer with NAT-T off (its log shows `unexpecting payload type`)")
        yield Hit(message=f"{text}; seen {times(len(group))}.", evidence=refs(group), peer=peer)


@rule("RDB308", "ike-lifetime-mismatch", title="Lifetimes rejected by proposal_check", severity=Severity.ERROR,
      needs={"log"}, fix="Use the same lifetimes on both ends, or `proposal_check obey;` on the responder.")
def ike_lifetime_mismatch(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** the initiator proposed a lifetime the responder's `proposal_check` refuses (`strict`:
    longer than ours; `exact`: any difference).

    **Why racoon fails:** `long lifetime proposed: my:… peer:…`, `lifetime mismatched: my:… peer:…`,
    `RESPONDER-LIFETIME: lifetime mismatch`; the proposal is then rejected. (`use own lifetime` is `obey`/`claim`
    doing its job and is not reported.)

    **Evidence it looks at:** those lines.

    **How to fix:** align the `lifetime time` lines or relax `proposal_check`.

    **References:** failure catalog #26.
    """
    for (_, peer), found in by_peer(events(ev, Kind.LIFETIME_MISMATCH)).items():
        first = found[0]
        values = (f" (ours {first.data['mine']} s, theirs {first.data['theirs']} s)" if "mine" in first.data else "")
        yield Hit(message=f"The proposed lifetime {peer_words(peer)} was refused{values}; {times(len(found))}.",
                  evidence=refs(found), peer=peer)


@rule("RDB309", "negotiation-restart-loop", title="Phase 1 restarted again and again before it could finish",
      severity=Severity.ERROR, needs={"log"},
      fix="Stop what restarts the negotiation (an interface flapping for power saving, a script sending SIGHUP, "
          "DHCP renewals), or make the negotiation finish sooner: `exchange_mode aggressive,main;` and "
          "`dh_group modp1024;` on both ends, and a faster peer.")
def negotiation_restart_loop(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** phase 1 with the same peer was started several times, each attempt abandoned before it
    had an outcome, because a new attempt replaced it.

    **Why racoon fails:** something restarts racoon's negotiation — an interface that goes down and up (e.g. Mac
    OS X in 802.11 IBSS mode does power saving by flapping the interface and restarts DHCP and IPsec each
    time), a reload (SIGHUP), a new address. When the peer is slow, every attempt is cut off before the peer can
    answer, and the tunnel only comes up by luck.

    **Evidence it looks at:** phase-1 starts with no outcome in between, what happened just before each restart
    (interface list changes, signals, sockets re-opened), and how long the peer needs to answer.

    **How to fix:** stop the restarts (disable power saving on the interface, don't signal racoon on link
    changes), or make negotiation faster (aggressive mode, a smaller DH group, a faster responder).

    **References:** the seed report "IPsec vs. OSX" (tech-net, 2002).
    """
    for log in ev.logs:
        per_peer: dict[str | None, list[Negotiation]] = {}
        for neg in log.phase(1):
            per_peer.setdefault(neg.peer, []).append(neg)
        for peer, negs in per_peer.items():
            cut = [n for n in negs if n.outcome.value == "superseded"]
            if len(cut) < 2:
                continue
            causes = [c for n in cut for c in n.events if c.kind in (Kind.INTERFACE_CHANGE, Kind.SIGNAL)]
            lasted = sorted(int(s) for n in cut if (s := _cut_after(n)) is not None)
            span = f"after {lasted[0]}–{lasted[-1]} s" if lasted else "before any answer"
            why = (" Each time, just before the restart, " + _cause_words(causes) + "." if causes else "")
            final = next((n for n in negs if n.outcome.value == "established"), None)
            ending = (f" The attempt that was left alone succeeded after {int(final.seconds or 0)} s — longer than "
                      "the others were allowed to run." if final is not None and final.seconds else
                      " None of the attempts succeeded.")
            yield Hit(message=f"Phase 1 {peer_words(peer)} was started {len(cut) + (1 if final else 0)} times; "
                              f"{len(cut)} attempts were cut off {span}, before the peer had answered.{why}{ending}",
                      evidence=[ref(n.events[0]) for n in cut[:3]] + [ref(c) for c in causes[:2]]
                      + ([ref(final.events[-1], "finally established")] if final is not None else []),
                      peer=peer)


def _cut_after(neg: Negotiation) -> float | None:
    """Seconds from the start of an attempt to what cut it off (a signal, an interface change, the next start)."""
    stop = next((e.time for e in neg.events if e.kind in (Kind.INTERFACE_CHANGE, Kind.SIGNAL, Kind.LISTEN)), None)
    stop = stop or neg.ended
    if stop is None or neg.started is None:
        return None
    return (stop - neg.started).total_seconds()


def _cause_words(causes: list[Event]) -> str:
    words = []
    if any(c.kind is Kind.INTERFACE_CHANGE for c in causes):
        words.append("the interface addresses changed (the interface went down and up)")
    if any(c.kind is Kind.SIGNAL for c in causes):
        words.append("racoon was signalled to reload (" + causes[-1].message.strip() + ")")
    return " and ".join(words)


_SLOW_SECONDS = 5.0
_SLOW_PHASE_SECONDS = 10.0


@rule("RDB310", "slow-negotiation", title="A negotiation step takes many seconds (slow peer)",
      severity=Severity.WARNING, needs={"log"},
      fix="Speed the peer up or lighten its work (`dh_group modp1024;`, aggressive mode, fewer proposals), and keep "
          "racoon's timers (`timer { phase1 30 sec; }`) and anything that restarts negotiation well above that time.")
def slow_negotiation(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** one step of a negotiation took several seconds — normally each takes milliseconds.

    **Why racoon fails:** a slow responder (old hardware doing big Diffie-Hellman computations, an overloaded
    box, a slow certificate or RADIUS lookup) makes negotiations fragile: anything that restarts them or a short
    phase-1 timer cuts them off.

    **Evidence it looks at:** the time between a packet racoon sent and the peer's answer (logged at `-d`),
    else the time from the start of a phase to its establishment.

    **How to fix:** lighten the peer's work or speed it up; keep timers above the step time.

    **References:** the seed report "IPsec vs. OSX" (tech-net, 2002): "the AlphaStation 200 … is a bit slow".
    """
    for log in ev.logs:
        worst: dict[str | None, tuple[float, Hit]] = {}
        for neg in log.negotiations:
            found = _slowest_step(neg)
            if found is None:
                continue
            seconds, hit = found
            if neg.peer not in worst or seconds > worst[neg.peer][0]:
                worst[neg.peer] = (seconds, hit)
        for _, hit in worst.values():
            yield hit


def _slowest_step(neg: Negotiation) -> tuple[float, Hit] | None:
    best: tuple[float, Event, Event, int] | None = None
    sent_count = 0
    last_sent: Event | None = None
    for event in neg.events:
        if event.kind is Kind.PACKET_SENT:
            sent_count += 1
            last_sent = event
        elif event.kind is Kind.PACKET_RECEIVED and last_sent is not None and last_sent.time and event.time:
            gap = (event.time - last_sent.time).total_seconds()
            if gap >= _SLOW_SECONDS and (best is None or gap > best[0]):
                best = (gap, last_sent, event, sent_count)
            last_sent = None
    phase = "phase 1" if neg.phase == 1 else "phase 2 (quick mode)"
    if best is not None:
        gap, sent, answer, count = best
        step = _step_name(neg, count)
        return gap, Hit(
            message=f"The peer {neg.peer or ''} took {int(gap)} s to answer {step} in {phase} (sent {at(sent)}, "
                    f"answer {at(answer)}). That step is slow on the peer's side; its load or its log at that "
                    "time would show why.",
            evidence=[ref(sent, "sent"), ref(answer, "answered")], peer=neg.peer)
    seconds = neg.seconds
    if neg.outcome.value == "established" and seconds is not None and seconds >= _SLOW_PHASE_SECONDS:
        return seconds, Hit(
            message=f"{phase.capitalize()} with {neg.peer or 'the peer'} took {int(seconds)} s to complete. Run "
                    "racoon with -d to see which step is slow (the time between a sent packet and its answer).",
            evidence=[ref(neg.events[0], "started"), ref(neg.events[-1], "established")], peer=neg.peer)
    return None


def _step_name(neg: Negotiation, sent_count: int) -> str:
    """Our n-th sent packet as an exchange message name (initiator: 1, 3, 5; responder: 2, 4, 6)."""
    number = 2 * sent_count - (1 if neg.role != "responder" else 0)
    exchange = (neg.exchange or ("Quick" if neg.phase == 2 else "phase-1")).replace("Identity Protection", "main")
    return f"our {exchange} mode message {number}"


@rule("RDB311", "dpd-misbehaviour", title="Dead Peer Detection declared the peer dead", severity=Severity.WARNING,
      needs={"log"}, fix="If the peer was alive, raise `dpd_retry` / `dpd_maxfail` (or `dpd_delay`) so a busy peer "
                         "is not declared dead; if it was really gone, nothing to fix here.")
def dpd_misbehaviour(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** R-U-THERE probes went unanswered `dpd_maxfail` times and racoon purged the SAs with the
    peer — or DPD messages were out of sequence.

    **Why racoon fails:** on a loaded or lossy link an aggressive `dpd_retry`/`dpd_maxfail` declares a live peer
    dead and tears the tunnel down; the other side then keeps stale SAs.

    **Evidence it looks at:** `DPD: remote (ISAKMP-SA spi=…) seems to be dead.`, DPD sequence errors.

    **How to fix:** relax the DPD timers; check the link.

    **References:** failure catalog #28.
    """
    for (_, peer), found in by_peer(events(ev, Kind.DPD_DEAD, Kind.DPD_ERROR)).items():
        dead = [e for e in found if e.kind is Kind.DPD_DEAD]
        text = (f"racoon declared {peer or 'the peer'} dead by DPD {times(len(dead))} (first at {at(dead[0])}) and "
                "purged its SAs" if dead else f"DPD messages {peer_words(peer)} were out of sequence")
        yield Hit(message=f"{text}. Whether the peer was really down is in its own log (a restart or reboot at that "
                          "time) — if it was up, the DPD timers are too tight for this link.",
                  evidence=refs(found), peer=peer)


@rule("RDB312", "ike-send-error", title="racoon cannot send IKE packets", severity=Severity.ERROR, needs={"log"},
      fix="Allow UDP 500/4500 out in the local packet filter, add the route to the peer, and restart racoon after "
          "address changes.")
def ike_send_error(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** `sendto()` failed for racoon's IKE socket.

    **Why racoon fails:** a local packet filter blocks the output (`Operation not permitted`), there is no route
    to the peer, or the socket is bound to an address that has gone; the negotiation fails with `phase1
    negotiation failed due to send error.`

    **Evidence it looks at:** `sendto (…)`, `sendfromto failed`, `… failed due to send error.`

    **How to fix:** allow the traffic, fix the route, restart racoon after address changes.

    **References:** failure catalog #27.
    """
    for (_, peer), found in by_peer(events(ev, Kind.SEND_ERROR)).items():
        errno = next((e.data["errno"] for e in found if e.data.get("errno")), None)
        yield Hit(message=f"racoon could not send to {peer or 'the peer'} ({times(len(found))}"
                          + (f"; the system said: {errno}" if errno else "") + ").",
                  evidence=refs(found), peer=peer)


#: RFC 6598 shared address space: carrier-grade NAT, and the range ZTNA/VPN agents give their tunnels.
_CGNAT = ipaddress.ip_network("100.64.0.0/10")


def _in_cgnat(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address) in _CGNAT
    except ValueError:
        return False


@rule("RDB313", "route-stolen-by-other-vpn", title="Phase 1 left from a CGNAT/ZTNA address and was never answered",
      severity=Severity.WARNING, needs={"log"},
      fix="Check which interface carries IKE to the peer (`route -n get <peer>` on macOS/BSD, `ip route get <peer>` "
          "on Linux); if another VPN or ZTNA agent (FortiClient, Zscaler, Tailscale …) owns that route, exclude "
          "the gateway from its tunnel (split tunnel / bypass list) or disconnect it, then retry.")
def route_stolen_by_other_vpn(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** racoon started phase 1 from a local address in 100.64.0.0/10 (RFC 6598) and
    the peer never answered (`phase1 negotiation failed due to time up. …:0000000000000000`).

    **Why racoon fails:** 100.64.0.0/10 is carrier-grade NAT space, and the range other VPN and
    zero-trust agents (FortiClient/ZTNA and the like) give their tunnel interfaces. When such an agent
    installs a host route for the IPsec gateway, the kernel picks the agent's interface and its address
    as racoon's source: IKE goes into the other tunnel and the answer never comes back. The front end
    then blames the gateway.

    **Evidence it looks at:** the phase-1 time-up with an all-zero responder cookie and the local address
    of that negotiation (`initiate new phase 1 negotiation: <local>[500]<=><peer>[500]`).

    **What would confirm it:** low confidence — a plain CGNAT uplink gives the same address and may just
    be filtering. The routing table settles it: a host route for the peer via a `utun`/`tun`/`ppp`
    interface of another agent (`netstat -rn`, `ip route get <peer>`); racoondbg does not read routes.

    **How to fix:** exclude the gateway from the other agent's tunnel, or disconnect it.

    **References:** failure catalog #40 (FortiClient macOS `ipsec.log` note).
    """
    for log in ev.logs:
        index = negotiation_index(log)
        found: dict[tuple[str | None, str], list[Event]] = {}
        for event in log.of_kind(Kind.PH1_TIMEOUT):
            if not event.data.get("cookies", "").endswith(ZERO_COOKIE):
                continue
            neg = index.get(id(event))
            local = host_of(neg.local) if neg is not None else None
            peer = event.peer or (neg.peer if neg is not None else None)
            if local is not None and _in_cgnat(local) and not _in_cgnat(peer):
                found.setdefault((peer, local), []).append(event)
        for (peer, local), group in found.items():
            neg = index[id(group[0])]
            start = neg.events[0] if neg.events else group[0]
            yield Hit(message=f"Phase 1 {peer_words(peer)} left from {local}, an address in 100.64.0.0/10 (CGNAT or "
                              f"another VPN/ZTNA agent's tunnel), and was never answered ({times(len(group))}). If "
                              "another VPN agent holds a route to the gateway, IKE went into its tunnel.",
                      evidence=[ref(start, "local address of the attempt"), *refs(group, MAX_REFS - 1)], peer=peer)


@rule("RDB314", "ike-source-nat-rewrite", title="A NAT rewrote the IKE port of a peer that is not behind NAT",
      severity=Severity.WARNING, needs={"log"},
      fix="On the peer's side (or on the router in front of it), exempt the gateway's own IKE and ESP from outbound "
          "NAT: pfSense static-port outbound NAT for UDP 500/4500 from the WAN address, MikroTik an `accept` rule "
          "before masquerade, Linux `iptables -t nat -I POSTROUTING -p udp -m multiport --sports 500,4500 -j "
          "ACCEPT`.")
def ike_source_nat_rewrite(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** racoon saw the peer's IKE source port change to one that is neither 500 nor
    4500 (`NAT-T: ports changed to: <peer>[<port>]<->…`), although NAT discovery found no NAT in front
    of that peer (`NAT not detected`, or `NAT detected: ME` only).

    **Why racoon fails:** the router in front of the peer source-NATs the gateway's own IKE packets
    (an outbound NAT rule with source `any`, masquerade without an exception). The hashes of the first
    exchange came through untouched, but later packets leave with a rewritten port; racoon follows
    the new port once, answers go to a mapping that expires, and the tunnel comes up only when this
    side initiates — or not at all.

    **Evidence it looks at:** `NAT-T: ports changed to: …` and the NAT-D verdict of the same peer.

    **What would confirm it:** medium confidence — a capture on the peer's WAN showing its IKE leaving
    from a port other than 500/4500 (racoondbg reports that as the packet rule of this failure), or the
    peer's NAT table.

    **How to fix:** exempt UDP 500/4500 and ESP of the gateway itself from outbound NAT.

    **References:** failure catalog #22; pfSense IPsec troubleshooting; MikroTik IPsec manual.
    """
    for log in ev.logs:
        index = negotiation_index(log)
        verdict: dict[str, Event] = {}
        for event in log.of_kind(Kind.NAT_DETECTED):
            neg = index.get(id(event))
            peer = event.peer or (neg.peer if neg is not None else None)
            if peer is not None and event.data.get("what") in ("detected", "not detected") \
                    and "->" not in event.message:
                verdict[peer] = event
        found: dict[str, list[Event]] = {}
        for event in log.of_kind(Kind.NATT_PORTS):
            remote = event.data.get("ports", "").split("<->", 1)[0]
            peer, port = host_of(remote), port_of(remote)
            nat_d = verdict.get(peer or "")
            if peer is None or port is None or port in (500, 4500) or nat_d is None:
                continue
            if "PEER" in nat_d.data.get("behind_nat", "") and nat_d.data.get("what") == "detected":
                continue
            found.setdefault(peer, []).append(event)
        for peer, group in found.items():
            nat_d = verdict[peer]
            yield Hit(message=f"{peer}'s IKE port changed to {port_of(group[0].data['ports'].split('<->', 1)[0])} "
                              f"({times(len(group))}), but NAT discovery said {peer} is not behind a NAT "
                              f"(`{nat_d.message.strip()}`): something in front of {peer} rewrites the source port of "
                              "its own IKE packets.",
                      evidence=[ref(nat_d, "NAT-D verdict"), *refs(group, MAX_REFS - 1)], peer=peer)
