"""A BSD/macOS kernel that sends on the oldest of several SAs (``net.key.preferred_oldsa``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import EvidenceRef, Severity
from racoondbg.model.host import HostState, Sysctl
from racoondbg.model.kernel import SecurityAssociation

from ._kernel import age_of, ago, host_address, policies, sa_ref

#: FreeBSD spells it correctly; NetBSD and macOS (xnu) keep KAME's spelling.
OLDSA_SYSCTLS = ("net.key.preferred_oldsa", "net.key.prefered_oldsa")
MAX_PAIRS = 4

SaKey = tuple[str, str, str, str, int]


def old_sa_sysctl(host: HostState | None) -> Sysctl | None:
    """The recorded sysctl when it makes the kernel send on the oldest SA, else None."""
    if host is None:
        return None
    for name in OLDSA_SYSCTLS:
        found = host.sysctls.get(name)
        if found is not None:
            return found if found.value.strip() not in ("", "0") else None
    return None


def persist_hint(host: HostState, name: str) -> str:
    """The fix: the command, and where the setting survives a reboot."""
    where = ("/etc/sysctl.conf (or a LaunchDaemon that runs sysctl at boot on recent macOS)"
             if host.platform == "macos" else "/etc/sysctl.conf")
    return f"`sysctl -w {name}=0` now, and `{name}=0` in {where}"


def _local_addresses(ev: Evidence, host: HostState) -> set[str]:
    """This host's IPsec endpoints: outbound policies' sources and the addresses IKE listens on."""
    local = {s.address for s in host.sockets if s.address not in ("0.0.0.0", "::", "*")}
    for p in policies(ev) if ev.has("spd|script") else []:
        if p.direction != "out" or not p.is_ipsec:
            continue
        for r in p.requests:
            source = r.src if r.mode == "tunnel" else (host_address(p.src) if p.src else None)
            if source:
                local.add(source)
    return local


def _piles(ev: Evidence, host: HostState) -> dict[SaKey, list[SecurityAssociation]]:
    """Outbound (src, dst, proto, mode, reqid) with more than one mature SA, oldest first."""
    assert ev.sad is not None
    mature: dict[SaKey, list[SecurityAssociation]] = defaultdict(list)
    for sa in ev.sad.sas:
        if sa.state == "mature":
            mature[sa.key].append(sa)
    local = _local_addresses(ev, host)
    piles = {k: v for k, v in mature.items() if len(v) > 1 and (not local or k[0] in local)}
    for sas in piles.values():
        sas.sort(key=lambda sa: -(age_of(sa) or 0))
    return piles


@rule("RDB611", "prefer-old-sa", title="The kernel sends on the oldest SA, so a rekey can black-hole traffic",
      severity=Severity.WARNING, needs={"host"},
      fix="`sysctl -w net.key.preferred_oldsa=0` (FreeBSD; `net.key.prefered_oldsa` on NetBSD and macOS), "
          "and the same line in /etc/sysctl.conf.")
def prefer_old_sa(ev: Evidence) -> Iterator[Hit]:
    """**What it means:** the KAME-derived IPsec stacks (FreeBSD, NetBSD, macOS) choose which of
    several live SAs for the same source, destination, protocol, mode and reqid carries outgoing
    packets by a sysctl: `net.key.preferred_oldsa` on FreeBSD, `net.key.prefered_oldsa` (KAME's
    spelling) on NetBSD and macOS. At 1 the kernel sends on the *oldest* SA; at 0 on the newest.
    Defaults differ: FreeBSD ships 1 (its `netipsec/key.c`, before and after the 2017 rework, cites
    draft-jenkins-ipsec-rekeying: use the old SA until it expires); NetBSD's `netipsec/key.c` and
    macOS's xnu ship 0. (Older releases may differ; the recorded value is what counts.)

    **Why racoon fails:** after a rekey both ends hold the old and the new SA pair. Linux and
    every peer set to "newest" switch to the new SA at once; this host keeps sending on the old
    one. That works only while the peer still has the old inbound SA: when the peer deletes it
    early (its IKE daemon purges the replaced SA, its lifetime is shorter, or it restarted) this
    host's packets are dropped at the peer until the old SA expires here, minutes to hours later.
    When SAs pile up (several mature SAs for one pair, see `duplicate-sa`), the oldest of the
    pile carries the traffic, the one most likely to be gone at the peer.

    **Evidence it looks at:** the recorded sysctl, and the SAD: outbound SAs (from this host's
    addresses) grouped by source, destination, protocol, mode and reqid, with their age. With
    several mature SAs in one group the finding is a warning; without a SAD dump only a note.

    **How to fix:** FreeBSD `sysctl -w net.key.preferred_oldsa=0` (NetBSD and macOS:
    `net.key.prefered_oldsa`), and the same `name=0` line in /etc/sysctl.conf so that it survives
    a reboot. To get traffic flowing now, delete the stale old SA (`setkey -c` with
    `delete SRC DST esp SPI;`) or flush the SAD on both ends and let racoon renegotiate.

    **References:** FreeBSD sys/netipsec/key.c (`key_preferred_oldsa`, `key_allocsa_policy`);
    NetBSD sys/netipsec/key.c (`key_prefered_oldsa`); xnu bsd/netkey/key.c; setkey(8);
    failure catalog #12 (`duplicate-sa`).
    """
    host: HostState = ev.host
    setting = old_sa_sysctl(host)
    if setting is None:
        return
    name = setting.name
    fix = f"{persist_hint(host, name)}, so that the newest SA carries traffic as on the peer."
    ref = EvidenceRef.at(setting.location, setting.text, "not 0: outbound packets use the oldest SA")
    if ev.sad is None:
        yield Hit(f"{name} = {setting.value.strip()}: after every rekey this host keeps sending on the old SA "
                  f"while a peer that prefers the newest (Linux, or {name} = 0) has switched. No SAD dump was "
                  f"read, so whether SAs pile up here is not known.",
                  evidence=[ref], fix=fix, severity=Severity.INFO)
        return
    piles = _piles(ev, host)
    if not piles:
        return
    shown = sorted(piles.items(), key=lambda kv: -len(kv[1]))[:MAX_PAIRS]
    described = "; ".join(
        f"{len(sas)} {proto.upper()} SAs from {src} to {dst} (reqid {reqid}), it uses spi 0x{sas[0].spi:08x} "
        f"created {ago(age_of(sas[0]))}"
        for (src, dst, proto, _mode, reqid), sas in shown)
    more = f" (and {len(piles) - len(shown)} more pairs)" if len(piles) > len(shown) else ""
    evidence = [ref]
    for _key, sas in shown:
        evidence.append(sa_ref(sas[0], "the oldest: the kernel sends on this one"))
        evidence.append(sa_ref(sas[-1], "the newest: the one the peer expects"))
    yield Hit(
        f"{name} = {setting.value.strip()} and several mature SAs exist for one direction: {described}{more}. "
        f"The peer sends on, and may keep only, the newest; packets this host sends on the older SA are dropped "
        f"there until that SA expires here.",
        evidence=evidence, fix=fix + " Then delete the older SAs (`setkey -c`: `delete SRC DST esp SPI;`).",
        peer=shown[0][0][1],
    )
