"""racoon.conf as a typed tree (filled in by parsers/racoon_conf.py).

Every node carries the :class:`Location` of the statement it came from; statements read from an
included file name that file. Values are kept as written (algorithm names, identifiers, paths);
rules judge them, the parser does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from racoondbg.model.base import Location, ParseError


class ConfSyntaxError(ParseError):
    """A racoon.conf syntax error: racoon refuses to start with any of these, so they are fatal.

    ``source_line`` is the offending line as written; :meth:`pretty` shows it with a caret.
    """

    fatal = True

    def __init__(self, location: Location, message: str, hint: str | None = None, source_line: str = "") -> None:
        super().__init__(location, message, hint)
        self.source_line = source_line

    def pretty(self) -> str:
        """Compiler style: ``file:line:col: message``, the line, a caret under the column, the hint."""
        out = [f"{self.location}: error: {self.message}"]
        if self.source_line:
            line = self.source_line.expandtabs(8)
            column = len(self.source_line[: (self.location.column or 1) - 1].expandtabs(8))
            out += [f"    {line}", "    " + " " * column + "^"]
        if self.hint:
            out.append(f"  hint: {self.hint}")
        return "\n".join(out)


@dataclass(frozen=True, slots=True)
class Directive:
    """One statement as written: ``name arg arg ...;`` (blocks list their header arguments)."""

    name: str
    args: tuple[str, ...]
    location: Location

    def text(self) -> str:
        return " ".join((self.name, *self.args)) + ";"


def last_directive(directives: list[Directive], name: str) -> Directive | None:
    """The last statement with this name in a block (racoon: the last one wins)."""
    return next((d for d in reversed(directives) if d.name == name), None)


@dataclass(frozen=True, slots=True)
class Lifetime:
    """``lifetime time 8 hour;`` or ``lifetime byte 10 MB;`` with the value in seconds or bytes."""

    kind: str  # "time" | "byte"
    number: int
    unit: str
    value: int
    location: Location


@dataclass(frozen=True, slots=True)
class Algorithm:
    """An algorithm, hash, authentication method or DH group name, with an optional key length."""

    name: str
    location: Location
    keylen: int | None = None

    def text(self) -> str:
        return f"{self.name} {self.keylen}" if self.keylen is not None else self.name


@dataclass(frozen=True, slots=True)
class Identifier:
    """``my_identifier`` / ``peers_identifier`` / sainfo ``from``: type, qualifier, value."""

    kind: str  # address, subnet, fqdn, user_fqdn, keyid, asn1dn
    location: Location
    value: str | None = None
    qualifier: str | None = None  # file | tag (keyid)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A numeric address with optional prefix and port, as racoon writes selectors."""

    address: str
    location: Location
    prefix: int | None = None
    port: int | None = None
    range_end: str | None = None

    def text(self) -> str:
        out = self.address + (f"-{self.range_end}" if self.range_end else "")
        if self.prefix is not None:
            out += f"/{self.prefix}"
        if self.port is not None:
            out += f"[{self.port}]"
        return out


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file a directive names (certificate, private key, CA, peer's certificate, script)."""

    role: str  # certificate, private_key, plain_rsa_key, ca, peers_cert, script, ...
    path: str
    location: Location


@dataclass(slots=True)
class Proposal:
    """A phase-1 ``proposal { }`` block inside ``remote``."""

    location: Location
    encryption: Algorithm | None = None
    hash: Algorithm | None = None
    auth_method: Algorithm | None = None
    dh_group: Algorithm | None = None
    lifetime: Lifetime | None = None
    gss_id: str | None = None


@dataclass(frozen=True, slots=True)
class RemoteSelector:
    """What a ``remote`` header selects: ``anonymous``, an address (``[port]``, ``/prefix``) or a name."""

    kind: str  # anonymous | address | name
    location: Location
    address: str | None = None
    port: int | None = None
    prefix: int | None = None
    name: str | None = None

    def key(self) -> tuple[str, str | None, int | None, int | None]:
        """Equal keys select the same peers."""
        return (self.kind, self.name if self.kind == "name" else self.address, self.port, self.prefix)

    def text(self) -> str:
        if self.kind == "name":
            return f'"{self.name}"'
        base = "anonymous" if self.kind == "anonymous" else str(self.address)
        if self.prefix is not None:
            base += f"/{self.prefix}"
        return base + (f" [{self.port}]" if self.port is not None else "")


@dataclass(slots=True)
class Remote:
    """A ``remote`` block (phase-1 parameters for one peer or for anyone).

    Fields left ``None`` were not written; :func:`racoondbg.parsers.racoon_conf` fills them from the
    parent of ``remote ... inherit ...`` (``inherited`` then lists which ones came from there).
    """

    location: Location
    selector: RemoteSelector
    inherit: RemoteSelector | None = None
    remote_address: Endpoint | None = None
    exchange_modes: list[str] | None = None
    exchange_location: Location | None = None
    my_identifier: Identifier | None = None
    peers_identifiers: list[Identifier] = field(default_factory=list)
    verify_identifier: bool | None = None
    certificate_type: str | None = None  # x509 | plain_rsa | in_keychain (Apple)
    certificate_location: Location | None = None
    files: list[FileRef] = field(default_factory=list)
    verify_cert: bool | None = None
    send_cert: bool | None = None
    send_cr: bool | None = None
    proposals: list[Proposal] = field(default_factory=list)
    nat_traversal: str | None = None  # on | off | force
    dpd_delay: int | None = None
    generate_policy: str | None = None  # on | off | unique | require
    generate_policy_location: Location | None = None
    passive: bool | None = None
    passive_location: Location | None = None
    mode_cfg: bool | None = None
    lifetime: Lifetime | None = None
    proposal_check: str | None = None
    dh_group: Algorithm | None = None
    shared_secret: str | None = None  # Apple: use | key | keychain | keychain_by_id
    directives: list[Directive] = field(default_factory=list)
    inherited: list[str] = field(default_factory=list)

    def label(self) -> str:
        return f"remote {self.selector.text()}"

    def directive(self, name: str) -> Directive | None:
        return last_directive(self.directives, name)


@dataclass(frozen=True, slots=True)
class SainfoId:
    """One side of a sainfo header: an address id (with prefix, port, protocol) or a string id."""

    kind: str  # address | subnet | fqdn | user_fqdn | keyid | asn1dn
    location: Location
    endpoint: Endpoint | None = None
    protocol: str | None = None
    value: str | None = None

    def text(self) -> str:
        if self.endpoint is not None:
            return f"{self.kind} {self.endpoint.text()} {self.protocol}"
        return f'{self.kind} "{self.value}"'


@dataclass(slots=True)
class Sainfo:
    """A ``sainfo`` block (phase-2 parameters). ``local``/``remote`` None means ``anonymous``."""

    location: Location
    local: SainfoId | None = None
    remote: SainfoId | None = None
    remote_clientaddr: bool = False
    peer_id: Identifier | None = None  # `from ...`
    group: str | None = None
    pfs_group: Algorithm | None = None
    lifetime: Lifetime | None = None
    remoteid: int | None = None
    encryption: list[Algorithm] = field(default_factory=list)
    authentication: list[Algorithm] = field(default_factory=list)
    compression: list[Algorithm] = field(default_factory=list)
    directives: list[Directive] = field(default_factory=list)

    @property
    def anonymous(self) -> bool:
        return self.local is None and self.remote is None and not self.remote_clientaddr

    def _sides(self) -> tuple[str, str]:
        left = self.local.text() if self.local else "anonymous"
        right = "clientaddr" if self.remote_clientaddr else (self.remote.text() if self.remote else "anonymous")
        return left, right

    def label(self) -> str:
        left, right = self._sides()
        head = "sainfo anonymous" if self.anonymous else f"sainfo {left} {right}"
        if self.peer_id is not None:
            head += f" from {self.peer_id.kind}" + (f" {self.peer_id.value}" if self.peer_id.value else "")
        if self.group is not None:
            head += f' group "{self.group}"'
        return head

    def key(self) -> tuple[str, str, str, str | None, int | None]:
        """Equal keys mean racoon cannot tell the two blocks apart."""
        left, right = self._sides()
        peer = f"{self.peer_id.kind} {self.peer_id.value}" if self.peer_id else ""
        return (left, right, peer, self.group, self.remoteid)


@dataclass(frozen=True, slots=True)
class Include:
    """An ``include "glob";`` statement and the files it matched (in order)."""

    pattern: str
    location: Location
    files: tuple[str, ...] = ()


@dataclass(slots=True)
class Block:
    """A top-level block kept as its statements: ``padding``, ``listen``, ``timer``, ``mode_cfg``,
    ``ldapcfg``, ``radiuscfg``, ``privsep``."""

    name: str
    location: Location
    directives: list[Directive] = field(default_factory=list)

    def directive(self, name: str) -> Directive | None:
        return last_directive(self.directives, name)


@dataclass(slots=True)
class RacoonConf:
    """A parsed racoon.conf with its includes followed.

    ``paths`` maps a ``path`` directive's kind (``certificate``, ``pre_shared_key``, ...) to its value
    as written; :mod:`racoondbg.evidence` resolves it against the config's directory or ``--root``.
    ``errors`` holds every syntax error (racoon would refuse to start with any of them).
    """

    location: Location
    paths: dict[str, str] = field(default_factory=dict)
    errors: list[ParseError] = field(default_factory=list)
    flavour: str | None = None
    path_locations: dict[str, Location] = field(default_factory=dict)
    log_level: str | None = None
    log_location: Location | None = None
    listen: list[Endpoint] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    remotes: list[Remote] = field(default_factory=list)
    sainfos: list[Sainfo] = field(default_factory=list)
    includes: list[Include] = field(default_factory=list)
    directives: list[Directive] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    disk_path: str | None = field(default=None, metadata={"json": False})

    def block(self, name: str) -> Block | None:
        return next((b for b in self.blocks if b.name == name), None)

    @property
    def timers(self) -> dict[str, Directive]:
        """``timer { }`` statements by name (the last one wins, as in racoon)."""
        out: dict[str, Directive] = {}
        for b in self.blocks:
            if b.name == "timer":
                out.update({d.name: d for d in b.directives})
        return out
