"""Grouping ISAKMP messages into exchanges: roles, step names, retransmissions, IKE fragment sets.

Phase-1 messages share the initiator cookie and message id 0 (the responder cookie is still zero in
the first message), so an exchange is keyed by initiator cookie + message id, and by the exchange
type too when the message id is 0. A retransmission is the same bytes sent again by the same side.
"""

from __future__ import annotations

from racoondbg.model.packets import Exchange, FragmentDetail, IkeFragmentSet, IsakmpMessage

from . import isakmp_names as names

ZERO_COOKIE = "0" * 16
_PHASE1 = (2, 4)


class ExchangeBuilder:
    """Feed messages in capture order with :meth:`add`; read :attr:`exchanges` at the end."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []
        self._open: dict[tuple[str, int, int], Exchange] = {}
        self._sent: dict[tuple[int, str | None, int], tuple[int, str | None]] = {}
        self._fragments: dict[tuple[str, int], IkeFragmentSet] = {}
        self._counts: dict[int, dict[str, int]] = {}

    def add(self, msg: IsakmpMessage) -> None:
        key = (msg.icookie, msg.message_id, msg.exchange_type if msg.message_id == 0 else -1)
        ex = self._open.get(key)
        if ex is None:
            initiator, responder = msg.src, msg.dst
            if _sent_by_responder(msg):
                initiator, responder = responder, initiator
            ex = Exchange(msg.icookie, msg.rcookie, msg.message_id, msg.exchange_type, msg.exchange,
                          initiator, responder)
            self._open[key] = ex
            self.exchanges.append(ex)
            self._counts[id(ex)] = {}
        if ex.rcookie == ZERO_COOKIE and msg.rcookie != ZERO_COOKIE:
            ex.rcookie = msg.rcookie
        msg.role = "initiator" if msg.src == ex.initiator and (msg.src != msg.dst) else "responder"
        if msg.src == msg.dst:  # talking to itself (loopback tests): tell the sides apart by port
            first = ex.messages[0] if ex.messages else msg
            msg.role = "initiator" if msg.sport == first.sport else "responder"
        sent_key = (id(ex), msg.role, msg.digest)
        original = self._sent.get(sent_key)
        ex.messages.append(msg)
        fragment = self._fragment(msg) if msg.next_payload == 132 else None
        if original is not None:
            msg.retransmit_of, msg.step = original
            return
        msg.step = self._step(ex, msg, fragment)
        self._sent[sent_key] = (msg.frame, msg.step)
        if not ex.steps or ex.steps[-1] != msg.step:
            ex.steps.append(msg.step)

    def _fragment(self, msg: IsakmpMessage) -> FragmentDetail | None:
        """Record a Cisco-style fragment; returns it, or None when the message is not one."""
        detail = next((p.detail for p in msg.payloads if isinstance(p.detail, FragmentDetail)), None)
        if detail is None:
            return None
        key = (msg.icookie + msg.src, detail.fragment_id)
        seen = self._fragments.get(key)
        numbers = tuple(sorted({*(seen.numbers if seen else ()), detail.number}))
        last = detail.number if detail.last else (seen.last_number if seen else None)
        self._fragments[key] = IkeFragmentSet(seen.location if seen else msg.location, msg.src, msg.dst,
                                              msg.icookie, detail.fragment_id, numbers, last)
        return detail

    def _step(self, ex: Exchange, msg: IsakmpMessage, fragment: FragmentDetail | None) -> str:
        counts = self._counts[id(ex)]
        if fragment is not None and ex.steps and fragment.number > 1:
            return ex.steps[-1]
        if msg.ikev2:
            return msg.exchange.removeprefix("IKEv2 ")
        short = names.EXCHANGE_SHORT.get(msg.exchange_type, f"X{msg.exchange_type}")
        if msg.exchange_type in (5, 6):
            return short
        if msg.exchange_type == 2:
            return f"MM{_main_mode_step(msg, counts)}"
        counts["n"] = counts.get("n", 0) + 1
        if msg.exchange_type == 4 and msg.role == "responder":
            return "AM2"
        if msg.exchange_type == 4 and msg.payloads_of(1):
            return "AM1"
        if msg.exchange_type == 4 and counts["n"] == 1:
            return "AM1" if msg.rcookie == ZERO_COOKIE else "AM3"
        return f"{short}{counts['n']}"

    @property
    def fragment_sets(self) -> list[IkeFragmentSet]:
        return list(self._fragments.values())


def _sent_by_responder(msg: IsakmpMessage) -> bool:
    """Whether the first message we see of an exchange comes from the responder (capture began late)."""
    if msg.exchange_type not in _PHASE1 or msg.rcookie == ZERO_COOKIE or msg.encrypted:
        return False
    types = {p.type for p in msg.payloads}
    # MM2 and AM2 carry the chosen SA; MM4 carries KE like MM3, so only the SA case is certain.
    return 1 in types


def _main_mode_step(msg: IsakmpMessage, counts: dict[str, int]) -> int:
    """MM1..MM6 from content (SA, KE, encrypted) and role, so a late start still names steps right."""
    types = {p.type for p in msg.payloads}
    responder = msg.role == "responder"
    if msg.encrypted or 132 in types:
        step = 6 if responder else 5
    elif 1 in types:
        step = 2 if responder else 1
    elif 4 in types or 10 in types:
        step = 4 if responder else 3
    else:
        step = min(counts.get("mm", 0) + 1, 6)
    counts["mm"] = step
    return step
