"""Keep secrets off the screen: keys in psk.txt, SAD dumps, setkey scripts and log hex dumps.

The text views show files verbatim except for key material, which is replaced by the same
``secret:…`` tag the model uses, unless the user started with ``--show-keys``.
"""

from __future__ import annotations

import re

from racoondbg.model.base import secret_tag

#: Runs of hex words (``E: 3des-cbc  deadbeef 01234567``) and 0x-literals in setkey scripts.
_HEX_KEY = re.compile(r"\b0x[0-9A-Fa-f]{8,}\b|(?<![\w.:-])[0-9a-f]{8}(?: [0-9a-f]{8})+\b|(?<![\w.:-])[0-9a-f]{16,}\b")
#: A quoted key after -E/-A/-C in a setkey script: ``-A hmac-md5 "1234567890123456"``.
_QUOTED_KEY = re.compile(r'(-[EAC]\s+[\w-]+\s+)"([^"]*)"')
_PSK_LINE = re.compile(r"^(\s*[^#\s]\S*)(\s+)(.+?)\s*$")


def _tag(secret: str) -> str:
    return f"‹key {secret_tag(secret)}›"


def redact(part: str | None, line: str) -> str:
    """``line`` of an input of the given part, with key material replaced by a tag."""
    if part == "psk":
        match = _PSK_LINE.match(line)
        return f"{match.group(1)}{match.group(2)}{_tag(match.group(3))}" if match else line
    if part in ("sad", "script"):
        line = _QUOTED_KEY.sub(lambda m: f"{m.group(1)}{_tag(m.group(2))}", line)
        return _HEX_KEY.sub(lambda m: _tag(m.group(0)), line)
    return line


def hexdump_placeholder(line: str) -> str:
    """What a log's hex-dump line shows without ``--show-keys`` (dumps hold keys in ``-d`` logs)."""
    nbytes = len(line.replace(" ", "")) // 2
    return f"⋯ hex dump line, {nbytes} bytes hidden (start with --show-keys to see dumps)"
