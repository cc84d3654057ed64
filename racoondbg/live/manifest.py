"""Reading a collection's manifest: the host part, and which file is which evidence part.

The manifest (``racoondbg-manifest.json``, schema ``racoondbg-collection/1``) is plain JSON::

    {"schema": ..., "tool": ..., "created": ISO time, "root": "/", "live": true, "redacted": true,
     "host": {platform, os_release, hostname, is_root, racoon_version, racoon_version_at, processes,
              processes_read, processes_at, admin_socket, admin_socket_why, pidfile, pidfile_pid,
              conf_path, conf_why, pfkey, pfkey_why,
              pfkey_at, kernel_tool, kernel_tool_why, sockets, sockets_read, sockets_show_owner,
              sockets_at, sysctls, addresses, routes, routes_read, notes},
     "files": [{"path": "root/etc/racoon/racoon.conf", "part": "conf", "from": "/etc/racoon/racoon.conf",
                "what": ..., "when": ..., "command": null | [argv], "redacted": bool}],
     "commands": [{"key", "argv", "status", "exit_code", "duration", "output", "why"}]}

``*_at`` values are ``{"path": NAME, "line": N}`` where NAME is how findings cite the source: the
file's original path, or the command line for command output.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from racoondbg.model.base import Location, ParseError
from racoondbg.model.host import CommandRun, HostState, InterfaceAddress, Process, Route, Socket, Sysctl

MANIFEST_NAME = "racoondbg-manifest.json"
SCHEMA = "racoondbg-collection/1"


@dataclass(frozen=True, slots=True)
class CollectedInput:
    """One file of a collection, the evidence part it fills, and the name findings should use."""

    path: Path
    part: str
    name: str


@dataclass(frozen=True, slots=True)
class Collection:
    host: HostState
    inputs: list[CollectedInput]
    sysroot: Path


def is_collection(directory: Path) -> bool:
    return (directory / MANIFEST_NAME).is_file()


def read_collection(directory: Path, prefix: str = "") -> Collection:
    """The host part and the inputs of the collection in ``directory``; names get ``prefix``."""
    manifest_path = directory / MANIFEST_NAME
    where = Location(prefix + MANIFEST_NAME)
    try:
        data = json.loads(manifest_path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise ParseError(where, f"not a racoondbg manifest: {err}") from err
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ParseError(where, "not a racoondbg manifest", f"expected schema {SCHEMA}")
    host = _host(data, prefix, where)
    inputs = []
    for item in data.get("files", []):
        rel = str(item.get("path", ""))
        part = item.get("part")
        if not part or ".." in Path(rel).parts or rel.startswith("/"):
            continue
        inputs.append(CollectedInput(directory / rel, str(part), prefix + str(item.get("from") or rel)))
    return Collection(host, inputs, directory / "root")


def _loc(value: Any, prefix: str) -> Location | None:
    if not isinstance(value, dict) or not value.get("path"):
        return None
    return Location(prefix + str(value["path"]), value.get("line"))


def _text(at: Any) -> str | None:
    return str(at["text"]) if isinstance(at, dict) and at.get("text") else None


def _host(data: dict[str, Any], prefix: str, where: Location) -> HostState:
    h = data.get("host") or {}
    host = HostState(
        location=where,
        platform=h.get("platform") or "unknown",
        flavour=h.get("platform"),
        os_release=h.get("os_release"),
        hostname=h.get("hostname"),
        collected_at=data.get("created"),
        root=data.get("root") or "/",
        live=bool(data.get("live")),
        is_root=h.get("is_root"),
        racoon_version=h.get("racoon_version"),
        racoon_version_at=_loc(h.get("racoon_version_at"), prefix),
        processes_read=bool(h.get("processes_read")),
        processes_at=_loc(h.get("processes_at"), prefix),
        admin_socket=h.get("admin_socket"),
        admin_socket_why=h.get("admin_socket_why"),
        pidfile=h.get("pidfile"),
        pidfile_pid=h.get("pidfile_pid"),
        conf_path=h.get("conf_path"),
        conf_why=h.get("conf_why"),
        pfkey=h.get("pfkey"),
        pfkey_why=h.get("pfkey_why"),
        pfkey_at=_loc(h.get("pfkey_at"), prefix),
        kernel_tool=h.get("kernel_tool"),
        kernel_tool_why=h.get("kernel_tool_why"),
        sockets_read=bool(h.get("sockets_read")),
        sockets_show_owner=bool(h.get("sockets_show_owner")),
        sockets_at=_loc(h.get("sockets_at"), prefix),
        routes_read=bool(h.get("routes_read")),
        notes=[str(n) for n in h.get("notes", [])],
    )
    for p in h.get("processes", []):
        loc = _loc(p.get("at"), prefix) or where
        host.processes.append(Process(int(p["pid"]), tuple(p.get("argv", ())), loc, _text(p.get("at"))))
    for s in h.get("sockets", []):
        loc = _loc(s.get("at"), prefix) or where
        host.sockets.append(Socket(s.get("proto", "udp"), s.get("address", "*"), int(s["port"]), loc,
                                   s.get("pid"), s.get("process"), _text(s.get("at"))))
    for name, v in (h.get("sysctls") or {}).items():
        host.sysctls[name] = Sysctl(name, str(v.get("value")), _loc(v.get("at"), prefix) or where, _text(v.get("at")))
    for a in h.get("addresses", []):
        host.addresses.append(InterfaceAddress(a["interface"], a["prefix"], _loc(a.get("at"), prefix) or where,
                                               _text(a.get("at"))))
    for r in h.get("routes", []):
        host.routes.append(Route(r["prefix"], tuple(r.get("devices", ())), _loc(r.get("at"), prefix) or where,
                                 r.get("kind", "unicast"), int(r.get("metric") or 0), _text(r.get("at"))))
    for c in data.get("commands", []):
        argv = tuple(c.get("argv", ()))
        host.commands.append(CommandRun(c.get("key", ""), argv, c.get("status", ""), c.get("exit_code"),
                                        c.get("duration"), prefix + " ".join(argv) if c.get("output") else None,
                                        c.get("why")))
    return host
