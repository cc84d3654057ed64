"""Everything known about one racoon host, gathered from the inputs the user gave.

:func:`load_evidence` sniffs every input by content (never by file name), loads it with the
parser that claims it, follows the files racoon.conf names, and never lets one bad input stop
the others: failures are recorded in ``Evidence.errors``.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import stat
import tarfile
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from racoondbg.inputs import InputKind, LoadOptions, input_kinds, kind_named, sniff
from racoondbg.live.manifest import MANIFEST_NAME, is_collection, read_collection
from racoondbg.model.base import ParseError, redact_secrets
from racoondbg.model.certs import CertStore, PskFile
from racoondbg.model.conf import RacoonConf
from racoondbg.model.kernel import SadDump, SetkeyScript, SpdDump
from racoondbg.model.log import LogAnalysis
from racoondbg.model.packets import Capture
from racoondbg.sources import Source, open_binary, read_head, spool

log = logging.getLogger(__name__)

#: Bounds on what a directory walk or a bundle may make us read. MAX_WALK_DEPTH also bounds
#: bundles inside bundles; MAX_BUNDLE_BYTES is shared by every bundle of one analysis (gzip'd
#: bundles are further bounded by racoondbg.sources.decompression_limit).
MAX_WALK_DEPTH = 6
MAX_WALK_FILES = 2000
MAX_BUNDLE_MEMBERS = 2000
MAX_BUNDLE_BYTES = 4 * 1024**3
#: Unpacked members keep (the end of) their base name, e.g. for certificate hash links.
MAX_MEMBER_BASENAME = 100


@dataclass(frozen=True, slots=True)
class InputInfo:
    """One input as the report lists it."""

    path: str
    kind: str
    flavour: str | None = None


@dataclass(frozen=True, slots=True)
class InputError:
    """An input (or a part of one) that could not be used, and why."""

    path: str
    message: str
    line: int | None = None
    frame: int | None = None
    fatal: bool = True
    column: int | None = None

    @classmethod
    def from_parse_error(cls, err: ParseError, *, fatal: bool) -> InputError:
        loc = err.location
        message = f"{err.message} ({err.hint})" if err.hint else err.message
        return cls(loc.path, message, loc.line, loc.frame, fatal, loc.column)

    def one_line(self) -> str:
        where = self.path
        if self.frame is not None:
            where += f"#frame {self.frame}"
        elif self.line is not None:
            where += f":{self.line}" + (f":{self.column}" if self.column is not None else "")
        return f"{where}: {self.message}"


@dataclass(slots=True)
class Evidence:
    """Every part is optional; rules declare which parts they need."""

    conf: RacoonConf | None = None
    spd: SpdDump | None = None
    sad: SadDump | None = None
    scripts: list[SetkeyScript] = field(default_factory=list)
    logs: list[LogAnalysis] = field(default_factory=list)
    captures: list[Capture] = field(default_factory=list)
    certs: CertStore | None = None
    psk: PskFile | None = None
    host: Any = None
    #: The other hosts' evidence when several collections (bundles of both peers) are analysed
    #: together; the first collection is this Evidence itself. See racoondbg/live/README.md.
    peers: list[Evidence] = field(default_factory=list)
    inputs: list[InputInfo] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    options: LoadOptions = field(default_factory=LoadOptions)

    _LISTS: ClassVar[dict[str, str]] = {"script": "scripts", "log": "logs", "pcap": "captures", "peers": "peers"}

    def has(self, need: str) -> bool:
        """Whether a part is present; ``"a|b"`` means either will do."""
        return any(self._has_one(part) for part in need.split("|"))

    def _has_one(self, part: str) -> bool:
        if part in self._LISTS:
            return bool(getattr(self, self._LISTS[part]))
        return getattr(self, part, None) is not None

    def add(self, part: str, obj: Any, name: str) -> None:
        if part in self._LISTS:
            getattr(self, self._LISTS[part]).append(obj)
        elif getattr(self, part) is None:
            setattr(self, part, obj)
        else:
            self.errors.append(
                InputError(name, f"a second {part} input was given; only the first one is analysed", fatal=False)
            )


def resolve_conf_path(conf_file: Path, value: str, root: Path) -> Path:
    """Where a path written in racoon.conf lives: absolute ones under ``root``, others beside the config."""
    if value.startswith("/"):
        return root / value.lstrip("/")
    return conf_file.parent / value


def _temporary_workdir() -> Path:
    """A private directory for unpacked bundles and spooled pipes, removed when the process ends
    (it may hold keys from a ``--no-redact`` bundle: nothing of it may stay behind in /tmp)."""
    work = Path(tempfile.mkdtemp(prefix="racoondbg-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    return work


class _Loader:
    def __init__(self, ev: Evidence, workdir: Path | None) -> None:
        self.ev = ev
        self._workdir = workdir
        self.files_seen = 0
        self.bundle_bytes = 0
        self.conf_source: Source | None = None

    @property
    def workdir(self) -> Path:
        """Where bundles are unpacked; made only when one is (a temporary one unless given)."""
        if self._workdir is None:
            self._workdir = _temporary_workdir()
        return self._workdir

    def load_path(self, source: Source, kind: InputKind | None = None, depth: int = 0) -> None:
        path = source.path
        try:
            if not os.path.lexists(path):
                raise FileNotFoundError(f"no such file or directory: {path}")
            if path.is_dir():
                self._load_dir(source, kind, depth)
                return
            mode = path.stat().st_mode
            if not stat.S_ISREG(mode):
                if depth > 0 or not stat.S_ISFIFO(mode):
                    raise OSError(f"not a regular file ({_file_type(mode)}); not read")
                source = spool(source, self.workdir)  # a pipe, e.g. `--sad <(setkey -D)`: read it once
                path = source.path
            with path.open("rb"):  # unreadable (permission denied...): say so, rather than "not recognised"
                pass
            self.files_seen += 1
            if self.files_seen > MAX_WALK_FILES:
                if self.files_seen == MAX_WALK_FILES + 1:
                    self.ev.errors.append(InputError(source.name, f"more than {MAX_WALK_FILES} files; rest skipped"))
                return
            head = read_head(path)
            if kind is None and _is_tar(head):
                if depth >= MAX_WALK_DEPTH:
                    raise ValueError(f"bundle nested more than {MAX_WALK_DEPTH} levels deep; not unpacked")
                self._load_bundle(source, depth)
                return
            kind = kind or sniff(source, head)
            if kind is None:
                if depth == 0:
                    self.ev.inputs.append(InputInfo(source.name, "unknown"))
                    self.ev.errors.append(
                        InputError(source.name, "not recognised as any input racoondbg reads (not analysed)",
                                   fatal=False)
                    )
                return
            self._load_kind(source, kind)
        except ParseError as err:
            self.ev.errors.append(InputError.from_parse_error(err, fatal=True))
        except (OSError, EOFError, ValueError, UnicodeError, tarfile.TarError) as err:
            self.ev.errors.append(InputError(source.name, f"cannot read: {redact_secrets(_reason(err))}"))
        except Exception as err:  # a parser bug must not stop the other inputs (DESIGN: never a traceback)
            log.debug("loading %s failed", source.name, exc_info=True)
            self.ev.errors.append(
                InputError(source.name, f"racoondbg failed to read it (internal error: {type(err).__name__});"
                           " the other inputs were still analysed — please report this input")
            )

    def _load_dir(self, source: Source, kind: InputKind | None, depth: int) -> None:
        if kind is None and is_collection(source.path):
            self._load_collection(source)
            return
        kind = kind or sniff(source, b"", directory=True)
        if kind is not None:
            self._load_kind(source, kind)
            return
        if depth >= MAX_WALK_DEPTH:
            return
        for child in sorted(source.path.iterdir()):
            if child.is_symlink() and child.is_dir():
                continue
            self.load_path(Source(child, f"{source.name.rstrip('/')}/{child.name}"), None, depth + 1)

    def _load_kind(self, source: Source, kind: InputKind) -> None:
        obj = kind.load(source, self.ev.options)
        self.ev.inputs.append(InputInfo(source.name, kind.name, getattr(obj, "flavour", None)))
        for err in getattr(obj, "errors", ()) or ():
            # a parser marks errors that make the input unusable for its program (racoon.conf syntax errors)
            self.ev.errors.append(InputError.from_parse_error(err, fatal=bool(getattr(err, "fatal", False))))
        if kind.part == "conf" and self.conf_source is None:
            self.conf_source = source
        self.ev.add(kind.part, obj, source.name)

    def _load_bundle(self, source: Source, depth: int) -> None:
        target = Path(tempfile.mkdtemp(prefix="bundle-", dir=self.workdir))
        members = self._safe_unpack(source.path, target)
        for index, (member_name, local) in enumerate(members):
            if index == 0 and member_name == MANIFEST_NAME:
                for _rest in members:  # a collection (its manifest comes first): unpack it whole
                    pass
                self._load_collection(Source(target, source.name))
                return
            self.load_path(Source(local, f"{source.name}!{member_name}"), None, depth + 1)

    def _safe_unpack(self, archive: Path, target: Path) -> Iterable[tuple[str, Path]]:
        """Copy a bundle's regular files out, one at a time, under names we make ourselves.

        Member names are never used as paths: ``..``, absolute paths, links and devices cannot
        escape ``target``. Members keep their (cleaned) relative paths when they can, so that
        directories (a certificate directory) survive; symlinks are recreated only when they point at
        a plain name in the same directory (OpenSSL hash links). The archive is read as a stream
        through :func:`open_binary`, so a gzip bomb stops at its decompression bound; counts and
        bytes are bounded.
        """
        with open_binary(archive) as raw, tarfile.open(fileobj=raw, mode="r|") as tar:
            for index, member in enumerate(tar):
                if index >= MAX_BUNDLE_MEMBERS:
                    raise ValueError(f"bundle holds more than {MAX_BUNDLE_MEMBERS} members; the rest was skipped")
                parts = [p for p in PurePosixPath(member.name).parts if p not in ("/", "..", ".")]
                name = str(PurePosixPath(*parts)) if parts else f"member-{index}"
                link = member.linkname
                if member.issym() and "/" not in link and link not in ("", ".", ".."):
                    _place(target, name, index).symlink_to(link)
                    continue
                if not member.isfile():
                    continue
                self.bundle_bytes += member.size
                if self.bundle_bytes > MAX_BUNDLE_BYTES:
                    raise ValueError(f"bundles hold more than {MAX_BUNDLE_BYTES} bytes; the rest was skipped")
                local = _place(target, name, index)
                extracted = tar.extractfile(member)
                if extracted is None:
                    continue
                with extracted, local.open("wb") as out:
                    while chunk := extracted.read(1 << 20):
                        out.write(chunk)
                local.chmod((member.mode & 0o777) | 0o400)
                yield name, local

    def _load_collection(self, source: Source) -> None:
        """A racoondbg collection (``diagnose``/``collect`` output): its manifest says what each file is.

        The first collection fills this Evidence; each further one becomes an entry of ``peers``.
        """
        collection = read_collection(source.path, f"{source.name.rstrip('/')}!" if source.name else "")
        loader = self
        if self.ev.host is not None:
            loader = _Loader(Evidence(options=self.ev.options), self._workdir)
            self.ev.peers.append(loader.ev)
        ev = loader.ev
        ev.options = replace(ev.options, root=collection.sysroot)
        ev.add("host", collection.host, collection.host.location.path)
        ev.inputs.append(InputInfo(collection.host.location.path, "host", collection.host.platform))
        ev.errors.extend(InputError(collection.host.location.path, note, fatal=False) for note in collection.host.notes)
        for item in collection.inputs:
            if not _kinds_for(item.part):
                continue  # no parser for this part is installed
            loader.load_path(Source(item.path, item.name), _best_kind(item.part, item.path))
        if loader is not self:
            _follow_conf_paths(ev, loader, loader.conf_source)


def _best_kind(part: str, path: Path) -> InputKind | None:
    """The kind of ``part`` that claims ``path`` most surely (None: let sniffing decide)."""
    directory = path.is_dir()
    head = b"" if directory else read_head(path)
    source = Source(path, str(path))
    scored = [(k.sniff(source, head), k) for k in _kinds_for(part) if k.directory == directory]
    best = max(scored, key=lambda sk: sk[0], default=(0, None))
    return best[1] if best[0] > 0 else None


def _is_tar(head: bytes) -> bool:
    return len(head) > 262 and head[257:262] == b"ustar"


def _file_type(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a pipe"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a file"


def _place(target: Path, name: str, index: int) -> Path:
    """Where a member goes: its own relative path when free and sane, else a numbered directory
    of its own (a base name too long for the file system is cut to MAX_MEMBER_BASENAME)."""
    local = target / name
    base = PurePosixPath(name).name.replace("\0", "")
    try:
        if "\0" not in name and len(base) <= MAX_MEMBER_BASENAME and not os.path.lexists(local):
            local.parent.mkdir(parents=True, exist_ok=True)
            return local
    except OSError:
        pass
    spare = target / f".{index:05d}"
    spare.mkdir()
    return spare / (base[-MAX_MEMBER_BASENAME:] or "member")


def _reason(err: BaseException) -> str:
    if isinstance(err, OSError) and err.strerror:
        return err.strerror.lower()
    return str(err) or type(err).__name__


def _follow_conf_paths(ev: Evidence, loader: _Loader, conf_source: Source | None) -> None:
    """Load the certificate directory and psk file racoon.conf names, unless given explicitly."""
    if ev.conf is None or conf_source is None:
        return
    for directive, part in (("certificate", "certs"), ("pre_shared_key", "psk")):
        value = ev.conf.paths.get(directive)
        if value is None or ev.has(part):
            continue
        kind = next(iter(_kinds_for(part)), None)
        if kind is None:
            continue
        if not value.isprintable():  # a quoted value spanning lines: racoon would not find it either
            ev.errors.append(InputError(conf_source.name, f"`path {directive}` is {value!r}, not a usable path",
                                        fatal=False))
            continue
        target = resolve_conf_path(conf_source.path, value, ev.options.root)
        name = str(target) if not conf_source.name.startswith("<") else value
        if not os.path.lexists(target):
            ev.errors.append(
                InputError(str(target), f"named by `path {directive}` in {conf_source.name} but absent", fatal=False)
            )
            continue
        if target.is_dir() != kind.directory:
            what = "a directory" if target.is_dir() else "not a directory"
            ev.errors.append(InputError(str(target), f"named by `path {directive}` in {conf_source.name} but "
                                                     f"{what}", fatal=False))
            continue
        loader.load_path(Source(target, name), kind)


def _kinds_for(part: str) -> list[InputKind]:
    return [k for k in input_kinds() if k.part == part]


def load_evidence(
    paths: Sequence[Source],
    explicit: Sequence[tuple[str, Source]] = (),
    options: LoadOptions | None = None,
    workdir: Path | None = None,
) -> Evidence:
    """Load every input into one :class:`Evidence`.

    ``paths`` are sniffed by content; ``explicit`` pairs name the kind (``conf``, ``spd``...).
    ``workdir`` receives unpacked bundle members; by default a temporary directory, made only when
    needed, that the caller need not clean (it is removed when the process ends).
    """
    ev = Evidence(options=options or LoadOptions())
    loader = _Loader(ev, workdir)
    for kind_name, source in explicit:
        kind = kind_named(kind_name)
        if kind is None:
            ev.errors.append(InputError(source.name, f"{kind_name} inputs are not analysed yet", fatal=False))
            continue
        loader.load_path(source, kind)
    for source in paths:
        loader.load_path(source)
    _follow_conf_paths(ev, loader, loader.conf_source)
    return ev
