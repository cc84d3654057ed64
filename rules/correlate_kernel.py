"""One host, two witnesses: what racoon's log says it installed against what the kernel holds."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.live.status import ip_of
from racoondbg.model.finding import EvidenceRef, Severity
from racoondbg.model.kernel import Policy
from racoondbg.model.log import Event, Kind

_GONE = (Kind.SA_EXPIRED, Kind.SA_DELETED, Kind.PURGED)


def _spi(event: Event) -> int | None:
    text = event.data.get("spi")
    if not text:
        return None
    try:
        return int(text, 16) if text.lower().startswith("0x") else int(text)
    except ValueError:
        return None


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
    in `setkey -D` / `ip xfrm state`.

    **How to fix:** renegotiate (restart racoon, or flush both SAD and SPD and reload), and remove
    the `flush;` from scripts that run while racoon is up.

    **References:** failure-catalog #11 `kernel-sa-install-failed`, #36 `manual-keying-conflict`.
    """
    if ev.sad is None or (ev.sad.errors and not ev.sad.sas):
        return
    in_kernel = {sa.spi for sa in ev.sad.sas}
    for event in established(ev):
        spi = _spi(event)
        if spi is None or spi in in_kernel:
            continue
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
