"""psk.txt: refused for its modes, keys with invisible slips, peers without a key."""

from __future__ import annotations

import shlex
from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.certs import PskEntry, PskFile
from racoondbg.model.finding import EvidenceRef, Severity


def psk_path(ev: Evidence, psk: PskFile) -> str:
    """psk.txt as racoon.conf names it (`path pre_shared_key`), else where we found it."""
    paths = getattr(ev.conf, "paths", None) or {}
    return str(paths.get("pre_shared_key") or psk.host_path or psk.location.path)


def expected_owner(psk: PskFile) -> int:
    """racoon runs as root; a copy owned by the user who copied the whole directory is not suspicious."""
    return psk.directory_uid if psk.directory_uid not in (None, 0) else 0  # type: ignore[return-value]


def entry_ref(entry: PskEntry, note: str | None = None) -> EvidenceRef:
    """A psk.txt line without its key: the identifier and the key's tag."""
    return EvidenceRef.at(entry.location, excerpt=f"{entry.identifier} <key {entry.key_tag}>", note=note)


@rule(
    "RDB530",
    "psk-file-permissions",
    title="racoon refuses psk.txt: readable by others, wrong owner or not a file",
    severity=Severity.ERROR,
    needs={"psk"},
    fix="chown root psk.txt && chmod 600 psk.txt",
)
def psk_file_permissions(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: the pre-shared key file grants access to group or others, is not owned by
    the user racoon runs as (root), or is not a regular file.

    **Why racoon fails**: before every lookup racoon checks the file and refuses it:
    `<path> has weak file permission` or `<path> has invalid owner uid`, then
    `failed to open pre_share_key file <path>` and `couldn't find the pskey for <peer>` — every
    PSK negotiation fails although the key is right there. Configuration-management tools that
    write files 0644 cause this.

    **Evidence it looks at**: the mode and owner of psk.txt (of the symlink's target). Modes are
    as found in the evidence; a copy made without `cp -p` may differ from the host.

    **How to fix**: `chown root psk.txt && chmod 600 psk.txt`. racoon re-reads the file on every
    lookup: no restart is needed.

    **References**: failure catalog #19; racoon's `safefile()`.
    """
    psk = ev.psk
    if psk is None:
        return
    path = shlex.quote(psk_path(ev, psk))
    problems = []
    fixes = []
    if not psk.regular:
        problems.append("it is not a regular file (`is an invalid file type`)")
    if psk.file.group_or_other_access:
        problems.append(f"mode {psk.file.permissions} lets group or others read it (`has weak file permission`)")
        fixes.append(f"chmod 600 {path}")
    owner = expected_owner(psk)
    if psk.file.uid is not None and psk.file.uid != owner:
        problems.append(f"it is owned by uid {psk.file.uid}, not by racoon's uid {owner} (`has invalid owner uid`)")
        fixes.insert(0, f"chown {'root' if owner == 0 else owner} {path}")
    if not problems:
        return
    yield Hit(
        f"racoon refuses {psk_path(ev, psk)}: {'; '.join(problems)}. Every pre-shared-key negotiation fails with "
        f"`failed to open pre_share_key file`.",
        [EvidenceRef.at(psk.location, note=f"mode {psk.file.permissions}, uid {psk.file.uid}")],
        fix=" && ".join(fixes) or f"replace {path} by a regular file owned by root, mode 600",
    )


@rule(
    "RDB531",
    "psk-value-mismatch",
    title="A pre-shared key carries an invisible slip (CR, trailing blank, quotes, bad hex)",
    severity=Severity.WARNING,
    needs={"psk"},
    fix="rewrite the line as `identifier<TAB>key` with no quotes, no trailing blanks, Unix line ends",
)
def psk_key_slips(ev: Evidence) -> Iterator[Hit]:
    """**What it means**: a psk.txt key ends in `\\r` (DOS line endings), ends in blanks, is wrapped
    in quotes, or starts with `0x` but is not an even number of hex digits.

    **Why racoon fails**: racoon takes the whole rest of the line as the key, byte for byte — the
    `\\r`, the blanks and the quotes are part of it — so the two sides hold different keys and
    phase 1 dies at MM5 (`invalid length of payload`, `HASH mismatched`, PAYLOAD-MALFORMED).

    **Evidence it looks at**: each psk.txt line (the key is never shown: only a short tag, equal
    for equal keys, so two peers' files can be compared).

    **How to fix**: `sed -i 's/\\r$//' psk.txt`, remove quotes and trailing blanks, keep hex keys
    to an even number of digits after `0x`.

    **References**: failure catalog #9 and #6 (psk.txt format).
    """
    psk = ev.psk
    if psk is None:
        return
    crlf = [e for e in psk.entries if e.carriage_return]
    if crlf:
        ids = ", ".join(e.identifier for e in crlf)
        yield Hit(
            f"{len(crlf)} key(s) in {psk_path(ev, psk)} end in a carriage return (DOS line endings): {ids}. racoon "
            f"makes the \\r part of the key, so it will not equal the peer's key.",
            [entry_ref(e) for e in crlf],
            fix="sed -i 's/\\r$//' " + shlex.quote(psk_path(ev, psk)),
            peer=crlf[0].identifier if len(crlf) == 1 else None,
        )
    for entry in psk.entries:
        slips = [text for flag, text in (
            (entry.trailing_space, "ends in blanks"),
            (entry.quoted, "is wrapped in quotes, which become part of the key"),
            (entry.bad_hex, "starts with 0x but is not an even number of hex digits"),
        ) if flag]
        if not slips:
            continue
        yield Hit(
            f"The key for {entry.identifier} {' and '.join(slips)}; racoon uses those bytes too, so it will not "
            f"equal the peer's key.",
            [entry_ref(entry)],
            fix=f"edit line {entry.location.line} of {psk_path(ev, psk)}: the key must be exactly what the peer has",
            peer=entry.identifier,
        )
