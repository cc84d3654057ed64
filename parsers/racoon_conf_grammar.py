"""The racoon.conf grammar (pyparsing), built once at import.

racoon's lexer is state based: after a block keyword only that block's words are keywords. We
mirror that with one table per block, mapping a statement's first word to the pyparsing expression
of the whole statement (keyword included, ``;`` included; block statements stop before ``{``).
:mod:`racoondbg.parsers.racoon_conf` drives the tables, recovers from errors and builds the model.

Sources: ipsec-tools ``cftoken.l``/``cfparse.y`` (0.6, 0.7, 0.8, HEAD), the rdratlos fork and Apple's
racoon, as summarised in the project's racoon-conf-grammar reference. Algorithm, hash, DH group and
authentication method names are accepted as words here; the config rules judge them, so that a
misspelt name gets the list of valid ones instead of a bare syntax error.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import pyparsing as pp

pp.ParserElement.set_default_whitespace_chars(" \t\r\n\f\v")


class Tok(str):
    """A token's text with the offset where it starts (for locations)."""

    loc: int

    @classmethod
    def at(cls, text: str, loc: int) -> Tok:
        tok = cls(text)
        tok.loc = loc
        return tok


def _mark(s: str, loc: int, toks: pp.ParseResults) -> Tok:
    return Tok.at(str(toks[0]), loc)


def _t(expr: pp.ParserElement, name: str) -> pp.ParserElement:
    return expr.set_name(name).add_parse_action(_mark)


def _kw(*words: str, name: str | None = None) -> pp.ParserElement:
    """One of ``words`` as a whole word (one regex: much faster than a MatchFirst of Keywords)."""
    alternation = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return _t(pp.Regex(rf"(?:{alternation})(?![A-Za-z0-9_\-])"), name or " | ".join(words))


def _is_ip(s: str, loc: int, toks: pp.ParseResults) -> None:
    text = str(toks[0]).split("%", 1)[0]
    try:
        ipaddress.ip_address(text)
    except ValueError:
        raise pp.ParseException(s, loc, "expected a numeric IP address") from None


SEMI = _t(pp.Literal(";"), '";"')
QSTRING = _t(pp.Regex(r'"[^"]*"'), "quoted string")
NUMBER = _t(pp.Regex(r"\d+(?![\w.:])"), "number")
HEX = _t(pp.Regex(r"0x[0-9A-Fa-f]+"), "hex string")
ADDR = _t(pp.Regex(r"[0-9A-Fa-f:][0-9A-Fa-f:.]*(?:%[A-Za-z0-9]+)?(?![G-Zg-z_])"), "numeric address")
ADDR.add_parse_action(_is_ip)
PORT = _t(pp.Regex(r"\[\d+\]"), "[port]")
PORTANY = _t(pp.Literal("[any]"), "[any]")
PREFIX = _t(pp.Regex(r"/\d{1,3}"), "/prefix")
RANGE = _t(pp.Regex(r"-[0-9A-Fa-f:][0-9A-Fa-f:.]*(?:%[A-Za-z0-9]+)?"), "-address (range end)")
WORD = _t(pp.Regex(r"[A-Za-z0-9_][A-Za-z0-9_\-]*"), "name")
SWITCH = _kw("on", "off", name="on | off")
TIMEUNIT = _kw("sec", "secs", "second", "seconds", "min", "mins", "minute", "minutes", "hour", "hours",
               name="time unit (sec, min, hour)")
BYTEUNIT = _kw("B", "byte", "bytes", "KB", "MB", "TB", name="byte unit (B, KB, MB, TB)")
IDTYPE = _kw("address", "subnet", "fqdn", "user_fqdn", "keyid", "asn1dn", name="identifier type")
IDQUAL = _kw("file", "tag")
ULPROTO = (NUMBER | _kw("any", "esp", "ah", "ipcomp", "icmp", "icmp6", "tcp", "udp", "gre")).set_name(
    "upper-layer protocol (any, tcp, udp, icmp, ... or a number)")
ALG = WORD.copy().set_name("algorithm name")
DHGROUP = WORD.copy().set_name("DH group (modp1024, 2, ...)")

TIME_UNITS = {"sec": 1, "secs": 1, "second": 1, "seconds": 1, "min": 60, "mins": 60, "minute": 60,
              "minutes": 60, "hour": 3600, "hours": 3600}
BYTE_UNITS = {"B": 1, "byte": 1, "bytes": 1, "KB": 1024, "MB": 1024**2, "TB": 1024**3}


def _describe(expr: pp.ParserElement) -> str:
    if isinstance(expr, pp.MatchFirst) and not expr.customName:
        return " or ".join(_describe(e) for e in expr.exprs)
    return expr.customName or str(expr)


def stmt(keyword: str, *parts: pp.ParserElement) -> pp.ParserElement:
    """``keyword parts... ;`` as one expression; alternatives get a readable name for error messages."""
    expr: pp.ParserElement = _kw(keyword)
    for part in parts:
        if isinstance(part, pp.MatchFirst) and not part.customName:
            part = part.copy().set_name(_describe(part))
        expr = expr + part
    return (expr + SEMI).set_name(f"{keyword} statement")


def opt(expr: pp.ParserElement) -> pp.ParserElement:
    return pp.Opt(expr)


LIFETIME = (
    _kw("lifetime") + ((_kw("time") + NUMBER + TIMEUNIT) | (_kw("byte") + NUMBER + BYTEUNIT)) + SEMI
).set_name("lifetime statement")
ADDR_PORT = ADDR + opt(PORT)
IDVALUE = (QSTRING | ADDR).set_name("quoted string or numeric address")
IDENT = IDTYPE + opt(IDQUAL) + opt(IDVALUE)


@dataclass(frozen=True, slots=True)
class BlockGrammar:
    """One block's statements, by first word; ``opens`` are the words that open a nested block."""

    name: str
    statements: dict[str, pp.ParserElement]
    opens: frozenset[str] = frozenset()


def _table(name: str, *statements: pp.ParserElement | tuple[str, pp.ParserElement],
           opens: tuple[str, ...] = ()) -> BlockGrammar:
    table: dict[str, pp.ParserElement] = {}
    for item in statements:
        if isinstance(item, tuple):
            key, expr = item
        else:
            key, expr = _first_word(item), item
        table[key] = expr | table[key] if key in table else expr
    return BlockGrammar(name, table, frozenset(opens))


def _first_word(expr: pp.ParserElement) -> str:
    name = expr.customName or ""
    return name.split(" ", 1)[0]


def _switch(*words: str) -> list[pp.ParserElement]:
    return [stmt(w, SWITCH) for w in words]


def _quoted(*words: str) -> list[pp.ParserElement]:
    return [stmt(w, QSTRING) for w in words]


def _numbers(*words: str) -> list[pp.ParserElement]:
    return [stmt(w, NUMBER) for w in words]


PRIVSEP = _table("privsep", stmt("user", QSTRING | NUMBER), stmt("group", QSTRING | NUMBER), stmt("chroot", QSTRING))

PADDING = _table("padding", *_switch("randomize", "randomize_length", "strict_check", "exclusive_tail"),
                 stmt("maximum_length", NUMBER))

LISTEN = _table(
    "listen",
    stmt("isakmp", ADDR_PORT),
    stmt("isakmp_natt", ADDR_PORT),
    stmt("adminsock", (QSTRING + opt(QSTRING + QSTRING + NUMBER)) | _kw("disabled")),
    stmt("strict_address"),
    stmt("admin", opt(PORT)),  # 0.6/0.7 and Apple: TCP admin port
)

TIMER = _table(
    "timer",
    *_numbers("counter", "persend"),
    *(stmt(w, NUMBER + TIMEUNIT) for w in ("interval", "phase1", "phase2", "natt_keepalive", "auto_exit_delay")),
)


def _list(item: pp.ParserElement) -> pp.ParserElement:
    return item + pp.ZeroOrMore(_t(pp.Literal(","), '","') + item)


MODE_CFG = _table(
    "mode_cfg",
    stmt("network4", ADDR),
    stmt("netmask4", ADDR),
    stmt("dns4", _list(ADDR)),
    stmt("nbns4", _list(ADDR)),
    stmt("wins4", _list(ADDR)),
    stmt("split_network", _kw("include", "local_lan"), _list(ADDR + PREFIX)),
    stmt("split_dns", _list(QSTRING)),
    stmt("auth_groups", _list(QSTRING)),
    *_quoted("default_domain", "banner"),
    stmt("auth_source", _kw("system", "radius", "pam", "ldap")),
    stmt("group_source", _kw("system", "ldap")),
    stmt("accounting", _kw("none", "system", "radius", "pam")),
    stmt("conf_source", _kw("local", "radius", "ldap")),
    *_numbers("pool_size", "pfs_group", "auth_throttle"),
    stmt("save_passwd", SWITCH),
)

LDAPCFG = _table(
    "ldapcfg",
    *_numbers("version", "port", "timeout", "debug"),
    *_quoted("host", "uri", "base", "bind_dn", "bind_pw", "attr_user", "attr_addr", "attr_mask", "attr_group",
             "attr_member", "attr_device"),
    *_switch("tls", "subtree"),
)

RADIUSCFG = _table(
    "radiuscfg",
    stmt("auth", QSTRING + opt(NUMBER) + QSTRING),
    stmt("acct", QSTRING + opt(NUMBER) + QSTRING),
    *_numbers("timeout", "retries"),
)

PROPOSAL = _table(
    "proposal",
    stmt("encryption_algorithm", ALG + opt(NUMBER)),
    stmt("hash_algorithm", ALG),
    stmt("authentication_method", ALG),
    stmt("dh_group", DHGROUP),
    LIFETIME,
    *_quoted("gss_id", "gssapi_id"),
)

_EXMODE = _kw("main", "aggressive", "base", name="exchange mode (main, aggressive, base)")
_COMMA = pp.Suppress(",")

REMOTE = _table(
    "remote",
    stmt("remote_address", ADDR_PORT),
    stmt("exchange_mode", _EXMODE + pp.ZeroOrMore(opt(_COMMA) + _EXMODE)),
    stmt("doi", _kw("ipsec_doi")),
    stmt("situation", _kw("identity_only", "secrecy", "integrity")),
    stmt("certificate_type", (_kw("x509") + ((_kw("in_keychain") + opt(QSTRING)) | (QSTRING + QSTRING)))
         | (_kw("plain_rsa") + QSTRING)),
    stmt("peers_certfile", (opt(_kw("x509", "plain_rsa")) + QSTRING) | _kw("dnssec")),
    stmt("ca_type", _kw("x509"), QSTRING),
    *_switch("verify_cert", "send_cert", "send_cr", "match_empty_cr", "verify_identifier", "passive", "mode_cfg",
             "weak_phase1_check", "support_proxy", "support_mip6", "initial_contact", "dpd",
             "nat_traversal_multi_user", "nat_traversal_keepalive"),
    stmt("my_identifier", IDENT),
    stmt("peers_identifier", IDENT),
    stmt("xauth_login", opt(IDVALUE)),
    *_numbers("nonce_size", "esp_frag", "dpd_delay", "dpd_retry", "dpd_maxfail", "ph1id", "ike_version"),
    stmt("dh_group", DHGROUP),
    *(stmt(w, SWITCH | _kw("force")) for w in ("ike_frag", "nat_traversal", "rekey")),
    stmt("script", QSTRING, _kw("phase1_up", "phase1_down", "phase1_dead")),
    stmt("generate_policy", SWITCH | _kw("unique", "require")),
    LIFETIME,
    stmt("proposal_check", _kw("obey", "strict", "claim", "exact")),
    stmt("keepalive"),  # KAME racoon; a syntax error for every ipsec-tools racoon (a rule says so)
    # Apple's additions
    stmt("shared_secret", _kw("use", "key", "keychain", "keychain_by_id"), opt(QSTRING)),
    stmt("certificate_verification", _kw("openssl", "sec_framework"),
         opt(_kw("use_open_dir", "use_peers_identifier"))),
    stmt("open_dir_auth_group", QSTRING),
    stmt("dpd_algorithm", _kw("dpd_default", "dpd_inbound_detect", "dpd_blackhole_detect")),
    stmt("disconnect_on_idle", _kw("idle_timeout"), NUMBER, _kw("idle_direction"),
         _kw("idle_any", "idle_inbound", "idle_outbound")),
    stmt("local_address", ADDR),
    ("proposal", _kw("proposal").set_name("proposal block")),
    opens=("proposal",),
)

_ALGLIST = _list(ALG + opt(NUMBER))

SAINFO = _table(
    "sainfo",
    stmt("pfs_group", DHGROUP),
    stmt("remoteid", NUMBER),
    LIFETIME,
    stmt("encryption_algorithm", _ALGLIST),
    stmt("authentication_algorithm", _ALGLIST),
    stmt("compression_algorithm", _ALGLIST),
    stmt("my_identifier", IDENT),  # 0.6 and Apple (deprecated)
    stmt("identifier", IDENT),
)

# ---- block headers -------------------------------------------------------------------------

_SAINFO_ADDR_ID = IDTYPE + ADDR + opt(RANGE) + opt(PREFIX) + opt(PORT | PORTANY) + ULPROTO
_SAINFO_STR_ID = IDTYPE + QSTRING
SAINFO_ID = pp.Group(_SAINFO_ADDR_ID | _SAINFO_STR_ID)
_ANON = _kw("anonymous")
_CLIENTADDR = _kw("clientaddr")
SAINFO_HEADER = (
    _kw("sainfo")
    + (
        (_ANON("local") + opt(_CLIENTADDR("remote_clientaddr") | SAINFO_ID("remote") | _ANON("remote")))
        | (SAINFO_ID("local") + (_ANON("remote") | _CLIENTADDR("remote_clientaddr") | SAINFO_ID("remote")).set_name(
            "the remote id (address 10.1.0.0/24 any), anonymous or clientaddr"))
    )
    + opt((_kw("from") + pp.Group(IDTYPE + opt(IDVALUE))("from")) | (_kw("group") + QSTRING("group")))
).set_name("sainfo header")

_REMOTE_INDEX = pp.Group((_ANON + opt(PORT)) | (ADDR + opt(PREFIX) + opt(PORT)))
_REMOTE_WHAT = (QSTRING | _ANON | ADDR).set_name('numeric address, anonymous or "name"')
REMOTE_HEADER = (
    _kw("remote")
    + pp.FollowedBy(_REMOTE_WHAT)
    + ((QSTRING("name") + opt(_kw("inherit") + QSTRING("parent_name")))
       | (_REMOTE_INDEX("index") + opt(_kw("inherit") + _REMOTE_INDEX("parent"))))
).set_name("remote header")


def _header(word: str) -> pp.ParserElement:
    return _kw(word).set_name(f"{word} block")


TOP = _table(
    "top level",
    stmt("path", _kw("include", "pre_shared_key", "certificate", "script", "backupsa", "pidfile", "logfile",
                     name="path kind (certificate, pre_shared_key, include, script, backupsa, pidfile)"), QSTRING),
    stmt("include", QSTRING),
    stmt("pfkey_buffer", NUMBER),
    stmt("gss_id_enc", _kw("latin1", "utf-16le")),
    stmt("complex_bundle", SWITCH),
    stmt("log", _kw("error", "warning", "notify", "info", "debug", "debug2", "debug3", "debug4",
                    name="log level (error, warning, notify, info, debug, debug2)") | QSTRING | HEX),
    stmt("identifier", _kw("vendor_id"), opt(QSTRING)),  # 0.6 / Apple, deprecated
    ("remote", REMOTE_HEADER),
    ("sainfo", SAINFO_HEADER),
    *((w, _header(w)) for w in ("privsep", "padding", "listen", "timer", "mode_cfg", "ldapcfg", "radiuscfg")),
    opens=("remote", "sainfo", "privsep", "padding", "listen", "timer", "mode_cfg", "ldapcfg", "radiuscfg"),
)

#: The body grammar of each block-opening word.
BODIES: dict[str, BlockGrammar] = {
    "remote": REMOTE, "sainfo": SAINFO, "privsep": PRIVSEP, "padding": PADDING, "listen": LISTEN,
    "timer": TIMER, "mode_cfg": MODE_CFG, "ldapcfg": LDAPCFG, "radiuscfg": RADIUSCFG, "proposal": PROPOSAL,
}

#: Every block and the words it accepts, for "valid only in another block" hints.
ALL_BLOCKS: tuple[BlockGrammar, ...] = (TOP, *BODIES.values())

