"""The packet rules: what they say about the real captures, in words and numbers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from racoondbg.engine import run
from racoondbg.evidence import Evidence, load_evidence
from racoondbg.model.base import Location
from racoondbg.model.finding import Finding
from racoondbg.sources import Source

FIXTURES = Path(__file__).parent.parent / "fixtures"
PCAPS = FIXTURES / "pcap"
RULES = FIXTURES / "rules"


def evidence(*paths: Path) -> Evidence:
    return load_evidence([Source(p, p.name) for p in paths])


def findings(ev: Evidence, code: str) -> list[Finding]:
    return [f for f in run(ev).findings if f.code == code]


def test_silent_responder_says_the_peer_never_answered() -> None:
    (f,) = findings(evidence(PCAPS / "silent_responder.pcap"), "RDB401")
    assert "192.0.2.1 sent MM1 to 192.0.2.9 4 times (at 0, 2, 4, 6 s)" in f.message
    assert "Not even an ICMP error came back" in f.message
    assert [e.frame for e in f.evidence] == [1, 4] and f.peer == "192.0.2.9"


def test_port_unreachable_names_the_missing_daemon() -> None:
    (f,) = findings(evidence(PCAPS / "port_unreachable.pcap"), "RDB401")
    assert "ICMP port unreachable (4 times): nothing listens on UDP 500 at 192.0.2.2" in f.message


def test_blocked_4500_after_float() -> None:
    (f,) = findings(evidence(RULES / "udp-500-4500-blocked" / "hit_port_4500_dropped.pcap"), "RDB402")
    assert "answered on UDP 500 up to MM4" in f.message and "MM5 went unanswered" in f.message


@pytest.mark.parametrize("name,receiver,stalled,resent", [
    ("hit_mm5_responder_resends_mm4.pcap", "192.0.2.2", "MM5", "MM4"),
    ("hit_am2_initiator_resends_am1.pcap", "192.0.2.1", "AM2", "AM1"),
])
def test_a_stall_with_resends_names_both_readings(name: str, receiver: str, stalled: str, resent: str) -> None:
    """racoon resends its previous message when it rejects the next one and when that never arrives:
    the finding says the keys are the likely cause and what in the receiver's log would mean a loss."""
    (f,) = findings(evidence(RULES / "psk-value-mismatch" / name), "RDB403")
    assert f"stopped at {stalled}" in f.message and f"{receiver} kept resending its {resent}" in f.message
    assert "the keys (or the psk.txt entry" in f.message
    assert f"if the racoon log on {receiver} shows nothing" in f.message
    assert f"{stalled} is lost on the way" in f.message


def test_a_plain_refusal_has_no_loss_reading() -> None:
    (f,) = findings(evidence(PCAPS / "wrong_psk.pcap"), "RDB403")
    assert "kept resending" not in f.message and "lost on the way" not in f.message


def test_a_reply_racoon_never_took_is_not_called_a_key_mismatch() -> None:
    """racoon's log gave up with an all-zero responder cookie although the capture shows the peer's AM2:
    the answer never reached racoon (RDB634), so no key mismatch is claimed from the capture."""
    ev = evidence(*sorted((RULES / "udp-500-4500-blocked" / "hit_reply_to_unmapped_port").iterdir()))
    assert findings(ev, "RDB634") and not findings(ev, "RDB403")
    capture_only = evidence(RULES / "udp-500-4500-blocked" / "hit_reply_to_unmapped_port" / "capture.pcap")
    assert findings(capture_only, "RDB403")


def test_wrong_psk_stall_at_mm5() -> None:
    (f,) = findings(evidence(PCAPS / "wrong_psk.pcap"), "RDB403")
    assert "stopped at MM5" in f.message and "sent it 4 times (at 0, 2, 4, 6 s)" in f.message
    assert "encrypted notification instead of the next message (4 informational exchanges)" in f.message


def test_certificate_stall_at_mm5_is_an_identity_problem() -> None:
    ev = evidence(RULES / "id-mismatch" / "hit_certificate_mm5_unanswered.pcap")
    (f,) = findings(ev, "RDB404")
    assert "stopped at MM5" in f.message and "refused the identity" in f.message
    assert not findings(ev, "RDB403")


def test_proposal_mismatch_lists_what_was_offered() -> None:
    (f,) = findings(evidence(PCAPS / "proposal_mismatch.pcap"), "RDB410")
    assert "192.0.2.2 refused every phase-1 proposal in answer to MM1 (frame 1)" in f.message
    assert "offered: AES-CBC-128/SHA/MODP-2048/pre-shared key" in f.message


def test_aggressive_mode_refusal_mentions_strongswan_policy() -> None:
    (f,) = findings(evidence(PCAPS / "aggressive_refused.pcap"), "RDB412")
    assert "AUTHENTICATION-FAILED in answer to AM1" in f.message and "aggressive mode" in f.message


def test_quick_mode_steps() -> None:
    assert findings(evidence(PCAPS / "qm_ts_mismatch.pcap"), "RDB406")
    assert not findings(evidence(PCAPS / "qm_ts_mismatch.pcap"), "RDB405")
    (f,) = findings(evidence(RULES / "sainfo-not-found" / "hit_qm1_ignored.pcap"), "RDB405")
    assert "4 times (at 0, 10, 20, 30 s)" in f.message
    assert findings(evidence(PCAPS / "main_mode_kernel_abort.pcap"), "RDB407")


def test_nat_detected_by_nat_d_hashes() -> None:
    (f,) = findings(evidence(RULES / "nat-t-mismatch" / "hit_nat_without_float.pcap"), "RDB420")
    assert "NAT-D hashes in MM3 show that 198.51.100.2 (the sender of frame 3) is behind a NAT" in f.message
    assert "stayed on UDP 500" in f.message
    assert not findings(evidence(PCAPS / "nat_t.pcap"), "RDB420")


def test_fragments() -> None:
    (f,) = findings(evidence(RULES / "ike-fragmentation" / "hit_ike_fragment_lost.pcap"), "RDB425")
    assert "got 1 of up to the last one" in f.message
    (lost,) = findings(evidence(RULES / "ike-fragmentation" / "hit_ip_fragment_lost.pcap"), "RDB425")
    assert "never completed: only 1024 bytes arrived" in lost.message
    assert "The same happened 3 times in this capture" in lost.message


def test_dpd_dead_peer() -> None:
    (f,) = findings(evidence(PCAPS / "dpd_dead_peer.pcap"), "RDB435")
    assert "sent 4 dead-peer-detection probes" in f.message and "ICMP port unreachable" in f.message
    assert not findings(evidence(PCAPS / "dpd_healthy.pcap"), "RDB435")


@dataclass
class _Timers:
    counter: int
    interval: str


@dataclass
class _ConfWithTimers:
    """Stands in for the racoon.conf model (written on another branch): only what the rule reads."""

    location: Location
    timers: _Timers


@pytest.mark.parametrize("interval,seconds,verdict", [("10 sec", 10, "this matches"),
                                                      ("30 sec", 30, "this does NOT match"),
                                                      ("1 min", 60, "this does NOT match")])
def test_retransmit_schedule_compared_with_conf_timer(interval: str, seconds: int, verdict: str) -> None:
    ev = evidence(RULES / "retransmit-schedule" / "hit_racoon_every_10s.pcap")
    (plain,) = findings(ev, "RDB431")
    assert "sent AM1 6 times with a fixed interval of 10.0 s" in plain.message
    assert "likely implementation: racoon" in plain.message and "racoon.conf" not in plain.message
    ev.conf = _ConfWithTimers(Location("racoon.conf"), _Timers(5, interval))  # type: ignore[assignment]
    (f,) = findings(ev, "RDB431")
    assert f"racoon.conf says a resend every {seconds} s up to 5 times: {verdict}" in f.message


def test_strongswan_backoff_is_not_called_racoon() -> None:
    (f,) = findings(evidence(PCAPS / "wrong_psk.pcap"), "RDB431")
    assert "likely implementation: unknown" in f.message and "MM5 4 times" in f.message


def test_esp_one_way_names_the_flow_and_the_silent_peer() -> None:
    ev = evidence(RULES / "sa-up-no-traffic" / "hit_esp_one_way.pcap")
    (f,) = findings(ev, "RDB445")
    assert "198.51.100.2 sent 12 ESP in UDP 4500 packets to 203.0.113.2 (SPI 0x0c1d2e3f)" in f.message
    assert f.peer == "203.0.113.2" and [e.frame for e in f.evidence] == [10]


def test_a_few_esp_packets_one_way_are_not_yet_silence() -> None:
    import dataclasses

    from racoondbg.rules.pcap_esp import MIN_ONE_WAY

    ev = evidence(RULES / "sa-up-no-traffic" / "hit_esp_one_way.pcap")
    (cap,) = ev.captures
    cap.esp = [dataclasses.replace(flow, packets=MIN_ONE_WAY - 1) for flow in cap.esp]
    assert not findings(ev, "RDB445")
    cap.esp = [dataclasses.replace(flow, packets=MIN_ONE_WAY) for flow in cap.esp]
    assert findings(ev, "RDB445")


def test_esp_under_a_deleted_spi_names_both_spis_and_the_sa_held_instead() -> None:
    folder = RULES / "ph1-state-desync" / "hit_peer_sends_under_deleted_sa"
    (f,) = findings(evidence(folder / "capture.pcap", folder / "sad.txt"), "RDB635")
    assert "203.0.113.2 sends ESP to 198.51.100.2 under SPI 0x2b3c4d5e (12 packets)" in f.message
    assert "(it holds 0x4a5b6c7d)" in f.message and f.peer == "203.0.113.2"
    assert [e.frame for e in f.evidence if e.frame] == [11] and [e.line for e in f.evidence if e.line] == [12]


def test_esp_against_a_sad_of_another_time_says_nothing() -> None:
    """Our own outgoing SPI is not in the SAD either: the dump is not of the capture's time."""
    folder = RULES / "ph1-state-desync" / "ok_sad_dumped_at_another_time"
    assert not findings(evidence(folder / "capture.pcap", folder / "sad.txt"), "RDB635")
