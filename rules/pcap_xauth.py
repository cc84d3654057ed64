"""Packet rule: an XAuth / mode-config transaction exchange that gets no answer."""

from __future__ import annotations

from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import Severity

from .pcap_helpers import per_peer_pair, ref, schedule


@rule("RDB440", "xauth-modecfg-failure", title="An XAuth/mode-config transaction is never answered",
      severity=Severity.ERROR, needs={"pcap"},
      fix="Check the XAuth backend on the server (PAM/RADIUS reachability, user and group names) and its "
          "mode-config address pool.")
@per_peer_pair
def txn_unanswered(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: after phase 1, one side sent an ISAKMP transaction exchange (type 6:
    XAuth or mode-config, REQUEST/REPLY/SET/ACK) again and again and the other side never answered
    it.

    **Why racoon fails**: racoon as XAuth server waits for the client's REPLY and as client for the
    server's SET(status); a failing PAM/RADIUS lookup, an exhausted address pool or a client that
    never prompts for credentials leaves the transaction hanging until phase 1 is deleted. The
    handle disappears at once on rejection, so no later status shows why.

    **Evidence it looks at**: transaction exchanges whose only messages come from one side and were
    retransmitted.

    **How to fix**: check the server's auth backend and pool (`racoon` log with `-d`), the group
    name, and that the client really supports XAuth (its vendor IDs).

    **References**: failure catalog #35; draft-beaulieu-ike-xauth-02, draft-dukes-ike-mode-cfg-02.
    """
    for cap in ev.captures:
        for ex in cap.exchanges.where(lambda x: x.exchange_type == 6 and not x.answered):
            if not ex.originals:
                continue
            first = ex.originals[0]
            if len(ex.transmissions(first)) < 2:
                continue
            yield Hit(
                message=(f"{ex.initiator} sent a transaction exchange (XAuth/mode-config, message id "
                         f"{ex.message_id:08x}) {len(ex.transmissions(first))} times ({schedule(ex, first)}) and "
                         f"{ex.responder} never answered it."),
                evidence=[ref(first), ref(ex.last, "last retransmission")],
                peer=ex.responder,
            )
