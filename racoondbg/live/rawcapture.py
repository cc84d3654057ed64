"""Capturing IKE without tcpdump: a Linux packet socket, filtered in the kernel, written as a pcap.

``diagnose --capture N`` uses tcpdump when it is installed. Where it is not (minimal images,
appliances), this module does the same job as ``tcpdump -n -i any -w - 'udp port 500 or udp port
4500'``: an ``AF_PACKET`` socket on every interface, a classic BPF program that keeps UDP packets
from or to port 500 or 4500 (first fragments only, like tcpdump's filter), and a pcap file in the
Linux "cooked" link layer (``LINKTYPE_LINUX_SLL``), so the direction of each packet is kept.
It needs root (``CAP_NET_RAW``) and only reads; nothing is sent.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import time
from pathlib import Path
from typing import BinaryIO

#: What the capture keeps, in tcpdump's words (for the record of what was run).
FILTER = "udp port 500 or udp port 4500"
IKE_PORTS = (500, 4500)
SNAPLEN = 262144
LINKTYPE_LINUX_SLL = 113
ETH_P_ALL, ETH_P_IP, ETH_P_IPV6 = 0x0003, 0x0800, 0x86DD
PACKET_OUTGOING, ARPHRD_LOOPBACK = 4, 772
SO_ATTACH_FILTER = 26

# Classic BPF opcodes (linux/filter.h) and the ancillary load of the packet's protocol.
_LD_W_ABS, _LD_H_ABS, _LD_B_ABS, _LDX_B_MSH, _LD_H_IND = 0x20, 0x28, 0x30, 0xB1, 0x48
_JEQ, _JSET, _RET = 0x15, 0x45, 0x06
_SKF_AD_PROTOCOL = 0xFFFFF000


def available() -> bool:
    """Whether this system has packet sockets (Linux, Android)."""
    return hasattr(socket, "AF_PACKET")


def bpf_program() -> list[tuple[int, int, int, int]]:
    """The kernel filter: IPv4 (first fragments) or IPv6 UDP with port 500/4500 at either end.

    Written with labels (``""``: fall through to the next instruction), resolved to relative jumps.
    """
    udp = socket.IPPROTO_UDP
    program = [  # (label, opcode, jump if true, jump if false, k)
        ("", _LD_W_ABS, "", "", _SKF_AD_PROTOCOL),
        ("", _JEQ, "v4", "", ETH_P_IP),
        ("", _JEQ, "v6", "drop", ETH_P_IPV6),
        ("v4", _LD_B_ABS, "", "", 9),  # IPv4: protocol
        ("", _JEQ, "", "drop", udp),
        ("", _LD_H_ABS, "", "", 6),  # fragment offset: only first fragments carry the UDP header
        ("", _JSET, "drop", "", 0x1FFF),
        ("", _LDX_B_MSH, "", "", 0),  # X = IPv4 header length
        ("", _LD_H_IND, "", "", 0),  # source port
        ("", _JEQ, "accept", "", IKE_PORTS[0]),
        ("", _JEQ, "accept", "", IKE_PORTS[1]),
        ("", _LD_H_IND, "", "", 2),  # destination port
        ("", _JEQ, "accept", "", IKE_PORTS[0]),
        ("", _JEQ, "accept", "drop", IKE_PORTS[1]),
        ("v6", _LD_B_ABS, "", "", 6),  # IPv6: next header
        ("", _JEQ, "", "drop", udp),
        ("", _LD_H_ABS, "", "", 40),
        ("", _JEQ, "accept", "", IKE_PORTS[0]),
        ("", _JEQ, "accept", "", IKE_PORTS[1]),
        ("", _LD_H_ABS, "", "", 42),
        ("", _JEQ, "accept", "", IKE_PORTS[0]),
        ("", _JEQ, "accept", "drop", IKE_PORTS[1]),
        ("accept", _RET, "", "", SNAPLEN),
        ("drop", _RET, "", "", 0),
    ]
    labels = {row[0]: n for n, row in enumerate(program) if row[0]}

    def jump(n: int, target: str) -> int:
        return labels[target] - n - 1 if target else 0

    return [(code, jump(n, jt), jump(n, jf), k) for n, (_label, code, jt, jf, k) in enumerate(program)]


def is_ike(packet: bytes) -> bool:
    """The same test as :func:`bpf_program`, on a network-layer packet (for packets queued before the
    filter was attached, and where the kernel refuses the filter)."""
    if len(packet) >= 20 and packet[0] >> 4 == 4:
        if packet[9] != socket.IPPROTO_UDP or struct.unpack_from("!H", packet, 6)[0] & 0x1FFF:
            return False
        at = (packet[0] & 0x0F) * 4
    elif len(packet) >= 40 and packet[0] >> 4 == 6:
        if packet[6] != socket.IPPROTO_UDP:
            return False
        at = 40
    else:
        return False
    if len(packet) < at + 4:
        return False
    sport, dport = struct.unpack_from("!HH", packet, at)
    return sport in IKE_PORTS or dport in IKE_PORTS


def _attach_filter(sock: socket.socket) -> None:
    """Let the kernel drop everything but IKE (when it refuses, :func:`is_ike` still filters)."""
    import ctypes

    program = bpf_program()
    insns = b"".join(struct.pack("HBBI", *insn) for insn in program)
    buffer = ctypes.create_string_buffer(insns)
    fprog = struct.pack("HP", len(program), ctypes.addressof(buffer))
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


def pcap_header() -> bytes:
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, SNAPLEN, LINKTYPE_LINUX_SLL)


def pcap_record(when: float, packet: bytes, pkttype: int, hatype: int, hwaddr: bytes, protocol: int) -> bytes:
    """One pcap record: the Linux cooked header (direction, link type, source address) and the packet."""
    sll = struct.pack("!HHH8sH", pkttype, hatype, min(len(hwaddr), 8), hwaddr[:8], protocol)
    data = sll + packet
    seconds = int(when)
    return struct.pack("<IIII", seconds, int((when - seconds) * 1_000_000), len(data), len(data)) + data


def capture(out: BinaryIO, seconds: float, *, limit: int = 100_000) -> int:
    """Capture IKE on every interface for ``seconds`` into ``out`` (a pcap); returns the packet count.

    Raises OSError when the socket cannot be opened (not root, no packet sockets).
    """
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
    try:
        _attach_filter(sock)
        out.write(pcap_header())
        count = 0
        end = time.monotonic() + seconds
        while count < limit and (left := end - time.monotonic()) > 0:
            ready, _w, _x = select.select([sock], [], [], left)
            if not ready:
                continue
            packet, address = sock.recvfrom(SNAPLEN)
            _ifname, protocol, pkttype, hatype, hwaddr = address
            if hatype == ARPHRD_LOOPBACK and pkttype == PACKET_OUTGOING:
                continue  # loopback shows each packet twice; keep the copy that arrives
            if is_ike(packet):
                out.write(pcap_record(time.time(), packet, pkttype, hatype, hwaddr, protocol))
                count += 1
        return count
    finally:
        sock.close()


def capture_to(path: Path, seconds: float) -> int:
    with path.open("wb") as fh:
        return capture(fh, seconds)
