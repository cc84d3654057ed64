"""Kernel (PF_KEY) failures seen in racoon logs."""

from __future__ import annotations

from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import Severity
from racoondbg.model.log import Kind

from .negotiation_evidence import by_peer, events, peer_words, refs, times

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
