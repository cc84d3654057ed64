"""Hypothesis: mutated valid configs (and plain junk) never raise, and the config rules survive the result."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from racoondbg.parsers.racoon_conf import parse_text

from racoondbg.engine import INTERNAL_ERROR, run
from racoondbg.evidence import Evidence
from racoondbg.inputs import LoadOptions

UPSTREAM = Path(__file__).parent.parent / "fixtures" / "conf" / "upstream"
SEEDS = [p.read_text() for p in sorted(UPSTREAM.rglob("*.conf*")) if p.is_file()]
TOKENS = ["{", "}", ";", '"', "#", ",", "[500]", "[any]", "/24", "-10.0.0.9", "remote", "sainfo", "proposal",
          "anonymous", "inherit", "include", "path", "log", "192.0.2.1", "::1", "2001:db8::/32", "gw.example.com",
          "on", "off", "aes", "256", "lifetime", "time", "byte", "hour", "@VAR@", "\n", "\t", "keepalive", "\x00",
          "é", "\r\n"]

mutation = st.tuples(
    st.sampled_from(["delete", "insert", "duplicate", "truncate"]),
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=1, max_value=40),
    st.sampled_from(TOKENS),
)


def mutate(text: str, steps: list[tuple[str, int, int, str]]) -> str:
    for op, where, size, token in steps:
        pos = where % (len(text) + 1)
        if op == "delete":
            text = text[:pos] + text[pos + size:]
        elif op == "insert":
            text = text[:pos] + token + text[pos:]
        elif op == "duplicate":
            text = text[:pos] + text[pos:pos + size] + text[pos:]
        else:
            text = text[:pos]
    return text


def check(text: str, tmp: Path) -> None:
    conf = parse_text(text, "fuzz.conf", root=tmp, base_dir=tmp)
    lines = text.split("\n")
    for err in conf.errors:
        assert err.location.line is not None and 1 <= err.location.line <= len(lines)
        assert err.location.column is not None and err.location.column >= 1
        err.pretty()
    findings = run(Evidence(conf=conf, options=LoadOptions(root=tmp))).findings
    assert INTERNAL_ERROR.slug not in {f.slug for f in findings}, [f.debug for f in findings]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.sampled_from(SEEDS), steps=st.lists(mutation, min_size=1, max_size=6))
def test_mutated_configs_never_raise(seed: str, steps: list[tuple[str, int, int, str]], tmp_path: Path) -> None:
    check(mutate(seed, steps), tmp_path)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.sampled_from(list('{};"#,[]/- \n\tabcdefghijklmnopqrstuvwxyz0123456789.:@')),
                    max_size=300))
def test_junk_never_raises(text: str, tmp_path: Path) -> None:
    check(text, tmp_path)


def test_nul_byte_in_include_path_is_an_error_not_a_crash(tmp_path: Path) -> None:
    # hypothesis found it: glob raises ValueError on an embedded NUL
    conf = parse_text('include "/var/run/rac\x00oon/*.conf" ;\n', "fuzz.conf", root=tmp_path, base_dir=tmp_path)
    assert [e.location.line for e in conf.errors] == [1]
    assert "NUL" in conf.errors[0].message
    check('include "/var/run/rac\x00oon/*.conf" ;\n', tmp_path)
