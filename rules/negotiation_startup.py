"""Start-up and socket failures seen in racoon logs (binding the IKE ports, Android's VPN framework)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from racoondbg.parsers.log_negotiations import host_of

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import Severity
from racoondbg.model.log import Event, Kind

from .negotiation_evidence import MAX_REFS, ref, refs, times


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




#: Interface names of tunnels and placeholders whose addresses should not carry IKE.
_VIRTUAL = re.compile(r"^(?:dummy|tun|tap|ppp|utun|gif|gre|ipsec|vti|wg|ipip|sit|zt|tailscale)\d*", re.I)


@rule("RDB347", "interface-rescan-bind", title="racoon bound IKE to an address that appeared later",
      severity=Severity.WARNING, needs={"log"},
      fix="Pin the addresses racoon listens on: `listen { isakmp <public ip> [500]; isakmp_natt <public ip> [4500]; }` "
          "(racoon then ignores interfaces that come and go), and restart racoon.")
def interface_rescan_bind(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** racoon rescanned the interface addresses (`caught rtm:…, need update interface
    address list`, `Netlink: address … added`) and opened ISAKMP sockets on addresses it did not listen on
    at start-up (`<new address>[500] used as isakmp port`), while racoon.conf has no `listen { isakmp …; }`.

    **Why racoon fails:** without a `listen` block racoon binds every address it finds, again after each
    rescan: a dummy, tun, ppp or another VPN's interface gets a socket too. Packets then leave (and
    answers are sent) from an address the peer does not expect, or the new socket conflicts with the
    daemon that owns that interface.

    **Evidence it looks at:** the `used as isakmp port` lines before and after the rescan lines, the
    interface names when racoon logged them (`my interface: <addr> (<ifname>)`, 0.7 at debug level), and
    racoon.conf's `listen` block when it is given.

    **What would confirm it:** low confidence — a new address may be legitimate (a second uplink). A
    negotiation or a capture using that address as source, or the owner of the interface, settles it.

    **How to fix:** pin the listen addresses.

    **References:** failure catalog #39; rdratlos/racoon-ipsec-tools notes.
    """
    if ev.conf is not None and ev.conf.listen:
        return
    for log in ev.logs:
        names = {e.data["address"]: e.data["ifname"] for e in log.of_kind(Kind.INTERFACE_ADDRESS)
                 if e.data.get("ifname") and e.data.get("address")}
        startup: set[str] = set()
        rescan: Event | None = None
        new: list[Event] = []
        for e in log.of_kind(Kind.LISTEN, Kind.INTERFACE_CHANGE, Kind.INTERFACE_ADDRESS):
            added = e.kind is Kind.INTERFACE_ADDRESS and e.data.get("action") == "added"
            if e.kind is Kind.INTERFACE_CHANGE or added:
                rescan = rescan or e
                continue
            if e.kind is not Kind.LISTEN:
                continue
            address = host_of(e.data.get("address"))
            if address is None:
                continue
            if rescan is None:
                startup.add(address)
            elif address not in startup and address not in {host_of(n.data.get("address")) for n in new}:
                new.append(e)
        if rescan is None or not startup or not new:
            continue
        described = []
        for e in new:
            address = host_of(e.data.get("address")) or "?"
            name = names.get(address)
            kind = " — a tunnel/dummy interface" if name and _VIRTUAL.match(name) else ""
            described.append(f"{address}" + (f" ({name}{kind})" if name else ""))
        yield Hit(message=f"After an interface rescan racoon opened IKE sockets on {', '.join(described)}, which it "
                          f"did not listen on at start-up ({', '.join(sorted(startup))}). "
                          + ("racoon.conf has no `listen` block" if ev.conf is not None else
                             "Unless racoon.conf (not given) has a `listen` block, racoon binds whatever appears")
                          + ", so IKE may now leave from or be answered on the wrong address.",
                  evidence=[ref(rescan, "interface rescan"), *refs(new, MAX_REFS - 1)])
