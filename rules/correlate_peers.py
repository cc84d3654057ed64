"""Two hosts at once (`analyze A.tar.gz B.tar.gz`): what one side did and the other never saw."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from racoondbg.addresses import ip_of, own_addresses
from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import EvidenceRef, Severity
from racoondbg.model.log import Event, Kind, Negotiation, Outcome

_STARTUP = (Kind.VERSION, Kind.CONFIG_READ)


def hosts(ev: Evidence) -> list[Evidence]:
    return [ev, *ev.peers]


def pairs(ev: Evidence) -> Iterator[tuple[Evidence, Evidence, set[str], set[str]]]:
    """(A, B, A's addresses, B's addresses) for every ordered pair of hosts given."""
    everyone = [(h, own_addresses(h)) for h in hosts(ev)]
    for a, a_addrs in everyone:
        for b, b_addrs in everyone:
            if a is not b:
                yield a, b, a_addrs, b_addrs


def host_name(ev: Evidence) -> str:
    """The host's name for messages: its hostname, else its bundle."""
    if ev.host is not None and ev.host.hostname:
        return ev.host.hostname
    return ev.host.location.path.split("!", 1)[0] if ev.host is not None else "the other host"


def _events_from(ev: Evidence, peer_addrs: set[str]) -> list[Event]:
    return [e for a in ev.logs for e in a.events if ip_of(e.peer) in peer_addrs]


def _negotiations(ev: Evidence, phase: int) -> Iterable[Negotiation]:
    return (n for a in ev.logs for n in a.negotiations if n.phase == phase)


@rule("RDB630", "udp-500-4500-blocked", title="IKE packets from one peer never reach the other",
      severity=Severity.ERROR, needs={"log", "peers"},
      fix="Open (or forward) UDP 500, UDP 4500 and IP protocol 50 (ESP) between the two gateways on every "
          "firewall and NAT router in between.")
def udp_blocked_between_peers(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** one host's racoon started phase 1 with the other and gave up waiting
    (`phase1 negotiation failed due to time up`, retransmissions), while the other host's log —
    collected at the same time — shows nothing at all from that address.

    **Why racoon fails:** the packets never arrive: a firewall or a NAT router without port
    forwards drops UDP 500 (or 4500 once NAT-T switches ports). racoon on the far side cannot
    answer what it never receives, so the initiator times out. When the far side's log shows the
    packets arriving and being answered, the loss is on the way back instead — that is not this
    finding.

    **Evidence it looks at:** phase-1 negotiations that timed out in one log, every event for that
    peer in the other host's log, and the other host's capture (did anything from the peer arrive?).

    **How to fix:** capture on the silent side (`tcpdump -n -i any udp port 500 or udp port 4500`)
    while the initiator retries: if nothing arrives, the path drops it; open/forward UDP 500 and
    4500 and ESP.

    **References:** failure-catalog #3 `udp-500-4500-blocked`, #1 `ph1-retransmit-timeout`.
    """
    for a, b, a_addrs, b_addrs in pairs(ev):
        if not b.logs and not b.captures:
            continue
        timed_out = [n for n in _negotiations(a, 1) if n.outcome is Outcome.TIMEOUT and ip_of(n.peer) in b_addrs]
        arrived = any(w.src in a_addrs for c in b.captures for w in c.messages.wires_used())
        if not timed_out or _events_from(b, a_addrs) or arrived:
            continue
        neg = timed_out[-1]
        peer, local = ip_of(neg.peer), ip_of(neg.local) or next(iter(sorted(a_addrs)), "?")
        witnesses = [*(f"{host_name(b)}'s log" for _ in b.logs[:1]),
                     *(f"{host_name(b)}'s capture" for _ in b.captures[:1])]
        evidence = [EvidenceRef.at(neg.end or neg.start, note=f"phase 1 to {peer} timed out")]
        sources = [log.location for log in b.logs] + [capture.location for capture in b.captures]
        evidence += [EvidenceRef.at(where, note=f"nothing from {local}") for where in sources]
        capture_hint = "" if b.captures else (
            f" To be sure, run `tcpdump -n -i any 'host {local} and (udp port 500 or udp port 4500)'` on "
            f"{host_name(b)} while {host_name(a)} retries.")
        yield Hit(
            f"{host_name(a)} tried phase 1 with {peer} {len(timed_out)} time(s) and timed out, and "
            f"{' and '.join(witnesses)} show nothing at all from {local}: the IKE packets are lost between the two "
            f"hosts.{capture_hint}",
            evidence=evidence, peer=peer,
            fix=f"Open/forward UDP 500, UDP 4500 and ESP (protocol 50) from {local} to {peer} on every firewall and "
                f"router in between (and the reverse direction).",
        )


@rule("RDB631", "psk-value-mismatch", title="The two peers' psk.txt hold different keys for each other",
      severity=Severity.ERROR, needs={"psk", "peers"},
      fix="Put the same key in both psk.txt files (plain text, no quotes, no trailing blanks), `chmod 600`, "
          "restart racoon on both.")
def psk_mismatch_across_bundles(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** both hosts' bundles carry a pre-shared key for each other, and the keys'
    tags differ. Tags are hashes, so equal keys give equal tags on any box; different tags mean
    different keys, whatever the keys are.

    **Why racoon fails:** phase 1 gets through MM1–MM4 and then each side decrypts the other's MM5
    with the wrong key: `invalid length of payload`, `HASH mismatched`, `ignore the packet, received
    unexpecting payload type …`, then `phase1 negotiation failed`.

    **Evidence it looks at:** psk.txt of each bundle (identifiers and key tags, never the keys) and
    each host's own addresses (bound sockets, tunnel sources, local ends of negotiations).

    **How to fix:** re-enter the key on both ends, identically, without quotes or trailing spaces;
    watch for CRLF line ends (`cat -A psk.txt` shows `^M`).

    **References:** failure-catalog #9 `psk-value-mismatch`.
    """
    done: set[frozenset[str]] = set()
    for a, b, a_addrs, b_addrs in pairs(ev):
        if a.psk is None or b.psk is None:
            continue
        for mine in a.psk.entries:
            if mine.identifier not in b_addrs:
                continue
            theirs = next((e for e in b.psk.entries if e.identifier in a_addrs), None)
            key = frozenset({mine.location.path, theirs.location.path}) if theirs else None
            if theirs is None or key in done or mine.key_tag == theirs.key_tag:
                continue
            done.add(key)  # type: ignore[arg-type]
            yield Hit(
                f"{host_name(a)} keeps key {mine.key_tag} for {mine.identifier}, but {host_name(b)} keeps key "
                f"{theirs.key_tag} for {theirs.identifier}: the two pre-shared keys differ, so phase 1 fails at MM5.",
                evidence=[EvidenceRef.at(mine.location, f"{mine.identifier} {mine.key_tag}"),
                          EvidenceRef.at(theirs.location, f"{theirs.identifier} {theirs.key_tag}")],
                peer=mine.identifier,
            )


@rule("RDB632", "ph1-state-desync", title="One peer still uses an ISAKMP-SA the other forgot when it restarted",
      severity=Severity.ERROR, needs={"log", "peers"},
      fix="Restart racoon on the side that kept the old ISAKMP-SA (or both), and enable DPD (`dpd_delay 30;`) "
          "so a restart is noticed next time.")
def ph1_desync_across_peers(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** host A's log shows an ISAKMP-SA with B established and never deleted;
    B's log shows racoon starting again after that moment, so B no longer knows that ISAKMP-SA.

    **Why racoon fails:** A keeps sending quick modes and informational messages under cookies B
    has forgotten; B answers INVALID-COOKIE or logs `%s message must be encrypted`, A logs `can't
    start the quick mode, there is no ISAKMP-SA`, and phase 2 never comes up until A's ISAKMP-SA
    expires (hours).

    **Evidence it looks at:** phase-1 negotiations established in one log, and start-up events
    (version banner, `Reading configuration`) in the other host's log after that time. Both logs'
    clocks are assumed to be set right.

    **How to fix:** restart racoon on A (or flush both: `setkey -F; setkey -FP`, reload, restart);
    turn on DPD (`dpd_delay`) on both so a restarted peer is detected.

    **References:** failure-catalog #10 `ph1-state-desync`.
    """
    for a, b, _a_addrs, b_addrs in pairs(ev):
        restarts = [e for log in b.logs for e in log.of_kind(*_STARTUP) if e.time is not None]
        if not restarts:
            continue
        for neg in _negotiations(a, 1):
            if neg.outcome is not Outcome.ESTABLISHED or ip_of(neg.peer) not in b_addrs or neg.ended is None:
                continue
            gone = [e for log in a.logs for e in log.of_kind(Kind.PH1_EXPIRED, Kind.PH1_DELETED, Kind.PURGED)
                    if e.time and e.time >= neg.ended and ip_of(e.peer) == ip_of(neg.peer)]
            later = [e for e in restarts if e.time is not None and e.time > neg.ended]
            if gone or not later:
                continue
            yield Hit(
                f"{host_name(a)} established an ISAKMP-SA with {neg.peer} at {neg.ended:%H:%M:%S} "
                f"({neg.cookies or 'cookies unknown'}) and still holds it, but racoon on {host_name(b)} restarted at "
                f"{later[0].time:%H:%M:%S} and forgot it: quick modes under the old SA will be refused.",
                evidence=[EvidenceRef.at(neg.end or neg.start, note="ISAKMP-SA established, never deleted"),
                          EvidenceRef.at(later[0].location, later[0].message, note="the peer restarted")],
                peer=neg.peer,
            )
            break
