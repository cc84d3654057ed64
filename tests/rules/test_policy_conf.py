"""Cross-checks of the SPD / setkey script against racoon.conf (remote and sainfo blocks)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from racoondbg.engine import run
from racoondbg.evidence import load_evidence
from racoondbg.inputs import LoadOptions
from racoondbg.model.base import Location
from racoondbg.model.conf import Endpoint, Identifier, Sainfo, SainfoId
from racoondbg.model.finding import Finding
from racoondbg.model.kernel import IpsecRequest, Policy
from racoondbg.sources import Source
from rules._policyconf import Phase2Id, SainfoIndex, find_sainfo, ike_peer, phase2_ids
from tests.rules.test_rule_fixtures import RULE_FIXTURES, load

HERE = Location("racoon.conf", 1)


def findings(case: str, slug: str) -> list[Finding]:
    return [f for f in run(load(RULE_FIXTURES / case)).findings if f.slug == slug]


def side(address: str, prefix: int | None = None, proto: str = "any") -> SainfoId:
    return SainfoId("address", HERE, Endpoint(address, HERE, prefix), proto)


def ids(src: str, dst: str, proto: str = "any", dport: int | None = None) -> tuple[Phase2Id, Phase2Id]:
    return Phase2Id.of(src, proto, None), Phase2Id.of(dst, proto, dport)


# --- phase-2 ID prediction and sainfo matching (racoon 0.8 getsainfo / ipsecdoi_chkcmpids)

def test_ids_are_address_for_full_prefixes_and_subnet_otherwise() -> None:
    p = Policy(HERE, "out", "ipsec", src="10.1.0.0/16", dst="192.0.2.9/32", proto="tcp", dst_port=443,
               requests=[IpsecRequest("esp", "transport")])
    local, remote = phase2_ids(p) or (None, None)
    assert local is not None and remote is not None
    assert local.text() == "IPv4_subnet 10.1.0.0/16 (protocol tcp, port any)"
    assert remote.text() == "IPv4_address 192.0.2.9 (protocol tcp, port 443)"
    assert remote.sainfo_side() == "address 192.0.2.9 [443] tcp"
    v6 = Phase2Id.of("2001:db8::/48", "any", None)
    assert (v6.kind(), v6.where()) == ("IPv6_subnet", "2001:db8::/48")


@pytest.mark.parametrize(("local", "remote", "matches"), [
    (side("10.1.0.0", 16), side("10.2.0.0", 16), True),
    (side("10.1.0.0", 17), side("10.2.0.0", 16), False),  # one prefix bit
    (side("10.2.0.0", 16), side("10.1.0.0", 16), False),  # swapped
    (side("10.1.0.0", 16, "udp"), side("10.2.0.0", 16, "udp"), True),  # protocol is not compared
    (None, side("10.2.0.0", 16), True),  # `sainfo anonymous address …`
    (side("10.1.0.0", 16), None, True),
])
def test_sainfo_sides_compare_type_address_and_prefix(local: SainfoId | None, remote: SainfoId | None,
                                                      matches: bool) -> None:
    s = Sainfo(HERE, local=local, remote=remote)
    found = find_sainfo([s], *ids("10.1.0.0/16", "10.2.0.0/16"), peer="198.51.100.7", remoteid=0)
    assert (found is s) is matches
    indexed = SainfoIndex([Sainfo(HERE, local=side("192.0.2.0", 24), remote=side("10.9.0.0", 16)), s])
    assert (indexed.find(*ids("10.1.0.0/16", "10.2.0.0/16"), peer="198.51.100.7", remoteid=0) is s) is matches


def test_host_written_with_or_without_slash32_matches_an_address_id() -> None:
    for written in (side("192.0.2.10"), side("192.0.2.10", 32)):
        s = Sainfo(HERE, local=written, remote=side("203.0.113.9"))
        assert find_sainfo([s], *ids("192.0.2.10/32", "203.0.113.9/32", "tcp", 80), peer=None, remoteid=0) is s
    wide = Sainfo(HERE, local=side("192.0.2.10", 24), remote=side("203.0.113.9"))
    assert find_sainfo([wide], *ids("192.0.2.10/32", "203.0.113.9/32"), peer=None, remoteid=0) is None


def test_from_and_remoteid_restrict_a_block() -> None:
    anon_from = Sainfo(HERE, peer_id=Identifier("address", HERE, "203.0.113.77"))
    assert find_sainfo([anon_from], *ids("10.1.0.0/16", "10.2.0.0/16"), peer="203.0.113.9", remoteid=0) is None
    assert find_sainfo([anon_from], *ids("10.1.0.0/16", "10.2.0.0/16"), peer="203.0.113.77", remoteid=0)
    fqdn = Sainfo(HERE, peer_id=Identifier("fqdn", HERE, "gw.example.net"))
    assert find_sainfo([fqdn], *ids("10.1.0.0/16", "10.2.0.0/16"), peer="203.0.113.9", remoteid=0) is fqdn
    numbered = Sainfo(HERE, remoteid=2)
    assert find_sainfo([numbered], *ids("10.1.0.0/16", "10.2.0.0/16"), peer=None, remoteid=0) is None
    assert find_sainfo([numbered], *ids("10.1.0.0/16", "10.2.0.0/16"), peer=None, remoteid=2) is numbered
    assert find_sainfo([numbered], *ids("10.1.0.0/16", "10.2.0.0/16"), peer=None, remoteid=None) is numbered


def test_ike_peer_is_the_far_tunnel_end_or_the_far_host() -> None:
    tunnel = Policy(HERE, "out", "ipsec", src="10.1.0.0/16", dst="10.2.0.0/16",
                    requests=[IpsecRequest("esp", "tunnel", "192.0.2.1", "198.51.100.7")])
    inbound = Policy(HERE, "in", "ipsec", src="10.2.0.0/16", dst="10.1.0.0/16",
                     requests=[IpsecRequest("esp", "tunnel", "198.51.100.7", "192.0.2.1")])
    host = Policy(HERE, "out", "ipsec", src="2001:db8::1/128", dst="2001:db8::5/128",
                  requests=[IpsecRequest("esp", "transport")])
    net = Policy(HERE, "out", "ipsec", src="192.0.2.1/32", dst="198.51.100.0/24",
                 requests=[IpsecRequest("esp", "transport")])
    assert [ike_peer(p) for p in (tunnel, inbound, host, net)] == ["198.51.100.7", "198.51.100.7", "2001:db8::5", None]


# --- the rules on their fixtures

def test_sainfo_not_found_names_the_exact_ids_and_the_closest_block() -> None:
    [hit] = findings("sainfo-not-found/hit_prefix_one_bit", "sainfo-not-found")
    assert hit.code == "RDB231" and hit.peer == "198.51.100.7"
    assert "IDci=IPv4_subnet 10.1.0.0/16 (protocol any, port any)" in hit.message
    assert "IDcr=IPv4_subnet 10.2.0.0/16 (protocol any, port any)" in hit.message
    assert "`sainfo address 10.1.0.0/16 any address 10.2.0.0/16 any { ... }`" in (hit.fix or "")
    spd, conf = hit.evidence
    assert spd.path.endswith("spd.txt") and spd.line == 1
    assert conf.path.endswith("racoon.conf") and conf.note == "local side 10.1.0.0/17 ≠ 10.1.0.0/16"


def test_sainfo_not_found_ipv6_host_against_a_subnet_block() -> None:
    [hit] = findings("sainfo-not-found/hit_ipv6_host_vs_subnet", "sainfo-not-found")
    assert "IDcr=IPv6_address 2001:db8:2::10" in hit.message
    assert hit.evidence[1].note == "remote side 2001:db8:2::/64 ≠ 2001:db8:2::10"
    assert "sainfo address 2001:db8:1::/64 any address 2001:db8:2::10 any" in (hit.fix or "")


def test_sainfo_from_another_peer_does_not_serve_this_one() -> None:
    [hit] = findings("sainfo-not-found/hit_from_other_peer", "sainfo-not-found")
    assert hit.peer == "203.0.113.9" and hit.evidence[0].path.endswith("setkey.conf")


def test_no_remote_config_points_at_the_likely_typo() -> None:
    [hit] = findings("no-remote-config/hit_address_typo", "no-remote-config")
    assert hit.code == "RDB230" and hit.peer == "198.51.100.7"
    assert "remotes: 198.51.100.8" in hit.message and "No policy uses remote 198.51.100.8 either" in hit.message
    assert not findings("no-remote-config/hit_address_typo", "no-policy-for-acquire")  # one finding for one typo
    [v6] = findings("no-remote-config/hit_transport_script", "no-remote-config")
    assert v6.peer == "2001:db8::5"
    [named] = findings("no-remote-config/hit_named_remote_freebsd", "no-remote-config")
    assert 'remotes: "branch"' in named.message and named.peer == "203.0.113.5"


def test_generate_policy_over_static_policies() -> None:
    [hit] = findings("generate-policy-passive/hit_static_under_anonymous", "generate-policy-passive")
    assert hit.code == "RDB232" and hit.peer == "198.51.100.7"
    [unique] = findings("generate-policy-passive/hit_unique_script", "generate-policy-passive")
    assert unique.code == "RDB232"  # RDB120 (no SPD entry until the peer initiates) would be wrong here


def test_remote_without_policies() -> None:
    [hit] = findings("no-policy-for-acquire/hit_forgotten_peer", "no-policy-for-acquire")
    assert hit.code == "RDB233" and hit.peer == "203.0.113.40"
    assert hit.evidence[0].excerpt == "remote 203.0.113.40"


def test_protocol_and_port_mismatch_is_not_a_sainfo_miss() -> None:
    path = Path("sainfo-not-found/ok_protocol_and_port_differ")
    assert (RULE_FIXTURES / path / "setkey.conf").read_text().count("tcp") == 2
    assert not findings(str(path), "sainfo-not-found")


# --- two bundles: what one side proposes against the other side's sainfo (RDB633)

def test_peer_lacks_sainfo_for_our_proposal_in_both_directions() -> None:
    hits = sorted(findings("sainfo-not-found/hit_pair_peer_narrower", "sainfo-not-found"), key=lambda f: f.message)
    cross = [h for h in hits if h.code == "RDB633"]
    assert [h.peer for h in cross] == ["198.51.100.7", "192.0.2.1"]
    a_to_b, b_to_a = cross
    assert a_to_b.message.startswith("gw-a's policy 203.0.113.0/25 → 203.0.113.128/25 makes it propose "
                                     "IDci=IPv4_subnet 203.0.113.0/25")
    assert "gw-b's racoon.conf has no sainfo for local 203.0.113.128/25 / remote 203.0.113.0/25" in a_to_b.message
    assert a_to_b.evidence[1].note == "local side 203.0.113.128/26 ≠ 203.0.113.128/25"
    assert "b!" in a_to_b.evidence[1].path or "/b/" in a_to_b.evidence[1].path
    assert "`sainfo address 203.0.113.128/25 any address 203.0.113.0/25 any { ... }`" in (a_to_b.fix or "")
    assert "remote 203.0.113.128/26" in b_to_a.message
    assert not [h for h in hits if h.code == "RDB231"]  # each side's own SPD matches its own sainfo


def test_generating_responder_with_a_wider_sainfo() -> None:
    [hit] = [f for f in findings("sainfo-not-found/hit_pair_generating_responder", "sainfo-not-found")
             if f.code == "RDB633"]
    assert hit.evidence[1].note == "remote side 203.0.113.0/24 ≠ 203.0.113.0/25"
    assert not [f for f in findings("sainfo-not-found/ok_pair_generating_responder", "sainfo-not-found")]


def test_peer_whose_own_spd_mirrors_the_proposal_is_left_to_its_own_rdb231(tmp_path: Path) -> None:
    pair = tmp_path / "pair"
    shutil.copytree(RULE_FIXTURES / "sainfo-not-found/ok_pair_generating_responder", pair)
    conf = pair / "b/root/etc/racoon/racoon.conf"
    conf.write_text(conf.read_text().replace("address 203.0.113.0/25 any {", "address 203.0.113.0/24 any {"))
    ev = load_evidence([Source(pair, "pair")], options=LoadOptions(root=pair))
    hits = [f for f in run(ev).findings if f.slug == "sainfo-not-found"]
    assert [(h.code, h.peer) for h in hits] == [("RDB231", "192.0.2.1")]
    assert "IDcr=IPv4_subnet 203.0.113.0/25" in hits[0].message
