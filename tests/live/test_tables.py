from __future__ import annotations

from racoondbg.live.tables import (
    AddressRow,
    RouteRow,
    conf_argument,
    log_argument,
    parse_ip_addr,
    parse_ip_route,
    parse_ps,
    parse_sockets,
    parse_sysctl,
)

SS = """State  Recv-Q Send-Q      Local Address:Port  Peer Address:PortProcess
UNCONN 0      0               192.0.2.1:4500        0.0.0.0:*    users:(("racoon",pid=2412,fd=7))
UNCONN 0      0           [2001:db8::1]:500            [::]:*    users:(("charon",pid=77,fd=12))
UNCONN 0      0                 0.0.0.0:500         0.0.0.0:*
UNCONN 0      0               127.0.0.1:323         0.0.0.0:*    users:(("chronyd",pid=598,fd=5))
"""


def test_ss_rows_keep_ike_ports_with_their_owner() -> None:
    rows = parse_sockets("ss", SS)
    assert [(r.line, r.proto, r.address, r.port, r.pid, r.process) for r in rows] == [
        (2, "udp", "192.0.2.1", 4500, 2412, "racoon"),
        (3, "udp6", "2001:db8::1", 500, 77, "charon"),
        (4, "udp", "*", 500, None, None),
    ]


def test_sockstat_freebsd_and_netbsd_address_forms() -> None:
    text = """USER     COMMAND    PID   FD PROTO  LOCAL ADDRESS         FOREIGN ADDRESS
root     charon     702   14 udp4   *:500                 *:*
root     racoon     611   6  udp6   2001:db8::10:4500     *:*
root     racoon     212    6 udp    192.0.2.33.500        *.*
?        ?          ?     ?  udp4   *:4500                *:*
root     sshd       388    3 tcp4   *:22                  *:*
"""
    rows = parse_sockets("sockstat", text)
    assert [(r.address, r.port, r.pid, r.process) for r in rows] == [
        ("*", 500, 702, "charon"), ("2001:db8::10", 4500, 611, "racoon"), ("192.0.2.33", 500, 212, "racoon"),
        ("*", 4500, None, None),
    ]


def test_netstat_linux_with_programs_and_bsd_without() -> None:
    linux = ("Proto Recv-Q Send-Q Local Address  Foreign Address  State  PID/Program name\n"
             "udp        0      0 0.0.0.0:500    0.0.0.0:*               877/pluto\n")
    bsd = "Proto Recv-Q Send-Q  Local Address          Foreign Address        State\nudp4 0 0  *.4500  *.*\n"
    assert [(r.port, r.pid, r.process) for r in parse_sockets("netstat", linux)] == [(500, 877, "pluto")]
    assert [(r.address, r.port, r.process) for r in parse_sockets("netstat", bsd)] == [("*", 4500, None)]


def test_lsof_rows() -> None:
    text = ("COMMAND PID USER   FD   TYPE             DEVICE SIZE/OFF NODE NAME\n"
            "racoon  412 root    6u  IPv4 0xffffff8012ab3c40      0t0  UDP 198.51.100.2:500\n"
            "racoon  412 root    8u  IPv6 0xffffff8012ab3d00      0t0  UDP [2001:db8::2]:4500\n")
    assert [(r.proto, r.address, r.port, r.pid) for r in parse_sockets("lsof", text)] == [
        ("udp", "198.51.100.2", 500, 412), ("udp6", "2001:db8::2", 4500, 412)]


def test_ps_and_racoon_arguments() -> None:
    rows = parse_ps("    1 /sbin/init\n 2412 /usr/sbin/racoon -F -f /etc/racoon/racoon.conf -l /var/log/r.log\nbad\n")
    assert [(r.line, r.pid) for r in rows] == [(1, 1), (2, 2412)]
    argv = rows[1].argv
    assert conf_argument(argv) == "/etc/racoon/racoon.conf"
    assert log_argument(argv) == "/var/log/r.log"
    assert conf_argument(("racoon", "-f/usr/local/etc/racoon/racoon.conf")) == "/usr/local/etc/racoon/racoon.conf"
    assert conf_argument(("racoon", "-F")) is None


def test_sysctl_both_styles() -> None:
    values = parse_sysctl("net.ipv4.ip_forward = 0\nnet.inet.ipsec.esp_port: 4500\nsysctl: unknown oid\n")
    assert values == {"net.ipv4.ip_forward": (1, "0"), "net.inet.ipsec.esp_port": (2, "4500")}


def test_ip_addr_one_line_per_address() -> None:
    rows = parse_ip_addr("1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n"
                         "2: eth0    inet 192.0.2.1/24 brd 192.0.2.255 scope global eth0\\       valid_lft forever\n"
                         "2: eth0    inet6 2001:db8::1/64 scope global\n3: eth1    inet 999.1.1.1/24 scope global\n")
    assert rows == [AddressRow(1, "lo", "127.0.0.1/8"), AddressRow(2, "eth0", "192.0.2.1/24")]


def test_ip_route_types_metrics_and_multipath() -> None:
    rows = parse_ip_route("default via 192.0.2.254 dev eth2 proto static metric 100\n"
                          "192.0.2.0/25 dev eth0 proto kernel scope link src 192.0.2.1\n"
                          "unreachable 10.0.0.0/8\n"
                          "198.51.100.0/24 proto static\n"
                          "\tnexthop via 192.0.2.126 dev eth0 weight 1\n"
                          "\tnexthop via 192.0.2.254 dev eth2 weight 1\n"
                          "198.51.100.9 via 192.0.2.126 dev eth0\n")
    assert rows == [
        RouteRow(1, "0.0.0.0/0", ("eth2",), "unicast", 100), RouteRow(2, "192.0.2.0/25", ("eth0",), "unicast", 0),
        RouteRow(3, "10.0.0.0/8", (), "unreachable", 0), RouteRow(4, "198.51.100.0/24", ("eth0", "eth2"), "unicast", 0),
        RouteRow(7, "198.51.100.9/32", ("eth0",), "unicast", 0),
    ]
