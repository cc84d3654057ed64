"""The host part in a few lines, for the top of the text report."""

from __future__ import annotations

from rich.table import Column, Table

from racoondbg.evidence import Evidence
from racoondbg.live.status import peer_rows
from racoondbg.model.host import HostState


def racoon_version(ev: Evidence) -> str | None:
    """racoon's version: from ``racoon -V``, else from the start-up lines of its log."""
    if ev.host is not None and ev.host.racoon_version:
        return f"racoon {ev.host.racoon_version}"
    logged = next((log.racoon_version for log in ev.logs if log.racoon_version), None)
    return f"racoon {logged} (from its log's start-up lines)" if logged else None


def host_lines(ev: Evidence, host: HostState, *, verbose: bool = False) -> list[str]:
    """What the host is and what was looked at; every command with its outcome when ``verbose``."""
    system = host.os_release or host.platform
    where = "this box" if host.live else f"sysroot {host.root}"
    name = f"{host.hostname} " if host.hostname else ""
    lines = [f"Host: {name}({system}), collected from {where}"
             + (f" at {host.collected_at}" if host.collected_at else "")]
    version = racoon_version(ev) or "racoon (version unknown)"
    if host.racoon:
        running = "running as pid " + ", ".join(str(p.pid) for p in host.racoon)
    elif host.processes_read:
        running = "not running"
    else:
        running = "running state unknown"
    conf = f"; config {host.conf_path} ({host.conf_why})" if host.conf_path else "; no racoon.conf found"
    lines.append(f"{version}, {running}{conf}")
    if host.admin_socket_why:
        where = f"{host.admin_socket} " if host.admin_socket else ""
        lines.append(f"Admin socket (racoonctl): {where}{host.admin_socket_why}")
    if host.kernel_tool:
        lines.append(f"Kernel state read with {host.kernel_tool}: {host.kernel_tool_why}")
    holders = sorted({f"{s.port}/{s.who()}" for s in host.sockets})
    if host.sockets_read:
        lines.append("UDP 500/4500: " + (", ".join(holders) if holders else "nobody listens"))
    done = [c for c in host.commands if c.status in ("ran", "recorded")]
    failed = [c for c in done if c.exit_code not in (0, None)]
    missing = [c for c in host.commands if c.status not in ("ran", "recorded")]
    lines.append(f"Looked at: {len(done)} commands ({len(failed)} failed, {len(missing)} unavailable)")
    if verbose:
        for c in host.commands:
            took = f", {c.duration:.2f} s" if c.duration else ""
            code = f"exit {c.exit_code}" if c.exit_code is not None else c.status
            why = f" — {c.why}" if c.why else ""
            lines.append(f"  $ {c.line}  [{c.status}, {code}{took}]{why}")
    return lines


def status_table(ev: Evidence) -> Table | None:
    """The per-peer status table (phase 1, phase 2, last error, SAs in the kernel, IKE packets, and
    with a log and a capture: how many of the log's phase-1 attempts the capture shows)."""
    rows = peer_rows(ev)
    if not rows:
        return None
    # the short columns never wrap; the last error (a sentence) takes what is left. A column of a source
    # that was not given (no SAD, no capture, no log and capture together) is left out, not filled with dashes.
    optional = [(Column("SAs in kernel"), lambda r: r.sas), (Column("IKE packets"), lambda r: r.packets),
                (Column("ph1 on wire"), lambda r: r.wire())]
    shown = [(column, value) for column, value in optional if any(value(row) is not None for row in rows)]
    columns = [Column("peer", no_wrap=True), Column("phase 1", no_wrap=True), Column("phase 2", no_wrap=True),
               Column("last error"), *(column for column, _ in shown)]
    table = Table(*columns, box=None, header_style="bold", title_justify="left", pad_edge=False)

    def cell(value: object) -> str:
        return "—" if value is None else str(value)

    for row in rows:
        table.add_row(row.peer, cell(row.phase1), cell(row.phase2), cell(row.last_error),
                      *(cell(value(row)) for _, value in shown))
    return table
