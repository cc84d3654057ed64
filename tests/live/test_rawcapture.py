"""The capture without tcpdump: the kernel filter, the pcap it writes, and when the collector uses it.

The real packet socket is exercised in tests/live/test_netns.py (root only).
"""

from __future__ import annotations

import io
import socket
import struct
from pathlib import Path
from typing import BinaryIO

import pytest

from racoondbg.evidence import load_evidence
from racoondbg.live import collect as collect_module
from racoondbg.live import rawcapture
from racoondbg.live.collect import CollectOptions, _capture, _Collection
from racoondbg.live.runner import Runner
from racoondbg.sources import Source

MM1 = bytes.fromhex("a1b2c3d4e5f60718") + bytes(8) + bytes([0, 0x10, 2, 0]) + struct.pack("!II", 0, 28)


def ipv4(proto: int, sport: int, dport: int, *, frag: int = 0, ihl: int = 5, payload: bytes = b"x" * 8,
         src: str = "192.0.2.1", dst: str = "198.51.100.7") -> bytes:
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    header = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 4 * ihl + len(udp), 1, frag, 64, proto, 0,
                         socket.inet_aton(src), socket.inet_aton(dst))
    return header + bytes(4 * (ihl - 5)) + udp


def ipv6(next_header: int, sport: int, dport: int) -> bytes:
    udp = struct.pack("!HHHH", sport, dport, 16, 0) + b"y" * 8
    return struct.pack("!IHBB16s16s", 6 << 28, len(udp), next_header, 64, bytes(15) + b"\1", bytes(15) + b"\2") + udp


def run_bpf(program: list[tuple[int, int, int, int]], packet: bytes, protocol: int) -> int:
    """A classic-BPF interpreter for the instructions the filter uses."""
    a = x = pc = 0
    while True:
        code, jt, jf, k = program[pc]
        if code == 0x20 and k == 0xFFFFF000:
            a = protocol
        elif code in (0x28, 0x48):
            at = k + (x if code == 0x48 else 0)
            if at + 2 > len(packet):
                return 0
            a = struct.unpack_from("!H", packet, at)[0]
        elif code == 0x30:
            if k >= len(packet):
                return 0
            a = packet[k]
        elif code == 0xB1:
            x = (packet[k] & 0x0F) * 4
        elif code in (0x15, 0x45):
            taken = a == k if code == 0x15 else bool(a & k)
            pc += jt if taken else jf
        elif code == 0x06:
            return k
        else:
            raise AssertionError(f"unknown opcode {code:#x}")
        pc += 1


PACKETS = {
    "ike from 500": (ipv4(17, 500, 500), 0x0800, True),
    "nat-t to 4500": (ipv4(17, 51000, 4500), 0x0800, True),
    "from 4500 to elsewhere": (ipv4(17, 4500, 9999), 0x0800, True),
    "dns": (ipv4(17, 51000, 53), 0x0800, False),
    "tcp to 500": (ipv4(6, 51000, 500), 0x0800, False),
    "a later fragment": (ipv4(17, 500, 500, frag=0x00B9), 0x0800, False),
    "the first fragment": (ipv4(17, 500, 500, frag=0x2000), 0x0800, True),
    "ip options": (ipv4(17, 33000, 500, ihl=6), 0x0800, True),
    "ip options, other port": (ipv4(17, 33000, 501, ihl=6), 0x0800, False),
    "ipv6 ike": (ipv6(17, 500, 500), 0x86DD, True),
    "ipv6 to 4500": (ipv6(17, 40000, 4500), 0x86DD, True),
    "ipv6 dns": (ipv6(17, 40000, 53), 0x86DD, False),
    "ipv6 tcp": (ipv6(6, 500, 500), 0x86DD, False),
    "arp": (bytes(28), 0x0806, False),
    "truncated": (ipv4(17, 500, 500)[:21], 0x0800, False),
}


@pytest.mark.parametrize("name", sorted(PACKETS))
def test_kernel_filter_and_python_check_agree(name: str) -> None:
    packet, protocol, wanted = PACKETS[name]
    assert (run_bpf(rawcapture.bpf_program(), packet, protocol) > 0) is wanted
    assert rawcapture.is_ike(packet) is wanted or protocol not in (0x0800, 0x86DD)


def test_jumps_stay_inside_the_program() -> None:
    program = rawcapture.bpf_program()
    for n, (code, jt, jf, _k) in enumerate(program):
        if code in (0x15, 0x45):
            assert n + 1 + max(jt, jf) < len(program)
    assert program[-2:] == [(0x06, 0, 0, rawcapture.SNAPLEN), (0x06, 0, 0, 0)]


def test_the_pcap_is_read_as_an_ike_capture(tmp_path: Path) -> None:
    path = tmp_path / "raw.pcap"
    packet = ipv4(17, 500, 500, payload=MM1)
    with path.open("wb") as fh:
        fh.write(rawcapture.pcap_header())
        fh.write(rawcapture.pcap_record(1764349200.25, packet, 0, 1, bytes.fromhex("020000000001"), 0x0800))
    ev = load_evidence([Source(path, "raw-socket-capture")])
    [capture] = ev.captures
    assert capture.link_types == ["linux-sll"]
    [message] = capture.messages
    assert (message.src, message.dst, message.sport, message.icookie) == ("192.0.2.1", "198.51.100.7", 500,
                                                                          "a1b2c3d4e5f60718")
    assert message.time == pytest.approx(1764349200.25)


@pytest.fixture
def live_collection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> _Collection:
    """A collection on this box, as root, with tcpdump missing."""
    monkeypatch.setattr(collect_module, "is_root_user", lambda: True)
    monkeypatch.setattr(collect_module, "find_tcpdump", lambda: None)
    out = tmp_path / "c"
    return _Collection(out, CollectOptions(capture=2), Runner(Path("/"), out), lambda _msg: None)


def test_collector_falls_back_to_the_raw_socket(live_collection: _Collection,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[float] = []

    def fake_capture(out: BinaryIO, seconds: float, *, limit: int = 100_000) -> int:
        asked.append(seconds)
        out.write(rawcapture.pcap_header())
        return 0

    monkeypatch.setattr(rawcapture, "available", lambda: True)
    monkeypatch.setattr(rawcapture, "capture", fake_capture)
    _capture(live_collection)
    assert asked == [2]
    runs = {r.key: (r.status, r.why) for r in live_collection.runner.runs}
    assert runs == {"tcpdump": ("skipped", "tcpdump is not installed"),
                    "raw-capture": ("ran", "tcpdump is not installed; 0 packet(s) captured")}
    [entry] = live_collection.files
    assert (entry["path"], entry["part"], entry["from"]) == (
        "commands/raw-capture.pcap", "pcap", "raw-socket-capture -i any udp port 500 or udp port 4500")
    assert "raw packet socket" in entry["what"]
    assert (live_collection.out / "commands/raw-capture.pcap").read_bytes() == rawcapture.pcap_header()


def test_no_tcpdump_and_no_packet_socket_says_so(live_collection: _Collection,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rawcapture, "available", lambda: False)
    _capture(live_collection)
    assert not live_collection.files
    assert [r.status for r in live_collection.runner.runs] == ["skipped", "skipped"]
    assert "no packet sockets" in live_collection.notes[0] and "install tcpdump" in live_collection.notes[0]


def test_a_failing_socket_is_recorded(live_collection: _Collection, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(out: BinaryIO, seconds: float, *, limit: int = 100_000) -> int:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(rawcapture, "available", lambda: True)
    monkeypatch.setattr(rawcapture, "capture", refuse)
    _capture(live_collection)
    assert not live_collection.files and not (live_collection.out / "commands/raw-capture.pcap").exists()
    assert live_collection.runner.runs[-1].status == "error"
    assert "Operation not permitted" in live_collection.notes[0]


def test_loopback_duplicates_and_other_traffic_are_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    """The receive loop, with a fake socket: outgoing loopback copies and non-IKE packets are left out."""
    frames = [
        (ipv4(17, 500, 500), ("lo", 0x0800, rawcapture.PACKET_OUTGOING, rawcapture.ARPHRD_LOOPBACK, b"")),
        (ipv4(17, 500, 500), ("lo", 0x0800, 0, rawcapture.ARPHRD_LOOPBACK, b"")),
        (ipv4(17, 51000, 53), ("eth0", 0x0800, 0, 1, b"\2\0\0\0\0\1")),
        (ipv6(17, 500, 500), ("eth0", 0x86DD, 4, 1, b"\2\0\0\0\0\2")),
    ]

    class FakeSocket:
        def setsockopt(self, *args: object) -> None:
            pass

        def recvfrom(self, size: int) -> tuple[bytes, tuple[str, int, int, int, bytes]]:
            return frames.pop(0)

        def close(self) -> None:
            pass

    monkeypatch.setattr(rawcapture.socket, "socket", lambda *a: FakeSocket())
    monkeypatch.setattr(rawcapture.select, "select", lambda r, w, x, t: (r, [], []) if frames else ([], [], []))
    out = io.BytesIO()
    assert rawcapture.capture(out, 0.5) == 2
    data = out.getvalue()
    assert data.startswith(rawcapture.pcap_header())
    first = data[24 + 16:24 + 16 + 16]
    assert struct.unpack("!HHH", first[:6]) == (0, rawcapture.ARPHRD_LOOPBACK, 0)
