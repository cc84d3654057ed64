"""`setkey -D` (SAD) and `setkey -DP` (SPD) output, in every flavour setkey has printed.

ipsec-tools 0.8 (Linux, NetBSD), 0.7, modern FreeBSD, old KAME (2001), macOS, the `-Dl` short
format. Streams line by line; an entry that cannot be read becomes a ParseError in ``errors`` and
the parser goes on with the next one. Keys are kept as secret tags unless ``show_keys``.

The flavour reported is the most specific one the text proves:

* ``macos`` (``flags2=``, ``internal_if:``, action ``generate``), ``freebsd`` (``scope=``,
  ``NAT: OAI=``, ``hmac-sha2-*``, or — a weak hint — SA address lines without a trailing space),
  ``kame-2001`` (``lifetime:0 validtime:0`` without ``(s)``, ``rijndael-cbc``, ``state=… seq= pid=``),
* ``ipsec-tools-0.8/linux`` (priorities, ``fwd``, per-socket policies, SELinux contexts),
  ``ipsec-tools-0.8`` (upper-layer ``255``, ``esp-udp`` with ports, ``NAT OA=``),
* ``ipsec-tools-0.7/kame`` for SPDs printing ``any``, ``ipsec-tools`` for SADs that 0.7 and 0.8 print
  identically, ``setkey-Dl`` for the loop format; ``None`` for an empty dump.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from racoondbg.inputs import InputKind, LoadOptions
from racoondbg.jsonable import jsonable
from racoondbg.model.base import Location, ParseError
from racoondbg.model.kernel import Policy, SadDump, SecurityAssociation, SpdDump
from racoondbg.sources import Source, read_head

from . import policy_text as pt
from . import xfrm

# ---------------------------------------------------------------------------------------------
# flavours

LINUX_08 = "ipsec-tools-0.8/linux"
IPSEC_TOOLS_08 = "ipsec-tools-0.8"
IPSEC_TOOLS = "ipsec-tools"  # 0.7 or 0.8: the output does not tell them apart
KAME_07 = "ipsec-tools-0.7/kame"
FREEBSD = "freebsd"
KAME_2001 = "kame-2001"
MACOS = "macos"
SHORT = "setkey-Dl"


#: A weak hint only: modern FreeBSD ends the SA address line without a space, but so does any
#: dump whose trailing blanks an editor or a mailer removed.
_NO_TRAILING_SPACE = "no-trailing-space"


def _pick(signals: set[str], default: str) -> str:
    for flavour in (MACOS, FREEBSD, KAME_2001, LINUX_08, IPSEC_TOOLS_08, KAME_07):
        if flavour in signals:
            return flavour
    return FREEBSD if _NO_TRAILING_SPACE in signals else default


# ---------------------------------------------------------------------------------------------
# SAD

_SA_L1 = re.compile(r"^(?P<src>[0-9A-Fa-f:.%a-z]+?)(?:\[(?P<sport>\d+)\])? "
                    r"(?P<dst>[0-9A-Fa-f:.%a-z]+?)(?:\[(?P<dport>\d+)\])?(?P<trail> ?)$")
_SA_L2 = re.compile(r"^\t(?P<satype>[\w+-]+) mode=(?P<mode>\w+) spi=(?P<spi>\d+)\(0x[0-9a-fA-F]+\) "
                    r"reqid=(?P<reqid>\d+)\(0x[0-9a-fA-F]+\)")
_KEY_LINE = re.compile(r"^\t(?P<kind>[EAC]): (?P<alg>[\w-]+)(?P<rest>.*)$")
_HEX_CONT = re.compile(r"^ ?(?: [0-9a-f]{1,8})+ *$")
_SA_L5 = re.compile(r"(?:seq=0x(?P<seq>[0-9a-fA-F]+) )?replay=(?P<replay>\d+) flags=0x(?P<flags>[0-9a-fA-F]+) "
                    r"(?:flags2=0x(?P<flags2>[0-9a-fA-F]+) )?state=(?P<state>\w+)"
                    r"(?: seq=(?P<kseq>\d+) pid=(?P<kpid>\d+))?")
_TRIPLE = re.compile(r"^\t(?P<name>diff|last|current|allocated): ?(?P<a>.*?)\thard: (?P<h>\d+)(?:\(\w+\))?"
                     r"\tsoft: (?P<s>\d+)")
_CREATED = re.compile(r"^\tcreated: (?P<c>.{20})\tcurrent: (?P<d>.{20})")
_SADB = re.compile(r"^\tsadb_seq=(?P<seq>\d+) pid=(?P<pid>\d+) refcnt=(?P<ref>\d+)")
_SHORT_HDR = re.compile(r"^time\s+p\s+s\s+spi\s+ltime\s+src -> dst")
_SHORT = re.compile(r"^(?P<t>\d{4}) (?P<satype>[\w+-]+) (?P<st>[LMDd]) (?P<spi>[0-9a-f]{8}) +"
                    r"(?P<age>\d+|big|\?\?\?)/(?P<hard>\d+|big|\?\?\?) +(?:(?P<p1>[a-z]\w*) )?"
                    r"(?P<src>[^ ]+?)(?:\[(?P<sport>\d+)\])? -> (?:(?P<p2>[a-z]\w*) )?"
                    r"(?P<dst>[^ ]+?)(?:\[(?P<dport>\d+)\])?\s*$")
_SHORT_STATES = {"L": "larval", "M": "mature", "D": "dying", "d": "dead"}
_EMPTY_SAD = "No SAD entries."
_EMPTY_SPD = "No SPD entries."


@dataclass(slots=True)
class _SaDraft:
    start: int
    l1: re.Match[str]
    lines: list[str]
    end: int


class _SadReader:
    def __init__(self, source: Source, options: LoadOptions) -> None:
        self.source = source
        self.show_keys = options.show_keys
        self.dump = SadDump(Location(source.name))
        self.signals: set[str] = set()
        self.short_seen: dict[tuple[str, str, int], int] = {}

    def error(self, line: int, message: str, hint: str | None = None) -> None:
        self.dump.errors.append(ParseError(Location(self.source.name, line), message, hint))

    def read(self, lines: Iterable[tuple[int, str]]) -> SadDump:
        seen_text = False
        for start, end, head, body in pt.blocks(lines):
            seen_text = True
            stripped = head.strip()
            if stripped == _EMPTY_SAD:
                self.dump.empty = True
                continue
            if _SHORT_HDR.match(stripped):
                self.signals.add(SHORT)
                continue
            short = _SHORT.match(stripped)
            if short:
                self.short(start, short)
                continue
            l1 = _SA_L1.match(head)
            if l1:
                self.finish(_SaDraft(start, l1, body, end))
                continue
            self.error(start, f"not part of a setkey -D dump: {stripped[:60]!r}")
        if not seen_text:
            raise ParseError(Location(self.source.name), "empty input", "expected `setkey -D` output")
        if not self.dump.sas and not self.dump.empty and self.dump.errors:
            raise ParseError(Location(self.source.name), "no SAD entry could be read",
                             f"first problem: {self.dump.errors[0].one_line()}")
        self.dump.dead_included = any(sa.state == "dead" for sa in self.dump.sas)
        if self.dump.sas:
            self.dump.flavour = SHORT if SHORT in self.signals else _pick(self.signals, IPSEC_TOOLS)
        return self.dump

    def short(self, number: int, m: re.Match[str]) -> None:
        """A ``setkey -Dl`` line; later passes of the loop replace earlier lines for the same SA."""
        self.signals.add(SHORT)
        try:
            src, dst = pt.address(m["src"]), pt.address(m["dst"])
        except ValueError as err:
            self.error(number, str(err))
            return
        satype = m["satype"]
        sa = SecurityAssociation(
            Location(self.source.name, number), src, dst, "esp" if satype == "esp-udp" else satype, "any",
            int(m["spi"], 16), state=_SHORT_STATES[m["st"]], natt=satype == "esp-udp",
            src_port=int(m["sport"]) if m["sport"] else None, dst_port=int(m["dport"]) if m["dport"] else None,
            age=int(m["age"]) if m["age"].isdigit() else None,
            hard_time=int(m["hard"]) if m["hard"].isdigit() else None,
        )
        ident = (sa.dst, sa.proto, sa.spi)
        if ident in self.short_seen:
            self.dump.sas[self.short_seen[ident]] = sa
        else:
            self.short_seen[ident] = len(self.dump.sas)
            self.dump.sas.append(sa)

    def finish(self, d: _SaDraft) -> None:
        loc = Location(self.source.name, d.start, end_line=d.end)
        try:
            sa = self.build(d, loc)
        except (ValueError, IndexError) as err:
            self.dump.errors.append(ParseError(loc, f"unreadable SAD entry: {err}"))
            return
        if sa is not None:
            self.dump.sas.append(sa)

    def build(self, d: _SaDraft, loc: Location) -> SecurityAssociation | None:
        l1 = d.l1
        if not d.lines:
            raise ValueError("address line without the SA lines that follow it")
        l2 = _SA_L2.match(d.lines[0])
        if not l2:
            raise ValueError(f"expected `<satype> mode=… spi=…`, got {d.lines[0].strip()[:60]!r}")
        if not l1["trail"]:
            self.signals.add(_NO_TRAILING_SPACE)
        satype = l2["satype"]
        natt = satype in ("esp-udp",) or satype.startswith("natt+")
        proto = "esp" if satype == "esp-udp" else satype.removeprefix("natt+")
        if l1["sport"] and natt:
            self.signals.add(IPSEC_TOOLS_08)
        sa = SecurityAssociation(
            loc, pt.address(l1["src"]), pt.address(l1["dst"]), proto, l2["mode"], int(l2["spi"]),
            reqid=int(l2["reqid"]), natt=natt,
            src_port=int(l1["sport"] or 0) or None, dst_port=int(l1["dport"] or 0) or None,  # `-p` prints [0]
        )
        keys: dict[str, list[str]] = {}
        current_key: list[str] | None = None
        for raw in d.lines[1:]:
            if current_key is not None and _HEX_CONT.match(raw):
                current_key.extend(raw.split())
                continue
            current_key = None
            key = _KEY_LINE.match(raw)
            if key:
                current_key = self.key_line(sa, key, keys)
                continue
            self.field_line(sa, raw)
        sa.enc_key = pt.key_text("".join(keys["E"]), self.show_keys) if keys.get("E") else None
        sa.auth_key = pt.key_text("".join(keys["A"]), self.show_keys) if keys.get("A") else None
        return sa

    def key_line(self, sa: SecurityAssociation, m: re.Match[str], keys: dict[str, list[str]]) -> list[str] | None:
        kind, alg, rest = m["kind"], m["alg"], m["rest"]
        if alg in ("rijndael-cbc",):
            self.signals.add(KAME_2001)
        elif alg.startswith("hmac-sha2-"):
            self.signals.add(FREEBSD)
        if kind == "C":
            sa.comp_alg = alg
            tail = _SA_L5.search(rest)
            if tail:  # `C: deflate ` has no newline: the seq= line continues here
                self.state_line(sa, tail)
            return None
        if kind == "E":
            sa.enc_alg = alg
        else:
            sa.auth_alg = alg
        groups = rest.split()
        keys[kind] = list(groups)
        return keys[kind]

    def state_line(self, sa: SecurityAssociation, m: re.Match[str]) -> None:
        if m["seq"] is not None:
            sa.seq = int(m["seq"], 16)
        if m["kseq"] is not None:  # old KAME: the message's seq and pid end this line
            sa.sadb_seq, sa.pid = int(m["kseq"]), int(m["kpid"])
            self.signals.add(KAME_2001)
        sa.replay = int(m["replay"])
        sa.flags = int(m["flags"], 16)
        if m["flags2"] is not None:
            sa.flags2 = int(m["flags2"], 16)
            self.signals.add(MACOS)
        sa.state = m["state"]

    def field_line(self, sa: SecurityAssociation, raw: str) -> None:
        line = raw.rstrip()
        if line.startswith(("\tseq=", "\treplay=")):
            m = _SA_L5.search(line)
            if not m:
                raise ValueError(f"bad state line {line.strip()!r}")
            self.state_line(sa, m)
        elif line.startswith("\tcreated:"):
            m = _CREATED.match(raw + " " * 20)
            if not m:
                raise ValueError(f"bad created line {line.strip()!r}")
            sa.created, sa.dumped = pt.time20(m["c"]), pt.time20(m["d"])
        elif line.startswith(("\tdiff:", "\tlast:", "\tcurrent:", "\tallocated:")):
            self.triple(sa, raw)
        elif line.startswith("\tsadb_seq="):
            m = _SADB.match(line)
            if not m:
                raise ValueError(f"bad sadb_seq line {line.strip()!r}")
            sa.sadb_seq, sa.pid, sa.refcnt = int(m["seq"]), int(m["pid"]), int(m["ref"])
        elif line.startswith("\trefcnt="):
            sa.refcnt = int(line.split("=", 1)[1])
        elif line.startswith("\tNAT OA="):
            sa.nat_oa = pt.address(line.split("=", 1)[1].strip())
            self.signals.add(IPSEC_TOOLS_08)
        elif line.startswith("\tNAT: "):
            for item in line.split()[1:]:
                name, _, value = item.partition("=")
                if name == "OAI":
                    sa.nat_oa = pt.address(value)
                elif name == "OAR":
                    sa.nat_oar = pt.address(value)
            self.signals.add(FREEBSD)
        elif line.startswith("\tNAT-T esp_frag="):
            sa.esp_frag = int(line.split("=", 1)[1])
        elif line.startswith("\tsecurity context"):
            self.signals.add(LINUX_08)
            if line.startswith("\tsecurity context: "):
                sa.security_context = line.split(": ", 1)[1]
        elif line.startswith("\tinternal_if:"):
            self.signals.add(MACOS)
            for name, value in re.findall(r"(\w+): (\S+)", line):
                sa.interfaces[name] = value
        else:
            raise ValueError(f"unexpected line {line.strip()[:60]!r}")

    def triple(self, sa: SecurityAssociation, raw: str) -> None:
        m = _TRIPLE.match(raw)
        if not m:
            raise ValueError(f"bad lifetime line {raw.strip()[:60]!r}")
        name, first, hard, soft = m["name"], m["a"], int(m["h"]), int(m["s"])
        if name == "diff":
            sa.age, sa.hard_time, sa.soft_time = int(first.removesuffix("(s)")), hard, soft
        elif name == "last":
            sa.last_used, sa.hard_use, sa.soft_use = pt.time20(first), hard, soft
        elif name == "current":
            sa.bytes, sa.hard_bytes, sa.soft_bytes = int(first.removesuffix("(bytes)")), hard, soft
        else:
            sa.allocations = int(first)


def load_sad(source: Source, options: LoadOptions) -> SadDump:
    if xfrm.is_xfrm(read_head(source.path)):
        return xfrm.load_state(source, options)
    with pt.long_lived():
        return _SadReader(source, options).read(pt.numbered(source))


# ---------------------------------------------------------------------------------------------
# SPD

_SP_DIR = re.compile(r"^\t(?P<dir>in|out|fwd|any)(?P<sock>\(socket\))?(?P<rest>(?: [\w+-]+)*) ?$")
_SP_CREATED = re.compile(r"^\tcreated: (?P<c>.{20})  lastused: (?P<u>.{0,20})")
_SP_LIFE = re.compile(r"^\tlifetime: ?(?P<l>\d+)(?P<s>\(s\))? validtime: ?(?P<v>\d+)")
_SP_SPID = re.compile(r"^\tspid=(?P<spid>\d+) seq=(?P<seq>\d+) pid=(?P<pid>\d+)"
                      r"(?: scope=(?P<scope>\w+))?(?: ifname=(?P<ifname>\S+))?")
_SP_REQ = re.compile(r"^\t(?:esp|ah|ipcomp)/")
_PER_SOCKET = ("(per-socket policy)", "(no selector, probably per-socket policy)")


@dataclass(slots=True)
class _SpDraft:
    start: int
    head: str
    lines: list[str]
    end: int


class _SpdReader:
    def __init__(self, source: Source) -> None:
        self.source = source
        self.dump = SpdDump(Location(source.name))
        self.signals: set[str] = set()

    def read(self, lines: Iterable[tuple[int, str]]) -> SpdDump:
        seen_text = False
        for start, end, head, body in pt.blocks(lines):
            seen_text = True
            if head.strip() == _EMPTY_SPD:
                self.dump.empty = True
                continue
            self.finish(_SpDraft(start, head, body, end))
        if not seen_text:
            raise ParseError(Location(self.source.name), "empty input", "expected `setkey -DP` output")
        if not self.dump.policies and not self.dump.empty and self.dump.errors:
            raise ParseError(Location(self.source.name), "no SPD entry could be read",
                             f"first problem: {self.dump.errors[0].one_line()}")
        if self.dump.policies:
            self.dump.flavour = _pick(self.signals, KAME_07)
        return self.dump

    def finish(self, d: _SpDraft) -> None:
        loc = Location(self.source.name, d.start, end_line=d.end)
        try:
            self.dump.policies.append(self.build(d, loc))
        except (ValueError, IndexError) as err:
            self.dump.errors.append(ParseError(loc, f"unreadable SPD entry: {err}"))

    def build(self, d: _SpDraft, loc: Location) -> Policy:
        if not d.lines:
            raise ValueError(f"{d.head.strip()[:60]!r} is not followed by a direction line")
        m = _SP_DIR.match(d.lines[0])
        if not m:
            raise ValueError(f"expected `<dir> <action>`, got {d.lines[0].strip()[:60]!r}")
        direction, prio, prio_text, action, _ = pt.policy_spec([m["dir"], *m["rest"].split()], requests_follow=True)
        if not action:
            raise ValueError("direction line without an action")
        policy = Policy(loc, direction, action, priority=prio, priority_text=prio_text)
        if prio is not None or direction == "fwd" or m["sock"]:
            self.signals.add(LINUX_08)
        if action == "generate":
            self.signals.add(MACOS)
        self.head(policy, d.head, bool(m["sock"]))
        for raw in d.lines[1:]:
            self.field_line(policy, raw)
        if policy.action == "ipsec" and not policy.requests:
            raise ValueError("ipsec policy without a request line")
        return policy

    def head(self, policy: Policy, head: str, socket_dir: bool) -> None:
        text = head.strip()
        if text.startswith(_PER_SOCKET) or socket_dir:
            policy.per_socket = True
            if text.startswith(_PER_SOCKET[0]):
                self.signals.add(LINUX_08)
            return
        tag = re.match(r'^tagged "([^"]*)"$', text)
        if tag:
            policy.tag = tag[1]
            return
        parts = text.split()
        if len(parts) < 3:
            raise ValueError(f"selector line {text[:60]!r} has fewer than three fields")
        policy.src, policy.src_port = pt.endpoint(parts[0])
        policy.dst, policy.dst_port = pt.endpoint(parts[1])
        policy.proto = pt.normalise_proto(parts[2])
        if parts[2] == "255":
            self.signals.add(IPSEC_TOOLS_08)
        if len(parts) > 3:
            policy.proto_detail = " ".join(parts[3:])

    def field_line(self, policy: Policy, raw: str) -> None:
        line = raw.rstrip()
        if _SP_REQ.match(line):
            policy.requests.append(pt.request(line.strip()))
        elif line.startswith("\tcreated:"):
            m = _SP_CREATED.match(raw + " " * 20)
            if not m:
                raise ValueError(f"bad created line {line.strip()!r}")
            policy.created, policy.last_used = pt.time20(m["c"]), pt.time20(m["u"])
        elif line.startswith("\tlifetime:"):
            m = _SP_LIFE.match(line)
            if not m:
                raise ValueError(f"bad lifetime line {line.strip()!r}")
            policy.lifetime, policy.validtime = int(m["l"]), int(m["v"])
            if not m["s"]:
                self.signals.add(KAME_2001)
        elif line.startswith("\tspid="):
            m = _SP_SPID.match(line)
            if not m:
                raise ValueError(f"bad spid line {line.strip()!r}")
            policy.spid, policy.pid = int(m["spid"]), int(m["pid"])
            if m["scope"]:
                policy.scope, policy.ifname = m["scope"], m["ifname"]
                self.signals.add(FREEBSD)
        elif line.startswith("\trefcnt="):
            policy.refcnt = int(line.split("=", 1)[1])
        elif line.startswith("\tPolicy:["):
            raise ValueError(f"setkey could not render this policy: {line.strip()}")
        else:
            raise ValueError(f"unexpected line {line.strip()[:60]!r}")


def load_spd(source: Source, options: LoadOptions) -> SpdDump:
    if xfrm.is_xfrm(read_head(source.path)):
        return xfrm.load_policy(source, options)
    with pt.long_lived():
        return _SpdReader(source).read(pt.numbered(source))


# ---------------------------------------------------------------------------------------------
# sniffing

_SNIFF_SA = re.compile(rb"^\t(?:esp|ah|ipcomp|esp-udp) mode=\w+ spi=\d+\(0x", re.M)
_SNIFF_SP = re.compile(rb"^\t(?:in|out|fwd|any)(?:\(socket\))?(?: prio [\w+ -]+?)? "
                       rb"(?:ipsec|none|discard|bypass|entrust|generate) ?\r?$", re.M)
_SNIFF_SP_TAIL = re.compile(rb"^\t(?:spid=\d+ seq=\d+|lifetime: ?\d+)", re.M)
_SNIFF_SHORT = re.compile(rb"^time\s+p\s+s\s+spi\s+ltime\s+src -> dst", re.M)


def sniff_sad(source: Source, head: bytes) -> int:
    if _SNIFF_SHORT.search(head):
        return 90
    if head.lstrip().startswith(_EMPTY_SAD.encode()):
        return 95
    hits = len(_SNIFF_SA.findall(head))
    return min(95, 60 + 10 * hits) if hits else 0


def sniff_spd(source: Source, head: bytes) -> int:
    if head.lstrip().startswith(_EMPTY_SPD.encode()):
        return 95
    hits = len(_SNIFF_SP.findall(head))
    if not hits or (not _SNIFF_SP_TAIL.search(head) and hits < 2):
        return 0
    return min(95, 60 + 10 * hits)


INPUT_KINDS = [
    InputKind(name="sad", part="sad", description="setkey -D output (SAD; any flavour, also -Dl)",
              sniff=sniff_sad, load=load_sad, to_json=jsonable, aliases=("setkey-D",)),
    InputKind(name="spd", part="spd", description="setkey -DP output (SPD; any flavour)",
              sniff=sniff_spd, load=load_spd, to_json=jsonable, aliases=("setkey-DP",)),
]
