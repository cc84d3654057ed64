"""Kernel (PF_KEY) failures seen in racoon logs."""

from __future__ import annotations

from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.conf import Algorithm
from racoondbg.model.finding import EvidenceRef, Severity
from racoondbg.model.kernel import Policy
from racoondbg.model.log import Event, Kind

from ._kernel import LIVE, policies, policy_ref, sa_ref
from .negotiation_evidence import MAX_REFS, by_peer, events, peer_words, refs, times

#: PF_KEY requests that install SAs (policy requests fail for other reasons).
_SA_REQUESTS = {"UPDATE", "ADD", "GETSPI"}
_ERRNO_HINTS = {
    "Invalid argument": "the kernel does not support the negotiated algorithm, key length or mode",
    "No buffer space available": "the kernel ran out of memory for SAs, or a crypto module is missing",
    "No such file or directory": "the larval SA the kernel created for the ACQUIRE had already gone",
    "File exists": "an SA with that SPI already exists (manual keys or a second daemon)",
}


@rule("RDB340", "kernel-sa-install-failed", title="The kernel refused the negotiated SA", severity=Severity.ERROR,
      needs={"log"}, fix="Load the kernel's IPsec crypto modules (Linux: `modprobe esp4 xfrm_user` and the cipher), "
                         "or choose algorithms the kernel supports.")
def kernel_sa_install_failed(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** IKE succeeded, but installing the IPsec SA through PF_KEY failed.

    **Why racoon fails:** the kernel lacks the algorithm, key length or mode (`pfkey UPDATE failed: Invalid
    argument`), runs out of buffers, or the larval SA vanished; racoon then gives up (`give up to get IPsec-SA`).

    **Evidence it looks at:** `pfkey UPDATE|ADD|GETSPI failed: …`, `pfkey update failed.`, `pfkey add failed.`,
    `libipsec failed send update`.

    **How to fix:** load or build the modules, pick supported algorithms, disable a broken accelerator.

    **References:** failure catalog #11.
    """
    found = [(log, e) for log, e in events(ev, Kind.PFKEY_ERROR, Kind.SA_INSTALL_FAILED)
             if e.kind is Kind.SA_INSTALL_FAILED or e.data.get("msgtype") in _SA_REQUESTS]
    for (_, peer), group in by_peer(found).items():
        errno = next((e.data["errno"] for e in group if e.data.get("errno")), None)
        hint = _ERRNO_HINTS.get(errno or "", "")
        yield Hit(message=f"The kernel refused to install an SA {peer_words(peer)} ({times(len(group))}"
                          + (f": {errno}" if errno else "") + ")" + (f" — {hint}" if hint else "") + ".",
                  evidence=refs(group), peer=peer)


@rule("RDB341", "pfkey-unavailable", title="The kernel has no PF_KEY", severity=Severity.ERROR, needs={"log"},
      fix="Load PF_KEY: `modprobe af_key` (Linux; also esp4/xfrm_user), or use a kernel with IPsec support.")
def pfkey_unavailable(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** racoon could not open the PF_KEY socket it talks to the kernel through.

    **Why racoon fails:** Linux without the `af_key` module (containers, minimal kernels) has no
    `/proc/net/pfkey`; racoon logs `libipsec failed pfkey open` or exits with `failed to initialize pfkey socket`.

    **Evidence it looks at:** those lines.

    **How to fix:** load `af_key` on the host.

    **References:** failure catalog #24.
    """
    for log in ev.logs:
        found = log.of_kind(Kind.PFKEY_UNAVAILABLE)
        if found:
            yield Hit(message=f"racoon could not open PF_KEY ({found[0].message.strip()}); it cannot install any SA "
                              "or see any policy.", evidence=refs(found))


def _compression(ev: Evidence) -> list[Algorithm]:
    """Every `compression_algorithm` of the sainfo blocks (racoon accepts IPComp with these)."""
    return [alg for s in ev.conf.sainfos for alg in s.compression] if ev.conf is not None else []


def _ipcomp_policies(ev: Evidence) -> list[Policy]:
    """Outbound policies that ask for IPComp (`ipcomp/tunnel/…` next to `esp/…`): racoon then proposes it."""
    return [p for p in policies(ev) if p.direction == "out" and any(r.proto == "ipcomp" for r in p.requests)]


#: How close after the IPComp line a pfkey failure must come to belong to the same quick mode.
_SAME_QUICK_MODE_SECONDS = 60
_SAME_QUICK_MODE_LINES = 200


def _soon_after(ipcomp: list[Event], failure: Event) -> bool:
    """The failure follows an IPComp line of the same quick mode (within a minute, or a few lines)."""
    before = [e for e in ipcomp if (e.line or 0) < (failure.line or 0)]
    if not before:
        return False
    last = before[-1]
    if last.time is not None and failure.time is not None:
        return (failure.time - last.time).total_seconds() <= _SAME_QUICK_MODE_SECONDS
    return (failure.line or 0) - (last.line or 0) <= _SAME_QUICK_MODE_LINES


@rule("RDB342", "ipcomp-install-failure", title="IPComp was negotiated but its SA could not be installed",
      severity=Severity.WARNING, needs={"log|sad"},
      fix="Drop IPComp: remove the `ipcomp/…` request from the setkey policies (and `compression_algorithm deflate` "
          "from the peer's proposal), or load the kernel's IPComp support (Linux: `modprobe ipcomp` / `ipcomp6`, "
          "`xfrm_ipcomp` and `deflate`; BSD: IPComp in the IPSEC kernel and `crypto`), then flush the SAs "
          "(`setkey -F`) and renegotiate.")
def ipcomp_install_failure(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** quick mode negotiated IP compression (IPComp) next to ESP, and installing the
    SAs failed: `pfkey UPDATE failed: Invalid argument` (or ADD) after `IPComp SPI size promoted from
    16bit to 32bit`, or the SAD keeps IPComp SAs `larval` next to live ESP SAs of the same pair (with
    racoon.conf's `compression_algorithm deflate` cited when given).

    **Why racoon fails:** racoon installs the IPComp SA with the ESP SA of the same bundle; a kernel
    without IPComp (or without the deflate module) refuses it, and the whole bundle is lost. The
    `IPComp SPI size promoted …` line on its own is informational, not the problem, and racoon.conf's
    mandatory `compression_algorithm deflate;` alone proposes nothing: IPComp is negotiated only when a
    policy asks for it (`ipcomp/tunnel/…`) or the peer proposes it.

    **Evidence it looks at:** the IPComp line and the pfkey failures after it, `ipcomp/…` requests in
    the SPD or setkey script, IPComp SAs in the SAD and their state, `compression_algorithm` in the
    sainfo blocks.

    **What would confirm it:** low confidence — the pfkey error does not name the SA type. Removing
    IPComp on both ends and renegotiating (or `lsmod | grep ipcomp`) settles it.

    **How to fix:** drop IPComp, or load the IPComp modules.

    **References:** failure catalog #42; LKML "ipsec on kernel 2.6.0-test9" (2003).
    """
    compression = _compression(ev)
    deflate = [EvidenceRef.at(alg.location, f"compression_algorithm {alg.name};", "IPComp accepted here")
               for alg in compression[:1]]
    asked = [policy_ref(p, "policy asking for IPComp") for p in _ipcomp_policies(ev)[:1]]
    for log in ev.logs:
        ipcomp = log.of_kind(Kind.IPCOMP_CPI)
        failed = [e for e in log.of_kind(Kind.PFKEY_ERROR, Kind.SA_INSTALL_FAILED)
                  if e.data.get("msgtype") in ("UPDATE", "ADD")]
        if ipcomp:
            failed = [e for e in failed if _soon_after(ipcomp, e)]
        if not failed or not (ipcomp or asked):
            continue
        errno = next((e.data["errno"] for e in failed if e.data.get("errno")), None)
        why = ("after racoon negotiated IPComp (`IPComp SPI size promoted …`)" if ipcomp else
               "for a policy that asks for IPComp")
        peer = next((e.peer for e in failed if e.peer), None)
        extra = (asked or deflate)[:1]
        yield Hit(message=f"The kernel refused SAs {peer_words(peer)} {why} ({times(len(failed))}"
                          + (f": {errno}" if errno else "") + "): the kernel probably lacks IPComp or deflate.",
                  evidence=refs(ipcomp[:1] + failed, MAX_REFS - len(extra)) + extra, peer=peer)
    if ev.sad is not None:
        live = {(sa.src, sa.dst) for sa in ev.sad.sas if sa.proto in ("esp", "ah") and sa.state in LIVE}
        larval = [sa for sa in ev.sad.sas if sa.proto == "ipcomp" and sa.state == "larval" and (sa.src, sa.dst) in live]
        if larval:
            yield Hit(message=f"{len(larval)} IPComp SA(s) stay larval (first {larval[0].src} → {larval[0].dst}) "
                              "while the ESP/AH SAs of the same pair are up: the kernel never got a usable IPComp SA.",
                      evidence=[sa_ref(sa, "larval IPComp SA") for sa in larval[:3]] + deflate,
                      peer=larval[0].dst)
