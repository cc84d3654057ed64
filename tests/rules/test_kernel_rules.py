"""The policy_* and sa_* rules: the seed's case, healthy dumps, the prefix index, aggregation."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from racoondbg.rules._kernel import PrefixIndex, SelectorIndex

from racoondbg.cli import demo_dir
from racoondbg.engine import run
from racoondbg.evidence import Evidence, load_evidence
from racoondbg.inputs import LoadOptions
from racoondbg.model.base import Location
from racoondbg.model.kernel import Policy
from racoondbg.sources import Source

RULES = Path(__file__).parent.parent / "fixtures" / "rules"
SCRIPTS = Path(__file__).parent.parent / "fixtures" / "scripts"


def analyse(*paths: Path) -> tuple[Evidence, list]:  # type: ignore[type-arg]
    ev = load_evidence([Source(p, p.name) for p in paths], options=LoadOptions(root=paths[0].parent))
    return ev, run(ev).findings


def test_seed_ibook_case_points_at_policy_and_sa_lines() -> None:
    demo = demo_dir()
    _, findings = analyse(demo / "spd.txt", demo / "sad.txt")
    mismatch = [f for f in findings if f.slug == "spd-sad-mode-mismatch"]
    assert len(mismatch) == 1
    f = mismatch[0]
    assert f.peer == "10.3.0.1" and "10.3.0.2 → 0.0.0.0/0" in f.message and "transport-mode" in f.message
    lines = {(e.path, e.line) for e in f.evidence}
    assert ("spd.txt", 39) in lines and ("spd.txt", 33) in lines  # the tunnel and the broader transport policy
    assert any(path == "sad.txt" for path, _ in lines)
    assert "unique:" in (f.fix or "") and "setkey -F" in (f.fix or "")
    dups = [f for f in findings if f.slug == "duplicate-sa"]
    assert {d.peer for d in dups} == {"10.3.0.1", "10.3.0.2"}
    assert all("3 mature" in d.message and "42 min ago" in d.message and "plus 1 dying" in d.message for d in dups)
    assert all(e.path == "sad.txt" and e.line for d in dups for e in d.evidence)


def test_demo_shows_both_seed_findings() -> None:
    ev = load_evidence([Source(demo_dir(), "demo")], options=LoadOptions(root=demo_dir()))
    slugs = [f.slug for f in run(ev).findings]
    assert "spd-sad-mode-mismatch" in slugs and "duplicate-sa" in slugs
    assert ev.spd is not None and ev.spd.flavour == "kame-2001"


def test_healthy_dumps_raise_neither_seed_finding() -> None:
    for case in ("spd-sad-mode-mismatch/ok_transport_hosts", "spd-sad-mode-mismatch/ok_tunnel_gateway",
                 "duplicate-sa/ok_rekey_overlap", "duplicate-sa/ok_peer_rekeyed_just_now"):
        folder = RULES / case
        _, findings = analyse(*sorted(folder.iterdir()))
        assert not {f.slug for f in findings} & {"spd-sad-mode-mismatch", "duplicate-sa"}, case


def test_router_script_shadowing_is_one_finding_for_all_124_tunnels() -> None:
    _, findings = analyse(SCRIPTS / "router-netstart.local")
    shadows = [f for f in findings if f.slug == "transport-policy-shadows-tunnel"]
    assert len(shadows) == 2  # one per direction, not one per loop iteration
    out = next(f for f in shadows if "10.3.0.1 → 10.3.0.0/24" in f.message)
    assert "61 more like it" in out.message and out.evidence[0].line == 2


def _policy(src: str, dst: str) -> Policy:
    return Policy(Location("t"), "out", "none", src, dst)


_NETS = st.one_of(
    st.builds(lambda a, plen: str(ipaddress.ip_network((a, plen), strict=False)),
              st.integers(0, 2**32 - 1), st.integers(0, 32)),
    st.builds(lambda a, plen: str(ipaddress.ip_network((a, plen), strict=False)),
              st.integers(0, 2**128 - 1), st.sampled_from([0, 1, 32, 48, 64, 127, 128])))


@settings(max_examples=200, deadline=None)
@given(selectors=st.lists(st.tuples(_NETS, _NETS), min_size=1, max_size=25))
def test_selector_index_finds_exactly_the_overlapping_pairs(selectors: list[tuple[str, str]]) -> None:
    items = [_policy(s, d) for s, d in selectors]
    index = SelectorIndex(items)

    def overlap(a: str, b: str) -> bool:
        x, y = ipaddress.ip_network(a), ipaddress.ip_network(b)
        return x.version == y.version and (x.subnet_of(y) or y.subnet_of(x))  # type: ignore[arg-type]

    for p in items:
        expected = {id(q) for q in items if q is not p and overlap(p.src or "", q.src or "")
                    and overlap(p.dst or "", q.dst or "")}
        assert {id(q) for q in index.overlapping(p)} == expected


def test_prefix_index_counts_match_what_it_yields() -> None:
    nets = ["10.0.0.0/8", "10.3.0.0/24", "10.3.0.2/32", "0.0.0.0/0", "192.0.2.0/24", "2001:db8::/32"]
    index = PrefixIndex((n, n) for n in nets)
    probe = "10.3.0.0/24"
    assert sorted(index.containing(probe)) == ["0.0.0.0/0", "10.0.0.0/8", "10.3.0.0/24"]
    assert list(index.inside(probe)) == ["10.3.0.2/32"]
    assert index.count_containing(probe) == 3


def test_a_healthy_linux_gateway_raises_nothing() -> None:
    folder = Path(__file__).parent.parent / "fixtures" / "scenarios" / "healthy-linux-gateway"
    ev, findings = analyse(folder / "spd.txt", folder / "sad.txt")
    assert ev.spd is not None and len(ev.spd.policies) == 7 and ev.sad is not None and len(ev.sad.sas) == 6
    assert findings == []
