"""Cross-checks between the SPD (or the setkey script) and racoon.conf's `remote` and `sainfo` blocks."""

from __future__ import annotations

from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.conf import RacoonConf, Remote
from racoondbg.model.finding import EvidenceRef, Severity
from racoondbg.model.kernel import Policy

from ._kernel import PrefixIndex, policies, policy_ref, selector
from ._policyconf import RemoteIndex, SainfoIndex, ike_peer, ip_text, outbound, ph1id, phase2_ids, sainfo_refs
from .config_common import peer_of

#: How many policies one rule reports at most.
MAX_HITS = 16


def _generating(value: str | None) -> bool:
    return (value or "off") != "off"


@rule("RDB230", "no-remote-config", title="SPD peer with no `remote` block in racoon.conf",
      severity=Severity.ERROR, needs={"conf", "spd|script"},
      fix="Add a `remote <peer>` block (or `remote anonymous`) to racoon.conf.")
def no_remote_config(ev: Evidence) -> Iterator[Hit]:
    """**What it means**

    An outbound IPsec policy makes racoon negotiate with a peer (the far tunnel end, or the far
    host of a transport pair) that no `remote` block selects, and there is no `remote anonymous`.

    **Why racoon fails**

    When traffic hits the policy the kernel sends an ACQUIRE; racoon looks up the `remote` block for
    the peer's address, finds none, logs `no configuration found for <ip>.` (0.5–0.7 and Apple:
    `couldn't find configuration.`) and does nothing, so the traffic is dropped for ever. A typo in
    the address, or a peer whose address changed, does this.

    **Evidence it looks at**

    The SPD dump or the setkey script (tunnel endpoints and transport peers of `out` policies) and
    racoon.conf's `remote` headers (named remotes by their `remote_address`).

    **How to fix**

    Add `remote <peer> { ... }` with the phase-1 settings, or fix the address in the policy or in
    the remote header.

    **References**

    racoon.conf(5) `remote`; failure catalog #37 `no-remote-config`.
    """
    conf = ev.conf
    assert conf is not None
    orphans: dict[bool, list[Remote]] = {True: [], False: []}
    for remote, address in orphan_remotes(ev, conf):
        orphans[":" in address].append(remote)
    known = ", ".join(r.selector.text() for r in conf.remotes[:MAX_HITS]) or "none"
    for peer, p in unconfigured_peers(ev, conf).items():
        typo = orphans[":" in peer]
        hint = (f" No policy uses {typo[0].label()} either: is one of the two addresses a typo?" if typo else "")
        refs = [policy_ref(p, f"IKE peer {peer}"),
                *(EvidenceRef.at(r.location, r.label(), "no policy reaches this remote") for r in typo[:1])]
        yield Hit(f"The policy {selector(p)} makes racoon negotiate with {peer}, but racoon.conf has no `remote` "
                  f"block for {peer} (remotes: {known}) and no `remote anonymous`: racoon will log `no "
                  f"configuration found for {peer}.` and never start phase 1.{hint}",
                  refs if typo else [*refs, EvidenceRef.at(conf.location, note="no remote matches")],
                  fix=f"Add to racoon.conf: `remote {peer} {{ exchange_mode main; proposal {{ ... }} }}` (or "
                      f"`remote anonymous {{ ... }}`), or correct the address.", peer=peer)


def unconfigured_peers(ev: Evidence, conf: RacoonConf) -> dict[str, Policy]:
    """IKE peers of outbound IPsec policies that no `remote` selects, each with its first policy."""
    found: dict[str, Policy] = {}
    seen: set[str] = set()
    remotes = RemoteIndex(conf)
    for p in outbound(ev):
        peer = ike_peer(p)
        if peer is None or peer in seen:
            continue
        seen.add(peer)
        if remotes.get(peer) is None:
            found[peer] = p
    return found


@rule("RDB231", "sainfo-not-found", title="No sainfo for the phase-2 IDs a policy makes racoon send",
      severity=Severity.ERROR, needs={"conf", "spd|script"},
      fix="Add a `sainfo` block for the policy's selectors (or `sainfo anonymous`).")
def sainfo_not_found(ev: Evidence) -> Iterator[Hit]:
    """**What it means**

    For an outbound IPsec policy racoon sends the policy's source and destination as phase-2
    identities (IDci, IDcr) and looks up the `sainfo` block for exactly those identities. None can
    match, and there is no `sainfo anonymous`.

    **Why racoon fails**

    racoon logs `failed to get sainfo.` and no SA is made. As initiator it looks the sainfo up when
    the kernel's ACQUIRE arrives and gives up before phase 1 even starts (`pk_recvacquire`); as
    responder phase 1 comes up and it drops the peer's quick mode without a notification, so the
    peer only sees retransmits and `phase2 negotiation failed due to time up`. The comparison (racoon 0.7/0.8
    `getsainfo`) is exact on the ID type, the address and the prefix: `10.1.0.0/16` is not
    `10.1.0.0/17`, a host is `address 192.0.2.1` (or `/32`), not `/24`. The protocol and ports in
    the IDs are *not* compared. `sainfo … from <id>` and `remoteid` restrict a block further.

    **Evidence it looks at**

    The SPD dump or setkey script (`out` IPsec policies: source, destination, protocol, ports),
    racoon.conf's `sainfo` headers (`from address`, `remoteid` against the peer's `remote` and its
    `ph1id`). The IDs are predicted statically; blocks restricted by what only the negotiation shows
    (an fqdn `from`, an XAuth `group`, `clientaddr`) count as matching.

    **How to fix**

    Add `sainfo address <src> <proto> address <dst> <proto> { ... }` for the policy, or make an
    existing sainfo header (or the policy) use the same prefix.

    **References**

    racoon.conf(5) `sainfo`; ipsec-tools `sainfo.c` `getsainfo()`; failure catalog #4 `sainfo-not-found`.
    """
    conf = ev.conf
    assert conf is not None
    reported = 0
    seen: set[tuple[str, str]] = set()
    remotes, sainfos = RemoteIndex(conf), SainfoIndex(conf.sainfos)
    for p in outbound(ev):
        ids = phase2_ids(p)
        peer = ike_peer(p)
        if ids is None or reported >= MAX_HITS:
            continue
        remote = remotes.get(peer) if peer else None
        if peer is not None and remote is None:
            continue  # no-remote-config: phase 1 never starts, so no sainfo is ever looked up
        local, far = ids
        key = (local.text(), far.text())
        if key in seen or sainfos.find(local, far, peer=peer, remoteid=ph1id(remote) if remote else None):
            continue
        seen.add(key)
        reported += 1
        line = f"sainfo {local.sainfo_side()} {far.sainfo_side()}"
        yield Hit(f"For {selector(p)} racoon will send the phase-2 IDs IDci={local.text()} and "
                  f"IDcr={far.text()}; no sainfo in racoon.conf matches them and there is no `sainfo anonymous`, so "
                  f"racoon logs `failed to get sainfo.`: it never starts the negotiation for this traffic, and "
                  f"drops the quick mode when {peer or 'the peer'} proposes the same selectors.",
                  [policy_ref(p, "the selectors racoon sends as IDs"), *sainfo_refs(conf, local, far)],
                  fix=f"Add `{line} {{ ... }}` to racoon.conf (same algorithms as your other sainfo blocks), or change "
                      f"the closest sainfo header to exactly these addresses and prefixes.", peer=peer)


@rule("RDB232", "generate-policy-passive", title="generate_policy for a peer that static policies also cover",
      severity=Severity.WARNING, needs={"conf", "spd|script"},
      fix="Use generate_policy only for peers without static policies (road warriors), or remove the static ones.")
def generate_policy_over_static(ev: Evidence) -> Iterator[Hit]:
    """**What it means**

    The `remote` racoon uses for a peer has `generate_policy on` (or `unique`/`require`), yet static
    policies (lifetime 0, loaded by setkey) already cover that peer.

    **Why racoon fails**

    With `generate_policy`, racoon as responder rewrites the policy even when one exists (`Update
    the generated policy : …`, `such policy already exists. anyway replace it`): the static entry is
    replaced by a generated one that carries the phase-2 lifetime. When that SA lifetime ends the
    kernel removes the policy, and the static one is gone with it: traffic to the peer leaves in
    clear or stops until setkey runs again. Generated policies (non-zero `lifetime:` in the dump)
    are expected and are not reported.

    **Evidence it looks at**

    racoon.conf (`generate_policy` of the remote racoon picks for each peer) and the SPD (policy
    lifetimes) or the setkey script.

    **How to fix**

    Keep `generate_policy` for road-warrior peers only and give fixed peers their own `remote`
    block with `generate_policy off;`, or drop the static policies for the peers that initiate.

    **References**

    racoon.conf(5) `generate_policy`; ipsec-tools `isakmp_quick.c` `get_proposal_r()`; failure
    catalog #21 `generate-policy-passive`.
    """
    conf = ev.conf
    assert conf is not None
    if not any(_generating(r.generate_policy) for r in conf.remotes):
        return
    seen: set[str] = set()
    remotes = RemoteIndex(conf)
    for p in outbound(ev):
        peer = ike_peer(p)
        if p.generated or peer is None or peer in seen:
            continue
        seen.add(peer)
        remote = remotes.get(peer)
        if remote is None or not _generating(remote.generate_policy):
            continue
        where = remote.generate_policy_location or remote.location
        yield Hit(f"{remote.label()} has `generate_policy {remote.generate_policy}` and is the remote racoon uses "
                  f"for {peer}, which the static policy {selector(p)} already covers: when {peer} starts phase 2, "
                  f"racoon replaces that policy with a generated one that expires with the SA, and traffic to "
                  f"{peer} loses its policy when it does.",
                  [EvidenceRef.at(where, f"generate_policy {remote.generate_policy};"),
                   policy_ref(p, "static policy (lifetime 0)")],
                  fix=f"Give {peer} its own `remote {peer} {{ ... generate_policy off; }}` block, or remove the "
                      f"static policies for {peer} and let racoon generate them.", peer=peer)


@rule("RDB233", "no-policy-for-acquire", title="A `remote` peer that no SPD policy sends traffic to",
      severity=Severity.WARNING, needs={"conf", "spd|script"},
      fix="Add the IPsec policies for this peer (setkey spdadd), or `generate_policy on` if the peer initiates.")
def no_policy_for_acquire(ev: Evidence) -> Iterator[Hit]:
    """**What it means**

    racoon.conf has a `remote` block for a peer address, but no IPsec policy in the SPD (or the
    setkey script) protects traffic with that peer, and the block does not generate policies.

    **Why racoon fails**

    racoon starts negotiating only when the kernel sends an ACQUIRE, and the kernel sends one only
    for traffic an IPsec policy matches. Without a policy nothing happens on this side (the traffic
    leaves in clear), and when the peer initiates, racoon as responder finds no policy for the
    proposed selectors: `no policy found: …`, and the peer's quick mode times out.

    **Evidence it looks at**

    racoon.conf `remote` headers with an address (anonymous remotes and those with
    `generate_policy` are skipped) and the tunnel endpoints, transport peers and transport
    selectors of the IPsec policies in the SPD dump or the setkey script (a script without any
    `spdadd` and no dump: nothing is said).

    **How to fix**

    Load the policies (`spdadd … -P out ipsec esp/tunnel/ME-PEER/require;` and the `in` mirror), or
    let racoon generate them for peers that always initiate (`generate_policy on; passive on;`).

    **References**

    setkey(8); racoon.conf(5) `generate_policy`; failure catalog #13 `no-policy-for-acquire`.
    """
    conf = ev.conf
    assert conf is not None
    if ev.spd is None and not any(script.policies for script in ev.scripts):
        return  # scripts that only add SAs say nothing about where the policies come from
    unconfigured = unconfigured_peers(ev, conf)
    for remote, address in orphan_remotes(ev, conf):
        if any((":" in peer) == (":" in address) for peer in unconfigured):
            continue  # RDB230 reports the pair as a likely typo
        yield Hit(f"{remote.label()} sets up phase 1 with {address}, but no IPsec policy sends traffic to {address}: "
                  f"the kernel never asks racoon for SAs with it, and when {address} initiates, racoon finds no "
                  f"policy (`no policy found: …`) and phase 2 times out.",
                  [EvidenceRef.at(remote.location, remote.label(), "no IPsec policy for this peer")],
                  fix=f"Load the policies, e.g. `spdadd <local-net> <remote-net> any -P out ipsec "
                      f"esp/tunnel/<me>-{address}/require;` and the `in` mirror, or set `generate_policy on; "
                      f"passive on;` in {remote.label()} if {address} always initiates.", peer=address)


def orphan_remotes(ev: Evidence, conf: RacoonConf) -> list[tuple[Remote, str]]:
    """`remote` blocks for an address (not generating policies) that no IPsec policy reaches: not as
    IKE peer, nor inside the far selector of a transport policy."""
    ipsec = [p for p in policies(ev) if p.is_ipsec]
    peers = {peer for p in ipsec for peer in [ike_peer(p)] if peer}
    transport = PrefixIndex((far, p) for p in ipsec if p.tunnel is None
                            for far in [p.dst if p.direction == "out" else p.src] if far)
    found = []
    for remote in conf.remotes:
        address = ip_text(peer_of(remote) or "")
        if address is None or remote.selector.prefix is not None or _generating(remote.generate_policy):
            continue
        if address not in peers and next(transport.containing(address), None) is None:
            found.append((remote, address))
    return found


def _hooked(remote: Remote) -> bool:
    """The remote runs `script … phase1_up;` / `phase1_down;` hooks (mode-config clients install policies there)."""
    return any(d.name == "script" and {"phase1_up", "phase1_down"} & set(d.args) for d in remote.directives)


#: Levels that make the kernel ACQUIRE (start IKE) for traffic without an SA; `use` sends it in clear.
_ACQUIRING = ("require", "unique")


@rule("RDB234", "modecfg-require-reacquire-loop", title="Static `require` policies on a mode-config client",
      severity=Severity.INFO, needs={"conf", "spd|script"},
      fix="Let racoon's mode-config hooks install and remove the policies (`script \"phase1_up.sh\" phase1_up;` / "
          "`phase1_down`, or `generate_policy` on the server side) instead of loading them with setkey; or make "
          "them `use` instead of `require` if sending in clear while disconnected is acceptable.")
def modecfg_require_reacquire_loop(ev: Evidence) -> Iterator[Hit]:
    """**What it means**

    racoon.conf asks for mode config (`mode_cfg on;` in the `remote` block: a road-warrior client
    that gets its address from the server), and the SPD holds static, setkey-loaded outbound
    policies with level `require` (or `unique`) towards that server.

    **Why racoon fails**

    A static `require` policy never goes away. After a deliberate disconnect (or a phase-1 delete
    by the server) the next matching packet makes the kernel send an ACQUIRE and racoon connects
    again by itself: the client "cannot disconnect" or reconnects in a loop. Mode-config clients
    normally get their policies from the phase-1 up/down hooks, which remove them on disconnect.

    **Evidence it looks at**

    `mode_cfg on` in the `remote` block that racoon uses for the policy's peer, and the outbound
    IPsec policies with level `require`/`unique` and lifetime 0 (static, not generated). A remote
    with `phase1_up`/`phase1_down` hooks is left alone unless a setkey script loads the policies:
    in a dump the hooks' own policies look static too.

    **What would confirm it**

    Low confidence — an always-on client may want exactly this. The racoon log shows it: after
    `ISAKMP-SA deleted` a new `IPsec-SA request for <server> queued due to no phase1 found.` without
    the user asking for it.

    **How to fix**

    Install the policies from the `phase1_up`/`phase1_down` scripts, or drop `require`.

    **References**

    failure catalog #38; rdratlos/racoon-ipsec-tools hook design notes.
    """
    conf = ev.conf
    assert conf is not None
    if not any(r.mode_cfg for r in conf.remotes):
        return
    remotes = RemoteIndex(conf)
    found: dict[int, tuple[Remote, str, list[Policy]]] = {}
    for p in outbound(ev):
        if p.generated or not any(r.level.split(":")[0] in _ACQUIRING for r in p.requests):
            continue
        peer = ike_peer(p)
        remote = remotes.get(peer) if peer else None
        if remote is None or not remote.mode_cfg or (_hooked(remote) and not ev.scripts):
            continue  # with phase1_up/down hooks, policies in a dump are the hooks' own (removed on disconnect)
        found.setdefault(id(remote), (remote, peer or "?", []))[2].append(p)
    for remote, peer, found_policies in found.values():
        switch = next((d for d in remote.directives if d.name == "mode_cfg"), None)
        where = [EvidenceRef.at(switch.location, switch.text(), "mode-config client")] if switch else [
            EvidenceRef.at(remote.location, f"{remote.label()} {{", "mode-config client")]
        yield Hit(f"{len(found_policies)} static outbound polic{'y' if len(found_policies) == 1 else 'ies'} "
                  f"({selector(found_policies[0])} …) require IPsec to {peer}, whose `remote` block uses mode "
                  "config: after a disconnect the next matching packet makes the kernel ACQUIRE and racoon "
                  "reconnects by itself.",
                  [*where, *(policy_ref(p, "static require policy") for p in found_policies[:3])], peer=peer)
