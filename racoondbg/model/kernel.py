"""Kernel IPsec state: security policies (SPD) and security associations (SAD).

The same model holds what `setkey -DP`/`-D` dumps (every flavour), `ip xfrm policy`/`state` and
`setkey -c` scripts say. Addresses are kept as text: selectors as networks with their prefix length
(``10.3.0.0/24``, hosts as ``10.3.0.2/32``), SA and tunnel endpoints as plain addresses. Ports are
``None`` for "any". Key material is never kept in clear unless the user asked (``--show-keys``):
``enc_key``/``auth_key`` then hold a :func:`racoondbg.model.base.secret_tag`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime

from racoondbg.model.base import Location, ParseError

#: The upper-layer protocol that means "every protocol" (setkey prints ``any`` or ``255``).
ANY_PROTO = "any"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def host_text(prefix: str) -> str:
    """A selector as people write it: ``10.3.0.2/32`` → ``10.3.0.2``, networks unchanged."""
    addr, _, plen = prefix.partition("/")
    full = "128" if ":" in addr else "32"
    return addr if plen in ("", full) else prefix


@dataclass(frozen=True, slots=True)
class IpsecRequest:
    """One ``proto/mode/src-dst/level`` line of an ``ipsec`` policy (a template, in xfrm words)."""

    proto: str
    mode: str
    src: str | None = None
    dst: str | None = None
    level: str = "require"
    reqid: int | None = None

    def text(self) -> str:
        ends = f"{self.src}-{self.dst}" if self.src or self.dst else ""
        level = self.level
        if self.reqid:
            level += f":{self.reqid}" if self.reqid <= 16383 else f"#{self.reqid}"
        return f"{self.proto}/{self.mode}/{ends}/{level}"


@dataclass(slots=True)
class Policy:
    """One SPD entry (or one ``spdadd`` of a script)."""

    location: Location
    direction: str
    action: str
    src: str | None = None
    dst: str | None = None
    src_port: int | None = None
    dst_port: int | None = None
    proto: str = ANY_PROTO
    proto_detail: str | None = None
    requests: list[IpsecRequest] = field(default_factory=list)
    priority: int | None = None
    priority_text: str | None = None
    per_socket: bool = False
    tag: str | None = None
    spid: int | None = None
    created: datetime | None = None
    last_used: datetime | None = None
    lifetime: int | None = None
    validtime: int | None = None
    pid: int | None = None
    refcnt: int | None = None
    scope: str | None = None
    ifname: str | None = None
    expansion: str | None = None

    @property
    def src_net(self) -> Network | None:
        return ipaddress.ip_network(self.src, strict=False) if self.src else None

    @property
    def dst_net(self) -> Network | None:
        return ipaddress.ip_network(self.dst, strict=False) if self.dst else None

    @property
    def is_ipsec(self) -> bool:
        return self.action == "ipsec" and bool(self.requests)

    @property
    def tunnel(self) -> IpsecRequest | None:
        """The outermost tunnel request, if any."""
        return next((r for r in self.requests if r.mode == "tunnel"), None)

    @property
    def generated(self) -> bool:
        """racoon's ``generate_policy`` installs policies with the phase-2 lifetime; static ones have 0."""
        return bool(self.lifetime)

    def selector_text(self) -> str:
        if self.per_socket or self.src is None or self.dst is None:
            return "(per-socket policy)"

        def end(prefix: str, port: int | None) -> str:
            return f"{host_text(prefix)}[{'any' if port is None else port}]"

        return f"{end(self.src, self.src_port)} {end(self.dst, self.dst_port)} {self.proto}"

    def summary(self) -> str:
        """The policy on one line, setkey style (no secrets in a policy)."""
        prio = f" prio {self.priority_text}" if self.priority_text else ""
        reqs = "".join(f" {r.text()}" for r in self.requests)
        return f"{self.selector_text()} {self.direction}{prio} {self.action}{reqs}"


@dataclass(slots=True)
class SecurityAssociation:
    """One SAD entry (or one ``add`` of a script). Keys are secret tags unless ``--show-keys``."""

    location: Location
    src: str
    dst: str
    proto: str
    mode: str
    spi: int
    reqid: int = 0
    state: str = "mature"
    src_port: int | None = None
    dst_port: int | None = None
    natt: bool = False
    nat_oa: str | None = None
    nat_oar: str | None = None
    esp_frag: int | None = None
    enc_alg: str | None = None
    enc_key: str | None = None
    auth_alg: str | None = None
    auth_key: str | None = None
    auth_trunc_bits: int | None = None
    comp_alg: str | None = None
    seq: int | None = None
    replay: int | None = None
    flags: int | None = None
    flags2: int | None = None
    created: datetime | None = None
    dumped: datetime | None = None
    age: int | None = None
    hard_time: int | None = None
    soft_time: int | None = None
    last_used: datetime | None = None
    hard_use: int | None = None
    soft_use: int | None = None
    bytes: int | None = None
    hard_bytes: int | None = None
    soft_bytes: int | None = None
    packets: int | None = None
    allocations: int | None = None
    sadb_seq: int | None = None
    pid: int | None = None
    refcnt: int | None = None
    security_context: str | None = None
    interfaces: dict[str, str] = field(default_factory=dict)
    selector: str | None = None
    expansion: str | None = None

    @property
    def key(self) -> tuple[str, str, str, str, int]:
        """What several SAs for "the same thing" share: endpoints, protocol, mode, reqid."""
        return (self.src, self.dst, self.proto, self.mode, self.reqid)

    def summary(self) -> str:
        """The SA on one line (never with key material)."""
        src = self.src if self.src_port is None else f"{self.src}[{self.src_port}]"
        dst = self.dst if self.dst_port is None else f"{self.dst}[{self.dst_port}]"
        proto = "esp-udp" if self.natt and self.proto == "esp" else self.proto
        age = f" age={self.age}s" if self.age is not None else ""
        return (f"{src} {dst} {proto} mode={self.mode} spi=0x{self.spi:08x} reqid={self.reqid} "
                f"state={self.state}{age}")


@dataclass(slots=True)
class SpdDump:
    """The SPD as `setkey -DP` or `ip xfrm policy` showed it."""

    location: Location
    flavour: str | None = None
    errors: list[ParseError] = field(default_factory=list)
    policies: list[Policy] = field(default_factory=list)
    empty: bool = False


@dataclass(slots=True)
class SadDump:
    """The SAD as `setkey -D` or `ip xfrm state` showed it."""

    location: Location
    flavour: str | None = None
    errors: list[ParseError] = field(default_factory=list)
    sas: list[SecurityAssociation] = field(default_factory=list)
    empty: bool = False
    dead_included: bool = False


@dataclass(frozen=True, slots=True)
class ScriptCommand:
    """One setkey command as the script gave it, with key material replaced by tags."""

    location: Location
    verb: str
    text: str
    expansion: str | None = None


@dataclass(slots=True)
class SetkeyScript:
    """What a `setkey -c`/`-f` script (or a shell script feeding setkey) installs.

    ``commands`` lists every command in order; ``policies`` and ``sas`` are what the SPD and SAD
    hold after replaying them (flushes and deletes applied). ``shell`` is true when the commands
    came from here-documents in a shell script.
    """

    location: Location
    flavour: str | None = None
    errors: list[ParseError] = field(default_factory=list)
    commands: list[ScriptCommand] = field(default_factory=list)
    policies: list[Policy] = field(default_factory=list)
    sas: list[SecurityAssociation] = field(default_factory=list)
    shell: bool = False
