"""racoon.conf: parse (with includes), recover from every syntax error, build the typed model.

The grammar lives in :mod:`racoon_conf_grammar` (one pyparsing table per block, built at import).
This module drives it statement by statement: a statement that does not parse becomes a
:class:`ConfSyntaxError` (file:line:column, the offending line, a hint) and parsing resumes at the
next statement, so one run reports every error. ``include`` is followed where racoon reads it,
with globs, a depth limit and cycle detection; nodes from an included file carry that file's name.

Syntax errors are collected in ``RacoonConf.errors`` (never raised) and are *fatal*: racoon refuses
to start with any of them, so ``racoondbg check-conf`` and ``analyze`` exit 3 when there are some.
"""

from __future__ import annotations

import bisect
import difflib
import glob
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyparsing as pp

from racoondbg.inputs import InputKind, LoadOptions
from racoondbg.jsonable import jsonable
from racoondbg.model.base import Location
from racoondbg.model.conf import (
    Algorithm,
    Block,
    ConfSyntaxError,
    Directive,
    Endpoint,
    FileRef,
    Identifier,
    Include,
    Lifetime,
    Proposal,
    RacoonConf,
    Remote,
    RemoteSelector,
    Sainfo,
    SainfoId,
)
from racoondbg.sources import Source, read_text

from . import racoon_conf_grammar as g

#: racoon's own limit on nested includes.
MAX_INCLUDE_DEPTH = 10
#: After this many errors the input is probably not a racoon.conf at all.
MAX_ERRORS = 200

_SKIP = re.compile(r"(?:\s+|#[^\n]*)*")
_WORD = re.compile(r"[A-Za-z0-9_\-@.:]+")
_HOSTNAME = re.compile(r"^(?=.*[G-Zg-z])[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+\.?$")
_PLACEHOLDER = re.compile(r"@[A-Za-z_][A-Za-z0-9_]*@")
_COMMENT_LINE = re.compile(r"#[^\n]*")
_KAME_2000 = {"policy", "strength", "algorithm_class", "isakmp", "ipsec"}

_APPLE_WORDS = {"auto_exit_delay", "shared_secret", "certificate_verification", "open_dir_auth_group",
                "nat_traversal_multi_user", "nat_traversal_keepalive", "dpd_algorithm", "disconnect_on_idle",
                "local_address", "ike_version", "in_keychain", "logfile"}
_V08_WORDS = {"remote_address", "rekey", "radiuscfg", "pfkey_buffer", "match_empty_cr"}


_BLANK_COMMENTS = re.compile(r'"[^"]*"|#[^\n]*')


def _blank_comments(text: str) -> str:
    """The text with every comment replaced by blanks of the same length (quoted strings kept)."""
    return _BLANK_COMMENTS.sub(lambda m: m.group(0) if m.group(0)[0] == '"' else " " * len(m.group(0)), text)


@dataclass(slots=True)
class _Text:
    """One file being parsed: the text the grammar sees (comments blanked), the raw text, a line index."""

    name: str
    text: str
    raw: str
    starts: list[int]

    @classmethod
    def of(cls, name: str, raw: str) -> _Text:
        starts = [0]
        starts.extend(m.end() for m in re.finditer("\n", raw))
        return cls(name, _blank_comments(raw), raw, starts)

    def location(self, loc: int) -> Location:
        line = bisect.bisect_right(self.starts, loc)
        return Location(self.name, line, loc - self.starts[line - 1] + 1)

    def line_text(self, loc: int) -> str:
        line = bisect.bisect_right(self.starts, loc)
        start = self.starts[line - 1]
        end = self.raw.find("\n", start)
        return self.raw[start: end if end >= 0 else len(self.raw)].rstrip("\r")


@dataclass(slots=True)
class _Node:
    """A parsed statement: its first word, offset, tokens and (for blocks) its statements."""

    word: str
    loc: int
    toks: pp.ParseResults
    src: _Text
    children: list[_Node] | None = None

    def location(self, tok: Any = None) -> Location:
        return self.src.location(getattr(tok, "loc", self.loc))

    def args(self) -> list[g.Tok]:
        return [t for t in _flat(self.toks)[1:] if t != ";"]

    def directive(self) -> Directive:
        return Directive(self.word, tuple(str(t) for t in self.args()), self.location())


def _flat(toks: Any) -> list[g.Tok]:
    out: list[g.Tok] = []
    for t in toks:
        if isinstance(t, pp.ParseResults):
            out.extend(_flat(t))
        else:
            out.append(t)
    return out


def _unq(tok: str) -> str:
    return tok[1:-1] if len(tok) >= 2 and tok[0] == tok[-1] == '"' else tok


def _skip(text: str, loc: int) -> int:
    m = _SKIP.match(text, loc)
    return m.end() if m else loc


def _resync(text: str, loc: int) -> int:
    """Where the statement starting at ``loc`` ends: after its ``;`` or its ``{ ... }``, before a ``}``."""
    depth, i, n = 0, loc, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            close = text.find('"', i + 1)
            i = n if close < 0 else close + 1
            continue
        if c == "#":
            nl = text.find("\n", i)
            i = n if nl < 0 else nl + 1
            continue
        if c == ";" and depth == 0:
            return i + 1
        if c == "{":
            depth += 1
        elif c == "}":
            if depth == 0:
                return i
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


def _prev_code_end(src: _Text, loc: int) -> int:
    """The offset just after the last code character before ``loc`` (comments and blanks skipped)."""
    line = bisect.bisect_right(src.starts, loc)
    end = loc
    while line >= 1:
        start = src.starts[line - 1]
        segment = src.text[start:end]
        code = _strip_comment(segment).rstrip()
        if code:
            return start + len(code)
        line -= 1
        end = start - 1 if start > 0 else 0
    return 0


def _strip_comment(segment: str) -> str:
    in_quote = False
    for i, c in enumerate(segment):
        if c == '"':
            in_quote = not in_quote
        elif c == "#" and not in_quote:
            return segment[:i]
    return segment


@dataclass(slots=True)
class _Parser:
    """Parses one racoon.conf and what it includes into one :class:`RacoonConf`."""

    conf: RacoonConf
    root: Path
    base_dir: Path
    words: set[str] = field(default_factory=set)
    stack: list[str] = field(default_factory=list)

    # ---- errors -------------------------------------------------------------------------

    def error(self, src: _Text, loc: int, message: str, hint: str | None = None) -> None:
        location = src.location(loc)
        if self.conf.errors and self.conf.errors[-1].location == location:
            return  # one error per place: the first says it best
        if len(self.conf.errors) < MAX_ERRORS:
            self.conf.errors.append(ConfSyntaxError(location, message, hint, src.line_text(loc)))

    def _syntax_error(self, src: _Text, err: pp.ParseBaseException, start: int, word: str) -> int:
        """Report a statement that did not parse; return where parsing goes on."""
        text = src.text
        eloc = min(err.loc, len(text))
        m = _WORD.match(text, eloc)
        found = m.group(0) if m else (text[eloc] if eloc < len(text) else "end of file")
        expected = (err.msg or "").strip() or f"expected {err.parser_element}"
        expected = expected[0].lower() + expected[1:] if expected else "something else"
        if '";"' in expected or "';'" in expected:
            prev = _prev_code_end(src, eloc)
            if src.location(prev).line != src.location(eloc).line or found in ("}", "end of file"):
                self.error(src, prev, f'missing ";" at the end of the `{word}` statement',
                           'every statement ends with ";" — only a block\'s closing "}" does not')
                return eloc
        if found == '"' and text.find('"', eloc + 1) < 0:
            self.error(src, eloc, "unterminated quoted string", 'add the closing \'"\'')
            return len(text)
        if _HOSTNAME.match(found):
            self.error(src, eloc, f'"{found}" is a host name, but racoon wants a numeric address here',
                       "racoon never resolves names in racoon.conf: write the IP address; a name used as an "
                       'identifier value must be quoted, e.g. peers_identifier fqdn "gw.example.com"')
        elif _PLACEHOLDER.search(found):
            self.error(src, eloc, f'unexpanded template placeholder "{found}"',
                       "this file is a template (e.g. racoon.conf.in); check the file generated from it")
        elif found in ("yes", "no", "true", "false") and "on | off" in expected:
            self.error(src, eloc, f'unexpected "{found}" in `{word}` statement: {expected}',
                       'racoon switches are "on" or "off"; yes/no are not accepted')
        elif found == "[":
            self.error(src, eloc, f'unexpected "[" in `{word}` statement: {expected}',
                       'write a port as one token with no blanks inside, e.g. "[500]"')
        else:
            self.error(src, eloc, f'unexpected "{found}" in `{word}` statement: {expected}')
        return _resync(text, start)

    def _unknown(self, src: _Text, loc: int, word: str, grammar: g.BlockGrammar) -> None:
        where = "at the top level" if grammar is g.TOP else f"in a `{grammar.name}` block"
        if word == ";":
            self.error(src, loc, 'stray ";"', 'a block\'s closing "}" is not followed by ";" (only the '
                       '`remote ... inherit ...;` form ends with one)')
            return
        owners = [b.name for b in g.ALL_BLOCKS if b is not grammar and word in b.statements]
        hint: str | None = None
        if owners:
            hint = f"`{word}` belongs in " + " or ".join(
                "the top level" if o == g.TOP.name else f"a `{o}` block" for o in owners)
        elif _PLACEHOLDER.search(word):
            self.error(src, loc, f'unexpanded template placeholder "{word}" {where}',
                       "this file is a template (e.g. racoon.conf.in); check the file generated from it")
            return
        elif grammar is g.TOP and word in _KAME_2000:
            hint = "this looks like the pre-2001 KAME racoon language, which no ipsec-tools racoon reads"
        else:
            close = difflib.get_close_matches(word, list(grammar.statements), n=1, cutoff=0.75)
            if close:
                hint = f'did you mean "{close[0]}"?'
        self.error(src, loc, f'unknown statement "{word}" {where}', hint)

    # ---- statements ---------------------------------------------------------------------

    def statements(self, src: _Text, loc: int, grammar: g.BlockGrammar, ancestors: tuple[g.BlockGrammar, ...],
                   opener: tuple[str, int] | None,
                   sink: Callable[[_Node], None] | None = None) -> tuple[int, list[_Node]]:
        """Parse statements until the block's ``}`` (or the end of the file at the top level).

        With ``sink``, each statement is handed over as soon as it is parsed (the top level streams,
        so a big file's parse results never pile up) and the returned list stays empty.
        """
        text, n = src.text, len(src.text)
        nodes: list[_Node] = []
        while True:
            loc = _skip(text, loc)
            if loc >= n:
                if opener is not None:
                    self.error(src, opener[1], f"`{opener[0]}` block is never closed",
                               'unbalanced braces: add the missing "}"')
                return loc, nodes
            if len(self.conf.errors) >= MAX_ERRORS:
                return n, nodes
            if text[loc] == "}":
                if opener is not None:
                    return loc + 1, nodes
                self.error(src, loc, 'unbalanced "}": no block is open here',
                           'remove it, or look for a missing "{" above')
                loc += 1
                continue
            m = _WORD.match(text, loc)
            word = m.group(0) if m else text[loc]
            expr = grammar.statements.get(word)
            if expr is None:
                if opener is not None and any(word in a.opens or (a is g.TOP and word in a.statements)
                                              for a in ancestors):
                    line = src.location(loc).line
                    self.error(src, opener[1], f"`{opener[0]}` block is not closed before `{word}` on line {line}",
                               'unbalanced braces: add the missing "}"')
                    return loc, nodes
                self._unknown(src, loc, word, grammar)
                loc = _resync(text, loc)
                continue
            self.words.add(word)
            try:
                end, toks = expr._parse(text, loc)
            except pp.ParseBaseException as err:
                loc = self._syntax_error(src, err, loc, word)
                continue
            node = _Node(word, loc, toks, src)
            if word in grammar.opens:
                after = _skip(text, end)
                if after < n and text[after] == "{":
                    end, node.children = self.statements(src, after + 1, g.BODIES[word], (grammar, *ancestors),
                                                         (word, loc))
                elif word == "remote" and after < n and text[after] == ";" and "inherit" in _flat(toks):
                    end, node.children = after + 1, []
                else:
                    found = _WORD.match(text, after)
                    what = found.group(0) if found else (text[after] if after < n else "end of file")
                    self.error(src, after, f'expected "{{" to open the `{word}` block, found "{what}"',
                               "racoon wants a numeric address (no host names) and the block's options in { }"
                               if word == "remote" else None)
                    loc = _resync(text, loc)
                    continue
            if sink is not None:
                sink(node)
            else:
                nodes.append(node)
            loc = end

    # ---- files and includes ------------------------------------------------------------------

    def parse_file(self, disk: Path, name: str, text: str) -> None:
        self.stack.append(os.path.realpath(disk))
        self.conf.files.append(name)
        src = _Text.of(name, text)
        code = _COMMENT_LINE.sub("", text)
        placeholder = _PLACEHOLDER.search(code)
        if placeholder:
            self.conf.flavour = "template"
            offset = text.find(placeholder.group(0))
            self.error(src, offset, f'unexpanded template placeholder "{placeholder.group(0)}"',
                       "this file is a template (e.g. racoon.conf.in); racoondbg checked it as written — "
                       "check the racoon.conf generated from it")
        self.statements(src, 0, g.TOP, (), None, self.top)
        self.stack.pop()

    def include(self, node: _Node) -> None:
        args = node.args()
        pattern = _unq(args[0])
        loc = node.location()
        if pattern.startswith("/"):
            disk_pattern = str(self.root / pattern.lstrip("/"))
        else:
            base = self.conf.paths.get("include")
            base_dir = self.resolve(base) if base else self.base_dir
            disk_pattern = str(base_dir / pattern)
        if "\0" in disk_pattern:
            self.error(node.src, node.loc, f"include path {pattern!r} holds a NUL byte",
                       "racoon would cut the path there; remove the stray byte")
            return
        matches = sorted(glob.glob(os.path.expanduser(disk_pattern)))
        self.conf.includes.append(Include(pattern, loc, tuple(matches)))
        if len(self.stack) >= MAX_INCLUDE_DEPTH:
            self.error(node.src, node.loc, f'includes nested too deeply (more than {MAX_INCLUDE_DEPTH}) at "{pattern}"',
                       "racoon stops reading here too")
            return
        for match in matches:
            real = os.path.realpath(match)
            if real in self.stack:
                self.error(node.src, node.loc, f'include cycle: "{pattern}" includes {match} again',
                           "racoon would read the files over and over until its include limit; remove the loop")
                continue
            try:
                text = read_text(Path(match))
            except (OSError, UnicodeError) as err:
                self.error(node.src, node.loc, f"cannot read included file {match}: {err}")
                continue
            self.parse_file(Path(match), match, text)

    def resolve(self, value: str) -> Path:
        return self.root / value.lstrip("/") if value.startswith("/") else self.base_dir / value

    # ---- building the model ------------------------------------------------------------------

    def top(self, node: _Node) -> None:
        conf = self.conf
        args = node.args()
        word = node.word
        if word == "path":
            conf.paths[str(args[0])] = _unq(args[1])
            conf.path_locations[str(args[0])] = node.location()
        elif word == "include":
            self.include(node)
            return
        elif word == "log":
            conf.log_level = _unq(args[0])
            conf.log_location = node.location()
        elif word == "remote":
            remote = self.remote(node)
            if remote.inherit is not None:
                self.inherit(node, remote, remote.inherit)
            conf.remotes.append(remote)
            return
        elif word == "sainfo":
            conf.sainfos.append(self.sainfo(node))
            return
        elif node.children is not None:
            block = Block(word, node.location(), [c.directive() for c in node.children])
            conf.blocks.append(block)
            if word == "listen":
                for child in node.children:
                    if child.word in ("isakmp", "isakmp_natt"):
                        conf.listen.append(_endpoint(child, child.args()))
            return
        conf.directives.append(node.directive())

    def remote(self, node: _Node) -> Remote:
        toks = node.toks
        if "name" in toks:
            selector = RemoteSelector("name", node.location(toks["name"]), name=_unq(toks["name"]))
            parent = (RemoteSelector("name", node.location(toks["parent_name"]), name=_unq(toks["parent_name"]))
                      if "parent_name" in toks else None)
        else:
            selector = _selector(node, toks["index"])
            parent = _selector(node, toks["parent"]) if "parent" in toks else None
        r = Remote(node.location(), selector, inherit=parent)
        for child in node.children or ():
            r.directives.append(child.directive())
            _remote_statement(r, child)
        return r

    def sainfo(self, node: _Node) -> Sainfo:
        toks = node.toks
        s = Sainfo(node.location())
        if isinstance(toks.get("local"), pp.ParseResults):
            s.local = _sainfo_id(node, toks["local"])
        if isinstance(toks.get("remote"), pp.ParseResults):
            s.remote = _sainfo_id(node, toks["remote"])
        s.remote_clientaddr = "remote_clientaddr" in toks
        if "from" in toks:
            ident = _flat(toks["from"])
            s.peer_id = Identifier(str(ident[0]), node.location(ident[0]),
                                   _unq(ident[1]) if len(ident) > 1 else None)
        if "group" in toks:
            s.group = _unq(toks["group"])
        for child in node.children or ():
            s.directives.append(child.directive())
            args = child.args()
            if child.word == "pfs_group":
                s.pfs_group = Algorithm(str(args[0]), child.location(args[0]))
            elif child.word == "lifetime":
                s.lifetime = _lifetime(child, args)
            elif child.word == "remoteid":
                s.remoteid = int(args[0])
            elif child.word.endswith("_algorithm"):
                target = {"encryption_algorithm": s.encryption, "authentication_algorithm": s.authentication,
                          "compression_algorithm": s.compression}[child.word]
                target.extend(_algorithms(child, args))
        return s

    def inherit(self, node: _Node, remote: Remote, wanted: RemoteSelector) -> None:
        """``remote ... inherit PARENT``: racoon copies the parent, which must be defined above."""
        parent = next((p for p in self.conf.remotes if p.selector.key() == wanted.key()), None)
        if parent is not None:
            _inherit(remote, parent)
            return
        loc = next(t.loc for t in _flat(node.toks) if t == "inherit")
        self.error(node.src, _skip(node.src.text, loc + len("inherit")),
                   f"`{remote.label()}` inherits from {wanted.text()}, which is not defined above it",
                   "racoon looks the parent up while reading: define it earlier in the file")

    def finish(self) -> None:
        if self.conf.flavour is None:
            self.conf.flavour = _flavour(self.words, self.conf)


_INHERITED = ("remote_address", "exchange_modes", "exchange_location", "my_identifier", "verify_identifier",
              "certificate_type", "certificate_location", "verify_cert", "send_cert", "send_cr", "nat_traversal",
              "dpd_delay", "generate_policy", "generate_policy_location", "passive", "passive_location", "mode_cfg",
              "lifetime", "proposal_check", "dh_group", "shared_secret")


def _inherit(child: Remote, parent: Remote) -> None:
    for name in _INHERITED:
        if getattr(child, name) is None and getattr(parent, name) is not None:
            setattr(child, name, getattr(parent, name))
            child.inherited.append(name)
    for name in ("proposals", "peers_identifiers", "files"):
        if not getattr(child, name) and getattr(parent, name):
            setattr(child, name, list(getattr(parent, name)))
            child.inherited.append(name)


def _flavour(words: set[str], conf: RacoonConf) -> str:
    if "keepalive" in words:
        return "kame"
    if words & _APPLE_WORDS or any(r.selector.prefix is not None for r in conf.remotes):
        return "apple"
    if (words & _V08_WORDS or any(r.selector.kind == "name" for r in conf.remotes)
            or any(s.remote_clientaddr for s in conf.sainfos)):
        return "ipsec-tools-0.8"
    return "ipsec-tools"


def _selector(node: _Node, group: pp.ParseResults) -> RemoteSelector:
    toks = _flat(group)
    first = toks[0]
    loc = node.location(first)
    port = next((int(t[1:-1]) for t in toks if t.startswith("[")), None)
    prefix = next((int(t[1:]) for t in toks if t.startswith("/")), None)
    if first == "anonymous":
        return RemoteSelector("anonymous", loc, port=port)
    return RemoteSelector("address", loc, address=str(first), port=port, prefix=prefix)


def _endpoint(node: _Node, toks: list[g.Tok]) -> Endpoint:
    addr = toks[0]
    port = next((int(t[1:-1]) for t in toks if t.startswith("[") and t != "[any]"), None)
    prefix = next((int(t[1:]) for t in toks if t.startswith("/")), None)
    rng = next((t[1:] for t in toks[1:] if t.startswith("-")), None)
    return Endpoint(str(addr), node.location(addr), prefix, port, rng)


def _sainfo_id(node: _Node, group: pp.ParseResults) -> SainfoId:
    toks = _flat(group)
    kind = str(toks[0])
    loc = node.location(toks[0])
    if toks[1].startswith('"'):
        return SainfoId(kind, loc, value=_unq(toks[1]))
    return SainfoId(kind, loc, endpoint=_endpoint(node, toks[1:-1]), protocol=str(toks[-1]))


def _lifetime(node: _Node, args: list[g.Tok]) -> Lifetime:
    kind, number, unit = str(args[0]), int(args[1]), str(args[2])
    scale = g.TIME_UNITS[unit] if kind == "time" else g.BYTE_UNITS[unit]
    return Lifetime(kind, number, unit, number * scale, node.location())


def _algorithms(node: _Node, args: list[g.Tok]) -> Iterator[Algorithm]:
    current: Algorithm | None = None
    for tok in args:
        if tok == ",":
            continue
        if current is not None and tok.isdigit():
            yield Algorithm(current.name, current.location, int(tok))
            current = None
            continue
        if current is not None:
            yield current
        current = Algorithm(str(tok), node.location(tok))
    if current is not None:
        yield current


def _identifier(node: _Node, args: list[g.Tok]) -> Identifier:
    qualifier = str(args[1]) if len(args) > 1 and args[1] in ("file", "tag") else None
    rest = args[2:] if qualifier else args[1:]
    return Identifier(str(args[0]), node.location(args[0]), _unq(rest[0]) if rest else None, qualifier)


def _switch(tok: str) -> bool:
    return tok == "on"


def _remote_statement(r: Remote, node: _Node) -> None:
    word, args = node.word, node.args()
    loc = node.location()
    if word == "remote_address":
        r.remote_address = _endpoint(node, args)
    elif word == "exchange_mode":
        r.exchange_modes = [str(a) for a in args]
        r.exchange_location = loc
    elif word == "my_identifier":
        r.my_identifier = _identifier(node, args)
    elif word == "peers_identifier":
        r.peers_identifiers.append(_identifier(node, args))
    elif word in ("verify_identifier", "verify_cert", "send_cert", "send_cr", "mode_cfg"):
        setattr(r, word, _switch(args[0]))
    elif word == "passive":
        r.passive, r.passive_location = _switch(args[0]), loc
    elif word == "certificate_type":
        r.certificate_type = "in_keychain" if len(args) > 1 and args[1] == "in_keychain" else str(args[0])
        r.certificate_location = loc
        if args[0] == "x509" and r.certificate_type == "x509":
            r.files += [FileRef("certificate", _unq(args[1]), loc), FileRef("private_key", _unq(args[2]), loc)]
        elif args[0] == "plain_rsa":
            r.files.append(FileRef("plain_rsa_key", _unq(args[1]), loc))
    elif word == "peers_certfile" and args[-1].startswith('"'):
        r.files.append(FileRef("peers_certificate", _unq(args[-1]), loc))
    elif word == "ca_type":
        r.files.append(FileRef("ca", _unq(args[1]), loc))
    elif word in ("nat_traversal", "proposal_check", "shared_secret"):
        setattr(r, word, str(args[0]))
    elif word == "generate_policy":
        r.generate_policy, r.generate_policy_location = str(args[0]), loc
    elif word == "dpd_delay":
        r.dpd_delay = int(args[0])
    elif word == "lifetime":
        r.lifetime = _lifetime(node, args)
    elif word == "dh_group":
        r.dh_group = Algorithm(str(args[0]), node.location(args[0]))
    elif word == "proposal":
        r.proposals.append(_proposal(node))


def _proposal(node: _Node) -> Proposal:
    p = Proposal(node.location())
    for child in node.children or ():
        args = child.args()
        if child.word == "encryption_algorithm":
            p.encryption = Algorithm(str(args[0]), child.location(args[0]), int(args[1]) if len(args) > 1 else None)
        elif child.word in ("hash_algorithm", "authentication_method", "dh_group"):
            field_name = {"hash_algorithm": "hash", "authentication_method": "auth_method",
                          "dh_group": "dh_group"}[child.word]
            setattr(p, field_name, Algorithm(str(args[0]), child.location(args[0])))
        elif child.word == "lifetime":
            p.lifetime = _lifetime(child, args)
        elif child.word in ("gss_id", "gssapi_id"):
            p.gss_id = _unq(args[0])
    return p


def parse_text(text: str, name: str = "racoon.conf", *, root: Path = Path("/"), base_dir: Path | None = None,
               disk_path: Path | None = None) -> RacoonConf:
    """Parse racoon.conf text; includes resolve under ``root`` (absolute) or ``base_dir`` (relative)."""
    disk = disk_path or Path(name)
    conf = RacoonConf(Location(name, 1, 1), disk_path=str(disk) if disk_path else None)
    parser = _Parser(conf, root, base_dir or disk.parent)
    parser.parse_file(disk, name, text)
    parser.finish()
    return conf


def load(source: Source, options: LoadOptions) -> RacoonConf:
    text = read_text(source.path)
    return parse_text(text, source.name, root=options.root, base_dir=source.path.parent, disk_path=source.path)


_SNIFF_BLOCK = re.compile(r"^[ \t]*(remote|sainfo)\b[^;{}\n]*\n?[^;{}]{0,400}\{", re.M)
_SNIFF_PATH = re.compile(r'^[ \t]*path[ \t]+(pre_shared_key|certificate|include|script|backupsa|pidfile)[ \t]+"',
                         re.M)
_SNIFF_OTHER_BLOCK = re.compile(r"^[ \t]*(listen|padding|timer|privsep|mode_cfg|ldapcfg|radiuscfg)\s*\{", re.M)
_SNIFF_LOG = re.compile(r"^[ \t]*log[ \t]+(notify|debug2?|info|warning|error)[ \t]*;", re.M)
_SNIFF_NOT = re.compile(r"^[ \t]*(spdadd|spddelete|spdflush|flush|add|get|delete|deleteall)\b|"
                        r"^\S+ \d+ \d\d:\d\d:\d\d|^\d{4}-\d\d-\d\d[ T]\d\d:\d\d", re.M)


def sniff(source: Source, head: bytes) -> int:
    """How sure we are that this is a racoon.conf, from its content alone."""
    if b"\0" in head[:4096]:
        return 0
    text = _COMMENT_LINE.sub("", head.decode("utf-8", "replace"))
    if _SNIFF_NOT.search(text):
        return 0
    if _SNIFF_BLOCK.search(text):
        return 90
    if _SNIFF_PATH.search(text):
        return 80
    if _SNIFF_OTHER_BLOCK.search(text):
        return 70
    if _SNIFF_LOG.search(text):
        return 40
    return 0


def to_json(conf: RacoonConf) -> Any:
    data = jsonable(conf)
    data["errors"] = [
        {"path": e.location.path, "line": e.location.line, "column": e.location.column, "message": e.message,
         "hint": e.hint}
        for e in conf.errors
    ]
    return data


INPUT_KINDS = [
    InputKind(
        name="conf",
        part="conf",
        description="racoon.conf (includes followed; every syntax error reported)",
        sniff=sniff,
        load=load,
        to_json=to_json,
        aliases=("racoon.conf", "racoon-conf"),
    )
]
