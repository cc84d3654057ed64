"""racoon.conf: the typed model, includes, the sniffer, the input kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from racoondbg.parsers.racoon_conf import INPUT_KINDS, load, parse_text
from racoondbg.parsers.racoon_conf import sniff as conf_sniff

from racoondbg.inputs import LoadOptions, kind_named, sniff
from racoondbg.model.base import Location
from racoondbg.sources import Source

FULL = """\
# constructed 0.8 config (racoon-conf-grammar.md section 6, extended)
path pre_shared_key "/etc/racoon/psk.txt";
path certificate "/etc/racoon/certs";
log notify;
pfkey_buffer 8192;
listen { isakmp 192.0.2.1 [500]; isakmp_natt 192.0.2.1 [4500]; isakmp 2001:db8::1; strict_address; }
timer { counter 5; interval 10 sec; phase1 30 sec; phase2 15 sec; natt_keepalive 20 sec; }
padding { maximum_length 20; randomize off; }
privsep { user "racoon"; group 800; chroot "/var/empty"; }

remote "peer-a" {
\tremote_address 198.51.100.7;
\texchange_mode main, aggressive;
\tmy_identifier address;
\tpeers_identifier address 198.51.100.7;
\tpeers_identifier keyid file "/etc/racoon/peer.keyid";
\tverify_identifier on;
\tlifetime time 8 hour;
\tnat_traversal on;
\tdpd_delay 30;
\tproposal_check obey;
\tscript "phase1-up.sh" phase1_up;
\tproposal {
\t\tencryption_algorithm aes 128;
\t\thash_algorithm sha1;
\t\tauthentication_method pre_shared_key;
\t\tdh_group modp1024;
\t\tlifetime time 3600 sec;
\t}
}
remote "peer-b" inherit "peer-a" {
\tremote_address 203.0.113.20 [4500];
\tpeers_identifier address 203.0.113.20;
}
remote "peer-c" inherit "peer-b";

remote anonymous [500] {
\texchange_mode aggressive;
\tpassive on;
\tgenerate_policy unique;
\tmode_cfg on;
\tproposal { encryption_algorithm 3des; hash_algorithm sha1;
\t           authentication_method xauth_psk_server; dh_group 2; }
}

sainfo address 10.1.0.0/16 any address 10.2.0.0/16 any {
\tpfs_group modp1024;
\tlifetime time 1 hour;
\tencryption_algorithm aes 256, aes, 3des;
\tauthentication_algorithm hmac_sha1, hmac_sha256;
\tcompression_algorithm deflate;
}
sainfo subnet 10.0.0.1-10.0.0.99 [any] tcp anonymous from fqdn "branch.example.net" {
\tremoteid 3;
\tencryption_algorithm aes;
\tauthentication_algorithm hmac_sha1;
\tcompression_algorithm deflate;
}
sainfo address 2001:db8:1::/48 [80] tcp clientaddr group "staff" {
\tencryption_algorithm aes;
\tauthentication_algorithm hmac_sha1;
\tcompression_algorithm deflate;
}
sainfo anonymous {
\tencryption_algorithm aes;
\tauthentication_algorithm hmac_sha1;
\tcompression_algorithm deflate;
}
mode_cfg {
\tnetwork4 10.99.99.0; netmask4 255.255.255.0; pool_size 253;
\tdns4 10.0.12.1, 10.0.12.2;
\tsplit_network include 10.0.12.0/24, 10.0.13.0/24;
\tsplit_dns "example.local", "corp.example";
\tauth_source radius; accounting radius; save_passwd on;
}
radiuscfg { auth "192.0.2.10" 1812 "s3cret"; acct "192.0.2.10" "s3cret"; timeout 3; retries 2; }
ldapcfg { version 3; host "192.0.2.11"; port 389; base "dc=example,dc=net"; subtree on; }
gss_id_enc latin1;
complex_bundle off;
"""


@pytest.fixture
def full():  # type: ignore[no-untyped-def]
    return parse_text(FULL, "racoon.conf")


def test_full_config_parses_without_error(full) -> None:  # type: ignore[no-untyped-def]
    assert full.errors == []
    assert full.flavour == "ipsec-tools-0.8"
    assert full.paths == {"pre_shared_key": "/etc/racoon/psk.txt", "certificate": "/etc/racoon/certs"}
    assert full.path_locations["certificate"] == Location("racoon.conf", 3, 1)
    assert full.log_level == "notify"
    assert [(e.address, e.port) for e in full.listen] == [("192.0.2.1", 500), ("192.0.2.1", 4500),
                                                          ("2001:db8::1", None)]
    assert full.timers["phase2"].args == ("15", "sec")
    assert [b.name for b in full.blocks] == ["listen", "timer", "padding", "privsep", "mode_cfg", "radiuscfg",
                                             "ldapcfg"]


def test_remotes(full) -> None:  # type: ignore[no-untyped-def]
    a, b, c, anon = full.remotes
    assert a.selector.kind == "name" and a.selector.name == "peer-a"
    assert a.location == Location("racoon.conf", 11, 1)
    assert a.remote_address is not None and a.remote_address.address == "198.51.100.7"
    assert a.exchange_modes == ["main", "aggressive"]
    assert a.my_identifier is not None and a.my_identifier.kind == "address" and a.my_identifier.value is None
    assert [(i.kind, i.qualifier, i.value) for i in a.peers_identifiers] == [
        ("address", None, "198.51.100.7"), ("keyid", "file", "/etc/racoon/peer.keyid")]
    assert a.verify_identifier is True and a.nat_traversal == "on" and a.dpd_delay == 30
    assert a.lifetime is not None and a.lifetime.value == 8 * 3600
    (p,) = a.proposals
    assert p.location == Location("racoon.conf", 23, 2)
    assert (p.encryption.name, p.encryption.keylen) == ("aes", 128)  # type: ignore[union-attr]
    assert p.hash.name == "sha1" and p.dh_group.name == "modp1024"  # type: ignore[union-attr]
    assert p.auth_method.location == Location("racoon.conf", 26, 25)  # type: ignore[union-attr]
    assert p.lifetime is not None and p.lifetime.value == 3600
    assert a.files == [] and a.directive("script").args == ('"phase1-up.sh"', "phase1_up")  # type: ignore[union-attr]
    assert b.inherit is not None and b.inherit.name == "peer-a"
    assert b.remote_address is not None and (b.remote_address.address, b.remote_address.port) == ("203.0.113.20",
                                                                                                   4500)
    assert b.proposals == a.proposals and "proposals" in b.inherited
    assert [i.value for i in b.peers_identifiers] == ["203.0.113.20"]
    assert c.directives == [] and c.remote_address == b.remote_address
    assert anon.selector.kind == "anonymous" and anon.selector.port == 500
    assert anon.passive is True and anon.generate_policy == "unique" and anon.mode_cfg is True


def test_sainfos(full) -> None:  # type: ignore[no-untyped-def]
    s1, s2, s3, s4 = full.sainfos
    assert s1.local is not None and s1.local.endpoint is not None
    assert (s1.local.endpoint.address, s1.local.endpoint.prefix, s1.local.protocol) == ("10.1.0.0", 16, "any")
    assert [(a.name, a.keylen) for a in s1.encryption] == [("aes", 256), ("aes", None), ("3des", None)]
    assert [a.location.column for a in s1.encryption] == [23, 32, 37]
    assert s1.pfs_group is not None and s1.pfs_group.name == "modp1024"
    assert s1.lifetime is not None and s1.lifetime.value == 3600
    assert s2.local is not None and s2.local.endpoint is not None
    assert (s2.local.endpoint.range_end, s2.local.endpoint.port, s2.local.protocol) == ("10.0.0.99", None, "tcp")
    assert s2.remote is None and s2.peer_id is not None and s2.peer_id.value == "branch.example.net"
    assert s2.remoteid == 3
    assert s3.remote_clientaddr and s3.group == "staff"
    assert s3.local is not None and s3.local.endpoint is not None and s3.local.endpoint.port == 80
    assert s4.anonymous and not s1.anonymous
    assert s2.label() == 'sainfo subnet 10.0.0.1-10.0.0.99 tcp anonymous from fqdn branch.example.net'


def test_includes_are_followed_with_globs_and_path_include(tmp_path: Path) -> None:
    etc = tmp_path / "etc" / "racoon"
    (etc / "peers").mkdir(parents=True)
    main = etc / "racoon.conf"
    main.write_text('path include "/etc/racoon/peers";\ninclude "*.conf";\nlog debug;\n')
    (etc / "peers" / "b.conf").write_text("remote 198.51.100.2 { exchange_mode main; }\n")
    (etc / "peers" / "a.conf").write_text("\n\nremote 198.51.100.1 { exchange_mode main; }\n")
    conf = load(Source(main, "racoon.conf"), LoadOptions(root=tmp_path))
    assert conf.errors == []
    assert [r.selector.address for r in conf.remotes] == ["198.51.100.1", "198.51.100.2"]
    assert conf.remotes[0].location == Location(str(etc / "peers" / "a.conf"), 3, 1)
    assert conf.includes[0].files == (str(etc / "peers" / "a.conf"), str(etc / "peers" / "b.conf"))
    assert conf.files == ["racoon.conf", str(etc / "peers" / "a.conf"), str(etc / "peers" / "b.conf")]


def test_include_cycle_is_reported_once(tmp_path: Path) -> None:
    (tmp_path / "a.conf").write_text('include "b.conf";\nremote anonymous { exchange_mode main; }\n')
    (tmp_path / "b.conf").write_text('log info;\ninclude "a.conf";\n')
    conf = load(Source(tmp_path / "a.conf", "a.conf"), LoadOptions(root=tmp_path))
    assert [(e.location.path, e.location.line, e.location.column) for e in conf.errors] == [
        (str(tmp_path / "b.conf"), 2, 1)]
    assert "include cycle" in conf.errors[0].message
    assert len(conf.remotes) == 1


def test_include_depth_limit(tmp_path: Path) -> None:
    for i in range(12):
        (tmp_path / f"{i}.conf").write_text(f'include "{i + 1}.conf";\n')
    conf = load(Source(tmp_path / "0.conf", "0.conf"), LoadOptions(root=tmp_path))
    assert len(conf.errors) == 1 and "nested too deeply" in conf.errors[0].message


def test_template_is_reported_cleanly() -> None:
    conf = parse_text('path certificate "@sysconfdir@/cert";\nlog notify;\n', "racoon.conf.in")
    assert conf.flavour == "template"
    assert [(e.location.line, e.location.column) for e in conf.errors] == [(1, 19)]
    assert conf.paths["certificate"] == "@sysconfdir@/cert"


def test_kame_flavour_and_keepalive() -> None:
    conf = parse_text("remote anonymous {\n\texchange_mode aggressive,main;\n\tkeepalive;\n}\n")
    assert conf.errors == [] and conf.flavour == "kame"
    assert conf.remotes[0].directive("keepalive") is not None


@pytest.mark.parametrize(
    "text,score",
    [
        (FULL, 90),
        ('# only paths\npath pre_shared_key "/etc/racoon/psk.txt";\n', 80),
        ("listen {\n\tisakmp 192.0.2.1 [500];\n}\n", 70),
        ("log notify;\n", 40),
        ("#!/bin/sh\nsetkey -c <<EOF\nspdadd 10.0.0.1 10.0.0.2 any -P out ipsec esp/transport//require;\nEOF\n", 0),
        ("flush;\nspdflush;\nadd 10.0.0.1 10.0.0.2 esp 0x1000 -E 3des-cbc 0x00;\n", 0),
        ("Nov 28 17:00:01 gw racoon: INFO: remote anonymous { established\n", 0),
        ("# remote access notes\nthe remote office is down\n", 0),
    ],
)
def test_sniffer(tmp_path: Path, text: str, score: int) -> None:
    path = tmp_path / "input"
    path.write_text(text)
    assert conf_sniff(Source(path, "input"), text.encode()) == score


def test_registered_and_json_dump(tmp_path: Path) -> None:
    assert kind_named("conf") is INPUT_KINDS[0] and kind_named("racoon.conf") is INPUT_KINDS[0]
    path = tmp_path / "x"
    path.write_text(FULL)
    assert sniff(Source(path, "x"), FULL.encode()) is INPUT_KINDS[0]
    kind = INPUT_KINDS[0]
    assert kind.to_json is not None
    data = json.loads(json.dumps(kind.to_json(kind.load(Source(path, "x"), LoadOptions(root=tmp_path)))))
    assert data["remotes"][0]["selector"]["name"] == "peer-a"
    assert data["remotes"][0]["location"] == {"path": "x", "line": 11, "column": 1}
    assert "disk_path" not in data
    assert data["errors"] == []
    broken = kind.to_json(parse_text("remote anonymous {\n exchange_mode main\n}\n", "b"))
    assert broken["errors"] == [{"path": "b", "line": 2, "column": 20, "hint": broken["errors"][0]["hint"],
                                 "message": 'missing ";" at the end of the `exchange_mode` statement'}]
