"""Shared questions the packet rules ask of a capture (no rules here)."""

from __future__ import annotations

from typing import Any

from racoondbg.parsers.isakmp_names import IMPLEMENTATION_VIDS

from racoondbg.evidence import Evidence
from racoondbg.model.finding import EvidenceRef
from racoondbg.model.packets import Capture, Exchange, IsakmpMessage, SaDetail

ZERO_COOKIE = "0" * 16


def ref(msg: IsakmpMessage, note: str | None = None) -> EvidenceRef:
    """Evidence pointing at one message's frame, with the ladder line as excerpt."""
    return EvidenceRef.at(msg.location, msg.excerpt(), note)


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


def vendor_ids_of(cap: Capture, address: str) -> list[str]:
    """Every vendor ID name ``address`` sent, in order, without repeats."""
    seen: dict[str, None] = {}
    for m in cap.messages:
        if m.src == address:
            seen.update(dict.fromkeys(m.vendor_ids))
    return list(seen)


def implementation(cap: Capture, address: str) -> str | None:
    """The IKE implementation ``address`` runs, when its vendor IDs name it."""
    for vid in vendor_ids_of(cap, address):
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
