"""racoon message templates: every format string of racoon-messages.tsv turned into a pattern.

Formats come from the racoon sources of every flavour (0.5 … 0.8, the 0.9 fork, Android, Apple);
``%s``/``%d``/… become capture groups. Templates are bucketed by their first word so that one
message is tried against a handful of alternations, not thousands of patterns. :data:`EVENT_SPECS`
maps the formats that matter (all wordings of one event) to one typed :class:`Kind`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources

from racoondbg.model.log import Kind

_CONVERSION = re.compile(r"%(?:%|[-#0 +]*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?:hh|h|ll|l|z|j|t|L)?[diouxXcspfegEG])")
_C_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "'": "'", "\\": "\\", "r": "\r"}


@dataclass(frozen=True, slots=True)
class Template:
    """One racoon format string and the pattern that recognises it."""

    index: int
    format: str
    level: str
    stage: str
    flavours: str
    groups: int


def unescape(text: str) -> str:
    """C escapes as written in the TSV (``\\n``, ``\\"``…) to the characters racoon prints."""
    return re.sub(r"\\(.)", lambda m: _C_ESCAPES.get(m.group(1), m.group(1)), text)


def normalise(fmt: str) -> str:
    """The part of a format a single log line shows: up to an inner newline, without trailing blanks."""
    text = unescape(fmt).lstrip("\n")
    return text.split("\n", 1)[0].rstrip()


def pattern_of(fmt: str) -> tuple[str, int]:
    """A regex (and its group count) for a normalised format: conversions become groups."""
    out: list[str] = []
    groups = 0
    pos = 0
    for m in _CONVERSION.finditer(fmt):
        out.append(re.escape(fmt[pos : m.start()]))
        conv = m.group(0)
        if conv == "%%":
            out.append("%")
        else:
            groups += 1
            last = conv[-1]
            if last in "diu":
                out.append(r"(-?\d+)")
            elif last in "xX":
                out.append(r"((?:0x)?[0-9a-fA-F]+)")
            elif last == "c":
                out.append("(.)")
            else:
                out.append("(.*?)")
        pos = m.end()
    out.append(re.escape(fmt[pos:]))
    if len(out) >= 3 and out[-1] == "" and out[-2] == "(.*?)" and out[-3].endswith("\\ "):
        out[-3] = out[-3][:-2] + " ?"  # racoon's trailing blanks are lost in syslog and pastes
    return "".join(out), groups


def _key(text: str) -> str | None:
    """The bucket key: the first word when it is literal text, else ``"* second-word"``."""
    words = text.split(" ", 2)
    if words[0] and "%" not in words[0]:
        return words[0]
    if len(words) > 1 and words[1] and "%" not in words[1]:
        return "* " + words[1]
    return None


def _usable(fmt: str) -> bool:
    """Formats that would match anything (``%s``, ``%s%s``) or are hexdump sites are left out."""
    if fmt.startswith("[hexdump of"):
        return False
    return bool(re.sub(r"[\s.:;,()]", "", _CONVERSION.sub("", fmt)))


_WILD = "*"


@dataclass(slots=True)
class _Bucket:
    regex: re.Pattern[str]
    members: dict[int, Template]  # index of a template's outer group -> the template


class Matcher:
    """Recognises a message and returns its template and the values it carried."""

    def __init__(self, rows: list[tuple[str, str, str, str]]) -> None:
        by_pattern: dict[str, Template] = {}
        self.by_format: dict[str, Template] = {}
        self.templates: list[Template] = []
        for level, fmt_raw, stage, flavours in rows:
            fmt = normalise(fmt_raw)
            if not _usable(fmt) or fmt in self.by_format:
                continue
            pattern, groups = pattern_of(fmt)
            template = by_pattern.get(pattern)
            if template is None:  # %d and %zd print alike: one template
                template = Template(len(self.templates), fmt, level, stage, flavours, groups)
                by_pattern[pattern] = template
                self.templates.append(template)
            self.by_format[fmt] = template
        self._keyed: dict[str, list[Template]] = {}
        wild: list[Template] = []
        for t in self.templates:
            key = _key(t.format)
            if key is not None:
                self._keyed.setdefault(key, []).append(t)
            if key is None or key.startswith("* "):
                wild.append(t)
        self._keyed[_WILD] = wild
        self._buckets: dict[str, _Bucket] = {}  # compiled on first use: a log uses few of them

    def _bucket_for(self, key: str) -> _Bucket | None:
        bucket = self._buckets.get(key)
        if bucket is None:
            templates = self._keyed.get(key)
            if templates is None:
                return None
            bucket = self._buckets[key] = self._bucket(templates)
        return bucket

    @staticmethod
    def _bucket(templates: list[Template]) -> _Bucket:
        # longer formats first: the more specific wording wins when two could match
        ordered = sorted(templates, key=lambda t: -len(t.format))
        parts: list[str] = []
        members: dict[int, Template] = {}
        group = 1
        for t in ordered:
            pattern, groups = pattern_of(t.format)
            parts.append(f"({pattern})")
            members[group] = t
            group += groups + 1
        regex = re.compile("(?:" + "|".join(parts) + r")\Z" if parts else r"(?!)", re.S)
        return _Bucket(regex, members)

    def match(self, message: str) -> tuple[Template, tuple[str, ...]] | None:
        text = message.rstrip()
        words = text.split(" ", 2)
        first = self._bucket_for(words[0])
        second = self._bucket_for("* " + words[1]) if len(words) > 1 else None
        for candidate in (first, second, self._bucket_for(_WILD)):
            if candidate is None:
                continue
            m = candidate.regex.match(text)
            if m is None:
                continue
            # the outer group of the matching alternative closes last
            group = m.lastindex or 0
            template = candidate.members[group]
            return template, m.groups()[group : group + template.groups]
        return None


def _rows() -> Iterator[tuple[str, str, str, str]]:
    data = resources.files("racoondbg") / "data" / "racoon-messages.tsv"
    with data.open(encoding="utf-8") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader)
        col = {name: i for i, name in enumerate(header)}
        for row in reader:
            yield row[col["level"]], row[col["format"]], row[col["stage"]], row[col["flavours"]]


@cache
def matcher() -> Matcher:
    """The matcher built from the packaged racoon-messages.tsv (built once per process)."""
    return Matcher(list(_rows()))


@dataclass(frozen=True, slots=True)
class EventSpec:
    """All wordings of one event: formats (as in the TSV), the names of their values, fixed data."""

    kind: Kind
    roles: tuple[str | None, ...]
    formats: tuple[str, ...]
    fixed: tuple[tuple[str, str], ...] = ()


def _spec(kind: Kind, roles: str, *formats: str, **fixed: str) -> EventSpec:
    names = tuple(None if r == "_" else r for r in roles.split()) if roles else ()
    return EventSpec(kind, names, formats, tuple(fixed.items()))


_REJECT = "DB(prop#%d:trns#%d):Peer(prop#%d:trns#%d) = %s:%s"

#: Every event racoondbg understands, with the wording of every racoon version.
EVENT_SPECS: tuple[EventSpec, ...] = (
    _spec(Kind.OPENSSL, "version", "@(#)This product linked %s (http://www.openssl.org/)"),
    _spec(Kind.CONFIG_READ, "path", 'Reading configuration from "%s"'),
    _spec(Kind.CONFIG_ERROR, "count", "fatal parse failure (%d errors)"),
    _spec(Kind.CONFIG_ERROR, "", "fatal parse failure.", "config reload failed",
          "failed to parse configuration file."),
    _spec(Kind.LISTEN, "address _", "%s used as isakmp port (fd=%d)"),
    _spec(Kind.BIND_FAILED, "address errno", "failed to bind to address %s (%s)."),
    _spec(Kind.NO_ADDRESS, "", "no address could be bound.", "failed to listen to configured addresses"),
    _spec(Kind.SIGNAL, "signal", "caught signal %d"),
    _spec(Kind.SHUTDOWN, "pid", "racoon process %d shutdown"),
    _spec(Kind.SHUTDOWN, "", "racoon shutdown"),
    _spec(Kind.INTERFACE_CHANGE, "_", "caught rtm:%d, need update interface address list"),
    _spec(Kind.INTERFACE_CHANGE, "", "netlink signals update interface address list"),
    _spec(Kind.INTERFACE_ADDRESS, "address ifname", "my interface: %s (%s)"),
    _spec(Kind.INTERFACE_ADDRESS, "address action", "Netlink: address %s %s"),
    _spec(Kind.PFKEY_UNAVAILABLE, "errno", "libipsec failed pfkey open (%s)", "libipsec failed pfkey open: %s"),
    _spec(Kind.PFKEY_UNAVAILABLE, "", "failed to initialize pfkey socket", "failed to initialize pfkey."),
    _spec(Kind.PSK_FILE_PERMISSIONS, "path", "%s has weak file permission", "%s has invalid owner uid"),
    _spec(Kind.PSK_FILE_UNREADABLE, "path", "failed to open pre_share_key file %s"),
    # phase 1
    _spec(Kind.ACQUIRE, "peer", "IPsec-SA request for %s queued due to no phase1 found.",
          "IPsec-SA request for %s queued due to no Phase 1 found."),
    _spec(Kind.ACQUIRE, "", "Request for establishing IPsec-SA was queued due to no phase1 found."),
    _spec(Kind.PH1_START, "local peer", "initiate new phase 1 negotiation: %s<=>%s", role="initiator"),
    _spec(Kind.PH1_START, "local peer", "respond new phase 1 negotiation: %s<=>%s", role="responder"),
    _spec(Kind.PH1_START, "", "IPSec Phase1 started (Initiated by me).", "IPSec Phase 1 started (Initiated by me).",
          role="initiator"),
    _spec(Kind.PH1_START, "", "IPSec Phase1 started (Initiated by peer).",
          "IPSec Phase 1 started (Initiated by peer).", role="responder"),
    _spec(Kind.ACQUIRE, "peer", "IPSec connecting to server %s"),
    _spec(Kind.PH1_MODE, "exchange", "begin %s mode."),
    _spec(Kind.PH1_ESTABLISHED, "local peer cookies", "ISAKMP-SA established %s-%s spi:%s"),
    _spec(Kind.PH1_ESTABLISHED, "cookies", "ISAKMP-SA established spi:%s"),
    _spec(Kind.PH1_ESTABLISHED, "initiator", "IPSec Phase1 established (Initiated by %s).",
          "IPSec Phase 1 established (Initiated by %s).", tracer="yes"),
    _spec(Kind.PH1_TIMEOUT, "cookies", "phase1 negotiation failed due to time up. %s",
          "Phase 1 negotiation failed due to time up. %s"),
    _spec(Kind.SEND_ERROR, "cookies", "phase1 negotiation failed due to send error. %s",
          "Phase 1 negotiation failed due to send error. %s", phase="1"),
    _spec(Kind.SEND_ERROR, "sa", "phase2 negotiation failed due to send error. %s",
          "Phase 2 negotiation failed due to send error. %s", phase="2"),
    _spec(Kind.SEND_ERROR, "errno", "sendto (%s)", "KA: sendfromto failed: %s"),
    _spec(Kind.SEND_ERROR, "", "sendfromto failed"),
    _spec(Kind.PH1_FAILED, "", "phase1 negotiation failed.", "failed to process packet.",
          "failed to pre-process packet."),
    _spec(Kind.PH1_FAILED, "side status", "failed to pre-process ph1 packet (side: %d, status %d).",
          "failed to process ph1 packet (side: %d, status: %d)."),
    _spec(Kind.RETRANSMIT, "cookies", "resend phase1 packet %s", "Resend Phase 1 packet %s", phase="1",
          direction="sent"),
    _spec(Kind.RETRANSMIT, "cookies", "resend phase2 packet %s", "Resend Phase 2 packet %s", phase="2",
          direction="sent"),
    _spec(Kind.RETRANSMIT, "peer _", "the packet is retransmitted by %s (%d).", direction="received"),
    _spec(Kind.RETRANSMIT, "peer", "the packet is retransmitted by %s.",
          "the packet retransmitted in a short time from %s",
          "Received retransmitted packet from %s.", "Received (reassembled) retransmitted packet from %s.",
          direction="received"),
    _spec(Kind.PACKET_SENT, "count bytes to", "%d times of %d bytes message will be sent to %s"),
    _spec(Kind.PACKET_RECEIVED, "bytes fromto", "%d bytes message received %s"),
    _spec(Kind.NO_PROPOSAL, "", "no suitable proposal found.", "failed to get valid proposal.", phase="1"),
    _spec(Kind.NO_PROPOSAL, "", "no proposal chosen.", "failed to get proposal for responder.",
          "no suitable policy found.", phase="2"),
    _spec(Kind.PROPOSAL_REJECTED, "_ _ _ _ mine theirs", f"rejected enctype: {_REJECT}", attribute="encryption",
          phase="1"),
    _spec(Kind.PROPOSAL_REJECTED, "_ _ _ _ mine theirs", f"rejected hashtype: {_REJECT}", attribute="hash", phase="1"),
    _spec(Kind.PROPOSAL_REJECTED, "_ _ _ _ mine theirs", f"rejected authmethod: {_REJECT}",
          attribute="authentication method", phase="1"),
    _spec(Kind.PROPOSAL_REJECTED, "_ _ _ _ mine theirs", f"rejected dh_group: {_REJECT}", attribute="DH group",
          phase="1"),
    _spec(Kind.PROPOSAL_REJECTED, "theirs", "invalid DH group %d.", attribute="DH group", phase="1"),
    _spec(Kind.PROPOSAL_REJECTED, "mine theirs", "trns_id mismatched: my:%s peer:%s", attribute="transform",
          phase="2"),
    _spec(Kind.PROPOSAL_REJECTED, "mine theirs", "encmode mismatched: my:%s peer:%s", attribute="encapsulation mode",
          phase="2"),
    _spec(Kind.PROPOSAL_REJECTED, "mine theirs", "proto_id mismatched: my:%s peer:%s", attribute="protocol",
          phase="2"),
    _spec(Kind.PFS_MISMATCH, "mine theirs", "pfs group mismatched: my:%d peer:%d"),
    _spec(Kind.PFS_MISMATCH, "", "no PFS is specified, but peer sends KE.", mine="none", theirs="PFS"),
    _spec(Kind.PFS_MISMATCH, "", "PFS is specified, but peer doesn't sends KE.", mine="PFS", theirs="none"),
    _spec(Kind.LIFETIME_MISMATCH, "mine theirs", "lifetime mismatched: my:%d peer:%d",
          "long lifetime proposed: my:%d peer:%d"),
    _spec(Kind.LIFETIME_MISMATCH, "", "RESPONDER-LIFETIME: lifetime mismatch"),
    _spec(Kind.PSK_NOT_FOUND, "peer", "couldn't find the pskey for %s.", "couldn't find the pskey by address %s."),
    # Apple's "couldn't find pskey by peer's ID." is not one: racoon goes on to look the address up
    _spec(Kind.PSK_NOT_FOUND, "", "couldn't find the pskey."),
    _spec(Kind.SKEYID_FAILED, "", "failed to generate SKEYID", "failed to generate SKEYID-DAE"),
    _spec(Kind.HASH_MISMATCH, "", "HASH mismatched", phase="1"),
    _spec(Kind.HASH_MISMATCH, "", "HASH(3) mismatch.", phase="2"),
    _spec(Kind.DECRYPT_GARBAGE, "", "invalid length of payload"),
    _spec(Kind.DECRYPT_GARBAGE, "payload", "ignore the packet, received unexpecting payload type %d."),
    _spec(Kind.ID_ERROR, "", "invalid ID payload.", "ID mismatched with ASN1 SubjectName.",
          "ID mismatched with subjectAltName.", "ID mismatched with subjectName.",
          "ID mismatched with certificate subjectName", "failed to get subjectAltName", "mismatched IDci was returned.",
          "mismatched IDcr was returned.", "mismatched ID was returned."),
    _spec(Kind.ID_ERROR, "theirs", "Expecting IP address type in main mode, but %s."),
    _spec(Kind.ID_ERROR, "theirs mine", "ID type mismatched. ID: %s CERT: %s."),
    _spec(Kind.CERT_ERROR, "error code depth subject", "%s(%d) at depth:%d SubjectName:%s"),
    _spec(Kind.CERT_NOT_VERIFIED, "", "the peer's certificate is not verified.", "no peer's CERT payload found.",
          "Invalid SIG.", "failed to get own CERT."),
    _spec(Kind.CERT_NOT_VERIFIED, "which", "failed to get %s CERT."),
    _spec(Kind.PRIVATE_KEY_ERROR, "", "failed to get private key.", "couldn't read private key info",
          "couldn't retrieve private key"),
    _spec(Kind.PRIVATE_KEY_ERROR, "path", "Too slack permissions on private key '%s'"),
    _spec(Kind.EXCHANGE_NOT_ALLOWED, "exchange", "exchange %s not allowed in any applicable rmconf.",
          "not acceptable %s mode"),
    _spec(Kind.EXCHANGE_MISMATCH, "mine theirs", "exchange type is mismatched: db=%s packet=%s, ignore it.",
          "Exchange type is mismatched: db=%s packet=%s, ignore it."),
    _spec(Kind.NO_REMOTE_CONFIG, "", "couldn't find configuration.", "no configuration found for peer address."),
    _spec(Kind.NO_REMOTE_CONFIG, "peer", "no configuration found for %s.", "No configuration found for %s.",
          "failed to get remoteconf for %s."),
    _spec(Kind.FRAGMENT_ERROR, "", "Fragment too short", "No fragment to reassemble"),
    _spec(Kind.FRAGMENT_ERROR, "fragment", "Missing fragment #%d"),
    # informational exchanges
    _spec(Kind.NOTIFY_RECEIVED, "notify exchange", "notification %s received in %s."),
    _spec(Kind.NOTIFY_RECEIVED, "notify", "fatal %s notify messsage, phase1 should be deleted.",
          "Fatal %s notify messsage, Phase 1 should be deleted.", exchange="phase 1"),
    _spec(Kind.NOTIFY_RECEIVED, "notify", "fatal %s notify messsage, phase2 should be deleted.",
          "Fatal %s notify messsage, Phase 2 should be deleted.",
          "unhandled notify message %s, no phase2 handle found.",
          "Unhandled notify message %s, no Phase 2 handle found.", exchange="phase 2"),
    _spec(Kind.NOTIFY_RECEIVED, "notify", "received unknown notification type %s.",
          "Received unknown notification type %s."),
    _spec(Kind.NOTIFY_RECEIVED, "code notify _ _ _ _",
          "Notification message %d:%s, doi=%d proto_id=%d spi=%s(size=%d)."),
    _spec(Kind.NOTIFY_SENT, "payload", "sendto Information %s."),
    _spec(Kind.INITIAL_CONTACT, "", "received INITIAL-CONTACT"),
    _spec(Kind.MUST_BE_ENCRYPTED, "exchange", "%s message must be encrypted"),
    _spec(Kind.NO_ISAKMP_SA, "cookies", "can't start the quick mode, there is no ISAKMP-SA, %s",
          "can't start the quick mode, there is no valid ISAKMP-SA, %s",
          "Can't start the quick mode, there is no ISAKMP-SA, %s"),
    _spec(Kind.UNKNOWN_INFORMATIONAL, "", "unknown Informational exchange received.",
          "Unknown Informational exchange received.",
          "ignore information because ISAKMP-SA has not been established yet."),
    # phase 2
    _spec(Kind.PH2_START, "local peer", "initiate new phase 2 negotiation: %s<=>%s", role="initiator"),
    _spec(Kind.PH2_START, "local peer", "respond new phase 2 negotiation: %s<=>%s", role="responder"),
    _spec(Kind.PH2_START, "", "IPSec Phase2 started (Initiated by me).", "IPSec Phase 2 started (Initiated by me).",
          role="initiator"),
    _spec(Kind.PH2_START, "", "IPSec Phase2 started (Initiated by peer).", "IPSec Phase 2 started (Initiated by peer).",
          role="responder"),
    _spec(Kind.PH2_ESTABLISHED, "sa", "IPsec-SA established: %s", "IPsec-SA established (update): %s",
          "IPsec-SA established (add): %s"),
    _spec(Kind.PH2_ESTABLISHED, "satype spi mode", "IPsec-SA established (update): satype=%u spi=%#x mode=%u",
          "IPsec-SA established (add): satype=%u spi=%#x mode=%u"),
    _spec(Kind.PH2_ESTABLISHED, "initiator", "IPSec Phase2 established (Initiated by %s).",
          "IPSec Phase 2 established (Initiated by %s).", tracer="yes"),
    _spec(Kind.PH2_TIMEOUT, "sa", "phase2 negotiation failed due to time up waiting for phase1. %s",
          "Phase 2 negotiation failed due to time up waiting for Phase 1. %s", reason="waiting for phase 1"),
    _spec(Kind.PH2_TIMEOUT, "sa", "phase2 negotiation failed due to time up. %s",
          "Phase 2 negotiation failed due to time up. %s", reason="no answer to quick mode"),
    _spec(Kind.PH2_TIMEOUT, "peer", "%s give up to get IPsec-SA due to time up to wait.", reason="gave up"),
    _spec(Kind.PH2_FAILED, "side status", "failed to pre-process ph2 packet (side: %d, status: %d).",
          "failed to pre-process ph2 packet (side: %d, status %d).",
          "failed to process ph2 packet (side: %d, status: %d)."),
    _spec(Kind.SAINFO_NOT_FOUND, "", "failed to get sainfo."),
    _spec(Kind.NO_POLICY, "selector", "no policy found: %s"),
    _spec(Kind.NO_POLICY, "selector", "policy found, but no IPsec required: %s", reason="no IPsec required"),
    _spec(Kind.ACQUIRE_NO_POLICY, "spid", "no policy found: id:%d."),
    _spec(Kind.IPCOMP_CPI, "", "IPComp SPI size promoted from 16bit to 32bit"),
    _spec(Kind.ACQUIRE_IGNORED, "", "ignore the acquire because ph2 found"),
    _spec(Kind.ACQUIRE_IGNORED, "peer", "because of passive mode, ignore the acquire message for %s.",
          "Because of passive mode, ignore the acquire message for %s.", reason="passive"),
    # kernel
    _spec(Kind.PFKEY_ERROR, "msgtype errno", "pfkey %s failed: %s"),
    _spec(Kind.PFKEY_ERROR, "errno", "libipsec failed send update (%s)", msgtype="UPDATE"),
    _spec(Kind.PFKEY_ERROR, "errno", "libipsec failed pfkey check (%s)", msgtype="check"),
    _spec(Kind.SA_INSTALL_FAILED, "", "pfkey update failed.", msgtype="UPDATE"),
    _spec(Kind.SA_INSTALL_FAILED, "", "pfkey add failed.", msgtype="ADD"),
    _spec(Kind.SA_EXPIRED, "sa", "IPsec-SA expired: %s"),
    _spec(Kind.SA_EXPIRED, "satype spi mode", "IPsec-SA expired: satype=%u spi=%#x mode=%u"),
    _spec(Kind.SA_DELETED, "sa", "pfkey DELETE received: %s"),
    _spec(Kind.PH1_EXPIRED, "local peer cookies", "ISAKMP-SA expired %s-%s spi:%s"),
    _spec(Kind.PH1_DELETED, "local peer cookies", "ISAKMP-SA deleted %s-%s spi:%s"),
    _spec(Kind.PH1_DELETED, "cookies", "ISAKMP-SA deleted spi:%s"),
    _spec(Kind.PURGED, "spi", "purged IPsec-SA spi=%u.", "purged ISAKMP-SA spi=%s.", "purging ISAKMP-SA spi=%s.",
          "purging spi=%u."),
    _spec(Kind.PURGED, "proto spi", "purged IPsec-SA proto_id=%s spi=%u.", "Purged IPsec-SA proto_id=%s spi=%u.",
          "purged ISAKMP-SA proto_id=%s spi=%s."),
    # DPD, NAT-T
    _spec(Kind.DPD_DEAD, "cookies", "DPD: remote (ISAKMP-SA spi=%s) seems to be dead."),
    _spec(Kind.DPD_DEAD, "", "DPD: remote seems to be dead"),
    _spec(Kind.DPD_PROBE, "result", "DPD R-U-There sent (%d)", direction="sent"),
    _spec(Kind.DPD_PROBE, "", "DPD R-U-There-Ack received", direction="ack"),
    _spec(Kind.DPD_PROBE, "", "received a valid R-U-THERE, ACK sent", "DPD R-U-There received", direction="received"),
    _spec(Kind.DPD_ERROR, "_ _ _", "Wrong DPD sequence number (%d; last_ack=%d, seq=%d)."),
    _spec(Kind.DPD_ERROR, "_ _", "Wrong DPD sequence number (%d, %d expected)."),
    _spec(Kind.DPD_ERROR, "", "Cookie mismatch in DPD ACK!.",
          "ignore information because the message has no hash payload."),
    _spec(Kind.NATT_VERSION, "version", "Selected NAT-T version: %s"),
    _spec(Kind.NAT_DETECTED, "what me peer", "NAT %s %s%s"),
    _spec(Kind.NAT_DETECTED, "_ _", "NAT detected -> UDP encapsulation (ENC_MODE %d->%d).", what="detected"),
    _spec(Kind.NATT_PORTS, "ports", "NAT-T: ports changed to: %s"),
    # Xauth / mode-config
    _spec(Kind.XAUTH_FAILED, "", "Xauth authentication failed", "Attempt to start phase 2 whereas Xauth failed",
          "Attempt to start Phase 2 whereas Xauth failed", "Xauth request while phase 1 is not completed",
          "IPSec Extended Authentication Failed."),
    _spec(Kind.XAUTH_FAILED, "user", 'login failed for user "%s"'),
    _spec(Kind.MODECFG_FAILED, "", "No more addresses available", "ISAKMP mode config exchange with immature phase 1",
          "Attempt to start phase config whereas Xauth failed"),
)


@cache
def event_index() -> dict[int, EventSpec]:
    """Template index → the event spec it belongs to."""
    m = matcher()
    index: dict[int, EventSpec] = {}
    for spec in EVENT_SPECS:
        for fmt in spec.formats:
            template = m.by_format.get(fmt)
            if template is None:
                raise LookupError(f"event format not in racoon-messages.tsv: {fmt!r}")
            index[template.index] = spec
    return index
