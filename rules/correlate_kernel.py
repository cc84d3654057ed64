"""One host, two witnesses: what racoon's log says it installed against what the kernel holds."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from racoondbg.addresses import ip_of, own_addresses
from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import EvidenceRef, Severity
from racoondbg.model.kernel import Policy
from racoondbg.model.log import Event, Kind, LogAnalysis

from ._kernel import LIVE, sa_ref

_GONE = (Kind.SA_EXPIRED, Kind.SA_DELETED, Kind.PURGED)


def _spi_of(text: str | None) -> int | None:
    """An SPI as racoon logs it: ``0x5c01028`` or ``96473128``."""
    try:
        return (int(text, 16) if text.lower().startswith("0x") else int(text)) if text else None
    except ValueError:
        return None


def _spi(event: Event) -> int | None:
    return _spi_of(event.data.get("spi"))


def established(ev: Evidence) -> list[Event]:
    """Phase-2 SAs the log says racoon installed and that it did not see expire or go away since."""
    alive: dict[int, Event] = {}
    for analysis in ev.logs:
        for event in analysis.events:
            spi = _spi(event)
            if spi is None:
                continue
            if event.kind is Kind.PH2_ESTABLISHED:
                alive[spi] = event
            elif event.kind in _GONE:
                alive.pop(spi, None)
    return list(alive.values())


@rule("RDB620", "sa-missing-from-kernel", title="racoon installed SAs that the kernel no longer holds",
      severity=Severity.ERROR, needs={"log", "sad"},
      fix="Restart racoon on both ends (or `setkey -F; setkey -FP`, reload the policies, restart) and find what "
          "flushes the SAD.")
def sa_missing_from_kernel(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** racoon's log says an IPsec SA was established (`IPsec-SA established:
    ESP/Tunnel a->b spi=…`), nothing in the log says it expired or was deleted, yet the SAD dump
    taken from the same host has no SA with that SPI.

    **Why racoon fails:** racoon believes the SA exists and will not negotiate a new one until its
    lifetime ends, while the kernel has nothing to encrypt or decrypt with: traffic for that peer
    is dropped (or, with `level use`, leaves in clear). Usual causes: `setkey -F` run by hand or by
    a script (an init script reloading `setkey.conf` with `flush;`), another IPsec daemon, or a
    kernel that refused the SA after racoon logged it.

    **Evidence it looks at:** `PH2` established / expired / deleted events of the log, and the SPIs
    in `setkey -D` / `ip xfrm state`. SAs the log shows after the moment the SAD was dumped (its
    `current:` time) are left out: the dump could not hold them yet.

    **How to fix:** renegotiate (restart racoon, or flush both SAD and SPD and reload), and remove
    the `flush;` from scripts that run while racoon is up.

    **References:** failure-catalog #11 `kernel-sa-install-failed`, #36 `manual-keying-conflict`.
    """
    if ev.sad is None or (ev.sad.errors and not ev.sad.sas):
        return
    in_kernel = {sa.spi for sa in ev.sad.sas}
    dumped = max((sa.dumped for sa in ev.sad.sas if sa.dumped is not None), default=None)
    for event in established(ev):
        spi = _spi(event)
        if spi is None or spi in in_kernel:
            continue
        if dumped is not None and event.time is not None and event.time > dumped:
            continue  # the SAD was dumped before racoon installed this SA
        proto, mode = event.data.get("proto", "ESP"), event.data.get("mode")
        what = f"{proto}{'/' + mode if mode else ''} {ip_of(event.data.get('src'))}->{ip_of(event.data.get('dst'))}"
        yield Hit(
            f"The log says racoon installed {what} spi=0x{spi:08x}, and never saw it expire, but the SAD has no SA "
            "with that SPI: racoon thinks the tunnel is up while the kernel cannot carry it.",
            evidence=[EvidenceRef.at(event.location, event.message),
                      EvidenceRef.at(ev.sad.location, note="SPI absent")],
            peer=event.peer,
        )


def _covers(policy: Policy, src: str, dst: str) -> bool:
    try:
        s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
        src_net, dst_net = policy.src_net, policy.dst_net
    except ValueError:
        return False
    if src_net is None or dst_net is None or s.version != src_net.version:
        return False
    return (s in src_net and d in dst_net) or (d in src_net and s in dst_net)


@rule("RDB621", "spd-sad-mode-mismatch", title="racoon negotiated transport mode where the SPD wants a tunnel",
      severity=Severity.ERROR, needs={"log", "spd"},
      fix="Make both ends agree: a tunnel needs `esp/tunnel/<local>-<peer>/require` in both SPDs (and racoon "
          "then proposes tunnel mode); for host-to-host, use `esp/transport//require` on both.")
def log_mode_vs_spd(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** racoon's log shows an SA established in transport mode
    (`IPsec-SA established: ESP/Transport a->b`) between two hosts whose traffic the SPD sends
    through a tunnel (`esp/tunnel/…`). The SPD and the negotiated SAs disagree.

    **Why racoon fails:** the kernel looks for an SA matching the policy's request (tunnel mode,
    those endpoints); a transport-mode SA does not match, so packets stay queued for an SA that
    never comes, ACQUIREs repeat and SAs stack up. It happens when the peer's SPD (or its
    `generate_policy`) asks for transport and racoon as responder follows the peer's proposal —
    the 2002 iBook/NetBSD story.

    **Evidence it looks at:** established phase-2 events in the log (mode, endpoints) and the SPD's
    ipsec policies whose selectors cover those endpoints.

    **How to fix:** configure the same mode on both ends' SPD (setkey scripts), flush the SAD on both
    and renegotiate.

    **References:** failure-catalog #32 `spd-sad-mode-mismatch`.
    """
    if ev.spd is None:
        return
    seen: set[tuple[str, str]] = set()
    for event in established(ev):
        if (event.data.get("mode") or "").lower() != "transport":
            continue
        src, dst = ip_of(event.data.get("src")), ip_of(event.data.get("dst"))
        if not src or not dst or (src, dst) in seen:
            continue
        policy = next((p for p in ev.spd.policies if p.is_ipsec and p.tunnel and _covers(p, src, dst)), None)
        if policy is None:
            continue
        seen.update({(src, dst), (dst, src)})
        yield Hit(
            f"racoon established a transport-mode SA {src}->{dst}, but the SPD sends this traffic through a "
            f"tunnel ({policy.summary()}): the kernel will not use the SA.",
            evidence=[EvidenceRef.at(event.location, event.message), EvidenceRef.at(policy.location, policy.summary())],
            peer=event.peer,
        )


def _logged_spis(ev: Evidence) -> set[int]:
    """Every SPI racoon's logs mention (established, expired, deleted SAs; negotiations)."""
    texts = [e.data.get("spi") for a in ev.logs for e in a.events]
    texts += [spi for a in ev.logs for n in a.negotiations for spi in n.spis]
    return {spi for text in texts for spi in [_spi_of(text)] if spi is not None}


def _witness(ev: Evidence) -> LogAnalysis | None:
    """A log that would show every SA racoon installs: complete, at INFO level or more verbose."""
    for log in ev.logs:
        complete = not log.events_dropped and log.first_time is not None and log.last_time is not None
        if complete and any(e.level in ("INFO", "NOTIFY", "DEBUG", "DEBUG2") for e in log.events):
            return log
    return None


@rule("RDB622", "manual-keying-conflict", title="The kernel holds SAs racoon never installed",
      severity=Severity.WARNING, needs={"log", "sad"},
      fix="Find what installs the SA (a setkey script with `add`, another IKE daemon, a second racoon), keep one "
          "keying method per peer, then `setkey -F` and restart racoon.")
def sa_not_from_racoon(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** the SAD holds an SA that was created while racoon's log was being written
    (its `created:` time falls inside the log), yet the log never mentions its SPI — no `IPsec-SA
    established`, no expiry, no delete. racoon did not install it.

    **Why racoon fails:** something else keys this pair: a setkey script with `add` lines run while
    racoon is up, another IKE daemon (strongSwan's charon, pluto), or a second racoon with its own
    log. The kernel picks whichever SA it finds first and the peer may use the other; manual SAs
    never rekey; racoon logs `such policy already exists` or `libipsec failed pfkey check`.

    **Evidence it looks at:** the SAD's SAs with their creation time (`setkey -D`: `created:`;
    `ip -s xfrm state`: `add`), and every SPI racoon's log names. It stays silent when the log is
    incomplete, logs only warnings and errors, or does not cover the moment the SA was created.

    **How to fix:** look at `ps` and the setkey scripts for the other keyer; use one keying method per
    peer; `setkey -F` and restart racoon.

    **References:** failure-catalog #36 `manual-keying-conflict`, #12 `duplicate-sa`.
    """
    log = _witness(ev)
    if ev.sad is None or log is None or log.first_time is None or log.last_time is None:
        return
    logged, mine = _logged_spis(ev), own_addresses(ev)
    for sa in ev.sad.sas:
        if sa.state not in LIVE or sa.proto.lower() not in ("esp", "ah") or sa.spi in logged or sa.created is None:
            continue
        if not log.first_time <= sa.created <= log.last_time:
            continue
        yield Hit(
            f"The SAD holds {sa.proto.upper()} SA {sa.src} → {sa.dst} spi 0x{sa.spi:08x}, created at "
            f"{sa.created:%H:%M:%S}, but racoon's log — written from {log.first_time:%H:%M:%S} to "
            f"{log.last_time:%H:%M:%S} — never installed it: something other than racoon keys this pair "
            "(a setkey script with `add`, another IKE daemon, a second racoon).",
            evidence=[sa_ref(sa, "not in racoon's log"),
                      EvidenceRef.at(log.location, note=f"no SPI 0x{sa.spi:08x} anywhere in this log")],
            peer=sa.src if sa.dst in mine else sa.dst,
        )
