"""The live host: is racoon running, can it bind UDP 500/4500, can it talk to the kernel (PF_KEY)."""

from __future__ import annotations

from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import EvidenceRef, Severity
from racoondbg.model.host import HostState, Socket

#: Where racoon is started on demand (by the VPN client), so "not running" is normal when idle.
ON_DEMAND = {"macos": "configd/the VPN client starts racoon", "android": "the VPN client starts racoon"}


def _socket_ref(s: Socket, note: str | None = None) -> EvidenceRef:
    return EvidenceRef.at(s.location, s.text, note)


@rule("RDB601", "ike-port-in-use", title="Another process holds UDP 500/4500, so racoon cannot bind IKE",
      severity=Severity.ERROR, needs={"host"},
      fix="Stop the other IKE daemon (or the second racoon), then restart racoon; with "
          "`listen { isakmp <ip> [500]; isakmp_natt <ip> [4500]; }` racoon binds only the addresses it needs.")
def ike_port_in_use(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** a process other than racoon has a UDP socket on port 500 (ISAKMP) or 4500
    (NAT-T), or two racoon processes run at once.

    **Why racoon fails:** racoon binds UDP 500 (and 4500 with NAT-T) on every address at start-up.
    When the port is taken it logs `failed to bind to address … (Address already in use).` for each
    address and finally `no address could be bound.`; the other daemon receives the peer's IKE
    packets and answers (or ignores) them instead. Typical holders: strongSwan's charon, Libreswan's
    pluto, a second racoon started by hand, or an ISP router daemon.

    **Evidence it looks at:** the socket table (`ss -uanp`, `sockstat`, `lsof`, `netstat -anup`) and
    the process list collected from the host.

    **How to fix:** stop and disable the other daemon (`systemctl disable --now strongswan`,
    `service ipsec stop`), or kill the stray racoon, then start racoon once. Bind racoon explicitly
    with a `listen { isakmp <ip> [500]; }` block when another daemon must keep other addresses.

    **References:** failure-catalog #23 `ike-port-in-use`; racoon.conf(5) `listen`.
    """
    host: HostState = ev.host
    racoon_pids = {p.pid for p in host.racoon}
    others: dict[tuple[str, int | None], list[Socket]] = {}
    for s in host.sockets:
        if s.process is not None and s.process != "racoon" and s.pid not in racoon_pids:
            others.setdefault((s.process, s.pid), []).append(s)
    for held in others.values():
        ports = " and ".join(str(p) for p in sorted({s.port for s in held}))
        where = ", ".join(sorted({s.address for s in held}))
        plural = "s" if " and " in ports else ""
        yield Hit(
            f"UDP port{plural} {ports} ({where}) {'are' if plural else 'is'} held by {held[0].who()}, not racoon: "
            f"racoon cannot bind {'them' if plural else 'it'} and the peer's IKE packets go to {held[0].process}.",
            evidence=[_socket_ref(s) for s in held],
            fix=_fix_for(held[0], host.platform),
        )
    if len(host.racoon) > 1:
        pids = ", ".join(str(p.pid) for p in host.racoon)
        yield Hit(
            f"{len(host.racoon)} racoon processes run at once (pids {pids}); the later one cannot bind UDP 500 and "
            "both fight over the kernel's SAs.",
            evidence=[EvidenceRef.at(p.location, p.text) for p in host.racoon],
            fix=f"Stop them all (`kill {pids}`), then start racoon once through the system's service manager.",
        )
    if host.processes_read and not host.racoon and host.platform not in ON_DEMAND:
        unknown = [s for s in host.holders(500) + host.holders(4500) if s.process is None]
        if unknown:
            yield Hit(
                f"racoon is not running, yet something holds UDP {unknown[0].port} on {unknown[0].address} "
                "(the socket table does not say what; run as root to see it).",
                evidence=[_socket_ref(s) for s in unknown],
                fix="Find the holder with `ss -uanp` / `sockstat -46` / `lsof -nP -iUDP:500` as root and stop it, "
                    "then start racoon.",
                severity=Severity.WARNING,
            )


def _fix_for(s: Socket, platform: str) -> str:
    name = s.process or "the other daemon"
    service = {"charon": "strongswan", "starter": "strongswan", "pluto": "ipsec", "iked": "iked",
               "isakmpd": "isakmpd"}.get(name)
    if service is None:
        stop = f"`kill {s.pid}`" if s.pid else f"stop {name}"
    elif platform in ("freebsd", "netbsd"):
        stop = f"`service {service} stop` and `sysrc {service}_enable=NO` (NetBSD: `{service}=NO` in /etc/rc.conf)"
    else:
        stop = f"`systemctl disable --now {service}`"
    return (f"Stop {name}: {stop}, then restart racoon. If {name} must stay, give racoon its own address with "
            f"`listen {{ isakmp <ip> [500]; isakmp_natt <ip> [4500]; }}`.")


@rule("RDB602", "pfkey-unavailable", title="The kernel offers no PF_KEY socket, so racoon cannot install SAs",
      severity=Severity.ERROR, needs={"host"},
      fix="Load PF_KEY: `modprobe af_key` (with `esp4`, `xfrm_user`), and list af_key in /etc/modules.")
def pfkey_unavailable(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** racoon and setkey talk to the kernel through a PF_KEY socket. On Linux that
    socket exists only when the `af_key` module is loaded (`/proc/net/pfkey` shows it); minimal
    kernels, containers and some distributions ship without it. On the BSDs and macOS it is part of a
    kernel built with IPsec.

    **Why racoon fails:** without PF_KEY racoon cannot receive ACQUIREs, read the SPD or install
    SAs. Debian's init script refuses to start it (`racoon - IKE keying daemon will not be started
    as /proc/net/pfkey is not available`); started by hand it dies with `libipsec failed pfkey
    open`. `setkey -D` fails the same way, so nothing about the kernel state can be read with it
    (racoondbg then reads `ip xfrm` instead and says so).

    **Evidence it looks at:** whether `/proc/net/pfkey` exists (Linux), and how `setkey -D` ended.
    A warning only when no racoon.conf and no racoon process were found (racoon may not be meant to
    run on this box).

    **How to fix:** Linux: `modprobe af_key`, persist it in `/etc/modules` (or
    `/etc/modules-load.d/racoon.conf`); in a container, load it on the host. FreeBSD: a kernel with
    `options IPSEC` or `kldload ipsec`.

    **References:** failure-catalog #24 `pfkey-unavailable`; rancher/rancher#725.
    """
    host: HostState = ev.host
    if host.pfkey is not False:
        return
    where = host.pfkey_at or host.location
    if host.platform in ("linux", "android"):
        fix = ("Run `modprobe af_key` (and `modprobe esp4 xfrm_user` if missing), add `af_key` to /etc/modules "
               "so it survives a reboot, then start racoon. In a container, load the module on the host.")
    else:
        fix = "Load the kernel's IPsec support (FreeBSD: `kldload ipsec`, or a kernel with `options IPSEC`)."
    used = f" The kernel state was read with {host.kernel_tool} instead." if host.kernel_tool == "ip xfrm" else ""
    configured = host.conf_path is not None or bool(host.racoon)
    yield Hit(f"PF_KEY is not available: {host.pfkey_why or 'setkey could not open it'}. racoon cannot install "
              f"or read SAs on this kernel.{used}",
              evidence=[EvidenceRef.at(where, note=host.pfkey_why)], fix=fix,
              severity=None if configured else Severity.WARNING)


@rule("RDB603", "racoon-not-running", title="racoon is configured but not running",
      severity=Severity.ERROR, needs={"host"},
      fix="Start racoon (`service racoon start`, or `racoon -F -f <conf> -d` to watch it start) and read why it "
          "stopped.")
def racoon_not_running(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** the process list shows no racoon although a racoon.conf is in place; a pid
    file may still name a process that is gone.

    **Why racoon fails:** with no racoon, ACQUIREs from the kernel go unanswered: traffic that the
    SPD says must be protected is dropped silently and no IKE packet leaves the box. racoon usually
    died at start-up (a config syntax error, `no address could be bound.`, no PF_KEY) — those reasons
    go to stderr or syslog, not to racoon's own log file.

    **Evidence it looks at:** the process list (`ps`), racoon's pid file, where racoon.conf was found.
    On macOS and Android racoon is started on demand by the VPN client, so its absence is normal there
    and this rule stays silent.

    **How to fix:** start it in the foreground once, `racoon -F -f /etc/racoon/racoon.conf -d`,
    read the first error, fix it, then start the service. Remove a stale pid file.

    **References:** racoon(8); failure-catalog #23 and #24 for the usual start-up failures.
    """
    host: HostState = ev.host
    if not host.processes_read or host.racoon or host.conf_path is None:
        return
    evidence = [EvidenceRef.at(host.processes_at or host.location, note="no racoon in the process list")]
    stale = ""
    if host.pidfile and host.pidfile_pid is not None:
        stale = f" The pid file {host.pidfile} still names pid {host.pidfile_pid}, which is gone (a stale pid file)."
        evidence.append(EvidenceRef(host.pidfile, 1, excerpt=str(host.pidfile_pid), note="stale pid file"))
    conf = host.conf_path
    if host.platform in ON_DEMAND:
        return  # started on demand: not running while no VPN is connected is normal
    yield Hit(f"racoon is not running, although {conf} configures it.{stale} Nothing answers the kernel's "
              "ACQUIREs, so protected traffic is dropped and no IKE packet is sent.",
              evidence=evidence,
              fix=f"Run `racoon -F -f {conf} -d` to see why it stops, fix that, then start the service"
                  + (f"; remove the stale {host.pidfile}" if stale else "") + ".")
