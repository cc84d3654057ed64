"""setkey -c/-f input and shell scripts feeding setkey: commands, replay, expansion, reporting."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from racoondbg.parsers import setkey_script

from racoondbg.cli import demo_dir
from racoondbg.inputs import LoadOptions, sniff
from racoondbg.model.base import ParseError, secret_tag
from racoondbg.model.kernel import SetkeyScript
from racoondbg.sources import Source, read_head

SCRIPTS = Path(__file__).parent.parent / "fixtures" / "scripts"
SAMPLES = Path("/work/shared/reference/upstream-samples")


def load(path: Path, *, show_keys: bool = False) -> SetkeyScript:
    return setkey_script.load(Source(path, path.name), LoadOptions(show_keys=show_keys))


def test_seed_router_script_expands_the_jot_loop_into_2_plus_124_policies() -> None:
    script = load(SCRIPTS / "router-netstart.local")
    assert script.shell and script.flavour == "shell-heredoc"
    assert len(script.policies) == 126
    first, second = script.policies[:2]
    assert (first.src, first.dst, first.direction, first.requests[0].mode) == (
        "10.3.0.1/32", "10.3.0.0/24", "out", "transport")
    assert (second.direction, second.location.line) == ("in", 3)
    loop = script.policies[2:]
    assert [p.expansion for p in loop[::2]] == [f"n={n}" for n in range(2, 64)]
    last_out, last_in = loop[-2:]
    assert (last_out.src, last_out.dst, last_out.requests[0].text()) == (
        "0.0.0.0/0", "10.3.0.63/32", "esp/tunnel/10.3.0.1-10.3.0.63/require")
    assert (last_in.src, last_in.requests[0].src, last_in.location.line) == ("10.3.0.63/32", "10.3.0.63", 8)
    # the mail's loop has no `done`: reported, not fatal
    assert [e.location.line for e in script.errors] == [5] and "no `done`" in script.errors[0].message


def test_ibook_script_keeps_policy_order() -> None:
    script = load(demo_dir() / "netstart.local")
    assert [(p.direction, p.action, p.src, p.dst) for p in script.policies[:4]] == [
        ("out", "none", "10.3.0.2/32", "127.0.0.1/32"), ("in", "none", "127.0.0.1/32", "10.3.0.2/32"),
        ("out", "none", "10.3.0.2/32", "10.3.0.2/32"), ("in", "none", "10.3.0.2/32", "10.3.0.2/32")]
    assert script.policies[6].requests[0].text() == "esp/tunnel/10.3.0.2-10.3.0.1/require"
    assert not script.errors


def test_plain_setkey_file_with_a_manual_sa() -> None:
    script = load(SCRIPTS / "ipsec.conf")
    assert not script.shell and script.flavour == "setkey" and not script.errors
    assert [c.verb for c in script.commands] == ["flush", "spdflush", "spdadd", "spdadd", "spdadd", "spdadd", "add"]
    assert len(script.policies) == 4 and script.policies[2].location.line == 8
    sa = script.sas[0]
    assert (sa.src, sa.dst, sa.proto, sa.spi, sa.mode, sa.enc_alg, sa.auth_alg) == (
        "192.0.2.1", "198.51.100.7", "esp", 0x1001, "transport", "aes-cbc", "hmac-sha1")
    assert sa.enc_key == secret_tag(bytes.fromhex("00112233445566778899aabbccddeeff"))
    assert "00112233" not in script.commands[-1].text and sa.enc_key in script.commands[-1].text


def test_show_keys_keeps_them() -> None:
    script = load(SCRIPTS / "ipsec.conf", show_keys=True)
    assert script.sas[0].enc_key == "0x00112233445566778899aabbccddeeff"


def test_shell_loops_assignments_and_what_cannot_be_expanded() -> None:
    script = load(SCRIPTS / "gateway.sh")
    outs = [p for p in script.policies if p.direction == "out" and p.tunnel]
    assert [(p.dst, p.tunnel.dst if p.tunnel else None) for p in outs] == [
        ("10.10.0.0/16", "203.0.113.10"), ("10.20.0.0/16", "203.0.113.20"), ("10.30.0.0/16", "203.0.113.30")]
    assert outs[0].tunnel and outs[0].tunnel.src == "198.51.100.1"  # LOCAL=... assignment
    # a quoted delimiter means no expansion: `$n` stays and the command is refused, per value of n
    assert not [p for p in script.policies if p.requests and p.requests[0].mode == "transport"]
    messages = [(e.location.line, e.message) for e in script.errors]
    assert any(line == 18 and "cannot expand the loop words" in m for line, m in messages)
    assert any(line == 24 and "$REMOTE" in m for line, m in messages)
    assert any(line == 27 and "/etc/ipsec-extra.conf" in m for line, m in messages)
    assert sum("192.0.2.$n" in m for _, m in messages) == 3
    assert [c.verb for c in script.commands[:2]] == ["spdflush", "flush"]
    assert len(script.sas) == 1 and script.sas[0].spi == 0x1001


def test_upstream_sample_replays_flushes_and_deletes() -> None:
    sample = SAMPLES / "ipsec-tools/setkey/sample.cf"
    if not sample.exists():
        pytest.skip("upstream samples not available")
    script = load(sample)
    assert not script.errors
    verbs = [c.verb for c in script.commands]
    assert verbs.count("spdadd") == 10 and "spddelete" in verbs and verbs[-1] == "add"
    assert script.policies == []  # `spdflush;` near the end
    assert {sa.spi for sa in script.sas} >= {10001, 20001, 30001}
    ipcomp = next(sa for sa in script.sas if sa.proto == "ipcomp")
    assert ipcomp.comp_alg == "deflate"


def test_a_bad_command_is_reported_and_the_rest_kept(tmp_path: Path) -> None:
    path = tmp_path / "s.conf"
    path.write_text("spdadd 10.0.0.1 10.0.0.2 any -P out ipsec esp/tunnel/;\n"
                    "spdadd gw.example.org 10.0.0.2 any -P out none;\n"
                    "spdadd 10.0.0.1 10.0.0.2 any -P out ipsec esp/transport//require;\n")
    script = load(path)
    assert len(script.policies) == 1 and [e.location.line for e in script.errors] == [1, 2]
    assert "host name" in script.errors[1].message


@pytest.mark.parametrize("name", ["router-netstart.local", "ipsec.conf", "gateway.sh"])
def test_scripts_are_sniffed_as_scripts(name: str) -> None:
    path = SCRIPTS / name
    kind = sniff(Source(path, name), read_head(path))
    assert kind is not None and kind.name == "setkey-script"


@pytest.mark.parametrize("rel", ["ipsec-tools/racoon/racoon.conf.sample", "ipsec-tools/racoon/racoon.conf.sample-natt",
                                 "apple/racoon/racoon.conf", "ipsec-tools/racoon/psk.txt.sample"])
def test_racoon_files_are_not_claimed(rel: str) -> None:
    path = SAMPLES / rel
    if not path.exists():
        pytest.skip("upstream samples not available")
    head = read_head(path)
    for kind in ("setkey-script", "sad", "spd", "xfrm-policy", "xfrm-state"):
        from racoondbg.inputs import kind_named

        found = kind_named(kind)
        assert found is not None and found.sniff(Source(path, rel), head) == 0


_WORDS = st.sampled_from(["spdadd", "add", "flush", ";", "-P", "out", "in", "ipsec",
                          "esp/tunnel/1.2.3.4-5.6.7.8/require", "10.0.0.0/8", "10.0.0.1[500]", "any", "esp",
                          "0x10", "-E", "aes-cbc", '"key"', "-m", "tunnel",
                          "setkey -c <<E\n", "\nE\n", "for n in `jot 3 1`; do\n", "done\n", "$n", "\n", "#", "-A"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.one_of(_WORDS, st.text(max_size=10)), max_size=40))
def test_fuzz_never_a_traceback(tmp_path: Path, parts: list[str]) -> None:
    path = tmp_path / "fuzz.sh"
    path.write_text(" ".join(parts), encoding="utf-8", errors="surrogateescape")
    with contextlib.suppress(ParseError):
        load(path)


def test_nested_loops_are_expanded_up_to_a_bound(tmp_path: Path) -> None:
    path = tmp_path / "nested.sh"
    path.write_text("for a in `seq 1 200`; do\nfor b in `seq 1 200`; do\nsetkey -c <<E\n"
                    "spdadd 10.0.$a.0/24 10.1.$b.0/24 any -P out none;\nE\ndone\ndone\n")
    script = load(path)
    assert len(script.policies) == setkey_script.MAX_EXPANSIONS
    assert script.policies[-1].expansion == "a=50, b=200"
    assert "stopped after expanding" in script.errors[-1].message
