"""Reading the tables system tools print: sockets (ss, sockstat, netstat, lsof), ps, sysctl, ip addr/route.

Pure functions from text to rows with 1-based line numbers; unknown lines are skipped, so a
tool's odd output never stops the collection.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from racoondbg.model.host import IKE_PORTS


@dataclass(frozen=True, slots=True)
class SocketRow:
    line: int
    proto: str
    address: str
    port: int
    pid: int | None
    process: str | None


@dataclass(frozen=True, slots=True)
class ProcessRow:
    line: int
    pid: int
    argv: tuple[str, ...]


_ADDR_PORT = re.compile(r"^(?P<addr>\[[^\]]*\]|[^\s]*?)[:.](?P<port>\d+|\*)$")
_SS_USERS = re.compile(r'users:\(\("(?P<name>[^"]*)",pid=(?P<pid>\d+)')
_NETSTAT_PROG = re.compile(r"^(?P<pid>\d+)/(?P<name>\S+)$")


def _split_addr(token: str) -> tuple[str, int] | None:
    """``192.0.2.1:500``, ``[2001:db8::1]:500``, ``*.500`` (BSD netstat) -> (address, port)."""
    m = _ADDR_PORT.match(token)
    if m is None or m.group("port") == "*":
        return None
    addr = m.group("addr").strip("[]") or "*"
    if addr in ("0.0.0.0", "::", "*"):
        addr = "*"
    return addr, int(m.group("port"))


def _ike_only(rows: Iterable[SocketRow]) -> list[SocketRow]:
    return [r for r in rows if r.port in IKE_PORTS]


def parse_sockets(tool: str, text: str) -> list[SocketRow]:
    """The UDP sockets bound to IKE ports in the output of ``tool`` (ss, sockstat, netstat, lsof)."""
    parser = {"ss": _ss, "sockstat": _sockstat, "netstat": _netstat, "lsof": _lsof}[tool]
    return _ike_only(parser(text.splitlines()))


def _ss(lines: list[str]) -> Iterator[SocketRow]:
    for n, line in enumerate(lines, 1):
        tokens = line.split()
        if not tokens or tokens[0] in ("State", "Netid"):
            continue
        local = next((a for a in map(_split_addr, tokens) if a is not None), None)
        if local is None:
            continue
        users = _SS_USERS.search(line)
        proto = "udp6" if ":" in local[0] else "udp"
        yield SocketRow(n, proto, local[0], local[1],
                        int(users.group("pid")) if users else None, users.group("name") if users else None)


def _sockstat(lines: list[str]) -> Iterator[SocketRow]:
    # USER COMMAND PID FD PROTO LOCAL FOREIGN (FreeBSD and NetBSD)
    for n, line in enumerate(lines, 1):
        tokens = line.split()
        if len(tokens) < 7 or tokens[0] == "USER" or not tokens[4].startswith("udp"):
            continue
        local = _split_addr(tokens[5])
        if local is None:
            continue
        pid = int(tokens[2]) if tokens[2].isdigit() else None
        name = tokens[1] if tokens[1] != "?" else None
        yield SocketRow(n, tokens[4], local[0], local[1], pid, name)


def _netstat(lines: list[str]) -> Iterator[SocketRow]:
    # Linux: udp 0 0 0.0.0.0:500 0.0.0.0:* [state] [PID/Program]; BSD: udp4 0 0 *.500 *.*
    for n, line in enumerate(lines, 1):
        tokens = line.split()
        if len(tokens) < 5 or not tokens[0].startswith("udp"):
            continue
        local = _split_addr(tokens[3])
        if local is None:
            continue
        prog = _NETSTAT_PROG.match(tokens[-1])
        yield SocketRow(n, tokens[0], local[0], local[1],
                        int(prog.group("pid")) if prog else None, prog.group("name") if prog else None)


def _lsof(lines: list[str]) -> Iterator[SocketRow]:
    # COMMAND PID USER FD TYPE DEVICE SIZE/OFF NODE NAME
    for n, line in enumerate(lines, 1):
        tokens = line.split()
        if len(tokens) < 9 or tokens[0] == "COMMAND" or "UDP" not in tokens:
            continue
        local = _split_addr(tokens[-1].split("->", 1)[0])
        if local is None or not tokens[1].isdigit():
            continue
        proto = "udp6" if "IPv6" in tokens else "udp"
        yield SocketRow(n, proto, local[0], local[1], int(tokens[1]), tokens[0])


def parse_ps(text: str) -> list[ProcessRow]:
    """``ps -o pid=,args=`` style output: a pid, then the command line."""
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        pid, _, args = line.strip().partition(" ")
        if not pid.isdigit() or not args.strip():
            continue
        try:
            argv = tuple(shlex.split(args))
        except ValueError:
            argv = tuple(args.split())
        rows.append(ProcessRow(n, int(pid), argv))
    return rows


_SYSCTL = re.compile(r"^(?P<name>[\w-]+(?:\.[\w/-]+)+)\s*(?:=|:)\s*(?P<value>.*?)\s*$")


def parse_sysctl(text: str) -> dict[str, tuple[int, str]]:
    """``name = value`` (Linux) or ``name: value`` (BSD, macOS) -> {name: (line, value)}."""
    values = {}
    for n, line in enumerate(text.splitlines(), 1):
        m = _SYSCTL.match(line)
        if m:
            values[m.group("name")] = (n, m.group("value"))
    return values


@dataclass(frozen=True, slots=True)
class AddressRow:
    line: int
    interface: str
    prefix: str


@dataclass(frozen=True, slots=True)
class RouteRow:
    line: int
    prefix: str
    devices: tuple[str, ...]
    kind: str
    metric: int


#: ``ip route`` types that drop instead of sending somewhere (``unicast`` is the default, unnamed).
ROUTE_TYPES = frozenset({"unicast", "unreachable", "blackhole", "prohibit", "throw", "local", "broadcast",
                         "multicast", "anycast", "nat"})


def parse_ip_addr(text: str) -> list[AddressRow]:
    """``ip -4 -o addr show``: ``2: eth0    inet 192.0.2.1/24 brd ... scope global eth0``."""
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        tokens = line.split()
        if len(tokens) >= 4 and tokens[0].endswith(":") and tokens[2] == "inet" and _is_prefix(tokens[3]):
            rows.append(AddressRow(n, tokens[1].split("@", 1)[0], tokens[3]))
    return rows


def parse_ip_route(text: str) -> list[RouteRow]:
    """``ip -4 route show``: one route a line; a multipath route's ``nexthop`` lines follow it indented."""
    rows: list[RouteRow] = []
    for n, line in enumerate(text.splitlines(), 1):
        tokens = line.split()
        if not tokens:
            continue
        if line[:1].isspace() and tokens[0] == "nexthop" and rows:
            last = rows[-1]
            rows[-1] = RouteRow(last.line, last.prefix, (*last.devices, *_after(tokens, "dev")), last.kind, last.metric)
            continue
        kind = tokens.pop(0) if tokens[0] in ROUTE_TYPES and len(tokens) > 1 else "unicast"
        prefix = "0.0.0.0/0" if tokens[0] == "default" else tokens[0] if "/" in tokens[0] else f"{tokens[0]}/32"
        metric = next(iter(_after(tokens, "metric")), "0")
        if not _is_prefix(prefix):
            continue
        rows.append(RouteRow(n, prefix, tuple(_after(tokens, "dev")), kind, int(metric) if metric.isdigit() else 0))
    return rows


def _is_prefix(text: str) -> bool:
    try:
        return ipaddress.ip_network(text, strict=False).version == 4
    except ValueError:
        return False


def _after(tokens: list[str], word: str) -> list[str]:
    return [tokens[i + 1] for i, t in enumerate(tokens[:-1]) if t == word]


def conf_argument(argv: tuple[str, ...]) -> str | None:
    """The config file a racoon command line names with ``-f FILE`` (or ``-fFILE``)."""
    for i, arg in enumerate(argv[1:], 1):
        if arg == "-f" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("-f") and len(arg) > 2 and not arg.startswith("--"):
            return arg[2:]
    return None


def log_argument(argv: tuple[str, ...]) -> str | None:
    """The log file a racoon command line names with ``-l FILE``."""
    for i, arg in enumerate(argv[1:], 1):
        if arg == "-l" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("-l") and len(arg) > 2:
            return arg[2:]
    return None
