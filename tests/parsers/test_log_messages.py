from __future__ import annotations

import pytest
from racoondbg.parsers.log_messages import EVENT_SPECS, event_index, matcher, normalise, pattern_of

from racoondbg.model.log import Kind


def kind_of(message: str) -> Kind | None:
    found = matcher().match(message)
    if found is None:
        return None
    spec = event_index().get(found[0].index)
    return spec.kind if spec else None


def test_every_event_format_comes_from_the_tsv() -> None:
    index = event_index()
    assert len({id(s) for s in index.values()}) == len(EVENT_SPECS)
    assert len(matcher().templates) > 2000


def test_conversions_become_groups() -> None:
    pattern, groups = pattern_of("pfs group mismatched: my:%d peer:%d")
    assert groups == 2 and pattern.endswith(r"my:(-?\d+)\ peer:(-?\d+)")
    assert normalise(r'Reading configuration from \"%s\"\n') == 'Reading configuration from "%s"'
    assert normalise(r"new cookie:\n%s\n") == "new cookie:"


@pytest.mark.parametrize("message,kind", [
    ("phase1 negotiation failed due to time up. 1f2e3d4c5b6a7988:0000000000000000", Kind.PH1_TIMEOUT),
    ("Phase 1 negotiation failed due to time up. 1f2e3d4c5b6a7988:0000000000000000", Kind.PH1_TIMEOUT),
    ("notification NO-PROPOSAL-CHOSEN received in identity exchange.", Kind.NOTIFY_RECEIVED),
    ("fatal NO-PROPOSAL-CHOSEN notify messsage, phase1 should be deleted.", Kind.NOTIFY_RECEIVED),
    ("Fatal NO-PROPOSAL-CHOSEN notify messsage, Phase 1 should be deleted.", Kind.NOTIFY_RECEIVED),
    ("exchange Aggressive not allowed in any applicable rmconf.", Kind.EXCHANGE_NOT_ALLOWED),
    ("not acceptable Aggressive mode", Kind.EXCHANGE_NOT_ALLOWED),
    ("the packet is retransmitted by 198.51.100.7[500] (3).", Kind.RETRANSMIT),
    ("the packet is retransmitted by 198.51.100.7[500].", Kind.RETRANSMIT),
    ("IPSec Phase1 started (Initiated by me).", Kind.PH1_START),
    ("IPSec Phase 1 started (Initiated by me).", Kind.PH1_START),
    ("ISAKMP-SA established spi:5b6a79881f2e3d4c:0d1e2f3a4b5c6d7e", Kind.PH1_ESTABLISHED),
    ("IPsec-SA established (update): satype=3 spi=0x0c4f2a91 mode=1", Kind.PH2_ESTABLISHED),
    ("couldn't find the pskey by address 203.0.113.9.", Kind.PSK_NOT_FOUND),
    ("NAT not detected", Kind.NAT_DETECTED),
    ("use own lifetime: my:3600 peer:28800", None),
    ("unsupported PF_KEY message REGISTER", None),
])
def test_version_variants_map_to_one_event(message: str, kind: Kind | None) -> None:
    assert kind_of(message) is kind


def test_values_are_returned_in_order() -> None:
    found = matcher().match("rejected enctype: DB(prop#1:trns#1):Peer(prop#1:trns#2) = 3DES-CBC:DES-CBC")
    assert found is not None and found[1][-2:] == ("3DES-CBC", "DES-CBC")


def test_trailing_blank_of_a_format_is_optional() -> None:
    assert matcher().match("Hashing 198.51.100.7[500] with algo #2") is not None
    assert matcher().match("Hashing 198.51.100.7[500] with algo #2 (NAT-T forced)") is not None
