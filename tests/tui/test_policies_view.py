"""Pilot tests of the Policies view on the demo's SPD and SAD, and the SA matching it relies on."""

from __future__ import annotations

import re

from racoondbg.cli import demo_dir
from racoondbg.model.base import Location
from racoondbg.model.kernel import Policy, SecurityAssociation
from racoondbg.tui.views.policies import PoliciesView, duplicates, serves
from tests.tui.conftest import ask, demo_app, run_async, screen_text, started, wait_for


@run_async
async def test_policies_show_mode_mismatch_duplicates_and_never_keys() -> None:
    app = demo_app()
    sad = (demo_dir() / "sad.txt").read_text()
    keys = set(re.findall(r"\b[0-9a-f]{8}\b", sad))
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        await pilot.press("4")
        view = app.query_one(PoliciesView)
        await wait_for(pilot, lambda: app.active_tab == "policies")
        tunnel = next(i for i, p in enumerate(view.policies) if p.tunnel is not None and p.direction == "in")
        view.spd.move_cursor(row=tunnel)
        await wait_for(pilot, lambda: view.policy is view.policies[tunnel])
        text = screen_text(app)
        assert "mode≠" in text and "dup" in text
        await pilot.press("a")
        await wait_for(pilot, lambda: view.sad.row_count == len(view.sas))
        shown = screen_text(app)
        spis = {f"{sa.spi:08x}" for sa in view.sas}
        assert not (keys - spis) & set(re.findall(r"\b[0-9a-f]{8}\b", shown))


@run_async
async def test_a_policy_finding_jumps_to_its_policy() -> None:
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot)
        await ask(pilot, "slash", "RDB201")
        await pilot.press("enter")
        view = app.query_one(PoliciesView)
        await wait_for(pilot, lambda: app.active_tab == "policies")
        finding = next(f for f in app.session.findings if f.slug == "spd-sad-mode-mismatch")
        assert view.policy is not None and view.policy.location.line == finding.evidence[0].line


def test_serves_and_duplicates() -> None:
    from racoondbg.model.kernel import IpsecRequest

    here = Location("spd.txt", 1)
    tunnel = Policy(here, "out", "ipsec", "10.1.0.0/16", "10.2.0.0/16",
                    requests=[IpsecRequest("esp", "tunnel", "192.0.2.1", "198.51.100.7")])
    transport = Policy(here, "out", "ipsec", "192.0.2.0/24", "198.51.100.0/24",
                       requests=[IpsecRequest("esp", "transport")])
    sa_tunnel = SecurityAssociation(here, "192.0.2.1", "198.51.100.7", "esp", "tunnel", 0x100)
    sa_transport = SecurityAssociation(here, "192.0.2.1", "198.51.100.7", "esp", "transport", 0x101)
    sa_other = SecurityAssociation(here, "192.0.2.9", "203.0.113.5", "esp", "tunnel", 0x102)
    assert serves(sa_tunnel, tunnel) == "yes"
    assert serves(sa_transport, tunnel) == "mode"
    assert serves(sa_other, tunnel) is None
    assert serves(sa_transport, transport) == "yes"
    assert serves(sa_tunnel, transport) == "mode"
    twin = SecurityAssociation(here, "192.0.2.1", "198.51.100.7", "esp", "tunnel", 0x103)
    dead = SecurityAssociation(here, "192.0.2.1", "198.51.100.7", "esp", "tunnel", 0x104, state="dead")
    assert duplicates([sa_tunnel, twin, dead, sa_transport]) == {id(sa_tunnel), id(twin)}
