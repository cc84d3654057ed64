"""The collector: gathers racoon's world from a live box (or a sysroot) into a collection directory.

A collection is a directory holding ``racoondbg-manifest.json``, the files racoon reads copied
under ``root/`` at their absolute path (``root/etc/racoon/racoon.conf``), and command outputs
under ``commands/KEY.out``. The manifest says what each file is (its evidence part), where it came
from, when, and which command produced it, plus what was learnt about the host itself (see
:mod:`racoondbg.live.manifest`). Nothing is ever written outside the collection directory.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from racoondbg import __version__
from racoondbg.bundle import copy_redacted, redact_cert_file, secure_dir
from racoondbg.evidence import Evidence, load_evidence
from racoondbg.inputs import LoadOptions, input_kinds
from racoondbg.live import logs, platforms, rawcapture, tables
from racoondbg.live.manifest import MANIFEST_NAME, SCHEMA
from racoondbg.live.runner import PATH, RECORDED_DIR, Output, Runner, is_root_user
from racoondbg.model.base import ParseError
from racoondbg.model.host import IKE_DAEMONS, CommandRun
from racoondbg.sources import Source

log = logging.getLogger(__name__)

#: Bounds on what is copied.
MAX_CERT_FILES = 200
MAX_FILE_BYTES = 64 * 1024 * 1024

_PATH_LINE = re.compile(r'^\s*path\s+(\w+)\s+"([^"]*)"\s*;', re.M)
_INCLUDE_LINE = re.compile(r'^\s*include\s+"([^"]*)"\s*;', re.M)
_LOGFILE_LINE = re.compile(r'^\s*path\s+logfile\s+"([^"]*)"\s*;', re.M)
_VERSION = re.compile(r"ipsec-tools[- ](\d[\w.\-]*)")

#: How the capture without tcpdump is recorded among the commands (it runs in racoondbg itself).
RAW_CAPTURE = ("raw-socket-capture", "-i", "any", rawcapture.FILTER)


@dataclass(frozen=True, slots=True)
class CollectOptions:
    root: Path = Path("/")
    since: datetime | None = None
    window: timedelta = timedelta(hours=1)
    capture: int = 0
    redact: bool = True
    timeout: float = 20.0


@dataclass(slots=True)
class _Collection:
    out: Path
    options: CollectOptions
    runner: Runner
    progress: Callable[[str], None]
    files: list[dict[str, Any]] = field(default_factory=list)
    host: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def root(self) -> Path:
        return self.options.root

    def under_root(self, path: str) -> Path:
        return self.root / path.lstrip("/")

    # --- recording -------------------------------------------------------------------------------

    def add_file(self, origin: str, part: str | None, what: str, *, directory: bool = False,
                 redact_as: str | None = None) -> bool:
        """Copy a file (or a certificate directory) of the host into the collection.

        ``part`` is the evidence part the file fills (None: read only through another file, like an
        included config); ``redact_as`` names the format to redact it as when that differs.
        """
        src = self.under_root(origin)
        if not (src.is_dir() if directory else src.is_file()):
            return False
        if any(f["from"] == origin for f in self.files):
            return True
        rel = "root/" + origin.lstrip("/")
        dst = self.out / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            redacted = self._copy_dir(src, dst) if directory else self._copy_file(src, dst, redact_as or part)
        except OSError as err:
            self.notes.append(f"could not read {origin}: {err.strerror or err}")
            return False
        self.files.append({"path": rel, "part": part, "from": origin, "what": what, "when": _now(),
                           "command": None, "redacted": redacted})
        return True

    def _copy_file(self, src: Path, dst: Path, part: str | None) -> bool:
        if src.stat().st_size > MAX_FILE_BYTES:
            raise OSError(0, f"larger than {MAX_FILE_BYTES} bytes; not copied")
        if self.options.redact:
            return copy_redacted(src, dst, part)
        shutil.copy2(src, dst)
        return False

    def _copy_dir(self, src: Path, dst: Path) -> bool:
        dst.mkdir(parents=True, exist_ok=True)
        redacted = False
        for n, entry in enumerate(sorted(src.iterdir())):
            if n >= MAX_CERT_FILES:
                self.notes.append(f"{src}: more than {MAX_CERT_FILES} entries; the rest was not copied")
                break
            target = dst / entry.name
            if entry.is_symlink():
                link = os.readlink(entry)
                if link.startswith("/") and Path(link).parent == Path("/" + str(src.relative_to(self.root))):
                    link = Path(link).name
                os.symlink(link, target)
            elif entry.is_file() and entry.stat().st_size <= MAX_FILE_BYTES:
                if self.options.redact:
                    redacted = redact_cert_file(entry, target) or redacted
                else:
                    shutil.copy2(entry, target)
        shutil.copymode(src, dst)
        return redacted

    def command(self, key: str, argv: list[str], part: str | None = None, what: str | None = None,
                timeout: float | None = None) -> Output:
        self.progress(" ".join(argv))
        output = self.runner.run(key, argv, timeout=timeout)
        if output.path is not None and part is not None and output.run.exit_code == 0 and _has_content(output.path):
            redacted = False
            if self.options.redact and part in ("sad", "log", "script"):
                clear = output.path.with_suffix(".clear")
                output.path.rename(clear)
                redacted = copy_redacted(clear, output.path, part)
                clear.unlink()
            self.files.append({"path": f"commands/{key}.out", "part": part, "from": output.run.line,
                               "what": what or output.run.line, "when": _now(), "command": list(argv),
                               "redacted": redacted})
        return output

    def at(self, output: Output, line: int | None = None) -> dict[str, Any]:
        """Where a fact was read: the command output (cited by its command line), the line and its text."""
        text = None
        if line is not None and output.path is not None:
            lines = output.text().splitlines()
            text = lines[line - 1].strip() if 0 < line <= len(lines) else None
        return {"path": output.run.line, "line": line, "text": text}


def _has_content(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(4096)
    return bool(head.strip()) and not head.lstrip().startswith(b"-- No entries --")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def collect(out: Path, options: CollectOptions, progress: Callable[[str], None] | None = None) -> Path:
    """Collect into the (new or empty) directory ``out``; returns the manifest's path."""
    out.mkdir(parents=True, exist_ok=True)
    secure_dir(out)
    runner = Runner(options.root, out, options.timeout)
    col = _Collection(out, options, runner, progress or (lambda _msg: None))
    _collect_all(col)
    manifest = {
        "schema": SCHEMA,
        "tool": f"racoondbg {__version__}",
        "created": _now(),
        "root": str(options.root),
        "live": runner.live,
        "redacted": options.redact,
        "host": {**col.host, "notes": col.notes},
        "files": col.files,
        "commands": [
            {"key": r.key, "argv": list(r.argv), "status": r.status, "exit_code": r.exit_code,
             "duration": r.duration, "output": f"commands/{r.key}.out" if (out / "commands" / f"{r.key}.out").exists()
             else None, "why": r.why}
            for r in runner.runs
        ],
    }
    path = out / MANIFEST_NAME
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _collect_all(col: _Collection) -> None:
    host = col.host
    live = col.runner.live
    uname = col.command("uname", ["uname", "-srn"])
    name = (platforms.from_uname(uname.text()) if uname.ok else None) or (
        platforms.detect_live() if live else platforms.detect_files(col.root))
    plat = platforms.PLATFORMS.get(name, platforms.PLATFORMS["linux"])
    host.update(platform=name, os_release=platforms.os_release(col.root, name),
                hostname=(uname.text().split()[1] if uname.ok and len(uname.text().split()) > 1
                          else socket.gethostname() if live else None),
                is_root=is_root_user() if live else None)
    if live and not host["is_root"]:
        col.notes.append("not root: setkey/ip xfrm cannot read the SAD and SPD, and the processes holding "
                         "sockets are hidden; run as root for the full picture (continuing without them)")
    racoon = _processes(col, plat)
    conf = _find_conf(col, plat, racoon)
    _admin_socket(col, conf)
    _version(col)
    _pfkey_and_kernel(col, name)
    _sockets(col, plat)
    _sysctls(col, plat, _routing(col, plat))
    for script in plat.script_candidates:
        col.add_file(script, "script", "setkey script loaded at boot")
    _logs(col, plat, racoon, conf)
    if col.options.capture or not col.runner.live:
        _capture(col)


def _processes(col: _Collection, plat: platforms.Platform) -> tuple[str, ...] | None:
    """List IKE daemons; returns racoon's command line when it runs."""
    ps = col.command("ps", list(plat.ps))
    col.host["processes_read"] = ps.ok
    col.host["processes_at"] = col.at(ps) if ps.ok else None
    found: list[dict[str, Any]] = []
    for row in tables.parse_ps(ps.text()) if ps.ok else []:
        name = row.argv[0].rsplit("/", 1)[-1] if row.argv else ""
        if name in IKE_DAEMONS:
            found.append({"pid": row.pid, "argv": list(row.argv), "at": col.at(ps, row.line)})
    col.host["processes"] = found
    for pidfile in plat.pidfiles:
        path = col.under_root(pidfile)
        if path.is_file():
            text = path.read_text(errors="replace").strip()
            col.host.update(pidfile=pidfile, pidfile_pid=int(text) if text.isdigit() else None)
            break
    racoon = [p for p in found if p["argv"][0].rsplit("/", 1)[-1] == "racoon"]
    return tuple(racoon[0]["argv"]) if racoon else None


def _find_conf(col: _Collection, plat: platforms.Platform, racoon: tuple[str, ...] | None) -> Path | None:
    named = tables.conf_argument(racoon) if racoon else None
    candidates = [(named, f"named by racoon's -f argument ({' '.join(racoon or ())})")] if named else []
    candidates += [(c, "the usual place on this platform") for c in plat.conf_candidates]
    for path, why in candidates:
        if path and col.add_file(path, "conf", "racoon.conf"):
            col.host.update(conf_path=path, conf_why=why)
            _conf_named_files(col, path)
            return col.under_root(path)
    col.notes.append("no racoon.conf found (looked at " + ", ".join(c for c, _ in candidates if c) + ")")
    return None


def conf_paths(text: str) -> dict[str, str]:
    """racoon.conf's ``path`` directives, read textually (the fallback when no config parser is installed)."""
    return {kind: value for kind, value in _PATH_LINE.findall(text)}


def parsed_conf_paths(col: _Collection, conf: str) -> dict[str, str] | None:
    """``RacoonConf.paths`` from the config parser (includes followed), or None when it cannot say."""
    for kind in (k for k in input_kinds() if k.part == "conf" and not k.directory):
        try:
            parsed = kind.load(Source(col.under_root(conf), conf), LoadOptions(root=col.root))
        except (ParseError, OSError, ValueError, UnicodeError):
            continue
        paths = getattr(parsed, "paths", None)
        if isinstance(paths, dict) and paths:
            return {str(k): str(v) for k, v in paths.items()}
    return None


def _conf_named_files(col: _Collection, conf: str) -> None:
    """Copy what racoon.conf names: includes, the psk file, the certificate directory, the pid file."""
    seen: set[str] = set()
    queue = [conf]
    paths: dict[str, str] = {}
    while queue:
        current = queue.pop(0)
        if current in seen:
            continue
        seen.add(current)
        try:
            text = col.under_root(current).read_text(errors="replace")
        except OSError:
            continue
        paths = {**conf_paths(text), **paths}
        base = paths.get("include", str(Path(conf).parent))
        for pattern in _INCLUDE_LINE.findall(text):
            full = pattern if pattern.startswith("/") else f"{base.rstrip('/')}/{pattern}"
            for match in sorted(glob.glob(str(col.under_root(full))))[:50]:
                origin = "/" + str(Path(match).relative_to(col.root))
                if col.add_file(origin, None, f"included by {current}", redact_as="conf"):
                    queue.append(origin)
    paths = parsed_conf_paths(col, conf) or paths
    if "pre_shared_key" in paths:
        psk = _absolute(paths["pre_shared_key"], conf)
        if not col.add_file(psk, "psk", "pre-shared keys (path pre_shared_key)"):
            col.notes.append(f"racoon.conf names {psk} (path pre_shared_key) but it is not there")
    if "certificate" in paths:
        certs = _absolute(paths["certificate"], conf)
        if not col.add_file(certs, "certs", "certificate directory (path certificate)", directory=True):
            col.notes.append(f"racoon.conf names {certs} (path certificate) but it is not there")
    if "pidfile" in paths:
        pidfile = _absolute(paths["pidfile"], "/var/run/x")
        path = col.under_root(pidfile)
        if path.is_file():
            text = path.read_text(errors="replace").strip()
            col.host.update(pidfile=pidfile, pidfile_pid=int(text) if text.isdigit() else None)


def _absolute(value: str, relative_to: str) -> str:
    return value if value.startswith("/") else str(Path(relative_to).parent / value)


#: Where racoon puts its admin socket (racoonctl talks to it) when racoon.conf does not say.
ADMIN_SOCKETS = ("/var/racoon/racoon.sock", "/var/run/racoon/racoon.sock", "/var/run/racoon.sock")
_ADMINSOCK_LINE = re.compile(r'^\s*adminsock\s+(?:"([^"]*)"|(disabled))', re.M)


def _admin_socket(col: _Collection, conf: Path | None) -> None:
    """racoon's admin socket: configured (``listen { adminsock ... }``) and whether it exists."""
    configured = None
    if conf is not None:
        m = _ADMINSOCK_LINE.search(conf.read_text(errors="replace"))
        if m and m.group(2):
            col.host["admin_socket"] = None
            col.host["admin_socket_why"] = "disabled in racoon.conf (adminsock disabled)"
            return
        configured = m.group(1) if m else None
    for path in [configured] if configured else ADMIN_SOCKETS:
        if path and os.path.lexists(col.under_root(path)):
            col.host.update(admin_socket=path, admin_socket_why="present")
            return
    col.host.update(admin_socket=configured, admin_socket_why="absent" if configured else "none found")


def _version(col: _Collection) -> None:
    out = col.command("racoon-V", ["racoon", "-V"], timeout=5)
    text = out.text() + "\n" + (out.stderr or "")
    m = _VERSION.search(text)
    if m:
        line = text[: m.start()].count("\n") + 1
        col.host.update(racoon_version=m.group(1), racoon_version_at=col.at(out, line))


def _pfkey_and_kernel(col: _Collection, name: str) -> None:
    host = col.host
    if name in ("linux", "android"):
        proc_net = col.under_root("/proc/net")
        if col.runner.live or proc_net.is_dir():
            host["pfkey"] = (proc_net / "pfkey").exists()
            host["pfkey_at"] = {"path": "/proc/net/pfkey", "line": None}
            host["pfkey_why"] = ("/proc/net/pfkey exists" if host["pfkey"]
                                 else "/proc/net/pfkey is missing: the kernel has no PF_KEY (af_key module)")
    else:
        host.update(pfkey=True, pfkey_why=f"PF_KEY is built into the {name} kernel")
    if host.get("pfkey") is False:
        host.update(kernel_tool="ip xfrm", kernel_tool_why=(
            "/proc/net/pfkey is missing, so setkey cannot talk to the kernel; the XFRM state was read "
            "with ip xfrm instead"))
        _xfrm(col)
        return
    sad = col.command("setkey-D", ["setkey", "-D"], "sad", "the SAD (setkey -D)")
    if sad.run.status == "not-found" and name in ("linux", "android"):
        col.notes.append("setkey is not installed; the kernel state was read with ip xfrm")
        host.update(kernel_tool="ip xfrm", kernel_tool_why="setkey is not installed")
        _xfrm(col)
        return
    host.update(kernel_tool="setkey", kernel_tool_why="PF_KEY is available")
    col.command("setkey-DP", ["setkey", "-DP"], "spd", "the SPD (setkey -DP)")
    problem = (sad.stderr or "") + ("" if sad.ok else sad.text())
    if re.search(r"pfkey_open|Protocol not supported|Address family not supported", problem):
        host.update(pfkey=False, pfkey_at=col.at(sad, 1), pfkey_why=(sad.run.why or problem.strip())[:200])
    elif sad.run.status == "ran" and sad.run.exit_code and "Operation not permitted" in problem:
        col.notes.append("not root: setkey -D failed (Operation not permitted); the SAD was not read")


def _xfrm(col: _Collection) -> None:
    col.command("ip-xfrm-state", ["ip", "-s", "xfrm", "state"], "sad", "the SAD (ip -s xfrm state)")
    col.command("ip-xfrm-policy", ["ip", "-s", "xfrm", "policy"], "spd", "the SPD (ip -s xfrm policy)")


def _sockets(col: _Collection, plat: platforms.Platform) -> None:
    tool, argv = plat.sockets
    out = col.command(tool, list(argv))
    if not out.ok and tool != "netstat":
        tool, argv = "netstat", ("netstat", "-anup") if plat.name in ("linux", "android") else ("netstat", "-an")
        out = col.command("netstat", list(argv))
    rows = tables.parse_sockets(tool, out.text()) if out.ok else []
    col.host.update(
        sockets_read=out.ok, sockets_at=col.at(out) if out.ok else None,
        sockets_show_owner=(out.ok and tool != "netstat") or any(r.pid for r in rows),
        sockets=[{"proto": r.proto, "address": r.address, "port": r.port, "pid": r.pid, "process": r.process,
                  "at": col.at(out, r.line)} for r in rows],
    )


def _routing(col: _Collection, plat: platforms.Platform) -> list[str]:
    """Interface addresses and the main routing table (where the platform has them); the interfaces' names."""
    if not plat.addresses:
        return []
    addr = col.command("ip-addr", list(plat.addresses))
    rows = tables.parse_ip_addr(addr.text()) if addr.ok else []
    col.host["addresses"] = [{"interface": r.interface, "prefix": r.prefix, "at": _cut(col.at(addr, r.line))}
                             for r in rows]
    route = col.command("ip-route", list(plat.routes))
    routes = tables.parse_ip_route(route.text()) if route.ok else []
    col.host["routes_read"] = route.ok
    col.host["routes"] = [{"prefix": r.prefix, "devices": list(r.devices), "kind": r.kind, "metric": r.metric,
                           "at": col.at(route, r.line)} for r in routes]
    return list(dict.fromkeys(r.interface for r in rows))


def _cut(at: dict[str, Any]) -> dict[str, Any]:
    """``ip -o`` joins an address's lines with a backslash; the excerpt keeps the first."""
    if at.get("text"):
        at["text"] = at["text"].split("\\", 1)[0].rstrip()
    return at


def _sysctls(col: _Collection, plat: platforms.Platform, interfaces: list[str]) -> None:
    names = [plat.interface_sysctl.format(i) for i in interfaces] if plat.interface_sysctl else []
    out = col.command("sysctl", [*plat.sysctl, *names])
    values = tables.parse_sysctl(out.text()) if out.path else {}
    col.host["sysctls"] = {k: {"value": v, "at": col.at(out, line)} for k, (line, v) in values.items()}


def _logs(col: _Collection, plat: platforms.Platform, racoon: tuple[str, ...] | None, conf: Path | None) -> None:
    """racoon's log: its -l file or `path logfile`, else the journal, else the syslog files."""
    year = datetime.now().year
    named = tables.log_argument(racoon) if racoon else None
    if named is None and conf is not None:
        m = _LOGFILE_LINE.search(conf.read_text(errors="replace"))
        named = m.group(1) if m else None
    candidates = [(named, False)] if named else []
    syslog_conf = col.under_root("/etc/syslog.conf")
    if syslog_conf.is_file():
        candidates += [(t, False) for t in logs.syslog_targets(syslog_conf.read_text(errors="replace"))]
    got = any(_copy_log(col, path, only, year) for path, only in candidates)
    if not got and plat.name in ("linux",):
        got = _journal(col)
    if not got and plat.name == "macos":
        got = _log_show(col)
    if not got and plat.name == "android":
        got = _log_command(col, "logcat", ["logcat", "-d", "-v", "threadtime", "-s", "racoon"], "logcat (racoon)")
    if not got:
        got = any(_copy_log(col, path, True, year) for path in plat.syslog_files)
    if not got:
        col.notes.append("no racoon log found (no -l file, no journal entries, no racoon lines in the syslog files)")


def _copy_log(col: _Collection, origin: str, racoon_only: bool, year: int) -> bool:
    src = col.under_root(origin)
    if not src.is_file() or any(f["from"] == origin for f in col.files):
        return False
    rel = "root/" + origin.lstrip("/")
    dst = col.out / rel
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(dst.suffix + ".clear")
    since, window = _window(col)
    try:
        with tmp.open("w", encoding="utf-8", errors="surrogateescape") as fh:
            written = logs.copy_recent(src, fh, since=since, window=window, year=year, racoon_only=racoon_only)
    except OSError as err:
        col.notes.append(f"could not read {origin}: {err.strerror or err}")
        tmp.unlink(missing_ok=True)
        return False
    if not written:
        tmp.unlink()
        return False
    if col.options.redact:
        redacted = copy_redacted(tmp, dst, "log")
        tmp.unlink()
    else:
        tmp.replace(dst)
        redacted = False
    what = "racoon's lines of a shared syslog file" if racoon_only else "racoon's log"
    col.files.append({"path": rel, "part": "log", "from": origin, "what": f"{what}, {_window_text(col)}",
                      "when": _now(), "command": None, "redacted": redacted})
    return True


def _window_text(col: _Collection) -> str:
    if col.options.since:
        return f"since {col.options.since.isoformat(sep=' ', timespec='seconds')}"
    hours = col.options.window.total_seconds() / 3600
    span = f"the last {hours:g} hour{'s' if hours != 1 else ''}"
    return span if col.runner.live else f"{span} of the log"


def _since_arg(col: _Collection) -> str:
    since = col.options.since or datetime.now() - col.options.window
    return since.strftime("%Y-%m-%d %H:%M:%S")


def _window(col: _Collection) -> tuple[datetime | None, timedelta | None]:
    """(since, window) for :func:`logs.copy_recent`: a live box counts back from now, a sysroot from
    the log's own end."""
    if col.options.since is not None:
        return col.options.since, None
    if col.runner.live:
        return datetime.now() - col.options.window, None
    return None, col.options.window


def _log_command(col: _Collection, key: str, argv: list[str], what: str) -> bool:
    """A log read through a command (journalctl, log show, logcat), cut to the ``--since`` window
    like a log file (the command's own time option does it live; recorded output needs it here)."""
    out = col.command(key, argv, "log", what)
    if not (out.ok and out.path is not None and _has_content(out.path)):
        return False
    entry = next(f for f in col.files if f["path"] == f"commands/{key}.out")
    whole = out.path.with_suffix(".whole")
    out.path.rename(whole)
    since, window = _window(col)
    with out.path.open("w", encoding="utf-8", errors="surrogateescape") as fh:
        written = logs.copy_recent(whole, fh, since=since, window=window, year=datetime.now().year,
                                   racoon_only=False)
    whole.unlink()
    if not written:
        col.files.remove(entry)
        col.notes.append(f"{out.run.line}: no racoon lines in the --since window")
        return False
    entry["what"] = f"{what}, {_window_text(col)}"
    return True


def _journal(col: _Collection) -> bool:
    return _log_command(col, "journalctl", ["journalctl", "--no-pager", "-o", "short", "-u", "racoon",
                                            "--since", _since_arg(col)], "journalctl -u racoon")


def _log_show(col: _Collection) -> bool:
    return _log_command(col, "log-show", ["log", "show", "--style", "syslog", "--predicate", 'process == "racoon"',
                                          "--start", _since_arg(col)], "macOS unified log (racoon)")


def _capture(col: _Collection) -> None:
    """Capture IKE for ``--capture`` seconds (live, as root only): with tcpdump, or, where tcpdump is
    missing, with a packet socket (:mod:`racoondbg.live.rawcapture`)."""
    argv = ["tcpdump", "-n", "-i", "any", "-U", "-w", "-", rawcapture.FILTER]
    target = col.out / "commands" / "tcpdump.pcap"
    if not col.runner.live:
        recorded = col.root / RECORDED_DIR / "tcpdump.pcap"
        if recorded.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(recorded, target)
            col.runner.runs.append(CommandRun("tcpdump", tuple(argv), "recorded", 0, 0.0))
            _add_capture(col, argv, target, "capture of UDP 500/4500 recorded in the sysroot")
        elif col.options.capture:
            col.runner.skip("tcpdump", argv, "--root: nothing is captured from a sysroot")
        return
    if not is_root_user():
        col.runner.skip("tcpdump", argv, "capturing needs root")
        col.notes.append("not root: --capture skipped (capturing packets needs root)")
        return
    tcpdump = find_tcpdump()
    if tcpdump is None:
        col.runner.skip("tcpdump", argv, "tcpdump is not installed")
        _raw_capture(col)
        return
    col.progress(f"capturing UDP 500/4500 for {col.options.capture} s")
    start = time.monotonic()
    with target.open("wb") as fh:
        proc = subprocess.Popen([tcpdump, *argv[1:]], stdout=fh, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        try:
            proc.wait(timeout=col.options.capture)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    col.runner.runs.append(CommandRun("tcpdump", tuple(argv), "ran", 0, round(time.monotonic() - start, 3)))
    _add_capture(col, argv, target, f"capture of UDP 500/4500 for {col.options.capture} s")


def find_tcpdump() -> str | None:
    return shutil.which("tcpdump", path=PATH)


def _raw_capture(col: _Collection) -> None:
    """The capture without tcpdump: a packet socket with the same filter, written as a pcap."""
    argv = list(RAW_CAPTURE)
    if not rawcapture.available():
        col.runner.skip("raw-capture", argv, "this system has no packet sockets")
        col.notes.append("tcpdump is not installed and this system has no packet sockets: no capture was taken "
                         "(install tcpdump to use --capture)")
        return
    col.progress(f"tcpdump is not installed: capturing UDP 500/4500 for {col.options.capture} s with a raw socket")
    target = col.out / "commands" / "raw-capture.pcap"
    target.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    try:
        packets = rawcapture.capture_to(target, col.options.capture)
    except OSError as err:
        target.unlink(missing_ok=True)
        col.runner.runs.append(CommandRun("raw-capture", tuple(argv), "error", why=err.strerror or str(err)))
        col.notes.append(f"tcpdump is not installed and the raw socket failed ({err.strerror or err}): no capture")
        return
    col.runner.runs.append(CommandRun("raw-capture", tuple(argv), "ran", 0, round(time.monotonic() - start, 3),
                                      why=f"tcpdump is not installed; {packets} packet(s) captured"))
    _add_capture(col, argv, target, f"capture of UDP 500/4500 for {col.options.capture} s with a raw packet socket "
                                    "(tcpdump is not installed)")


def _add_capture(col: _Collection, argv: list[str], target: Path, what: str) -> None:
    col.files.append({"path": f"commands/{target.name}", "part": "pcap", "from": " ".join(argv), "what": what,
                      "when": _now(), "command": argv, "redacted": False})


def load_collection(directory: Path, show_keys: bool = False) -> Evidence:
    """Evidence from a collection directory, as `analyze DIR` reads it, with files named as on the host."""
    return load_evidence([Source(directory, "")], options=LoadOptions(root=directory / "root", show_keys=show_keys))
