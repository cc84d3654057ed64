from __future__ import annotations

from pathlib import Path

from racoondbg.parsers.isakmp_pcap import load
from rich.console import Console

from racoondbg.inputs import LoadOptions
from racoondbg.ladder import render_capture_ladder
from racoondbg.model.base import Location
from racoondbg.model.packets import Capture
from racoondbg.sources import Source

PCAPS = Path(__file__).parent / "fixtures" / "pcap"


def ladder(name: str) -> list[str]:
    console = Console(record=True, width=120, color_system=None)
    render_capture_ladder(load(Source(PCAPS / name, name), LoadOptions()), console)
    return console.export_text().splitlines()


def test_healthy_main_mode_alternates_sides() -> None:
    lines = ladder("main_mode_psk.pcap")
    assert "192.0.2.1  ⇄  192.0.2.2" in lines[0]
    arrows = [line for line in lines if "#" in line]
    assert len(arrows) == 9
    assert "MM1 ─" in arrows[0] and arrows[0].rstrip().endswith("▶")
    assert "◀─" in arrows[1] and arrows[1].rstrip().endswith("MM2")
    assert "MM5 [enc] :4500" in arrows[4]
    assert not any("never answered" in line for line in lines)


def test_retransmits_gaps_and_silence_are_visible() -> None:
    lines = ladder("wrong_psk.pcap")
    text = "\n".join(lines)
    assert text.count("↻ resend of #5") == 3
    assert "⋮ 2.0 s later" in text
    silent = ladder("silent_responder.pcap")
    assert silent[-1].rstrip().endswith("✗ never answered")
    assert "192.0.2.1  ⇄  192.0.2.9" in silent[0]


def test_icmp_errors_and_notifies_show() -> None:
    text = "\n".join(ladder("port_unreachable.pcap"))
    assert "ICMP port unreachable from 192.0.2.2" in text
    assert "INFO NO-PROPOSAL-CHOSEN" in "\n".join(ladder("proposal_mismatch.pcap"))


def test_empty_capture() -> None:
    console = Console(record=True, width=80, color_system=None)
    render_capture_ladder(Capture(Location("empty.pcap"), frames=3), console)
    assert "no ISAKMP messages in 3 frames" in console.export_text()
