"""The live host as a tunnel gateway: it must forward the packets its tunnels carry."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import EvidenceRef, Severity
from racoondbg.model.host import HostState
from racoondbg.model.kernel import Policy

#: The sysctl that turns forwarding on, per platform and address family.
FORWARDING = {
    ("linux", 4): "net.ipv4.ip_forward", ("linux", 6): "net.ipv6.conf.all.forwarding",
    ("android", 4): "net.ipv4.ip_forward",
}
BSD_FORWARDING = {4: "net.inet.ip.forwarding", 6: "net.inet6.ip6.forwarding"}


def _gateway_policies(policies: list[Policy]) -> list[Policy]:
    """Outbound tunnel policies whose local selector is more than the tunnel's own address."""
    found = []
    for p in policies:
        tunnel = p.tunnel
        if p.direction != "out" or not p.is_ipsec or tunnel is None or tunnel.src is None or p.src is None:
            continue
        try:
            local = ipaddress.ip_network(p.src, strict=False)
            endpoint = ipaddress.ip_address(tunnel.src)
        except ValueError:
            continue
        if local.num_addresses > 1 or endpoint not in local:
            found.append(p)
    return found


@rule("RDB610", "ip-forwarding-off", title="A tunnel gateway with IP forwarding turned off",
      severity=Severity.ERROR, needs={"host", "spd"},
      fix="Turn forwarding on: `sysctl -w net.ipv4.ip_forward=1` and persist it in /etc/sysctl.conf.")
def ip_forwarding_off(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** the SPD tunnels whole networks through this host (its selectors are
    subnets behind it, not its own address), so it is a gateway and must forward packets between
    its LAN and the tunnel; the forwarding sysctl says it does not.

    **Why racoon fails:** it does not — phase 1 and phase 2 come up and the SAs are `mature` — but
    the decrypted packets from the peer's network are dropped instead of being forwarded to the
    LAN, and LAN packets never reach the outbound policy. The byte counters of the inbound SA grow
    while nothing answers (`sa-up-no-traffic`).

    **Evidence it looks at:** the host's sysctls (`net.ipv4.ip_forward`,
    `net.ipv6.conf.all.forwarding`; BSD `net.inet.ip.forwarding`, `net.inet6.ip6.forwarding`) and
    the SPD's outbound tunnel policies.

    **How to fix:** Linux `sysctl -w net.ipv4.ip_forward=1` plus `net.ipv4.ip_forward = 1` in
    /etc/sysctl.conf (or /etc/sysctl.d/); BSD `sysctl net.inet.ip.forwarding=1` plus
    `gateway_enable="YES"` (FreeBSD rc.conf) or `ip4_forwarding=1` (NetBSD /etc/sysctl.conf).

    **References:** failure-catalog #25 `sa-up-no-traffic` (fs/env: `net.ipv4.ip_forward=0`).
    """
    host: HostState = ev.host
    if ev.spd is None:
        return
    for family in (4, 6):
        name = FORWARDING.get((host.platform, family)) or (
            BSD_FORWARDING[family] if host.platform in ("freebsd", "netbsd", "macos") else None)
        value = host.sysctls.get(name) if name else None
        if value is None or value.value.strip() != "0":
            continue
        policies = [p for p in _gateway_policies(ev.spd.policies) if (":" in (p.src or "")) == (family == 6)]
        if not policies:
            continue
        first = policies[0]
        persist = ("/etc/sysctl.conf (or a file in /etc/sysctl.d/)" if host.platform == "linux"
                   else 'rc.conf (`gateway_enable="YES"` on FreeBSD) or /etc/sysctl.conf (NetBSD)')
        yield Hit(
            f"This host tunnels {first.src} to {first.dst} through {first.tunnel.src if first.tunnel else '?'} "
            f"(a gateway), but {name} = 0: packets between the LAN and the tunnel are not forwarded.",
            evidence=[EvidenceRef.at(value.location, value.text), EvidenceRef.at(first.location, first.summary())],
            fix=f"`sysctl -w {name}=1`, and make it permanent in {persist}.",
        )
