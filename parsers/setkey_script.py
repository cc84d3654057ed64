"""`setkey -c` / `setkey -f` input, and shell scripts that feed setkey from here-documents.

The commands are replayed in order into the SPD and SAD they would build (``spdflush`` empties
the SPD, ``spddelete`` removes a policy, ``delete``/``deleteall``/``flush`` remove SAs). Keys in
``add`` commands are kept as secret tags. Commands that cannot be read, or that use shell
variables which cannot be known statically, are reported in ``errors`` and left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from racoondbg.inputs import InputKind, LoadOptions
from racoondbg.jsonable import jsonable
from racoondbg.model.base import Location, ParseError, secret_tag
from racoondbg.model.kernel import Policy, ScriptCommand, SecurityAssociation, SetkeyScript
from racoondbg.sources import Source

from . import policy_text as pt
from . import shell_heredoc as sh

PLAIN = "setkey"
SHELL = "shell-heredoc"

#: Here-documents expanded from loops at most (nested loops multiply).
MAX_EXPANSIONS = 10_000

#: Scripts larger than this are not read (a setkey script is small; a log is not a script).
MAX_SCRIPT_BYTES = 64 * 1024 * 1024

VERBS = ("add", "get", "delete", "deleteall", "flush", "dump", "spdadd", "spdupdate", "spddelete",
         "spddump", "spdflush", "exit", "quit", "bye")
SA_PROTOS = {"esp": "esp", "ah": "ah", "esp-old": "esp", "ah-old": "ah", "ipcomp": "ipcomp",
             "esp-udp": "esp", "tcp": "tcp"}
_NUMERIC_EXTENSIONS = ("-u", "-r", "-lh", "-ls", "-bh", "-bs", "-esp_frag")


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    line: int
    quoted: bool = False


_TOKEN = re.compile(r'"(?P<q>[^"]*)"|(?P<semi>;)|(?P<word>[^\s;"]+)')


def tokens(lines: Iterable[tuple[int, str]]) -> Iterator[Token]:
    for number, text in lines:
        code = _strip_comment(text)
        for m in _TOKEN.finditer(code):
            if m["q"] is not None:
                yield Token(m["q"], number, quoted=True)
            elif m["semi"]:
                yield Token(";", number)
            else:
                yield Token(m["word"], number)


def _strip_comment(text: str) -> str:
    if "#" not in text:
        return text
    in_quote = False
    for i, ch in enumerate(text):
        if ch == '"':
            in_quote = not in_quote
        elif ch == "#" and not in_quote:
            return text[:i]
    return text


def commands(toks: Iterable[Token]) -> Iterator[list[Token]]:
    """Token lists, one per ``;``-terminated command (a last unterminated one too)."""
    current: list[Token] = []
    for tok in toks:
        if tok.text == ";" and not tok.quoted:
            if current:
                yield current
            current = []
        else:
            current.append(tok)
    if current:
        yield current


class _Replay:
    """Applies commands to an SPD and a SAD the way the kernel would."""

    def __init__(self, name: str, show_keys: bool) -> None:
        self.name = name
        self.show_keys = show_keys
        self.script = SetkeyScript(Location(name))

    def error(self, line: int, message: str, hint: str | None = None) -> None:
        self.script.errors.append(ParseError(Location(self.name, line), message, hint))

    def run(self, toks: Iterable[Token], binding: str | None, unresolved: dict[int, str]) -> None:
        for cmd in commands(toks):
            lines = {t.line for t in cmd}
            blocked = sorted(n for n in lines if n in unresolved)
            if blocked:
                self.error(cmd[0].line, f"`{cmd[0].text}` uses {unresolved[blocked[0]]}, which cannot be expanded "
                                        f"statically; the command is left out")
                continue
            try:
                self.command(cmd, binding)
            except ValueError as err:
                self.error(cmd[0].line, f"`{cmd[0].text}` not understood: {err}")

    def command(self, cmd: list[Token], binding: str | None) -> None:
        verb = cmd[0].text
        if verb not in VERBS:
            raise ValueError(f"unknown command {verb!r}")
        loc = Location(self.name, cmd[0].line, end_line=cmd[-1].line)
        args = cmd[1:]
        self.record(loc, verb, args, binding)
        if verb in ("spdadd", "spdupdate"):
            self.spdadd(loc, verb, args, binding)
        elif verb == "spddelete":
            gone = self.policy(loc, args, binding, bare_ok=True)
            self.script.policies = [p for p in self.script.policies if not _same_selector(p, gone)]
        elif verb == "spdflush":
            self.script.policies.clear()
        elif verb == "add":
            self.add(loc, args, binding)
        elif verb in ("delete", "deleteall"):
            self.delete(verb, args)
        elif verb == "flush":
            proto = SA_PROTOS.get(args[0].text) if args else None
            self.script.sas = [s for s in self.script.sas if proto is not None and s.proto != proto]

    def record(self, loc: Location, verb: str, args: list[Token], binding: str | None) -> None:
        """Keep the command as text, its keys (the word after ``-E alg`` / ``-A alg``) as tags."""
        shown = [verb]
        for i, tok in enumerate(args):
            is_key = i >= 2 and args[i - 2].text in ("-E", "-A") and (tok.quoted or tok.text.startswith("0x"))
            shown.append(self.secret(tok) if is_key else f'"{tok.text}"' if tok.quoted else tok.text)
        self.script.commands.append(ScriptCommand(loc, verb, " ".join(shown) + ";", binding))

    def secret(self, tok: Token) -> str:
        if tok.quoted:
            text = pt.key_text(tok.text.encode("utf-8", "surrogateescape"), self.show_keys)
            return f'"{text}"' if self.show_keys else text
        if self.show_keys:
            return tok.text
        digits = tok.text[2:]
        return pt.key_text(digits, False) if re.fullmatch(r"[0-9a-fA-F]*", digits) else secret_tag(digits)

    def spdadd(self, loc: Location, verb: str, args: list[Token], binding: str | None) -> None:
        policy = self.policy(loc, args, binding, bare_ok=False)
        if verb == "spdupdate":
            self.script.policies = [p for p in self.script.policies if not _same_selector(p, policy)]
        self.script.policies.append(policy)

    def policy(self, loc: Location, args: list[Token], binding: str | None, *, bare_ok: bool) -> Policy:
        words = [t.text for t in args]
        if "-P" not in words:
            raise ValueError("no `-P` policy")
        at = words.index("-P")
        selector, spec = [w for w in words[:at] if not re.fullmatch(r"-[46n]+", w)], words[at + 1:]
        direction, prio, prio_text, action, requests = pt.policy_spec(spec)
        if not action and not bare_ok:
            raise ValueError("policy has a direction but no action")
        policy = Policy(loc, "in" if direction == "any" else direction, action or "", priority=prio,
                        priority_text=prio_text, requests=requests, expansion=binding)
        if selector[:1] == ["tagged"]:
            policy.tag = selector[1] if len(selector) > 1 else ""
            return policy
        if "-ctx" in selector:
            selector = selector[:selector.index("-ctx")]
        if len(selector) < 3:
            raise ValueError(f"selector needs source, destination and protocol, got {' '.join(selector)!r}")
        policy.src, policy.src_port = _endpoint(selector[0])
        policy.dst, policy.dst_port = _endpoint(selector[1])
        policy.proto = pt.normalise_proto(selector[2])
        if len(selector) > 3:
            policy.proto_detail = " ".join(selector[3:])
        return policy

    def add(self, loc: Location, args: list[Token], binding: str | None) -> None:
        words = [t for t in args if not re.fullmatch(r"-[46n]+", t.text)]
        if len(words) < 4:
            raise ValueError("`add` needs source, destination, protocol and SPI")
        src, dst = _address(words[0].text), _address(words[1].text)
        satype = words[2].text
        if satype not in SA_PROTOS:
            raise ValueError(f"unknown SA protocol {satype!r}")
        rest = words[3:]
        nat_oa = None
        if satype == "esp-udp" and rest and not _is_spi(rest[0].text):
            nat_oa, rest = _address(rest[0].text), rest[1:]
        if not rest or not _is_spi(rest[0].text):
            raise ValueError("SPI missing or not a number")
        sa = SecurityAssociation(loc, src, dst, SA_PROTOS[satype], "any", int(rest[0].text, 0),
                                 natt=satype == "esp-udp", nat_oa=nat_oa, expansion=binding)
        i = 1
        while i < len(rest):
            flag = rest[i].text
            nxt = rest[i + 1] if i + 1 < len(rest) else None
            if flag == "-m" and nxt:
                sa.mode = nxt.text
                i += 2
            elif flag in _NUMERIC_EXTENSIONS and nxt:
                value = int(nxt.text, 0)
                if flag == "-u":
                    sa.reqid = value
                elif flag == "-r":
                    sa.replay = value
                elif flag == "-lh":
                    sa.hard_time = value
                elif flag == "-ls":
                    sa.soft_time = value
                elif flag == "-esp_frag":
                    sa.esp_frag = value
                i += 2
            elif flag == "-f" and nxt:
                i += 2
            elif flag == "-ctx":
                sa.security_context = rest[i + 3].text if i + 3 < len(rest) else None
                i += 4
            elif flag in ("-E", "-A") and nxt:
                keyed = i + 2 < len(rest) and (rest[i + 2].quoted or rest[i + 2].text.startswith("0x"))
                key = self.secret(rest[i + 2]) if keyed else None
                if flag == "-E":
                    sa.enc_alg, sa.enc_key = nxt.text, key
                else:
                    sa.auth_alg, sa.auth_key = nxt.text, key
                i += 3 if keyed else 2
            elif flag == "-C" and nxt:
                sa.comp_alg = nxt.text
                i += 3 if i + 2 < len(rest) and rest[i + 2].text == "-R" else 2
            else:
                raise ValueError(f"unexpected {flag!r}")
        self.script.sas = [s for s in self.script.sas if (s.dst, s.proto, s.spi) != (sa.dst, sa.proto, sa.spi)]
        self.script.sas.append(sa)

    def delete(self, verb: str, args: list[Token]) -> None:
        words = [t.text for t in args if not re.fullmatch(r"-[46n]+", t.text)]
        if len(words) < 3:
            raise ValueError(f"`{verb}` needs source, destination and protocol")
        src, dst, proto = _address(words[0]), _address(words[1]), SA_PROTOS.get(words[2], words[2])
        if verb == "deleteall":
            self.script.sas = [s for s in self.script.sas if (s.src, s.dst, s.proto) != (src, dst, proto)]
            return
        if len(words) < 4 or not _is_spi(words[3]):
            raise ValueError("SPI missing or not a number")
        spi = int(words[3], 0)
        self.script.sas = [s for s in self.script.sas if (s.dst, s.proto, s.spi) != (dst, proto, spi)]


def _is_spi(text: str) -> bool:
    return bool(re.fullmatch(r"0x[0-9a-fA-F]+|\d+", text))


def _address(text: str) -> str:
    try:
        return pt.address(text)
    except ValueError:
        raise ValueError(f"{text!r} is a host name or not an address; setkey resolves names when it runs, "
                         f"racoondbg cannot") from None


def _endpoint(text: str) -> tuple[str, int | None]:
    try:
        return pt.endpoint(text)
    except ValueError:
        raise ValueError(f"{text!r} is a host name or not an address; setkey resolves names when it runs, "
                         f"racoondbg cannot") from None


def _same_selector(p: Policy, q: Policy) -> bool:
    return (p.src, p.dst, p.src_port, p.dst_port, p.proto, p.direction, p.tag) == (
        q.src, q.dst, q.src_port, q.dst_port, q.proto, q.direction, q.tag)


def _numbered(source: Source) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    size = 0
    for number, line in pt.numbered(source):
        size += len(line) + 1
        if size > MAX_SCRIPT_BYTES:
            raise ParseError(Location(source.name, number), "too large for a setkey script")
        out.append((number, line))
    return out


def load(source: Source, options: LoadOptions) -> SetkeyScript:
    lines = _numbered(source)
    replay = _Replay(source.name, options.show_keys)
    text = "\n".join(t for _, t in lines)
    if sh.is_shell(text):
        replay.script.shell = True
        replay.script.flavour = SHELL
        items, assigns, problems = sh.parse(lines)
        for problem in problems:
            replay.error(problem.line, problem.message)
        for count, piece in enumerate(sh.expand(items, assigns)):
            if count >= MAX_EXPANSIONS:
                replay.error(lines[-1][0] if lines else 1, f"stopped after expanding {MAX_EXPANSIONS} here-documents; "
                                                           f"the rest of the loops is left out")
                break
            if isinstance(piece, sh.Flush):
                replay.command([Token(piece.verb, piece.line)], None)
            else:
                replay.run(tokens(piece.lines), piece.binding, piece.unresolved)
    else:
        replay.script.flavour = PLAIN
        replay.run(tokens(lines), None, {})
    if not replay.script.commands and replay.script.errors and not replay.script.shell:
        raise ParseError(Location(source.name), "no setkey command could be read",
                         f"first problem: {replay.script.errors[0].one_line()}")
    return replay.script


_SNIFF_SPD_CMD = re.compile(rb"^[ \t]*spd(?:add|update|delete|flush)\b[^\n]*", re.M)
_SNIFF_SA_CMD = re.compile(rb"^[ \t]*(?:add|deleteall|flush|delete)\b[^\n]*(?:;|\\?$)", re.M)
_SNIFF_SA_ALG = re.compile(rb"\s-[EAC]\s+[\w-]+|\s(?:esp|ah|ipcomp)\s+(?:0x[0-9a-fA-F]+|\d+)\b")
_SNIFF_SHELL = re.compile(rb"\bsetkey\b[^\n<|]*<<")
_SNIFF_CONF = re.compile(rb"^\s*(?:remote|sainfo|listen|path)\b[^\n]*[{;]", re.M)


def sniff(source: Source, head: bytes) -> int:
    if _SNIFF_CONF.search(head) and not _SNIFF_SHELL.search(head):
        return 0
    if _SNIFF_SHELL.search(head) and (_SNIFF_SPD_CMD.search(head) or _SNIFF_SA_CMD.search(head)):
        return 85
    if _SNIFF_SPD_CMD.search(head):
        return 80
    if _SNIFF_SA_CMD.search(head) and _SNIFF_SA_ALG.search(head):
        return 70
    return 0


INPUT_KINDS = [
    InputKind(name="setkey-script", part="script",
              description="setkey -c/-f input, or a shell script feeding setkey from here-documents",
              sniff=sniff, load=load, to_json=jsonable, aliases=("script",)),
]
