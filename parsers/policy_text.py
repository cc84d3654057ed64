"""Pieces shared by the kernel-state parsers (setkey dumps, ip xfrm, setkey scripts).

setkey's policy language (``out prio def ipsec esp/tunnel/A-B/unique:3``), selector endpoints
(``10.3.0.0/24[any]``), priorities, the ``ctime()`` timestamps setkey prints, key redaction, and
the "head line + indented lines" layout both dump formats use. Functions that read values raise
``ValueError`` with a short reason on bad input; callers turn it into a ParseError.
"""

from __future__ import annotations

import gc
import ipaddress
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache

from racoondbg.model.base import secret_tag
from racoondbg.model.kernel import ANY_PROTO, IpsecRequest
from racoondbg.sources import Source, bounded_lines, open_text

DIRECTIONS = ("in", "out", "fwd", "any")
ACTIONS = ("ipsec", "none", "discard", "bypass", "entrust", "generate")
LEVELS = ("default", "use", "require", "unique")
REQUEST_PROTOS = ("esp", "ah", "ipcomp")
MODES = ("transport", "tunnel", "any")

#: Priority bases of ipsec-tools on Linux (``prio low|def|high``).
PRIORITY_BASES = {"high": 0x40000000, "def": 0x80000000, "low": 0xC0000000}

#: Upper-layer protocols whose selectors carry no ports.
NO_PORT_PROTOS = frozenset({"icmp", "icmp6", "ipv6-icmp", "58", "1", "mh", "135", "gre", "47"})

_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)}

_LEVEL = re.compile(r"^(default|use|require|unique)(?:([:#])(\d+))?$")


def normalise_proto(name: str) -> str:
    """``255``/``any`` are the wildcard; ``ipv6-icmp``/``58`` are ``icmp6``."""
    lowered = name.lower()
    if lowered in ("255", "any"):
        return ANY_PROTO
    if lowered in ("ipv6-icmp", "58"):
        return "icmp6"
    return {"6": "tcp", "17": "udp", "1": "icmp", "4": "ip4", "50": "esp", "51": "ah"}.get(lowered, lowered)


def strip_scope(addr: str) -> str:
    return addr.split("%", 1)[0]


#: Dumps repeat the same addresses, prefixes and timestamps thousands of times: parse each once
#: (and share one string / datetime object per value, which also keeps big models small).
_CACHE = 1 << 16


@lru_cache(maxsize=_CACHE)
def address(text: str) -> str:
    """A canonical numeric address; ValueError for names and garbage."""
    return str(ipaddress.ip_address(strip_scope(text)))


@lru_cache(maxsize=_CACHE)
def prefix(addr: str, plen: str | None = None) -> str:
    """``10.3.0.2`` → ``10.3.0.2/32``, ``10.3.0.9/24`` → ``10.3.0.0/24``."""
    base = strip_scope(addr)
    return str(ipaddress.ip_network(f"{base}/{plen}" if plen else base, strict=False))


def port(text: str) -> int | None:
    """``any``/``*``/``0`` → None (every port), numbers as numbers, service names via a small table."""
    if text in ("any", "*", "0"):
        return None
    if text.isdigit():
        value = int(text)
        if value > 65535:
            raise ValueError(f"port {text} out of range")
        return value
    known = {"isakmp": 500, "ipsec-nat-t": 4500, "domain": 53, "http": 80, "https": 443, "l2tp": 1701,
             "pop3": 110, "ssh": 22, "smtp": 25, "telnet": 23}
    if text in known:
        return known[text]
    raise ValueError(f"unknown port {text!r}")


_ENDPOINT = re.compile(r"^(?P<addr>[^\[/]+)(?:/(?P<plen>\d+))?(?:\[(?P<port>[^\]]*)\])?$")


@lru_cache(maxsize=_CACHE)
def endpoint(text: str) -> tuple[str, int | None]:
    """A selector endpoint ``addr[/plen][[port]]`` → (prefix, port)."""
    match = _ENDPOINT.match(text)
    if not match:
        raise ValueError(f"not an address: {text!r}")
    return prefix(match["addr"], match["plen"]), port(match["port"]) if match["port"] is not None else None


def tunnel_end(text: str) -> str:
    """A tunnel endpoint as a request writes it (``192.0.2.1`` or ``192.0.2.1[4500]``)."""
    return address(text.split("[", 1)[0])


def request(text: str) -> IpsecRequest:
    """``esp/tunnel/A-B/unique#16385`` (and the shorter forms setkey accepts)."""
    parts = text.split("/")
    if len(parts) < 2 or not parts[1]:
        raise ValueError(f"few arguments in request {text!r}")
    if len(parts) > 4:
        raise ValueError(f"too many fields in request {text!r}")
    proto, mode = parts[0], parts[1]
    if proto not in REQUEST_PROTOS:
        raise ValueError(f"unknown protocol {proto!r} in request {text!r}")
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r} in request {text!r}")
    src = dst = None
    ends = parts[2] if len(parts) > 2 else ""
    if ends:
        src, dst = _split_ends(ends)
    elif mode == "tunnel":
        raise ValueError(f"tunnel request without endpoints: {text!r}")
    level, reqid = "require", None  # libipsec's level when none is written
    if len(parts) == 4 and parts[3]:
        match = _LEVEL.match(parts[3])
        if not match:
            raise ValueError(f"unknown level {parts[3]!r} in request {text!r}")
        level = match[1]
        reqid = int(match[3]) if match[3] else None
    return IpsecRequest(proto, mode, src, dst, level, reqid)


def _split_ends(ends: str) -> tuple[str | None, str | None]:
    if ends in ("me-any", "any-me"):
        return tuple(None if e != "me" else "me" for e in ends.split("-"))  # type: ignore[return-value]
    # IPv6 addresses hold no '-', so the first '-' outside brackets splits the pair.
    depth = 0
    for i, ch in enumerate(ends):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "-" and depth == 0:
            return tunnel_end(ends[:i]), tunnel_end(ends[i + 1:])
    raise ValueError(f"tunnel endpoints {ends!r} are not A-B")


def priority(tokens: list[str]) -> tuple[int, str, int]:
    """Read ``prio def + 5`` / ``priority -10`` / ``prio low+3`` from the front of ``tokens``.

    Returns (value, text as setkey dumps it, tokens consumed). ``tokens[0]`` is the keyword.
    """
    if len(tokens) < 2:
        raise ValueError("priority without a value")
    word = tokens[1]
    joined = word
    used = 2
    match = re.match(r"^(low|def|high)(?:([+-])(\d+))?$", word)
    if match and not match[2] and len(tokens) >= 4 and tokens[2] in ("+", "-") and tokens[3].isdigit():
        joined = f"{word}{tokens[2]}{tokens[3]}"
        used = 4
        match = re.match(r"^(low|def|high)(?:([+-])(\d+))?$", joined)
    if match:
        base = PRIORITY_BASES[match[1]]
        offset = int(match[3]) if match[3] else 0
        value = base - offset if match[2] == "+" else base + offset
        text = match[1] if not offset else f"{match[1]} {match[2]} {offset}"
        return value, text, used
    if re.match(r"^-?\d+$", word):
        value = PRIORITY_BASES["def"] + int(word)
        return value, priority_text(value), used
    raise ValueError(f"bad priority {word!r}")


def priority_text(value: int) -> str:
    """How ipsec-tools prints a priority value: the nearest base and an offset."""
    name, base = min(PRIORITY_BASES.items(), key=lambda kv: abs(kv[1] - value))
    if value == base:
        return name
    return f"{name} + {base - value}" if value < base else f"{name} - {value - base}"


def policy_spec(tokens: list[str], *, requests_follow: bool = False
                ) -> tuple[str, int | None, str | None, str, list[IpsecRequest]]:
    """``dir [prio ...] action request...`` → (direction, priority, priority text, action, requests).

    A bare direction (``spddelete ... -P out;``) gives action ``""``. ``requests_follow``: the
    requests come later (a dump prints them on their own lines).
    """
    if not tokens:
        raise ValueError("policy is empty")
    direction = tokens[0]
    if direction not in DIRECTIONS:
        raise ValueError(f"unknown direction {direction!r}")
    rest = tokens[1:]
    prio_value: int | None = None
    prio_text: str | None = None
    if rest and rest[0] in ("prio", "priority"):
        prio_value, prio_text, used = priority(rest)
        rest = rest[used:]
    if not rest:
        return direction, prio_value, prio_text, "", []
    action = rest[0]
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    requests = [request(t) for t in rest[1:]]
    if action == "ipsec" and not requests and not requests_follow:
        raise ValueError("ipsec policy without a request")
    if action != "ipsec" and requests:
        raise ValueError(f"requests given for action {action}")
    return direction, prio_value, prio_text, action, requests


@lru_cache(maxsize=_CACHE)
def time20(text: str) -> datetime | None:
    """``Mar  1 10:00:06 2014`` (ctime characters 4..23) → datetime; blank → None."""
    parts = text.split()
    if not parts:
        return None
    if len(parts) != 4 or parts[0] not in _MONTHS:
        raise ValueError(f"bad time {text!r}")
    hh, mm, ss = parts[2].split(":")
    try:
        return datetime(int(parts[3]), _MONTHS[parts[0]], int(parts[1]), int(hh), int(mm), int(ss))
    except OverflowError as err:  # a year of forty digits is a bad time, not a crash
        raise ValueError(f"bad time {text!r}") from err


def numbered(source: Source) -> Iterator[tuple[int, str]]:
    """The lines of an input with their 1-based numbers, line ends removed (streaming)."""
    with open_text(source.path) as fh:
        for number, line in enumerate(bounded_lines(fh), start=1):
            yield number, line.rstrip("\r\n")


def blocks(lines: Iterable[tuple[int, str]]) -> Iterator[tuple[int, int, str, list[str]]]:
    """(first line, last line, head, indented lines) for every unindented line and what follows it.

    Blank lines are skipped; indented lines before any head are dropped.
    """
    start, end, head = 0, 0, ""
    body: list[str] = []
    for number, line in lines:
        if not line.strip():
            continue
        if line[0] in "\t ":
            if head:
                body.append(line)
                end = number
            continue
        if head:
            yield start, end, head, body
        start, end, head, body = number, number, line, []
    if head:
        yield start, end, head, body


def key_text(key: str | bytes, show_keys: bool) -> str:
    """Key material as the model keeps it: a secret tag, or (``--show-keys``) the key itself.

    ``key`` is hex digits (from a dump) or raw bytes (an ASCII key of a script).
    """
    if isinstance(key, bytes):
        return key.decode("utf-8", "surrogateescape") if show_keys else secret_tag(key)
    digits = key.lower()
    if show_keys:
        return digits
    return secret_tag(bytes.fromhex(digits) if len(digits) % 2 == 0 else digits)


@contextmanager
def long_lived() -> Iterator[None]:
    """Build a model of many objects without the cyclic garbage collector rescanning it.

    A 100k-entry dump is a few hundred thousand objects that live until the process ends. Left
    to itself, the collector walks all of them again and again while they are built and while the
    rules run, which makes the run grow faster than the input. Parsing makes no reference cycles,
    so collection is paused while building and the result is moved out of the collector's sight
    (``gc.freeze``) afterwards.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
