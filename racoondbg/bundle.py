"""Evidence bundles: redacting secrets out of collected files, and packing a collection as .tar.gz.

Redaction is textual, per format, and keeps every file parseable by its parser:

* ``setkey -D`` keys (``E:``/``A:`` lines and their continuation lines), ``ip xfrm state``
  ``enc``/``auth``/``auth-trunc``/``aead`` keys and the keys of ``setkey -c`` scripts are
  replaced by a *pseudo-key* of the same length and layout: the hex of
  ``sha256("racoondbg-redacted-key" + key)`` stretched to the key's length. Equal keys give equal
  pseudo-keys (so the two ends of one SA still match across two boxes); the key cannot be
  recovered from it.
* psk.txt keys and racoon.conf ``shared_secret`` values become :func:`racoondbg.model.secret_tag`
  tags; quotes, trailing blanks and DOS line ends around the key are kept, since they are what
  goes wrong.
* private keys (PEM blocks, DER files, racoon's plain-RSA files) are replaced by a comment with
  their tag and, when the key can be read, its public half.
* hex dumps in ``-d``/``-ddd`` racoon logs (keying material, decrypted packets) become one
  dump line holding the dump's tag.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tarfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

from racoondbg.live.manifest import MANIFEST_NAME
from racoondbg.model.base import secret_tag

Redactor = Callable[[Iterable[str]], Iterator[str]]


def pseudo_hex(hexdigits: str) -> str:
    """A same-length stand-in for a hex key: a keyed hash of it, never the key itself."""
    clean = hexdigits.lower()
    seed = hashlib.sha256(b"racoondbg-redacted-key\0" + clean.encode()).digest()
    stream = b""
    counter = 0
    while len(stream) * 2 < len(clean):
        stream += hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return stream.hex()[: len(clean)]


def _tag_hex(text: str) -> str:
    return secret_tag(text).split(":", 1)[1]


# --- setkey -D / ip xfrm state -------------------------------------------------------------------

_SETKEY_KEY = re.compile(r"^(\t[EA]: \S+ {1,2})([0-9a-f]{2,8}(?: [0-9a-f]{2,8})*) *$")
_SETKEY_CONT = re.compile(r"^ ([0-9a-f]{2,8}(?: [0-9a-f]{2,8})*) *$")
_XFRM_KEY = re.compile(r"^(\s*(?:enc|auth|auth-trunc|aead)\s+\S+\s+0x)([0-9a-fA-F]+)\b")


def _flush_setkey(buffer: list[tuple[str, str]]) -> Iterator[str]:
    """Re-emit one buffered key (prefix, words per line) with pseudo words in the same layout."""
    fake = pseudo_hex("".join(words.replace(" ", "") for _, words in buffer))
    pos = 0
    for prefix, words in buffer:
        out = []
        for word in words.split():
            out.append(fake[pos:pos + len(word)])
            pos += len(word)
        yield f"{prefix}{' '.join(out)}\n"


def redact_sad(lines: Iterable[str]) -> Iterator[str]:
    """``setkey -D`` or ``ip xfrm state`` output with every key replaced by its pseudo-key."""
    buffer: list[tuple[str, str]] = []
    for line in lines:
        body = line.rstrip("\n")
        if buffer and (m := _SETKEY_CONT.match(body)):
            buffer.append((" ", m.group(1)))
            continue
        if buffer:
            yield from _flush_setkey(buffer)
            buffer = []
        if m := _SETKEY_KEY.match(body):
            buffer = [(m.group(1), m.group(2))]
            continue
        if m := _XFRM_KEY.match(body):
            line = m.group(1) + pseudo_hex(m.group(2)) + body[m.end():] + "\n"
        yield line
    if buffer:
        yield from _flush_setkey(buffer)


_SCRIPT_KEY = re.compile(r"(-[EA]\s+[\w-]+\s+)(0x[0-9a-fA-F]+|\"[^\"]*\")")


def _script_key(m: re.Match[str]) -> str:
    key = m.group(2)
    if key.startswith("0x"):
        return m.group(1) + "0x" + pseudo_hex(key[2:])
    inner = key[1:-1]
    fake = (_tag_hex(inner) * (len(inner) // 12 + 1))[: len(inner)]
    return f'{m.group(1)}"{fake}"'


def redact_script(lines: Iterable[str]) -> Iterator[str]:
    """A setkey script with the keys of its ``add`` commands replaced (same length, same form)."""
    for line in lines:
        yield _SCRIPT_KEY.sub(_script_key, line)


# --- psk.txt, racoon.conf ------------------------------------------------------------------------

_PSK_LINE = re.compile(r"^(\s*[^\s#]\S*[ \t]+)(\S(?:.*\S)?)?([ \t\r]*)$")


def _racoon_key_bytes(key: str) -> bytes:
    raw = key.encode("utf-8", "surrogateescape")
    if key.startswith("0x"):
        try:
            return bytes.fromhex(key[2:])
        except ValueError:
            return raw
    return raw


def _tag_keeping_quotes(key: str) -> str:
    quote = key[0] if key[:1] in ("'", '"') and key[-1:] == key[:1] and len(key) > 1 else ""
    core = key[1:-1] if quote else key
    return f"{quote}{secret_tag(_racoon_key_bytes(core))}{quote}"


def redact_psk(lines: Iterable[str]) -> Iterator[str]:
    """psk.txt with each key replaced by its tag; identifiers, quotes and trailing blanks stay."""
    for line in lines:
        ending = "\n" if line.endswith("\n") else ""
        body = line[: -1] if ending else line
        m = _PSK_LINE.match(body)
        if m is None or m.group(2) is None:
            yield line
            continue
        yield f"{m.group(1)}{_tag_keeping_quotes(m.group(2))}{m.group(3)}{ending}"


_SHARED_SECRET = re.compile(r"(\bshared_secret\s+(?:key|keychain|keychain_by_id|use)\s+)(\"[^\"]*\")")


def redact_conf(lines: Iterable[str]) -> Iterator[str]:
    """racoon.conf with Apple's ``shared_secret key "..."`` values replaced by tags."""
    for line in lines:
        yield _SHARED_SECRET.sub(lambda m: m.group(1) + f'"{secret_tag(m.group(2)[1:-1])}"', line)


# --- logs ----------------------------------------------------------------------------------------

_DUMP_LINE = re.compile(r"^[0-9a-f]{2,8}(?: [0-9a-f]{2,8})*\s*$")


def redact_log(lines: Iterable[str]) -> Iterator[str]:
    """A racoon log with each hex dump replaced by a one-line dump of its tag."""
    dump: list[str] = []
    for line in lines:
        if _DUMP_LINE.match(line):
            dump.append(line.strip())
            continue
        if dump:
            yield _dump_tag(dump)
            dump = []
        yield line
    if dump:
        yield _dump_tag(dump)


def _dump_tag(dump: list[str]) -> str:
    tag = _tag_hex(" ".join(dump))
    return f"{tag[:8]} {tag[8:]}\n"


# --- private keys ----------------------------------------------------------------------------------

_PEM_PRIVATE = re.compile(r"-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----.*?-----END \1-----\n?", re.S)
_PLAIN_RSA_SECRET = re.compile(
    r"^(\s*(?:PrivateExponent|Prime1|Prime2|Exponent1|Exponent2|Coefficient):\s*0x)([0-9a-fA-F]+)", re.M
)


def _public_pem(block: str) -> str:
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_private_key(block.encode(), password=None)
    except (ValueError, TypeError, Exception):
        return ""
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def redact_private_keys(text: str) -> str:
    """PEM private keys -> a comment with the tag (and the public half); plain-RSA secrets -> pseudo-hex."""

    def replace(m: re.Match[str]) -> str:
        return (f"# {m.group(1)} redacted by racoondbg ({secret_tag(m.group(0))}); its public half follows when "
                f"it could be read\n{_public_pem(m.group(0))}")

    text = _PEM_PRIVATE.sub(replace, text)
    return _PLAIN_RSA_SECRET.sub(lambda m: m.group(1) + pseudo_hex(m.group(2)), text)


def _is_der_private_key(data: bytes) -> bool:
    if not data.startswith(b"\x30"):
        return False
    from cryptography.hazmat.primitives import serialization

    try:
        serialization.load_der_private_key(data, password=None)
    except Exception:
        return b"ENCRYPTED" in data[:64] or False
    return True


def redact_cert_file(src: Path, dst: Path) -> bool:
    """Copy one file of a certificate directory, redacting private keys; True when something changed."""
    data = src.read_bytes()
    if b"PRIVATE KEY-----" in data or b"PrivateExponent" in data:
        text = data.decode("utf-8", "surrogateescape")
        dst.write_text(redact_private_keys(text), encoding="utf-8", errors="surrogateescape")
        shutil.copymode(src, dst)
        return True
    if _is_der_private_key(data):
        dst.write_text(f"# DER private key redacted by racoondbg ({secret_tag(data)})\n")
        shutil.copymode(src, dst)
        return True
    shutil.copy2(src, dst)
    return False


#: Line redactors for the evidence parts that may hold secrets.
REDACTORS: dict[str, Redactor] = {
    "sad": redact_sad,
    "script": redact_script,
    "psk": redact_psk,
    "conf": redact_conf,
    "log": redact_log,
}


def copy_redacted(src: Path, dst: Path, part: str | None) -> bool:
    """Copy ``src`` to ``dst`` through the redactor for ``part``; True when lines changed."""
    redactor = REDACTORS.get(part or "")
    if redactor is None:
        shutil.copy2(src, dst)
        return False
    seen, wrote = hashlib.sha256(), hashlib.sha256()

    def reading(fh: Iterable[str]) -> Iterator[str]:
        for line in fh:
            seen.update(line.encode("utf-8", "surrogateescape"))
            yield line

    with src.open(encoding="utf-8", errors="surrogateescape", newline="") as fin, \
            dst.open("w", encoding="utf-8", errors="surrogateescape", newline="") as fout:
        for line in redactor(reading(fin)):
            wrote.update(line.encode("utf-8", "surrogateescape"))
            fout.write(line)
    shutil.copymode(src, dst)
    return seen.digest() != wrote.digest()


def write_bundle(collection: Path, target: IO[bytes]) -> None:
    """Pack a collection directory as .tar.gz: the manifest first (readers recognise a bundle by it),
    then the rest in sorted order, owned by root, links kept."""
    manifest = collection / MANIFEST_NAME
    with tarfile.open(fileobj=target, mode="w:gz") as tar:
        for path in [manifest, *sorted(p for p in collection.rglob("*") if p != manifest)]:
            info = tar.gettarinfo(str(path), arcname=path.relative_to(collection).as_posix())
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if info.isfile():
                with path.open("rb") as fh:
                    tar.addfile(info, fh)
            elif info.isdir() or info.issym():
                tar.addfile(info)


def secure_dir(path: Path) -> None:
    """Collections may hold keys (``--no-redact``): keep them private to the user."""
    os.chmod(path, 0o700)
