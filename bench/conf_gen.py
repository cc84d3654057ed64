"""Generate a large racoon.conf: N remote blocks and N sainfo blocks (written to bench/data/, never committed).

    python bench/conf_gen.py 10000            # -> bench/data/racoon-10000.conf
"""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

DATA = Path(__file__).parent / "data"
_ENC = ("aes 128", "aes 256", "3des", "camellia")
_HASH = ("sha1", "sha256", "sha512")
_GROUPS = ("modp1024", "modp1536", "modp2048", "14")


def remote(i: int, peer: str) -> str:
    mode = "main" if i % 3 else "main, aggressive"
    return (
        f"# peer {i}\n"
        f"remote {peer} {{\n"
        f"\texchange_mode {mode};\n"
        f"\tmy_identifier address;\n"
        f"\tpeers_identifier address {peer};\n"
        f"\tlifetime time {1 + i % 24} hour;\n"
        f"\tnat_traversal {'on' if i % 2 else 'off'};\n"
        f"\tdpd_delay {10 + i % 50};\n"
        f"\tproposal {{\n"
        f"\t\tencryption_algorithm {_ENC[i % len(_ENC)]};\n"
        f"\t\thash_algorithm {_HASH[i % len(_HASH)]};\n"
        f"\t\tauthentication_method pre_shared_key;\n"
        f"\t\tdh_group {_GROUPS[i % len(_GROUPS)]};\n"
        f"\t}}\n"
        f"}}\n"
    )


def sainfo(i: int) -> str:
    local = ipaddress.ip_network((0x0A000000 + (i << 8), 24))
    far = ipaddress.ip_network((0xAC100000 + (i << 8), 24)) if i < 4096 else ipaddress.ip_network(
        f"2001:db8:{i:x}::/48")
    return (
        f"sainfo address {local} any address {far} any {{\n"
        f"\tpfs_group {_GROUPS[i % len(_GROUPS)]};\n"
        f"\tlifetime time {30 + i % 90} min;\n"
        f"\tencryption_algorithm aes 256, aes 128, 3des;\n"
        f"\tauthentication_algorithm hmac_sha256, hmac_sha1;\n"
        f"\tcompression_algorithm deflate;\n"
        f"}}\n"
    )


def generate(n: int) -> Path:
    DATA.mkdir(exist_ok=True)
    path = DATA / f"racoon-{n}.conf"
    with path.open("w") as out:
        out.write('path pre_shared_key "/etc/racoon/psk.txt";\nlog info;\n'
                  "timer { counter 5; interval 10 sec; phase1 30 sec; phase2 15 sec; }\n")
        for i in range(n):
            peer = str(ipaddress.ip_address(0xC6120000 + i)) if i % 4 else f"2001:db8:ffff::{i:x}"
            out.write(remote(i, peer))
        for i in range(n):
            out.write(sainfo(i))
    return path


if __name__ == "__main__":
    for arg in sys.argv[1:] or ["1000", "10000"]:
        print(generate(int(arg)))
