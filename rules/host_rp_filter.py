"""Linux strict reverse-path filtering that drops a peer's IKE and ESP on a host with asymmetric routes."""

from __future__ import annotations

from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import EvidenceRef, Severity
from racoondbg.model.host import HostState, InterfaceAddress, Route, Sysctl
from racoondbg.model.kernel import Policy

from ._kernel import host_address, policies, policy_ref, span

RP = "net.ipv4.conf.{}.rp_filter"
STRICT = 1


def _value(host: HostState, name: str) -> tuple[int, Sysctl] | None:
    found = host.sysctls.get(name)
    value = found.value.strip() if found else ""
    return (int(value), found) if found is not None and value.isdigit() else None


def effective(host: HostState, interface: str) -> tuple[int, list[Sysctl]] | None:
    """The interface's mode: the larger of ``all`` and the interface's own value.

    An interface whose own value was not recorded is taken to hold ``default``'s, which is what
    the kernel copies into a new interface.
    """
    values = [v for v in (_value(host, RP.format("all")),
                          _value(host, RP.format(interface)) or _value(host, RP.format("default"))) if v]
    if not values:
        return None
    return max(v for v, _ in values), [s for _, s in values]


def route_to(routes: list[Route], address: str) -> Route | None:
    """The main table's route for ``address``: the longest prefix, then the lowest metric."""
    target = span(address)
    found = [r for r in routes if span(r.prefix).contains(target)]
    return min(found, key=lambda r: (-span(r.prefix).plen, r.metric)) if found else None


def _endpoints(ev: Evidence) -> dict[tuple[str, str], Policy]:
    """(this host's address, the peer's) of every outbound IPv4 IPsec policy: tunnel ends, or transport hosts."""
    pairs: dict[tuple[str, str], Policy] = {}
    for p in policies(ev):
        if p.direction != "out" or not p.is_ipsec:
            continue
        for r in p.requests:
            local, peer = (r.src, r.dst) if r.mode == "tunnel" else (
                host_address(p.src) if p.src else None, host_address(p.dst) if p.dst else None)
            if local and peer and ":" not in local + peer:
                pairs.setdefault((local, peer), p)
    return pairs


def _owner(addresses: list[InterfaceAddress], address: str) -> InterfaceAddress | None:
    return next((a for a in addresses if a.address == address), None)


@rule("RDB612", "rp-filter-strict", title="Strict reverse-path filtering drops the peer's IKE and ESP",
      severity=Severity.WARNING, needs={"host", "spd|script"},
      fix="`sysctl -w net.ipv4.conf.IFACE.rp_filter=2` (loose) and persist it in /etc/sysctl.d/, "
          "or route the peer back out of the interface its packets arrive on.")
def rp_filter_strict(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** Linux checks the source of every packet it receives against its routes
    (`rp_filter`: 0 off, 1 strict, 2 loose; the kernel uses the larger of
    `net.ipv4.conf.all.rp_filter` and the receiving interface's own value). Strict mode drops a
    packet when the route back to its source does not leave through the interface it arrived on.
    Here the peer's packets arrive for this host's tunnel address on one interface, while the main
    routing table sends traffic to the peer out of another (two uplinks, or a specific route via
    the other side), and the filter is strict on the receiving interface.

    **Why racoon fails:** the peer's IKE (UDP 500/4500) and its ESP are dropped before racoon or
    the IPsec stack sees them: racoon never hears from the peer, so phase 1 times out whichever
    side starts it (this host's MM1 leaves, the answer is dropped); with SAs already up, inbound
    ESP never arrives. Decrypted packets are not the
    problem on current kernels: `fib_validate_source()` skips the check for packets that came
    out of an IPsec SA ("Ignore rp_filter for packets protected by IPsec", net/ipv4/fib_frontend.c;
    old 2.6 kernels did not have this), so a single-uplink tunnel gateway with strict filtering
    works. Firewall-level checks (`iptables -m rpfilter`, nftables `fib saddr . iif`) have no such
    exemption and are not read here.

    **Evidence it looks at:** the recorded `rp_filter` sysctls (`all`, `default` and per
    interface), `ip -4 -o addr show` (which interface holds the tunnel's local address),
    `ip -4 route show table main` (the route back to the peer; policy-routing rules are not
    read), and the SPD's outbound IPsec policies (tunnel ends, or transport-mode hosts).

    **How to fix:** loosen the filter on the receiving interface, `sysctl -w
    net.ipv4.conf.IFACE.rp_filter=2` (2 wins over `all` = 1, since the larger value counts), kept
    in a file of /etc/sysctl.d/ that sorts after the distribution's; or make routing symmetric
    (a host route to the peer via that interface's gateway, or `ip rule add from LOCAL table N`).
    Confirm with `ip route get LOCAL from PEER iif IFACE` ("Invalid cross-device link" means the
    filter drops it), the `TcpExtIPReversePathFilter` counter (`nstat -az`), or
    `net.ipv4.conf.all.log_martians=1` and "martian source" lines in the kernel log.

    **References:** Linux Documentation/networking/ip-sysctl.rst (`rp_filter`);
    net/ipv4/fib_frontend.c (`fib_validate_source`); RFC 3704.
    """
    host: HostState = ev.host
    if host.platform != "linux" or not host.routes_read:
        return
    for (local, peer), policy in _endpoints(ev).items():
        owner = _owner(host.addresses, local)
        mode = effective(host, owner.interface) if owner else None
        if owner is None or mode is None or mode[0] != STRICT:
            continue
        iface = owner.interface
        route = route_to(host.routes, peer)
        if route is not None and route.kind == "unicast" and iface in route.devices:
            continue
        back = ("there is no route back to it at all" if route is None
                else f"the route back to it is `{route.kind}`" if route.kind != "unicast"
                else f"the route back to it leaves by {', '.join(route.devices) or 'no device'}")
        evidence = [EvidenceRef.at(s.location, s.text) for s in mode[1]]
        evidence.append(EvidenceRef.at(owner.location, owner.text, f"{local} is on {iface}"))
        if route is not None:
            evidence.append(EvidenceRef.at(route.location, route.text, f"the route to {peer}"))
        evidence.append(policy_ref(policy))
        yield Hit(
            f"{peer}'s IKE and ESP packets come in for {local} on {iface}, but {back}: with reverse-path "
            f"filtering strict on {iface}, the kernel drops them before racoon or IPsec sees them. Confirm with "
            f"`ip route get {local} from {peer} iif {iface}` (\"Invalid cross-device link\" is the drop), the "
            f"TcpExtIPReversePathFilter counter of `nstat -az`, or `sysctl -w net.ipv4.conf.all.log_martians=1` "
            f"and \"martian source\" lines in the kernel log.",
            evidence=evidence,
            fix=(f"`sysctl -w {RP.format(iface)}=2` (loose; the larger of `all` and {iface}'s value counts), "
                 f"and `{RP.format(iface)} = 2` in a file of /etc/sysctl.d/ that sorts last (e.g. 99-racoon.conf); "
                 f"or route {peer} back through {iface} (`ip route add {peer}/32 via <{iface}'s gateway> "
                 f"dev {iface}`, or `ip rule add from {local} table N` with a default route via {iface})."),
            peer=peer,
        )
