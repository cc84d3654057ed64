"""Log negotiations joined with captured exchanges by their ISAKMP cookies.

racoon logs an ISAKMP-SA's cookies (``phase1 negotiation failed due to time up. <i>:<r>``,
``ISAKMP-SA established … spi:<i>:<r>``); a capture carries them in every message header. The
initiator cookie is chosen once per ISAKMP-SA (64 random bits), so a phase-1 negotiation in the log
and a phase-1 exchange in a capture with the same initiator cookie are the same attempt, seen from
two sides. The responder cookie must agree too when both sides know it (it is zero until the
responder's first reply arrives).

Exchanges are read through their scalar attributes, :attr:`Exchange.first` and
:attr:`Exchange.steps`; only :func:`first_reply` looks into an exchange's messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from racoondbg.model.log import LogAnalysis, Negotiation
from racoondbg.model.packets import ZERO_COOKIE, Capture, Exchange, IsakmpMessage

_PHASE1_TYPES = (2, 4)  # main mode (Identity Protection), aggressive mode
#: ISAKMP exchange type 5, Informational (notifications, deletes).
INFORMATIONAL = 5


@dataclass(frozen=True, slots=True)
class Match:
    """A phase-1 negotiation from a log and the captured exchange with the same cookies."""

    negotiation: Negotiation
    capture: Capture
    exchange: Exchange

    @property
    def last_step(self) -> str | None:
        """The last step the capture shows of this ISAKMP-SA (``MM4``, ``AM2`` …)."""
        return self.exchange.steps[-1] if self.exchange.steps else None


def split_cookies(text: str | None) -> tuple[str, str] | None:
    """``(icookie, rcookie)`` from racoon's ``i:r`` (or a lone ``i``), lower case; None when malformed."""
    if not text:
        return None
    icookie, _, rcookie = text.strip().lower().partition(":")
    rcookie = rcookie or ZERO_COOKIE
    if len(icookie) != 16 or len(rcookie) != 16 or not _hex(icookie + rcookie):
        return None
    return icookie, rcookie


def never_answered(neg: Negotiation) -> bool:
    """Whether racoon's own cookies say it never took a reply: it initiated, and the responder
    cookie it knows is still zero."""
    cookies = split_cookies(neg.cookies)
    return cookies is not None and cookies[1] == ZERO_COOKIE and cookies[0] != ZERO_COOKIE


def phase1_exchanges(neg: Negotiation, captures: Sequence[Capture]) -> Iterator[tuple[Capture, Exchange]]:
    """The captured phase-1 exchanges of ``neg``'s ISAKMP-SA, capture by capture."""
    if neg.phase == 1:
        yield from _exchanges_of(neg.cookies, captures)


def answered_on_wire(cookies: str | None, captures: Sequence[Capture]) -> bool:
    """Whether a capture shows the responder answering the ISAKMP-SA with racoon's cookies ``i:r``
    (its MM2/AM2 or a notify): then the answer arrived at the capture point, whatever racoon logged."""
    return any(first_reply(capture, ex) is not None for capture, ex in _exchanges_of(cookies, captures))


def never_took_reply(logs: Iterable[LogAnalysis], icookie: str) -> bool:
    """Whether a log says racoon gave up on the ISAKMP-SA with this initiator cookie without ever
    taking a reply (time-up with an all-zero responder cookie): whatever a capture shows arriving."""
    return any(neg.phase == 1 and never_answered(neg) and (split_cookies(neg.cookies) or ("",))[0] == icookie
               for log in logs for neg in log.negotiations)


def _exchanges_of(text: str | None, captures: Sequence[Capture]) -> Iterator[tuple[Capture, Exchange]]:
    cookies = split_cookies(text)
    if cookies is None or cookies[0] == ZERO_COOKIE:
        return
    icookie, rcookie = cookies
    for capture in captures:
        for ex in capture.exchanges_of(icookie):
            if ex.exchange_type in _PHASE1_TYPES and (ex.rcookie == rcookie or ZERO_COOKIE in (rcookie, ex.rcookie)):
                yield capture, ex


def phase1_matches(logs: Iterable[LogAnalysis], captures: Sequence[Capture]) -> list[Match]:
    """Every log phase-1 negotiation paired with every captured exchange of the same ISAKMP-SA, in log order."""
    if not captures:
        return []
    return [Match(neg, capture, ex) for log in logs for neg in log.negotiations
            for capture, ex in phase1_exchanges(neg, captures)]


def first_reply(capture: Capture, ex: Exchange) -> IsakmpMessage | None:
    """The responder's first answer to the matched ISAKMP-SA: its MM2/AM2, or an informational it
    sent under the same initiator cookie (a notify such as NO-PROPOSAL-CHOSEN), whichever came first;
    None when it never answered."""
    replies = [x.first for x in capture.exchanges_of(ex.icookie)
               if x.exchange_type == INFORMATIONAL and x.initiator == ex.responder]
    if ex.rcookie != ZERO_COOKIE:
        answer = next((m for m in ex.messages if m.role == "responder"), None)
        replies += [answer] if answer is not None else []
    return min(replies, key=_frame, default=None)


def _frame(msg: IsakmpMessage) -> int:
    return msg.frame


def _hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)
