"""The live host: what `racoondbg diagnose` / `collect` saw on the box besides racoon's own files.

Filled from a collection's manifest (:mod:`racoondbg.live.manifest`): the platform, racoon's
version and process, who holds UDP 500/4500, whether PF_KEY works, the sysctls that matter, and
every command that was run (with exit code and duration) so the report can say what was looked at.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from racoondbg.model.base import Location, ParseError

#: The UDP ports IKE uses: ISAKMP and NAT-T.
IKE_PORTS = (500, 4500)

#: Daemons that speak IKE and can hold its ports.
IKE_DAEMONS = frozenset({"racoon", "charon", "pluto", "iked", "isakmpd", "strongswan", "starter", "ipsec"})


@dataclass(frozen=True, slots=True)
class CommandRun:
    """One command (or one recorded output standing in for it).

    ``status``: ``ran`` (run on this box), ``recorded`` (output taken from the sysroot),
    ``not-found`` (no such program), ``timeout``, ``error`` (could not be started) or
    ``skipped`` (not run, ``why`` says why). ``output`` is the name findings cite.
    """

    key: str
    argv: tuple[str, ...]
    status: str
    exit_code: int | None = None
    duration: float | None = None
    output: str | None = None
    why: str | None = None

    @property
    def line(self) -> str:
        return " ".join(self.argv)

    @property
    def ok(self) -> bool:
        return self.status in ("ran", "recorded") and self.exit_code == 0


@dataclass(frozen=True, slots=True)
class Process:
    """A running process that matters for IKE (racoon or another IKE daemon)."""

    pid: int
    argv: tuple[str, ...]
    location: Location
    text: str | None = None

    @property
    def name(self) -> str:
        return self.argv[0].rsplit("/", 1)[-1] if self.argv else ""


@dataclass(frozen=True, slots=True)
class Socket:
    """A UDP socket bound to an IKE port; ``process`` is None when the tool could not say."""

    proto: str
    address: str
    port: int
    location: Location
    pid: int | None = None
    process: str | None = None
    text: str | None = None

    def who(self) -> str:
        if self.process is None:
            return "an unknown process"
        return f"{self.process} (pid {self.pid})" if self.pid is not None else self.process


@dataclass(frozen=True, slots=True)
class Sysctl:
    name: str
    value: str
    location: Location
    text: str | None = None


@dataclass(frozen=True, slots=True)
class InterfaceAddress:
    """An IPv4 address of an interface (``ip -4 -o addr show``); ``prefix`` is ``192.0.2.1/24``."""

    interface: str
    prefix: str
    location: Location
    text: str | None = None

    @property
    def address(self) -> str:
        return self.prefix.partition("/")[0]


@dataclass(frozen=True, slots=True)
class Route:
    """An IPv4 route of the main table (``ip -4 route show table main``).

    ``prefix`` is ``0.0.0.0/0`` for ``default``; ``kind`` is ``unicast`` or the route type
    (``unreachable``, ``blackhole``, ``prohibit``, ...); ``devices`` holds every next hop's device.
    """

    prefix: str
    devices: tuple[str, ...]
    location: Location
    kind: str = "unicast"
    metric: int = 0
    text: str | None = None


@dataclass(slots=True)
class HostState:
    """Everything the collector learnt about the host itself."""

    location: Location
    platform: str = "unknown"
    flavour: str | None = None
    os_release: str | None = None
    hostname: str | None = None
    collected_at: str | None = None
    root: str = "/"
    live: bool = True
    is_root: bool | None = None
    racoon_version: str | None = None
    racoon_version_at: Location | None = None
    processes: list[Process] = field(default_factory=list)
    processes_read: bool = False
    processes_at: Location | None = None
    admin_socket: str | None = None
    admin_socket_why: str | None = None
    pidfile: str | None = None
    pidfile_pid: int | None = None
    conf_path: str | None = None
    conf_why: str | None = None
    pfkey: bool | None = None
    pfkey_why: str | None = None
    pfkey_at: Location | None = None
    kernel_tool: str | None = None
    kernel_tool_why: str | None = None
    sockets: list[Socket] = field(default_factory=list)
    sockets_read: bool = False
    sockets_show_owner: bool = False
    sockets_at: Location | None = None
    sysctls: dict[str, Sysctl] = field(default_factory=dict)
    addresses: list[InterfaceAddress] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    routes_read: bool = False
    commands: list[CommandRun] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[ParseError] = field(default_factory=list)

    @property
    def racoon(self) -> list[Process]:
        return [p for p in self.processes if p.name == "racoon"]

    def holders(self, port: int) -> list[Socket]:
        return [s for s in self.sockets if s.port == port]

    def sysctl(self, name: str) -> str | None:
        found = self.sysctls.get(name)
        return found.value if found else None
