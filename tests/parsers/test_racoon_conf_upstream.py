"""Every racoon.conf shipped by ipsec-tools, Apple and the rdratlos fork parses (see upstream/SOURCES.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from racoondbg.parsers.racoon_conf import parse_text

UPSTREAM = Path(__file__).parent.parent / "fixtures" / "conf" / "upstream"
CONFIGS = sorted(p for p in UPSTREAM.rglob("*") if p.is_file() and p.name != "SOURCES.md")
TEMPLATES = {"ipsec-tools/racoon/racoon.conf.in", "rdratlos/docs/examples/racoon.conf.default.in"}
#: rdratlos's own cftoken.l spells the block `ldapcfg`; racoon rejects this sample's `ldap_cfg { }`.
BROKEN = {"rdratlos/docs/examples/roadwarrior/server/racoon.conf"}


def parse(path: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    return parse_text(path.read_text(), str(path.relative_to(UPSTREAM)), root=tmp_path, disk_path=path)


def test_the_corpus_is_all_there() -> None:
    assert len(CONFIGS) == 20


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(UPSTREAM)))
def test_upstream_config_parses(path: Path, tmp_path: Path) -> None:
    name = str(path.relative_to(UPSTREAM))
    conf = parse(path, tmp_path)
    if name in TEMPLATES:
        assert conf.flavour == "template"
        assert len(conf.errors) == 1 and "unexpanded template placeholder" in conf.errors[0].message
    elif name in BROKEN:
        assert [(e.location.line, e.location.column, e.hint) for e in conf.errors] == [
            (227, 1, 'did you mean "ldapcfg"?')]
    else:
        assert conf.errors == [], [e.one_line() for e in conf.errors]


def test_apple_sample_is_apple_and_includes_the_vpn_directory(tmp_path: Path) -> None:
    generated = tmp_path / "var" / "run" / "racoon"
    generated.mkdir(parents=True)
    (generated / "198.51.100.9.conf").write_text(
        'remote 198.51.100.9 {\n\texchange_mode main;\n\tshared_secret keychain "198.51.100.9";\n'
        "\tdpd_algorithm dpd_blackhole_detect;\n"
        "\tdisconnect_on_idle idle_timeout 600 idle_direction idle_outbound;\n"
        "\tproposal { encryption_algorithm aes 256; hash_algorithm sha1; authentication_method pre_shared_key;"
        " dh_group 2; }\n}\n")
    conf = parse(UPSTREAM / "apple/racoon/racoon.conf", tmp_path)
    assert conf.errors == []
    assert conf.flavour == "apple"
    assert [r.selector.text() for r in conf.remotes] == ["::1 [8000]", "198.51.100.9"]
    included = conf.remotes[1]
    assert included.location.path == str(generated / "198.51.100.9.conf")
    assert included.location.line == 1
    assert included.shared_secret == "keychain"
    assert conf.includes[0].pattern == "/var/run/racoon/*.conf"
    assert conf.timers["auto_exit_delay"].args == ("3", "sec")


def test_inherit_sample_resolves_parents(tmp_path: Path) -> None:
    conf = parse(UPSTREAM / "ipsec-tools/racoon/racoon.conf.sample-inherit", tmp_path)
    anonymous, child, grandchild = conf.remotes
    assert child.inherit is not None and child.inherit.kind == "anonymous"
    assert child.exchange_modes == ["aggressive"] and child.nat_traversal == "force"
    assert child.certificate_type == "x509" and "certificate_type" in child.inherited
    assert child.proposals == anonymous.proposals
    assert grandchild.selector.port == 8000
    assert grandchild.nat_traversal == "force" and grandchild.exchange_modes == ["aggressive"]
    assert [p.auth_method.name for p in grandchild.proposals if p.auth_method] == ["pre_shared_key"]
    assert grandchild.lifetime is not None and grandchild.lifetime.value == 60


def test_roadwarrior_server_model(tmp_path: Path) -> None:
    conf = parse(UPSTREAM / "ipsec-tools/racoon/roadwarrior/server/racoon.conf", tmp_path)
    (remote,) = conf.remotes
    assert remote.selector.kind == "anonymous"
    assert remote.generate_policy == "on" and remote.nat_traversal == "on" and remote.dpd_delay == 20
    assert [f.role for f in remote.files] == ["certificate", "private_key"]
    mode_cfg = conf.block("mode_cfg")
    assert mode_cfg is not None
    assert mode_cfg.directive("network4") is not None
    assert mode_cfg.directive("banner").args == ('"/etc/racoon/motd"',)  # type: ignore[union-attr]
    assert conf.block("listen").directive("adminsock").args == ("disabled",)  # type: ignore[union-attr]
