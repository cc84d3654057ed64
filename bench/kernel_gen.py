"""Writers for setkey -D / -DP and ip xfrm text in each flavour, and generators of large dumps.

Used by ``bench/kernel_bench.py`` (10k/100k-entry dumps in bench/data/) and to build the
flavour fixtures. The layouts follow reference/setkey-format.md line by line.

    python bench/kernel_gen.py OUTDIR N       # OUTDIR/spd-N.txt and OUTDIR/sad-N.txt
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

BLANK_TIME = " " * 20


def time20(t: datetime | None) -> str:
    if t is None:
        return BLANK_TIME
    return f"{t:%b} {t.day:2d} {t:%H:%M:%S} {t.year}"


def hexdump(key: bytes) -> str:
    """ipsec_hexdump: ' xxxxxxxx' per 4 bytes, a newline after every 32 bytes."""
    out = []
    for i in range(0, len(key), 4):
        if i and i % 32 == 0:
            out.append("\n")
        out.append(" " + key[i:i + 4].hex())
    return "".join(out)


@dataclass
class Sa:
    src: str
    dst: str
    spi: int
    mode: str = "transport"
    proto: str = "esp"
    reqid: int = 0
    enc: str | None = "aes-cbc"
    enc_key: bytes = b""
    auth: str | None = "hmac-sha1"
    auth_key: bytes = b""
    comp: str | None = None
    state: str = "mature"
    created: datetime = datetime(2014, 3, 1, 10, 0, 6)
    now: datetime = datetime(2014, 3, 1, 10, 5, 0)
    hard: int = 3600
    soft: int = 2880
    used: bool = True
    nbytes: int = 0
    natt: tuple[int, int] | None = None
    nat_oa: str | None = None
    seq: int = 0
    pid: int = 2345
    secctx: str | None = None
    apple_if: str | None = None


def sad_entry(sa: Sa, flavour: str = "0.8") -> str:
    """One SAD entry. flavour: 0.8 | 0.7 | freebsd | kame | macos."""
    src, dst = sa.src, sa.dst
    if sa.natt and flavour in ("0.8", "freebsd", "macos"):
        src, dst = f"{src}[{sa.natt[0]}]", f"{dst}[{sa.natt[1]}]"
    satype = "esp-udp" if sa.natt and flavour in ("0.8", "freebsd") else sa.proto
    lines = [f"{src} {dst}" + ("" if flavour == "freebsd" else " ")]
    lines.append(f"\t{satype} mode={sa.mode} spi={sa.spi}(0x{sa.spi:08x}) reqid={sa.reqid}(0x{sa.reqid:08x})")
    if sa.nat_oa:
        lines.append(f"\tNAT: OAI={sa.nat_oa}" if flavour == "freebsd" else f"\tNAT OA={sa.nat_oa}")
    state_tail = f"state={sa.state} "
    state = (f"replay={0 if sa.comp else 4} flags=0x00000000 state={sa.state} seq={sa.seq} pid={sa.pid}"
             if flavour == "kame" else
             f"seq=0x00000000 replay={0 if sa.comp else 4} flags=0x00000000 "
             + ("flags2=0x00000000 " if flavour == "macos" else "") + state_tail)
    if sa.comp:
        lines.append(f"\tC: {sa.comp} \t" + state)
    else:
        if sa.enc:
            lines.append(f"\tE: {sa.enc} {hexdump(sa.enc_key)}")
        if sa.auth:
            lines.append(f"\tA: {sa.auth} {hexdump(sa.auth_key)}")
        lines.append("\t" + state)
    if sa.apple_if:
        lines.append(f"\tinternal_if: {sa.apple_if}  outgoing_if: {sa.apple_if}  ipsec_if: ipsec0  disabled: 0")
    age = int((sa.now - sa.created).total_seconds())
    lines.append(f"\tcreated: {time20(sa.created)}\tcurrent: {time20(sa.now)}")
    lines.append(f"\tdiff: {age}(s)\thard: {sa.hard}(s)\tsoft: {sa.soft}(s)")
    last = sa.created + timedelta(seconds=1) if sa.used and sa.nbytes else None
    lines.append(f"\tlast: {time20(last)}\thard: 0(s)\tsoft: 0(s)")
    lines.append(f"\tcurrent: {sa.nbytes}(bytes)\thard: 0(bytes)\tsoft: 0(bytes)")
    lines.append(f"\tallocated: {sa.nbytes // 100}\thard: 0\tsoft: 0")
    if sa.secctx:
        lines += ["\tsecurity context doi: 1", "\tsecurity context algorithm: 1",
                  f"\tsecurity context length: {len(sa.secctx) + 1}", f"\tsecurity context: {sa.secctx}"]
    lines.append("\trefcnt=1" if flavour == "kame" else f"\tsadb_seq={sa.seq} pid={sa.pid} refcnt=0")
    return "\n".join(lines) + "\n"


@dataclass
class Sp:
    src: str
    dst: str
    direction: str
    action: str = "ipsec"
    requests: list[str] = field(default_factory=list)
    proto: str = "any"
    sport: str = "any"
    dport: str = "any"
    spid: int = 1
    seq: int = 0
    pid: int = 2346
    lifetime: int = 0
    prio: str | None = "def"
    created: datetime = datetime(2014, 3, 1, 10, 0, 0)
    used: datetime | None = None


def spd_entry(sp: Sp, flavour: str = "0.8-linux") -> str:
    """One SPD entry. flavour: 0.8-linux | 0.8 | 0.7 | freebsd | kame | macos."""
    upper = ("255" if sp.proto == "any" else sp.proto) if flavour.startswith("0.8") else sp.proto
    ported = sp.proto not in ("icmp", "icmp6", "ipv6-icmp")
    lines = [f"{sp.src}[{sp.sport}] {sp.dst}[{sp.dport}] {upper}" if ported else f"{sp.src} {sp.dst} {upper}"]
    prio = f" prio {sp.prio}" if flavour == "0.8-linux" and sp.prio else ""
    lines.append(f"\t{sp.direction}{prio} {sp.action}")
    lines += [f"\t{r}" for r in sp.requests]
    if flavour == "kame":
        lines.append(f"\tlifetime:{sp.lifetime} validtime:0")
    else:
        lines.append(f"\tcreated: {time20(sp.created)}  lastused: {time20(sp.used)}")
        lines.append(f"\tlifetime: {sp.lifetime}(s) validtime: 0(s)")
    scope = " scope=global" if flavour == "freebsd" else ""
    lines.append(f"\tspid={sp.spid} seq={sp.seq} pid={sp.pid}{scope}")
    lines.append("\trefcnt=1")
    return "\n".join(lines) + "\n"


def xfrm_state(sa: Sa, stats: bool = False) -> str:
    names = {"aes-cbc": "cbc(aes)", "3des-cbc": "cbc(des3_ede)", "hmac-sha1": "hmac(sha1)",
             "hmac-sha256": "hmac(sha256)", "hmac-md5": "hmac(md5)"}
    spi = f"0x{sa.spi:08x}" + (f"({sa.spi})" if stats else "")
    reqid = f"{sa.reqid}" + (f"(0x{sa.reqid:08x})" if stats else "")
    lines = [f"src {sa.src} dst {sa.dst}", f"\tproto {sa.proto} spi {spi} reqid {reqid} mode {sa.mode}",
             "\treplay-window 32 flag af-unspec"]
    if sa.auth:
        bits = 96 if sa.auth == "hmac-sha1" else 128
        lines.append(f"\tauth-trunc {names.get(sa.auth, sa.auth)} 0x{sa.auth_key.hex()} {bits}")
    if sa.enc:
        lines.append(f"\tenc {names.get(sa.enc, sa.enc)} 0x{sa.enc_key.hex()}")
    if sa.natt:
        lines.append(f"\tencap type espinudp sport {sa.natt[0]} dport {sa.natt[1]} addr 0.0.0.0")
    lines.append("\tanti-replay context: seq 0x0, oseq 0x0, bitmap 0x00000000")
    lines.append("\tsel src 0.0.0.0/0 dst 0.0.0.0/0 " + ("uid 0" if stats else ""))
    if stats:
        lines += ["\tlifetime config:", "\t  limit: soft (INF)(bytes), hard (INF)(bytes)",
                  "\t  limit: soft (INF)(packets), hard (INF)(packets)",
                  f"\t  expire add: soft {sa.soft}(sec), hard {sa.hard}(sec)",
                  "\t  expire use: soft 0(sec), hard 0(sec)",
                  "\tlifetime current:", f"\t  {sa.nbytes}(bytes), {sa.nbytes // 100}(packets)",
                  f"\t  add {sa.created:%Y-%m-%d %H:%M:%S} use "
                  + (f"{sa.created + timedelta(seconds=1):%Y-%m-%d %H:%M:%S}" if sa.nbytes else "-"),
                  "\tstats:", "\t  replay-window 0 replay 0 failed 0"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# large dumps for the benchmark: n/4 gateway pairs, each with out/in/fwd tunnel policies plus a
# host-to-host transport pair; SAs: one pair per tunnel, a rekey overlap now and then.

def _group(i: int) -> tuple[str, str, str, str]:
    """Local net, remote net, local gateway, remote gateway of the i-th tunnel."""
    return (f"10.{(i >> 8) % 256}.{i % 256}.0/24", f"{20 + (i >> 16)}.{(i >> 8) % 256}.{i % 256}.0/24",
            "192.0.2.1", f"198.{18 + i // 65024}.{(i // 254) % 256}.{i % 254 + 1}")


def big_spd(n: int) -> str:
    out = []
    for i in range(n // 4):
        local, remote, gw_l, gw_r = _group(i)
        out.append(spd_entry(Sp(local, remote, "out", requests=[f"esp/tunnel/{gw_l}-{gw_r}/require"], spid=8 * i + 1)))
        out.append(spd_entry(Sp(remote, local, "in", requests=[f"esp/tunnel/{gw_r}-{gw_l}/require"], spid=8 * i)))
        out.append(spd_entry(Sp(remote, local, "fwd", requests=[f"esp/tunnel/{gw_r}-{gw_l}/require"], spid=8 * i + 2)))
        out.append(spd_entry(Sp(gw_l, gw_r, "out", requests=["esp/transport//require"], spid=8 * i + 9)))
    return "".join(out)


def big_sad(n: int, rng: random.Random) -> str:
    """n SAs: a mature pair per tunnel, and on every tenth tunnel a dying pair being replaced (a rekey)."""
    out: list[str] = []
    now = datetime(2014, 3, 1, 12, 0, 0)
    i = 0
    while len(out) < n:
        _, _, gw_l, gw_r = _group(i)
        ages = [rng.randrange(10, 2800)] + ([rng.randrange(2900, 3500)] if i % 10 == 0 else [])
        for age in ages:
            key, auth = rng.randbytes(16), rng.randbytes(20)
            for src, dst in ((gw_r, gw_l), (gw_l, gw_r)):
                out.append(sad_entry(Sa(src, dst, rng.randrange(0x100, 0xFFFFFFFF), mode="tunnel", enc_key=key,
                                        auth_key=auth, state="dying" if age > 2880 else "mature",
                                        created=now - timedelta(seconds=age), now=now,
                                        nbytes=rng.randrange(1, 100000)), "0.8"))
        i += 1
    return "".join(out[:n])


def main(argv: list[str]) -> None:
    outdir, n = Path(argv[1]), int(argv[2])
    outdir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(n)
    (outdir / f"spd-{n}.txt").write_text(big_spd(n))
    (outdir / f"sad-{n}.txt").write_text(big_sad(n, rng))


if __name__ == "__main__":
    main(sys.argv)
