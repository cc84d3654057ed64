"""remote and sainfo blocks that select the same peers or the same traffic twice."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.conf import Remote
from racoondbg.model.finding import EvidenceRef, Severity

from .config_common import peer_of, remote_ref

#: racoon's default ISAKMP port: `remote 192.0.2.1` is `remote 192.0.2.1 [500]`.
IKE_PORT = 500


def _peer_key(r: Remote) -> tuple[str, int] | None:
    """The peer address and port a remote is selected by; ("", port) for anonymous."""
    if r.selector.kind == "anonymous":
        return ("", r.selector.port or IKE_PORT)
    if r.selector.kind == "address" and r.selector.prefix is None:
        return (_norm(r.selector.address or ""), r.selector.port or IKE_PORT)
    if r.remote_address is not None:
        return (_norm(r.remote_address.address), r.remote_address.port or IKE_PORT)
    return None


def _norm(address: str) -> str:
    try:
        return str(ipaddress.ip_address(address.split("%", 1)[0]))
    except ValueError:
        return address


def _distinguished(a: Remote, b: Remote) -> bool:
    """Whether racoon 0.8 can tell the two apart by exchange mode, verified identity or ph1id."""
    if a.exchange_modes and b.exchange_modes and not set(a.exchange_modes) & set(b.exchange_modes):
        return True
    if a.verify_identifier and b.verify_identifier:
        ids_a = {(i.kind, i.value) for i in a.peers_identifiers}
        ids_b = {(i.kind, i.value) for i in b.peers_identifiers}
        if ids_a and ids_b and not ids_a & ids_b:
            return True
    ph1 = [r.directive("ph1id") for r in (a, b)]
    return ph1[0] is not None and ph1[1] is not None and ph1[0].args != ph1[1].args


def _covers(prefix_remote: Remote, other: Remote) -> bool:
    """Apple's `remote ADDR/prefix`: whether it also matches the other remote's peer."""
    sel = prefix_remote.selector
    key = _peer_key(other)
    if sel.kind != "address" or sel.prefix is None or key is None or not key[0]:
        return False
    try:
        net = ipaddress.ip_network(f"{sel.address}/{sel.prefix}", strict=False)
        return ipaddress.ip_address(key[0]) in net and (sel.port or IKE_PORT) == key[1]
    except ValueError:
        return False


@rule("RDB130", "shadowed-remote", title="Two remote blocks select the same peer",
      severity=Severity.WARNING, needs={"conf"}, fix="Merge the two remote blocks into one, or delete the unused one.")
def shadowed_remote(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: two `remote` blocks select the same peer address (and port), or both are
    `remote anonymous`, and nothing else (exchange mode, verified `peers_identifier`, `ph1id`)
    tells them apart; or a `remote "name"` is defined twice.

    **Why racoon fails**: racoon 0.8 finds both, calls the choice ambiguous (`multiple non-exact
    configurations found.`, DEBUG only) and uses neither, so the peer gets no answer. racoon 0.7
    and older keep their remotes in a list built head-first and use the block written *later*; the
    earlier one is dead text whose settings you may believe are in force. On Apple's racoon a
    `remote ADDR/prefix` written first also matches the addresses inside it.

    **Evidence it looks at**: the header (and `remote_address`) of every remote block, in the order
    racoon reads them (includes included).

    **How to fix**: keep one block per peer; put the settings you want in it and delete the other.

    **References**: ipsec-tools 0.8 `remoteconf.c` (`rmconf_find`, `getrmconf`), 0.7 `getrmconf_strict`.
    """
    assert ev.conf is not None
    remotes = ev.conf.remotes
    names: dict[str, Remote] = {}
    keys = [_peer_key(r) for r in remotes]
    # Earlier remotes that can match a later one: those with the same key, and prefix remotes.
    # Indexing them keeps 10 000 remotes linear instead of comparing every pair.
    same_key: dict[tuple[str, int], list[int]] = {}
    prefixed: list[int] = []
    for i, later in enumerate(remotes):
        key = keys[i]
        candidates = sorted({*prefixed, *(same_key.get(key, ()) if key is not None else ())})
        if key is not None:
            same_key.setdefault(key, []).append(i)
        if later.selector.prefix is not None:
            prefixed.append(i)
        if later.selector.kind == "name" and later.selector.name is not None:
            first = names.setdefault(later.selector.name, later)
            if first is not later:
                yield _hit(first, later, "the same name: racoon refuses the second one ('already exists')")
                continue
        for earlier in (remotes[j] for j in candidates):
            if earlier.selector.prefix is not None and _covers(earlier, later):
                yield _hit(earlier, later, f"an address inside {earlier.selector.text()} (Apple's racoon takes "
                           "the first match)")
                break
            if key is not None and _peer_key(earlier) == key and not _distinguished(earlier, later):
                port = f" port {key[1]}" if key[1] != IKE_PORT else ""
                what = f"peer {key[0]}{port}" if key[0] else "anonymous"
                yield _hit(earlier, later, f"{what}: racoon 0.8 finds both and uses neither ('multiple non-exact "
                           "configurations found.'); racoon 0.7 uses only the later one")
                break


def _hit(earlier: Remote, later: Remote, how: str) -> Hit:
    return Hit(
        message=f"{later.label()} (line {later.location.line}) selects the same peers as {earlier.label()} "
        f"(line {earlier.location.line}) — {how}.",
        evidence=[remote_ref(earlier, "first block"), remote_ref(later, "second block")],
        fix=f"merge the settings of line {later.location.line} into the block at line {earlier.location.line} "
        "and delete the other one",
        peer=peer_of(later),
    )


@rule("RDB131", "duplicate-sainfo", title="Two sainfo blocks for the same phase-2 identities",
      severity=Severity.ERROR, needs={"conf"}, fix="Keep one sainfo block per pair of identities.")
def duplicate_sainfo(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: two `sainfo` blocks have the same local and remote identities (and the same
    `from` / `group` / `remoteid` qualifiers).

    **Why racoon fails**: for address identities racoon refuses to start: `duplicated sainfo: ...`
    is a fatal configuration error. Two `sainfo anonymous` blocks are accepted, but only one of
    them is ever used for phase 2, so the settings of the other (PFS group, algorithms, lifetime)
    silently do nothing.

    **Evidence it looks at**: every sainfo header of racoon.conf and its includes.

    **How to fix**: merge the two blocks into one.

    **References**: ipsec-tools `cfparse.y` (sainfo duplicate check), `sainfo.c` (`getsainfo`).
    """
    assert ev.conf is not None
    seen: dict[tuple[str, str, str, str | None, int | None], int] = {}
    sainfos = ev.conf.sainfos
    for i, s in enumerate(sainfos):
        first_index = seen.setdefault(s.key(), i)
        if first_index == i:
            continue
        first = sainfos[first_index]
        fatal = not (first.anonymous or s.anonymous)
        how = ("racoon refuses to start: `duplicated sainfo`" if fatal
               else "racoon accepts both but only ever uses one of them")
        yield Hit(
            message=f"`{s.label()}` at line {s.location.line} repeats the block at line {first.location.line}: {how}.",
            evidence=[EvidenceRef.at(first.location, first.label() + " {", "first block"),
                      EvidenceRef.at(s.location, s.label() + " {", "second block")],
            fix=f"merge the block at line {s.location.line} into the one at line {first.location.line}",
            severity=Severity.ERROR if fatal else Severity.WARNING,
        )
