"""Start-up failures seen in racoon logs (sockets, Android's VPN framework)."""

from __future__ import annotations

from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import Severity
from racoondbg.model.log import Kind

from .negotiation_evidence import refs, times


@rule("RDB345", "ike-port-in-use", title="Another program holds the IKE port", severity=Severity.ERROR,
      needs={"log"}, fix="Stop the other IKE daemon (`ss -lunp 'sport = :500'` / `sockstat -4l | grep :500` shows "
                         "it), remove a stale racoon, or bind only the needed addresses with `listen { isakmp <ip> "
                         "[500]; }`.")
def ike_port_in_use(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** racoon could not bind UDP 500 (or 4500) because another socket has it.

    **Why racoon fails:** another racoon, pluto/charon or a router daemon listens there: `failed to bind to
    address … (Address already in use).`, and with no address left `no address could be bound.`

    **Evidence it looks at:** those lines.

    **How to fix:** stop the other daemon or pin racoon's listen addresses.

    **References:** failure catalog #23.
    """
    for log in ev.logs:
        found = [e for e in log.of_kind(Kind.BIND_FAILED) if "in use" in e.data.get("errno", "")]
        if not found:
            continue
        fatal = log.of_kind(Kind.NO_ADDRESS)
        addresses = ", ".join(sorted({e.data.get("address", "?") for e in found}))
        yield Hit(message=f"racoon could not bind {addresses}: the port is already in use ({times(len(found))})"
                          + ("; no address was left, so racoon cannot work at all." if fatal else "."),
                  evidence=refs(found + fatal))


@rule("RDB346", "android-legacy-vpn-start", title="Android's VPN framework could not start racoon",
      severity=Severity.ERROR, needs={"log"},
      fix="Set a screen lock and unlock the device (the keystore must be unlocked), re-enter the VPN's key or "
          "certificate in Settings, and allow modp1024 and SHA1 on the server.")
def android_legacy_vpn_start(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** Android's LegacyVpnRunner reported that racoon died or could not get its keys.

    **Why racoon fails:** a locked keystore (no screen lock), credentials stored under an app's uid instead of
    the system VPN uid, or algorithms the kernel/racoon 0.7.3 does not support (`Kernel does not support
    SHA512`).

    **Evidence it looks at:** logcat lines of LegacyVpnRunner, KeyStore, racoon and mtpd.

    **How to fix:** unlock the keystore, re-enter credentials, widen the server's proposals.

    **References:** failure catalog #16.
    """
    for log in ev.logs:
        found = log.of_kind(Kind.ANDROID_VPN_ERROR)
        if found:
            yield Hit(message=f"Android's VPN framework failed to run racoon: {found[0].message.strip()} "
                              f"({times(len(found))}).", evidence=refs(found))


