"""Single settings racoon rejects or that hide what diagnosis needs: lifetimes, log level, KAME leftovers."""

from __future__ import annotations

from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.conf import Lifetime
from racoondbg.model.finding import EvidenceRef, Severity

#: Largest lifetime an IKE/IPsec SA attribute can carry (32 bits of seconds).
MAX_LIFETIME = 2**32 - 1


def _lifetimes(ev: Evidence) -> Iterator[tuple[str, Lifetime]]:
    assert ev.conf is not None
    for r in ev.conf.remotes:
        if r.lifetime is not None and "lifetime" not in r.inherited:
            yield r.label(), r.lifetime
        if "proposals" not in r.inherited:
            for p in r.proposals:
                if p.lifetime is not None:
                    yield f"{r.label()} proposal", p.lifetime
    for s in ev.conf.sainfos:
        if s.lifetime is not None:
            yield s.label(), s.lifetime


@rule("RDB140", "lifetime-out-of-range", title="A lifetime racoon refuses or cannot use",
      severity=Severity.ERROR, needs={"conf"}, fix="lifetime time 1 hour;")
def lifetime_out_of_range(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: a `lifetime` is given in bytes, is zero, or is larger than the 32 bits an
    SA lifetime attribute holds.

    **Why racoon fails**: every ipsec-tools racoon rejects `lifetime byte` at start-up (`byte
    lifetime support is deprecated`); a zero or overflowing time lifetime is sent as nonsense and
    the peer rejects it (`lifetime mismatched`, NO-PROPOSAL-CHOSEN).

    **Evidence it looks at**: `lifetime` in every remote, proposal and sainfo block.

    **How to fix**: use a time lifetime between a few minutes and a day, e.g. `lifetime time 1 hour;`
    for phase 2 and `lifetime time 8 hour;` for phase 1.

    **References**: ipsec-tools `cfparse.y`; RFC 2407 section 4.5.
    """
    for owner, life in _lifetimes(ev):
        written = f"lifetime {life.kind} {life.number} {life.unit};"
        if life.kind == "byte":
            why = "byte lifetimes are rejected by every ipsec-tools racoon (`byte lifetime support is deprecated`)"
        elif life.value == 0:
            why = "a zero lifetime cannot be negotiated"
        elif life.value > MAX_LIFETIME:
            why = f"{life.value} seconds does not fit the 32-bit lifetime attribute"
        else:
            continue
        yield Hit(message=f"{owner}: `{written}` — {why}.", evidence=[EvidenceRef.at(life.location, written)])


_HIDING = {"error", "warning", "notify"}


@rule("RDB141", "log-level-hides-established", title="The log level hides the lines needed for diagnosis",
      severity=Severity.INFO, needs={"conf"}, fix="log info;")
def log_level_hides_established(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: racoon.conf sets `log error`, `log warning` or `log notify`.

    **Why racoon fails**: it does not fail, but `ISAKMP-SA established`, `IPsec-SA established`,
    `initiate new phase 1 negotiation` and the `respond new phase 1` lines are logged at INFO. Below
    that level a working tunnel and a silently retransmitting one look the same in the log, and
    racoondbg (or you) cannot tell which negotiations succeeded.

    **Evidence it looks at**: the `log` statement.

    **How to fix**: `log info;` (the default) for normal operation; `log debug;` while chasing a
    problem (or start racoon with `-d`).

    **References**: racoon.conf(5) `log`; racoon's `plog` levels.
    """
    conf = ev.conf
    assert conf is not None
    if conf.log_level in _HIDING and conf.log_location is not None:
        yield Hit(
            message=f"`log {conf.log_level};` hides racoon's INFO lines, including `ISAKMP-SA established` and "
            "`IPsec-SA established`: the log will not show which negotiations succeeded.",
            evidence=[EvidenceRef.at(conf.log_location, f"log {conf.log_level};")],
        )


_OBSOLETE = {
    "keepalive": ("`keepalive;` was valid only in KAME-era racoon (before 2005); every ipsec-tools racoon "
                  "(0.6 and later: Linux, the BSDs' ports, Android) rejects it as a syntax error and will not "
                  "start with this file", "delete `keepalive;` (ipsec-tools sets NAT-T keepalives with "
                  "`timer { natt_keepalive 20 sec; }`)", Severity.WARNING),
    "support_mip6": ("`support_mip6` is obsolete (racoon warns `it is obsoleted. use \"support_proxy\"`)",
                     "support_proxy on;", Severity.INFO),
}


@rule("RDB142", "obsolete-directive", title="A directive from an older racoon",
      severity=Severity.WARNING, needs={"conf"}, fix="Replace the directive as the finding says.")
def obsolete_directive(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: racoon.conf uses a directive of an older racoon: KAME's `keepalive;`
    (before ipsec-tools) or `support_mip6`.

    **Why racoon fails**: ipsec-tools still lexes `keepalive` but no grammar rule accepts it, so a
    KAME-era config containing it is a parse error and racoon does not start. `support_mip6` only
    earns a warning and means `support_proxy`.

    **Evidence it looks at**: every statement of every remote block.

    **How to fix**: delete `keepalive;` (use `timer { natt_keepalive ...; }` for NAT-T keepalives);
    write `support_proxy` instead of `support_mip6`.

    **References**: ipsec-tools `cftoken.l`, `cfparse.y`; racoon.conf(5).
    """
    assert ev.conf is not None
    for r in ev.conf.remotes:
        for d in r.directives:
            if d.name in _OBSOLETE:
                why, fix, severity = _OBSOLETE[d.name]
                yield Hit(message=f"{r.label()}: {why}.", evidence=[EvidenceRef.at(d.location, d.text())], fix=fix,
                          severity=severity)
