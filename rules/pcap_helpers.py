"""Shared questions the packet rules ask of a capture (no rules here)."""

from __future__ import annotations

import dataclasses
import functools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from racoondbg.parsers.isakmp_names import IMPLEMENTATION_VIDS

from racoondbg.engine import Hit
from racoondbg.evidence import Evidence
from racoondbg.model.base import Location
from racoondbg.model.finding import EvidenceRef
from racoondbg.model.packets import Capture, EspFlow, Exchange, IsakmpMessage, SaDetail, Wire


def ref(msg: IsakmpMessage, note: str | None = None) -> EvidenceRef:
    """Evidence pointing at one message's frame, with the ladder line as excerpt."""
    return EvidenceRef.at(msg.location, msg.excerpt(), note)


def per_peer_pair(check: Callable[[Evidence], Iterable[Hit]]) -> Callable[[Evidence], Iterator[Hit]]:
    """Collapse a rule's hits to one per capture and peer pair, saying how often the failure repeated.

    A capture of a thousand identical failed attempts should read as one finding, not a thousand.
    """

    @functools.wraps(check)
    def collapsed(ev: Evidence) -> Iterator[Hit]:
        firsts: dict[tuple[str | None, ...], Hit] = {}  # per group the first hit, how many, the last one
        counts: Counter[tuple[str | None, ...]] = Counter()
        lasts: dict[tuple[str | None, ...], Hit] = {}
        for hit in check(ev):
            first = hit.evidence[0] if hit.evidence else None
            pair = tuple(sorted(_addresses(first.excerpt or ""))) if first else ()
            key = (hit.peer, first.path if first else None, *pair)
            firsts.setdefault(key, hit)
            counts[key] += 1
            lasts[key] = hit
        for key, hit in firsts.items():
            count = counts[key]
            if count > 1:
                last_hit = lasts[key]
                last = last_hit.evidence[0].where() if last_hit.evidence else "later"
                hit = dataclasses.replace(hit, message=f"{hit.message} The same happened {count} times in "
                                                       f"this capture (the last one at {last}).")
            yield hit

    return collapsed


def _addresses(excerpt: str) -> set[str]:
    """The two addresses of a ladder line ``src:port -> dst:port ...``."""
    head = excerpt.split(" ")
    if len(head) >= 3 and head[1] == "->":
        return {head[0].rsplit(":", 1)[0], head[2].rsplit(":", 1)[0]}
    return set()


def sent_by(address: str) -> Callable[[Wire], bool]:
    """A test of what messages say (:meth:`Capture.messages_of`): sent by ``address``."""
    return lambda w: w.src == address


def schedule(ex: Exchange, msg: IsakmpMessage) -> str:
    """The transmissions of a message as "at 0, 10, 20 s" relative to the first."""
    sent = ex.transmissions(msg)
    start = sent[0].time
    return "at " + ", ".join(f"{m.time - start:.0f}" for m in sent) + " s"


def transforms(ex: Exchange) -> list[Any]:
    """The phase-1 transforms proposed in the exchange's first SA payload."""
    for m in ex.messages:
        for p in m.payloads:
            if isinstance(p.detail, SaDetail):
                return [t for prop in p.detail.proposals for t in prop.transforms]
    return []


def resent_after(ex: Exchange, last: IsakmpMessage) -> IsakmpMessage | None:
    """The last resend of the receiver's own previous message, when the receiver of ``last`` kept
    resending it after ``last`` went out (twice or more: one may cross ``last`` on the wire).

    racoon does that in two cases a capture cannot tell apart: ``last`` never arrived, or it arrived
    and failed (ph1_main returns before it cancels the resend when the received message does not
    decrypt or verify). The receiver's log says which.
    """
    previous = [m for m in ex.originals[:-1] if m.src == last.dst]
    if not previous:
        return None
    sent = ex.transmissions(last)[0].time
    later = [m for m in ex.transmissions(previous[-1]) if m.time > sent]
    return later[-1] if len(later) >= 2 else None


def esp_by_pair(cap: Capture) -> dict[tuple[str, str], list[EspFlow]]:
    """The capture's ESP flows by (source, destination) address."""
    flows: dict[tuple[str, str], list[EspFlow]] = {}
    for flow in cap.esp:
        flows.setdefault((flow.src, flow.dst), []).append(flow)
    return flows


def esp_ref(cap: Capture, flow: EspFlow) -> EvidenceRef:
    """Evidence pointing at an ESP flow's first packet."""
    return EvidenceRef.at(Location(cap.location.path, frame=flow.first_frame),
                          f"{flow.packets} ESP packets {flow.src} -> {flow.dst}, SPI 0x{flow.spi}")


def auth_methods(cap: Capture, icookie: str) -> set[str]:
    """The authentication methods proposed for the ISAKMP SA with this initiator cookie."""
    out: set[str] = set()
    for ex in cap.exchanges_of(icookie):
        for t in transforms(ex):
            attr = t.attribute("Authentication Method")
            if attr is not None:
                out.add(attr.text)
    return out


def uses_certificates(cap: Capture, icookie: str) -> bool:
    methods = auth_methods(cap, icookie)
    return bool(methods) and all("RSA" in m or "DSS" in m for m in methods)


def implementation(cap: Capture, address: str) -> str | None:
    """The IKE implementation ``address`` runs, when its vendor IDs name it."""
    for vid in cap.vendor_ids_from(address):
        if vid in IMPLEMENTATION_VIDS:
            return str(IMPLEMENTATION_VIDS[vid])
    return None


def phase1_done(cap: Capture, icookie: str) -> bool:
    return any(x.complete for x in cap.exchanges_of(icookie) if x.exchange_type in (2, 4))


def conf_timer(ev: Evidence) -> tuple[int | None, float | None]:
    """racoon.conf's ``timer { counter; interval; }`` when the config model has them, else (None, None).

    Read defensively: the config model is written elsewhere and may name these differently.
    """
    timers = getattr(ev.conf, "timers", None) if ev.conf is not None else None
    if timers is None:
        return None, None

    def pick(name: str) -> Any:
        value = timers.get(name) if isinstance(timers, dict) else getattr(timers, name, None)
        return getattr(value, "value", value)

    counter, interval = pick("counter"), pick("interval")
    try:
        return (int(counter) if counter is not None else None,
                _seconds(interval) if interval is not None else None)
    except (TypeError, ValueError):
        return None, None


def _seconds(value: Any) -> float:
    if hasattr(value, "total_seconds"):
        return float(value.total_seconds())
    text = str(value).strip().split()
    number = float(text[0])
    unit = text[1].lower() if len(text) > 1 else "sec"
    if unit.startswith("min"):
        return number * 60
    return number * 3600 if unit.startswith("hour") else number
