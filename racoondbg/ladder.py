"""A capture drawn as a ladder: one column per peer, one arrow per ISAKMP message, gaps and resends marked."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from racoondbg.model.packets import Capture, IsakmpMessage

#: Silences longer than this (seconds) get their own line.
GAP = 1.0
ARROW = 34


def _pairs(capture: Capture) -> dict[tuple[str, str], list[IsakmpMessage]]:
    """Messages per peer pair, the first sender of each pair on the left."""
    pairs: dict[tuple[str, str], list[IsakmpMessage]] = {}
    for msg in capture.messages:
        key = (msg.src, msg.dst) if (msg.dst, msg.src) not in pairs else (msg.dst, msg.src)
        pairs.setdefault(key, []).append(msg)
    return pairs


def _label(msg: IsakmpMessage) -> str:
    parts = [msg.step or msg.exchange]
    if msg.notify:
        parts.append(",".join(msg.notify))
    if msg.encrypted:
        parts.append("[enc]")
    if msg.natt:
        parts.append(f":{msg.dport}")
    return " ".join(parts)


def _arrow(msg: IsakmpMessage, rightwards: bool) -> Text:
    label = _label(msg)
    shaft = "─" * max(2, ARROW - len(label) - 3)
    body = f"{label} {shaft}▶" if rightwards else f"◀{shaft} {label}"
    style = "yellow" if msg.retransmit_of else ("red" if msg.notify else ("dim" if msg.encrypted else ""))
    return Text(body.ljust(ARROW) if rightwards else body.rjust(ARROW), style=style)


def _unanswered(capture: Capture) -> set[int]:
    """Frames of the last message of exchanges that never completed and were never answered after it."""
    frames: set[int] = set()
    for ex in capture.exchanges:
        last = ex.unanswered()
        if last is not None and not any(m.src == last.dst and m.time > last.time for m in ex.messages):
            frames.update(m.frame for m in ex.transmissions(last))
    return frames


def render_capture_ladder(capture: Capture, console: Console) -> None:
    """Print ``capture`` as one ladder per peer pair (initiator on the left)."""
    if not capture.messages:
        console.print(f"{capture.location.path}: no ISAKMP messages in {capture.frames} frames.")
        return
    silent = _unanswered(capture)
    start = capture.messages[0].time
    for (left, right), messages in _pairs(capture).items():
        console.rule(f"{left}  ⇄  {right}")
        half = ARROW // 2
        console.print(Text(f"{'time':>10}  {'frame':<7}{left:<{half}}{right:>{ARROW - half}}", style="bold"))
        previous = None
        for msg in messages:
            if previous is not None and msg.time - previous > GAP:
                console.print(Text(f"{'':>10}  {'':<7}⋮ {msg.time - previous:.1f} s later", style="dim"))
            previous = msg.time
            line = Text(f"{msg.time - start:>+9.3f}s  #{msg.frame:<6}")
            line.append_text(_arrow(msg, rightwards=msg.src == left))
            if msg.retransmit_of:
                line.append(f"  ↻ resend of #{msg.retransmit_of}", style="yellow")
            if msg.frame in silent and msg is messages[-1]:
                line.append("  ✗ never answered", style="bold red")
            console.print(line)
        for err in capture.icmp_errors:
            if {err.quoted_src, err.quoted_dst} == {left, right}:
                console.print(Text(f"{err.time - start:>+9.3f}s  #{err.location.frame:<6}"
                                   f"ICMP {err.kind} from {err.reporter}", style="red"))
    extras = []
    if capture.keepalives:
        extras.append(f"{sum(capture.keepalives.values())} NAT-keepalives")
    if capture.esp:
        extras.append(f"{sum(f.packets for f in capture.esp)} ESP packets in {len(capture.esp)} SPI flows")
    if extras:
        console.print(Text("also: " + ", ".join(extras), style="dim"))
