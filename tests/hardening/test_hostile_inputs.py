"""Hostile inputs, one by one, against the registered parsers: lying lengths, looping payload chains,
fragment floods, gigantic lines, self-including and deeply nested configs, symlink loops, devices.
Every one must finish within the bounds of tests/hardening/bounds.py, with a model or a ParseError."""

from __future__ import annotations

import os
import re
import struct
import time
from pathlib import Path

import pytest

from racoondbg.engine import all_rules, run
from racoondbg.evidence import load_evidence
from racoondbg.inputs import InputKind, LoadOptions, input_kinds
from racoondbg.sources import Source
from tests.hardening.bounds import MiB, alarm, measured_load
from tests.hardening.budget import deep
from tests.hardening.corpus import file_kinds, seeds_by_kind
from tests.hardening.harness import analyze_checked
from tests.hardening.packets import (
    ISAKMP_FRAG,
    ISAKMP_NONE,
    ISAKMP_SA,
    ISAKMP_VID,
    PCAP_HEADER,
    capture,
    ethernet,
    ike_frame,
    ipv4,
    isakmp,
    payload,
    record,
    udp,
)
from tests.hardening.samples import deep_file, private_key_pem

#: The gap in the middle of a text input: 64 MiB in CI, 2 GiB + 1 under --hypothesis-profile=long
#: (a sparse file either way: nothing is written, the hole reads as NUL bytes).
LONG_LINE_BYTES = 64 * MiB
LONG_LINE_BYTES_DEEP = 2 * 1024 * MiB + 1


def kinds_of(part: str, directory: bool = False) -> list[InputKind]:
    return [k for k in input_kinds() if k.part == part and k.directory == directory]


def text_kinds() -> list[InputKind]:
    return [k for k in file_kinds() if any(b"\0" not in s[:4096] for s in seeds_by_kind().get(k.name, ()))]


def _text_seed(kind: InputKind) -> bytes:
    return next(s for s in seeds_by_kind()[kind.name] if b"\0" not in s[:4096] and s.count(b"\n") >= 2)


def _require(kinds: list[InputKind], what: str) -> None:
    if not kinds:
        pytest.skip(f"no {what} parser on main yet")


# ---- gigantic lines and regex worst cases (every text kind) ----------------------------------------

@pytest.mark.parametrize("kind", text_kinds() or [None], ids=lambda k: getattr(k, "name", "none"))
def test_a_gigantic_line_in_the_middle(kind: InputKind | None, tmp_path: Path) -> None:
    """A hole of NUL bytes in the middle of a real input (what a crash leaves in a syslog file)."""
    _require([kind] if kind else [], "text")
    assert kind is not None
    seed = _text_seed(kind)
    lines = seed.splitlines(keepends=True)
    half = len(lines) // 2
    path = tmp_path / "long"
    with path.open("wb") as fh:
        fh.write(b"".join(lines[:half]))
        fh.seek(LONG_LINE_BYTES_DEEP if deep() else LONG_LINE_BYTES, os.SEEK_CUR)
        fh.write(b"\n" + b"".join(lines[half:]))
    measured_load(kind, path, seconds=600 if deep() else 60)


@pytest.mark.parametrize("kind", text_kinds() or [None], ids=lambda k: getattr(k, "name", "none"))
def test_regex_worst_case_lines(kind: InputKind | None, tmp_path: Path) -> None:
    """Each real line repeated on itself to ~16 KiB: backtracking regexes go quadratic or worse here."""
    _require([kind] if kind else [], "text")
    assert kind is not None
    lines = [line.rstrip(b"\r\n") for line in _text_seed(kind).splitlines() if line.strip()][:40]
    body = b"".join(line * max(1, 16384 // max(1, len(line))) + b"\n" for line in lines)
    path = tmp_path / "worst"
    path.write_bytes(body)
    result = measured_load(kind, path, seconds=20)
    assert result.seconds < 20


# ---- captures ------------------------------------------------------------------------------------

PCAP_KINDS = kinds_of("pcap")
_GOOD = ike_frame(isakmp(payload(ISAKMP_NONE, b"\0" * 48), first=ISAKMP_SA))


def _pcap_cases() -> dict[str, bytes]:
    loop = isakmp(payload(ISAKMP_VID, b"", length=0), first=ISAKMP_VID)  # length 0: never advances
    tiny_chain = isakmp(b"".join(payload(ISAKMP_VID, b"") for _ in range(16000)), first=ISAKMP_VID)
    claims_64k = isakmp(payload(ISAKMP_NONE, b"\0" * 20, length=0xFFFF), first=ISAKMP_VID)
    header_lies = isakmp(payload(ISAKMP_NONE, b"\0" * 20), length=0xFFFFFFFF)
    frags = [ike_frame(isakmp(payload(ISAKMP_NONE, struct.pack("!HBB", 1, n % 250 + 1, 0) + b"\0" * 60),
                              first=ISAKMP_FRAG)) for n in range(20000)]
    ip_frags = [ethernet(ipv4(udp(b"\0" * 64)[:64], ident=n, more_fragments=True)) for n in range(20000)]
    overlap = [ethernet(ipv4(b"\xaa" * 1472, ident=7, frag_offset=o * 8, more_fragments=True)) for o in range(8000)]
    ping_of_death = [ethernet(ipv4(b"\0" * 1480, ident=9, frag_offset=65528, more_fragments=False)),
                     ethernet(ipv4(udp(b"\0" * 100), ident=9, more_fragments=True))]
    return {
        "caplen-4g": PCAP_HEADER + record(_GOOD) + record(_GOOD, caplen=0xFFFFFFF0) + _GOOD,
        "caplen-beyond-snaplen": PCAP_HEADER + record(_GOOD, caplen=262145, origlen=262145),
        "truncated-record": (PCAP_HEADER + record(_GOOD))[:-10],
        "payload-length-0-loop": capture(ike_frame(loop)),
        "payload-chain-16k": capture(ike_frame(tiny_chain)),
        "payload-claims-64k": capture(ike_frame(claims_64k)),
        "isakmp-length-4g": capture(ike_frame(header_lies)),
        "udp-length-lies": capture(ethernet(ipv4(udp(isakmp(b""), length=0xFFFF)))),
        "ip-length-lies": capture(ethernet(ipv4(udp(isakmp(b"")), total_length=0xFFFF))),
        "ike-fragment-flood": capture(*frags),
        "ip-fragment-flood": capture(*ip_frags),
        "overlapping-fragments": capture(*overlap),
        "ping-of-death": capture(*ping_of_death),
        "pcap-header-only": PCAP_HEADER,
        "link-type-nonsense": PCAP_HEADER[:20] + struct.pack("<I", 0xFFFF) + record(_GOOD),
    }


@pytest.mark.parametrize("case", sorted(_pcap_cases()))
def test_hostile_captures(case: str, tmp_path: Path) -> None:
    _require(PCAP_KINDS, "capture")
    path = tmp_path / f"{case}.pcap"
    path.write_bytes(_pcap_cases()[case])
    for kind in PCAP_KINDS:
        result = measured_load(kind, path, seconds=60)
        errors = getattr(result.result, "errors", []) or []
        assert len(errors) <= 1000, f"{case}: {len(errors)} errors kept; cap them"


# ---- racoon.conf ---------------------------------------------------------------------------------

CONF_KINDS = kinds_of("conf")


def _conf_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "etc/racoon" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "etc/racoon/racoon.conf"


_REMOTE = "remote 198.51.100.7 { exchange_mode main; proposal { encryption_algorithm aes; } }\n"
CONF_CASES = {
    "self-include-absolute": {"racoon.conf": 'include "/etc/racoon/racoon.conf";\n' + _REMOTE},
    "self-include-relative": {"racoon.conf": 'include "racoon.conf";\n' + _REMOTE},
    "include-cycle": {"racoon.conf": 'include "/etc/racoon/b.conf";\n',
                      "b.conf": 'include "/etc/racoon/racoon.conf";\n'},
    "glob-includes-itself": {"racoon.conf": 'include "/etc/racoon/*.conf";\n',
                             **{f"p{i}.conf": 'include "/etc/racoon/*.conf";\n' + _REMOTE for i in range(30)}},
    "include-chain-500": {"racoon.conf": 'include "/etc/racoon/c1.conf";\n',
                          **{f"c{i}.conf": f'include "/etc/racoon/c{i + 1}.conf";\n' for i in range(1, 500)}},
    "include-dev-zero": {"racoon.conf": 'include "/dev/zero";\ninclude "/dev/stdin";\n' + _REMOTE},
    "include-a-directory": {"racoon.conf": 'include "/etc";\n' + _REMOTE},
    "nested-20k-braces": {"racoon.conf": "remote 198.51.100.7 {" * 20000 + "}" * 20000},
    "open-brace-flood": {"racoon.conf": "{" * 200000},
    "close-brace-flood": {"racoon.conf": "};" * 100000},
    "unterminated-string": {"racoon.conf": 'path certificate "' + "x" * 1000000},
    "1k-remotes": {"racoon.conf": "".join(_REMOTE.replace("198.51.100.7", f"10.{i // 250}.{i % 250}.1")
                                           for i in range(1000))},
}


@pytest.mark.parametrize("case", sorted(CONF_CASES))
def test_hostile_configs(case: str, tmp_path: Path) -> None:
    _require(CONF_KINDS, "racoon.conf")
    conf = _conf_tree(tmp_path, CONF_CASES[case])
    for kind in CONF_KINDS:
        for root in (tmp_path, Path("/")):
            measured_load(kind, conf, "racoon.conf", LoadOptions(root=root), seconds=60)


# ---- certificate directories and key files -------------------------------------------------------

CERT_KINDS = kinds_of("certs", directory=True)


def _cert_case(directory: Path, case: str) -> None:
    key, cert = private_key_pem()
    directory.mkdir()
    (directory / "gw1.crt").write_bytes(cert)
    (directory / "gw1.key").write_bytes(key)
    if case == "symlink-loops":
        (directory / "a.pem").symlink_to("b.pem")
        (directory / "b.pem").symlink_to("a.pem")
        (directory / "self").symlink_to(".")
        (directory / "up").symlink_to("..")
    elif case == "device-links":
        (directory / "ca.pem").symlink_to("/dev/zero")
        (directory / "0a1b2c3d.0").symlink_to("/dev/urandom")
        (directory / "tty.pem").symlink_to("/dev/tty")
    elif case == "fifo":
        os.mkfifo(directory / "peer.crt")
    elif case == "sparse-4g-cert":
        with (directory / "huge.crt").open("wb") as fh:
            fh.write(cert[:100])
            fh.seek(4 * 1024 * MiB, os.SEEK_CUR)
            fh.write(cert[100:])
    elif case == "many-files":
        for i in range(3000):
            (directory / f"c{i}.pem").write_bytes(cert)
    elif case == "deep-tree":
        deep_file(directory, 100, "x.crt", cert)


@pytest.mark.parametrize("case", ["symlink-loops", "device-links", "fifo", "sparse-4g-cert", "many-files",
                                  "deep-tree"])
def test_hostile_certificate_dirs(case: str, tmp_path: Path) -> None:
    _require(CERT_KINDS, "certificate directory")
    directory = tmp_path / "certs"
    _cert_case(directory, case)
    for kind in CERT_KINDS:
        measured_load(kind, directory, "certs", seconds=60)


def test_a_config_naming_devices_and_proc_is_read_safely(tmp_path: Path) -> None:
    """`path certificate "/dev"; path pre_shared_key "/dev/zero";` analysed with --root / (the default)."""
    _require(CONF_KINDS, "racoon.conf")
    conf = tmp_path / "racoon.conf"
    conf.write_text('path certificate "/dev";\npath pre_shared_key "/dev/zero";\npath include "/proc/self";\n'
                    + _REMOTE)
    with alarm(120):
        analyze_checked([str(conf)], "--root", "/")


# ---- deterministic versions of what the fuzzers found (every text kind) ----------------------------

def _every_seed(kind: InputKind) -> list[bytes]:
    return [s for s in seeds_by_kind().get(kind.name, ()) if b"\0" not in s[:4096]][:8]


@pytest.mark.parametrize("kind", text_kinds() or [None], ids=lambda k: getattr(k, "name", "none"))
def test_every_number_forty_digits_long(kind: InputKind | None, tmp_path: Path) -> None:
    """Years, ports, SPIs, lifetimes of 40 digits: a bad value, never an OverflowError."""
    _require([kind] if kind else [], "text")
    assert kind is not None
    path = tmp_path / "numbers"
    seeds = _every_seed(kind)
    variants = [re.sub(rb"\d+", b"9" * 40, seed) for seed in seeds]
    first = seeds[0]
    for m in list(re.finditer(rb"\d+", first))[:150]:  # one number at a time: the others stay plausible
        variants.append(first[: m.start()] + b"9" * 40 + first[m.end():])
    for variant in variants:
        path.write_bytes(variant)
        measured_load(kind, path, seconds=20)


@pytest.mark.parametrize("kind", text_kinds() or [None], ids=lambda k: getattr(k, "name", "none"))
def test_latin1_and_invalid_utf8_everywhere(kind: InputKind | None, tmp_path: Path) -> None:
    """Host names, tags and messages in Latin-1 or broken UTF-8: decoded leniently, never a UnicodeError."""
    _require([kind] if kind else [], "text")
    assert kind is not None
    path = tmp_path / "latin1"
    for seed in _every_seed(kind):
        for variant in (seed.replace(b"e", b"\xe9"), seed.replace(b" ", b" \xff"), seed.replace(b"a", b"\xc3")):
            path.write_bytes(variant)
            measured_load(kind, path, seconds=20)


def test_rules_stay_linear_on_4000_remotes(tmp_path: Path) -> None:
    """Rules comparing remote blocks pairwise went quadratic (10 000 remotes: minutes). Bound: 10 s."""
    _require(CONF_KINDS, "racoon.conf")
    conf = _conf_tree(tmp_path, {"racoon.conf": "".join(
        _REMOTE.replace("198.51.100.7", f"10.{i // 250}.{i % 250}.1") for i in range(4000))})
    ev = load_evidence([], [("conf", Source(conf, "racoon.conf"))])
    all_rules()
    start = time.monotonic()
    with alarm(120):
        run(ev)
    assert time.monotonic() - start < 10
