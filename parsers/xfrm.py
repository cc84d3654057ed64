"""`ip xfrm policy` and `ip xfrm state` output (also `ip -s`), mapped to the setkey model.

On a modern Linux without PF_KEY this is where the kernel state is. Algorithm names are turned
into setkey's (``cbc(aes)`` → ``aes-cbc``), actions into setkey's (``block`` → ``discard``, ``allow``
with templates → ``ipsec``, without → ``none``), so the same rules read both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime

from racoondbg.inputs import InputKind, LoadOptions
from racoondbg.jsonable import jsonable
from racoondbg.model.base import Location, ParseError
from racoondbg.model.kernel import IpsecRequest, Policy, SadDump, SecurityAssociation, SpdDump
from racoondbg.sources import Source

from . import policy_text as pt

FLAVOUR = "linux-xfrm"

ALGORITHMS = {
    "cbc(aes)": "aes-cbc", "cbc(des3_ede)": "3des-cbc", "cbc(des)": "des-cbc", "cbc(blowfish)": "blowfish-cbc",
    "cbc(cast5)": "cast128-cbc", "cbc(camellia)": "camellia-cbc", "cbc(twofish)": "twofish-cbc",
    "rfc3686(ctr(aes))": "aes-ctr", "rfc4106(gcm(aes))": "aes-gcm-16", "rfc4543(gcm(aes))": "aes-gmac",
    "ecb(cipher_null)": "null", "cipher_null": "null", "hmac(md5)": "hmac-md5", "hmac(sha1)": "hmac-sha1",
    "hmac(sha256)": "hmac-sha256", "hmac(sha384)": "hmac-sha384", "hmac(sha512)": "hmac-sha512",
    "hmac(rmd160)": "hmac-ripemd160", "xcbc(aes)": "aes-xcbc-mac", "digest_null": "null",
    "rfc7539esp(chacha20,poly1305)": "chacha20-poly1305",
}
#: Lines inside an entry that carry nothing the model keeps.
_IGNORED = ("enc-mask", "anti-replay", "stats:", "replay-window 0 replay", "mark ", "if_id ", "ptype ",
            "crypto offload", "output-mark", "security context", "limit:", "expire use:",
            "lifetime config:", "lifetime current:", "dir ", "tfcpad", "extra_flag", "replay ", "oseq")

_HEAD = re.compile(r"^src (?P<src>\S+) dst (?P<dst>\S+)(?P<rest>.*)$")
_STATE_PROTO = re.compile(r"^proto (?P<proto>\w+) spi 0x(?P<spi>[0-9a-fA-F]+)(?:\(\d+\))? "
                          r"reqid (?P<reqid>\d+)(?:\(0x[0-9a-fA-F]+\))? mode (?P<mode>\S+)")
_TMPL_PROTO = re.compile(r"^proto (?P<proto>\w+)(?: spi 0x[0-9a-fA-F]+(?:\(\d+\))?)? "
                         r"reqid (?P<reqid>\d+)(?:\(0x[0-9a-fA-F]+\))? mode (?P<mode>\S+)")
_KEY = re.compile(r"^(?P<kind>auth-trunc|auth|enc|aead|comp) (?P<alg>\S+)(?: 0x(?P<key>[0-9a-fA-F]+))?"
                  r"(?: \(\d+ bits\))?(?: (?P<bits>\d+))?")
_ENCAP = re.compile(r"^encap type (?P<type>\S+) sport (?P<sport>\d+) dport (?P<dport>\d+) addr (?P<oa>\S+)")
_EXPIRE = re.compile(r"^expire add: soft (?P<soft>\d+)\(sec\), hard (?P<hard>\d+)\(sec\)")
_COUNTERS = re.compile(r"^(?P<bytes>\d+)\(bytes\), (?P<packets>\d+)\(packets\)")
_DATES = re.compile(r"^add (?P<add>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) use (?P<use>-|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)")
_DIR = re.compile(r"^(?P<kind>dir|socket) (?P<dir>\w+)(?: action (?P<action>\w+))?(?: index (?P<index>\d+))?"
                  r"(?: priority (?P<prio>\d+))?")


def _date(text: str) -> datetime | None:
    return None if text == "-" else datetime.strptime(text, "%Y-%m-%d %H:%M:%S")


def _algorithm(name: str) -> str:
    return ALGORITHMS.get(name, name)


def _entries(lines: Iterable[tuple[int, str]], source: Source,
             errors: list[ParseError]) -> Iterator[tuple[int, int, str, list[str]]]:
    """(first line, last line, head, body lines stripped) per entry."""
    for start, end, head, body in pt.blocks(lines):
        if head.startswith("src "):
            yield start, end, head.strip(), [line.strip() for line in body]
        else:
            text = head.strip()[:60]
            errors.append(ParseError(Location(source.name, start), f"not part of ip xfrm output: {text!r}"))


def _selector(head: str) -> dict[str, str]:
    m = _HEAD.match(head)
    if not m:
        raise ValueError(f"bad selector {head[:60]!r}")
    words = m["rest"].split()
    fields = {"src": m["src"], "dst": m["dst"]}
    for key, value in zip(words[::2], words[1::2], strict=False):
        fields[key] = value
    return fields


def _policy(start: int, end: int, head: str, body: list[str], name: str) -> Policy:
    sel = _selector(head)
    if not body:
        raise ValueError("selector without a `dir` line")
    d = _DIR.match(body[0])
    if not d:
        raise ValueError(f"expected `dir …`, got {body[0][:60]!r}")
    loc = Location(name, start, end_line=end)
    proto = pt.normalise_proto(sel.get("proto", "any"))
    detail = " ".join(f"{k} {sel[k]}" for k in ("type", "code") if k in sel) or None
    policy = Policy(loc, d["dir"], "discard" if d["action"] == "block" else "none",
                    pt.prefix(sel["src"]), pt.prefix(sel["dst"]),
                    pt.port(sel.get("sport", "any")), pt.port(sel.get("dport", "any")), proto, detail,
                    priority=int(d["prio"]) if d["prio"] else None,
                    spid=int(d["index"]) if d["index"] else None, per_socket=d["kind"] == "socket")
    tmpl: dict[str, str | None] | None = None
    for line in body[1:]:
        if line.startswith("tmpl "):
            if tmpl is not None:
                policy.requests.append(_request(tmpl))
            t = re.match(r"^tmpl src (\S+) dst (\S+)", line)
            if not t:
                raise ValueError(f"bad template {line[:60]!r}")
            tmpl = {"src": t[1], "dst": t[2]}
        elif tmpl is not None and line.startswith("proto "):
            p = _TMPL_PROTO.match(line)
            if not p:
                raise ValueError(f"bad template line {line[:60]!r}")
            tmpl.update(proto=p["proto"], reqid=p["reqid"], mode=p["mode"])
        elif tmpl is not None and line.startswith("level "):
            tmpl["level"] = line.split()[1]
        else:
            dates = _DATES.match(line)
            if dates:
                policy.created, policy.last_used = _date(dates["add"]), _date(dates["use"])
            expire = _EXPIRE.match(line)
            if expire:
                policy.lifetime = int(expire["hard"])
    if tmpl is not None:
        policy.requests.append(_request(tmpl))
    if policy.per_socket:  # a socket's own policy: its selector means nothing (setkey prints none)
        policy.src = policy.dst = None
    if policy.requests and policy.action == "none":
        policy.action = "ipsec"
    return policy


def _request(tmpl: dict[str, str | None]) -> IpsecRequest:
    if "proto" not in tmpl:
        raise ValueError("template without a `proto` line")
    src, dst = tmpl["src"] or "", tmpl["dst"] or ""
    unset = ("::", "0.0.0.0")
    mode = tmpl["mode"] or "transport"
    level = {"required": "require", "use": "use"}.get(tmpl.get("level") or "required", "require")
    reqid = int(tmpl["reqid"] or 0) or None
    proto = "ipcomp" if tmpl["proto"] == "comp" else tmpl["proto"] or "esp"
    return IpsecRequest(proto, mode, None if src in unset else pt.address(src),
                        None if dst in unset else pt.address(dst), level, reqid)


def _state(start: int, end: int, head: str, body: list[str], name: str, show_keys: bool) -> SecurityAssociation:
    sel = _selector(head)
    if not body:
        raise ValueError("addresses without a `proto` line")
    p = _STATE_PROTO.match(body[0])
    if not p:
        raise ValueError(f"expected `proto … spi …`, got {body[0][:60]!r}")
    sa = SecurityAssociation(Location(name, start, end_line=end), pt.address(sel["src"]), pt.address(sel["dst"]),
                             "ipcomp" if p["proto"] == "comp" else p["proto"], p["mode"], int(p["spi"], 16),
                             reqid=int(p["reqid"]))
    for line in body[1:]:
        if line.startswith("replay-window "):
            words = line.split()
            sa.replay = int(words[1])
            if "seq" in words:
                sa.seq = int(words[words.index("seq") + 1], 16)
            continue
        key = _KEY.match(line)
        if key:
            _key(sa, key, show_keys)
            continue
        encap = _ENCAP.match(line)
        if encap:
            sa.natt = encap["type"].startswith("espinudp")
            sa.src_port, sa.dst_port = int(encap["sport"]), int(encap["dport"])
            if encap["oa"] not in ("0.0.0.0", "::"):
                sa.nat_oa = pt.address(encap["oa"])
            continue
        if line.startswith("sel "):
            s = _selector(line.removeprefix("sel "))
            sa.selector = f"{pt.prefix(s['src'])} {pt.prefix(s['dst'])}"
            continue
        expire, counters, dates = _EXPIRE.match(line), _COUNTERS.match(line), _DATES.match(line)
        if expire:
            sa.soft_time, sa.hard_time = int(expire["soft"]), int(expire["hard"])
        elif counters:
            sa.bytes, sa.packets = int(counters["bytes"]), int(counters["packets"])
        elif dates:
            sa.created, sa.last_used = _date(dates["add"]), _date(dates["use"])
    if sa.spi == 0 and not (sa.enc_alg or sa.auth_alg or sa.comp_alg):
        sa.state = "larval"  # an ACQUIRE placeholder: the kernel waits for the key daemon
    return sa


def _key(sa: SecurityAssociation, m: re.Match[str], show_keys: bool) -> None:
    alg = _algorithm(m["alg"])
    tag = pt.key_text(m["key"], show_keys) if m["key"] else None
    kind = m["kind"]
    if kind == "comp":
        sa.comp_alg = alg
    elif kind in ("enc", "aead"):
        sa.enc_alg, sa.enc_key = alg, tag
    else:
        sa.auth_alg, sa.auth_key = alg, tag
        if kind == "auth-trunc" and m["bits"]:
            sa.auth_trunc_bits = int(m["bits"])


def _read(source: Source, lines: Iterable[tuple[int, str]], show_keys: bool) -> SpdDump | SadDump:
    with pt.long_lived():
        return _build(source, lines, show_keys)


def _build(source: Source, lines: Iterable[tuple[int, str]], show_keys: bool) -> SpdDump | SadDump:
    errors: list[ParseError] = []
    policies: list[Policy] = []
    sas: list[SecurityAssociation] = []
    for start, end, head, body in _entries(lines, source, errors):
        try:
            if body and body[0].startswith(("dir ", "socket ")):
                policies.append(_policy(start, end, head, body, source.name))
            else:
                sas.append(_state(start, end, head, body, source.name, show_keys))
        except (ValueError, IndexError, KeyError) as err:
            errors.append(ParseError(Location(source.name, start, end_line=end), f"unreadable xfrm entry: {err}"))
    loc = Location(source.name)
    if policies and sas:
        errors.append(ParseError(loc, f"policies and states mixed in one input; {len(sas)} states left out",
                                 "give `ip xfrm state` and `ip xfrm policy` output as separate files"))
    if policies:
        return SpdDump(loc, FLAVOUR, errors, policies)
    if sas:
        return SadDump(loc, FLAVOUR, errors, sas)
    raise ParseError(loc, "no xfrm policy or state in this input", "expected `ip xfrm policy` or `ip xfrm state`")


def load_policy(source: Source, options: LoadOptions) -> SpdDump:
    result = _read(source, pt.numbered(source), options.show_keys)
    if not isinstance(result, SpdDump):
        raise ParseError(Location(source.name), "this is `ip xfrm state` output, not `ip xfrm policy`")
    return result


def load_state(source: Source, options: LoadOptions) -> SadDump:
    result = _read(source, pt.numbered(source), options.show_keys)
    if not isinstance(result, SadDump):
        raise ParseError(Location(source.name), "this is `ip xfrm policy` output, not `ip xfrm state`")
    return result


def load_any(source: Source, options: LoadOptions) -> SpdDump | SadDump:
    """Either kind, by content: what `racoondbg parse xfrm FILE` uses."""
    return _read(source, pt.numbered(source), options.show_keys)


_SNIFF_HEAD = re.compile(rb"^src [0-9a-fA-F:.]+(?:/\d+)? dst [0-9a-fA-F:.]+", re.M)
_SNIFF_POLICY = re.compile(rb"^\t(?:dir|socket) (?:in|out|fwd)\b", re.M)
_SNIFF_STATE = re.compile(rb"^\tproto (?:esp|ah|comp|route2|hao) spi 0x", re.M)


def is_xfrm(head: bytes) -> bool:
    return bool(_SNIFF_HEAD.search(head)) and bool(_SNIFF_POLICY.search(head) or _SNIFF_STATE.search(head))


def sniff_policy(source: Source, head: bytes) -> int:
    return 90 if _SNIFF_HEAD.search(head) and _SNIFF_POLICY.search(head) else 0


def sniff_state(source: Source, head: bytes) -> int:
    return 90 if _SNIFF_HEAD.search(head) and _SNIFF_STATE.search(head) else 0


def _never(source: Source, head: bytes) -> int:
    return 0


INPUT_KINDS = [
    InputKind(name="xfrm-policy", part="spd", description="ip [-s] xfrm policy output (Linux SPD)",
              sniff=sniff_policy, load=load_policy, to_json=jsonable),
    InputKind(name="xfrm-state", part="sad", description="ip [-s] xfrm state output (Linux SAD)",
              sniff=sniff_state, load=load_state, to_json=jsonable),
    # For `racoondbg parse xfrm FILE` only: it reads either output and is never sniffed, so the
    # evidence loader never meets it (analyze uses xfrm-policy / xfrm-state above).
    InputKind(name="xfrm", part="spd", description="ip xfrm policy or state output (parse only; either kind)",
              sniff=_never, load=load_any, to_json=jsonable),
]
