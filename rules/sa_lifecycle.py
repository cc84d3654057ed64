"""SAs stuck before birth (larval), dying without a successor, or up with no traffic back."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import Severity
from racoondbg.model.kernel import SecurityAssociation

from ._kernel import age_of, ago, sa_ref

#: A larval SA younger than this is a negotiation in progress, not a stuck one.
LARVAL_GRACE = 30
#: An SA pair younger than this may simply not have seen a reply yet.
TRAFFIC_GRACE = 120
MAX_REFS = 6


def _larval(ev: Evidence, with_spi: bool) -> list[SecurityAssociation]:
    assert ev.sad is not None
    return [sa for sa in ev.sad.sas if sa.state == "larval" and bool(sa.spi) == with_spi
            and (age_of(sa) is None or (age_of(sa) or 0) >= LARVAL_GRACE)]


@rule("RDB209", "kernel-sa-install-failed", title="SAs stuck larval: negotiation started, keys never installed",
      severity=Severity.ERROR, needs={"sad"},
      fix="Read racoon's log around the SA's creation time for `pfkey UPDATE failed` or a phase-2 failure.")
def kernel_sa_install_failed(ev: Evidence) -> Iterator[Hit]:
    """**What it means**

    The SAD holds `larval` SAs with an SPI: racoon asked the kernel for an SPI (GETSPI) at the
    start of phase 2, but never completed the SA with its keys (UPDATE/ADD).

    **Why racoon fails**

    Either phase 2 failed after it began (proposal, PFS or selector mismatch with the peer), or
    the kernel refused the keys: `pfkey UPDATE failed: Invalid argument` (algorithm or key length
    the kernel lacks, e.g. a missing crypto module) or `No buffer space available`. Until the
    larval SA expires, no traffic passes for that pair.

    **Evidence it looks at**

    SAD: SAs in state `larval` with a non-zero SPI, older than 30 seconds.

    **How to fix**

    Check the racoon log for the pfkey error or the phase-2 failure; load the kernel's crypto
    modules for the negotiated algorithms; align the phase-2 proposals.

    **References**

    failure catalog #11 and #42 (IPComp).
    """
    stuck = _larval(ev, with_spi=True)
    if stuck:
        sa = stuck[0]
        yield Hit(f"{len(stuck)} SA{'s' if len(stuck) > 1 else ''} stuck in state larval (first: {sa.proto} "
                  f"{sa.src} → {sa.dst}, SPI 0x{sa.spi:08x}, created {ago(age_of(sa))}): racoon reserved the SPI "
                  f"but never installed the keys. Phase 2 failed after it started, or the kernel rejected the SA.",
                  [sa_ref(x, "larval") for x in stuck[:MAX_REFS]], peer=sa.dst)


@rule("RDB210", "acquire-not-answered", title="Kernel ACQUIRE placeholders nobody answered",
      severity=Severity.ERROR, needs={"sad"},
      fix="Make sure racoon runs and has a `remote` block for the peer; then read its log.")
def acquire_not_answered(ev: Evidence) -> Iterator[Hit]:
    """**What it means**

    The SAD holds `larval` SAs with SPI 0: the kernel's placeholders for an ACQUIRE it sent to the
    key daemon when a packet matched an IPsec policy without an SA. Nobody turned them into SAs.

    **Why racoon fails**

    racoon is not running, is not registered on PF_KEY, ignores the ACQUIRE (`passive on`, or no
    `remote` block for the destination: `no configuration found`), or phase 1 never completes.

    **Evidence it looks at**

    SAD (`ip xfrm state` shows them with `spi 0x00000000` and no algorithms): larval, SPI 0, older
    than 30 seconds.

    **How to fix**

    Start racoon (`racoon -F -d` to watch), give the peer a `remote` block, and read the log for
    phase 1.

    **References**

    racoon(8); failure catalog #1, #13, #21, #37.
    """
    stuck = _larval(ev, with_spi=False)
    if stuck:
        sa = stuck[0]
        yield Hit(f"{len(stuck)} ACQUIRE placeholder{'s' if len(stuck) > 1 else ''} (larval, SPI 0) wait for the key "
                  f"daemon (first: {sa.proto} {sa.mode} {sa.src} → {sa.dst}): the kernel asked for SAs and nobody "
                  f"negotiated them — racoon down, passive, without a `remote` for {sa.dst}, or phase 1 failing.",
                  [sa_ref(x, "ACQUIRE not answered") for x in stuck[:MAX_REFS]], peer=sa.dst)


@rule("RDB211", "rekey-failure", title="Dying SA with no successor: the rekey did not happen",
      severity=Severity.WARNING, needs={"sad"},
      fix="Check the racoon log near the soft lifetime for the failed phase 2; align lifetimes with the peer.")
def rekey_failure(ev: Evidence) -> Iterator[Hit]:
    """**What it means**

    An SA passed its soft lifetime (`state=dying`) and there is no `mature` SA for the same
    endpoints, protocol, mode and reqid to take over.

    **Why racoon fails**

    At the soft lifetime the kernel asks racoon for a new SA; the rekey failed or was never
    tried (phase 1 gone and not renegotiated, `ignore the acquire because ph2 found`, lifetimes that
    differ between the peers). When the hard lifetime arrives, traffic stops.

    **Evidence it looks at**

    SAD: `dying` SAs and the other SAs of their group; the `hard:` lifetime to say how long is left.

    **How to fix**

    Read racoon's log around the soft lifetime; make both peers use the same phase-2 lifetime
    (`lifetime time` in `sainfo`) and keep phase 1 longer than phase 2.

    **References**

    failure catalog #15.
    """
    assert ev.sad is not None
    groups: dict[tuple[str, str, str, str, int], list[SecurityAssociation]] = defaultdict(list)
    for sa in ev.sad.sas:
        groups[sa.key].append(sa)
    for (src, dst, proto, mode, _), sas in groups.items():
        if any(sa.state == "mature" for sa in sas):
            continue
        for sa in sas:
            if sa.state != "dying":
                continue
            age = age_of(sa)
            left = f"; it expires in {sa.hard_time - age} s" if sa.hard_time and age is not None else ""
            yield Hit(f"The {proto.upper()} {mode} SA {src} → {dst} (SPI 0x{sa.spi:08x}) is dying and no new SA "
                      f"replaced it{left}: the rekey failed, and traffic stops when it expires.",
                      [sa_ref(sa, "dying, no successor")], peer=dst)


@rule("RDB212", "sa-up-no-traffic", title="SAs up, traffic in one direction only", severity=Severity.WARNING,
      needs={"sad"}, fix="Check forwarding, firewalls (ESP / UDP 4500) and, on Linux gateways, fwd policies.")
def sa_up_no_traffic(ev: Evidence) -> Iterator[Hit]:
    """**What it means**

    A pair of mature SAs exists between two hosts, older than two minutes, and the SAs in one
    direction have carried bytes while those in the other have carried none.

    **Why racoon fails**

    racoon did its job (both SAs are installed); packets are lost after it. Usual causes: ESP (IP
    protocol 50) or UDP 4500 blocked on the way back, a missing `fwd` policy on a Linux gateway,
    IP forwarding off, a route that does not send replies into the tunnel, or the L2TP/SHA-256
    truncation mismatch (`esp-sha2-truncation`).

    **Evidence it looks at**

    SAD byte counters (`current: N(bytes)`, `ip -s xfrm state`) and SA ages.

    **How to fix**

    `tcpdump -n esp or udp port 4500` on both ends to see where packets stop; open protocol 50 / UDP
    4500; add the `fwd` policy; enable forwarding.

    **References**

    failure catalog #25.
    """
    assert ev.sad is not None
    flows: dict[tuple[str, str, str], list[SecurityAssociation]] = defaultdict(list)
    for sa in ev.sad.sas:
        if sa.state == "mature" and sa.bytes is not None:
            flows[(sa.src, sa.dst, sa.proto)].append(sa)
    seen: set[frozenset[str]] = set()
    for (src, dst, proto), there in flows.items():
        back = flows.get((dst, src, proto))
        pair = frozenset((src, dst))
        if not back or pair in seen:
            continue
        seen.add(pair)
        if any((age_of(sa) or 0) < TRAFFIC_GRACE for sa in (*there, *back)):
            continue
        sent, returned = sum(sa.bytes or 0 for sa in there), sum(sa.bytes or 0 for sa in back)
        if (sent == 0) == (returned == 0):
            continue
        busy, silent = (there, back) if sent else (back, there)
        a, b = busy[0].src, busy[0].dst
        yield Hit(f"The SAs from {a} to {b} carried {max(sent, returned)} bytes, the SAs from {b} to {a} none, "
                  f"although both have been up for {ago(min(age_of(sa) or 0 for sa in (*there, *back)))[:-4]}: "
                  f"packets go one way and nothing comes back through IPsec.",
                  [*(sa_ref(sa, "carries traffic") for sa in busy[:2]),
                   *(sa_ref(sa, "0 bytes") for sa in silent[:2])],
                  peer=b)
