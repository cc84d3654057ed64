"""Inputs written from the reference formats, with known secrets planted in them.

They seed the fuzzers (so every registered kind has at least one realistic input even before its
owner commits fixtures) and they are what ``test_secrets.py`` feeds to every output. The
``needles`` of a sample are strings that must never show up in any output unless the user asked
for keys: the key words as they appear in the input, and the same keys written without spaces.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from pathlib import Path

# Key material: eight-digit hex words that appear nowhere else in the samples.
ESP_ENC = ("5ec7e7a1", "b0a4d1e2", "c3f40516", "27a8b9ca")
ESP_AUTH = ("d1ce5eed", "e2f30415", "2637a8b9", "cadbec0d", "fe0f1021")
ESP_ENC_2 = ("9a8b7c6d", "5e4f3021", "1b2c3d4e", "5f607182", "93a4b5c6", "d7e8f90a")
ESP_AUTH_2 = ("0badcafe", "f00dfeed", "13572468", "acebdf01", "8642fdb9", "75316420", "eca86420", "fdb97531")
#: The second half of a 64-byte hmac-sha512 key (setkey prints it on a continuation line, no tab).
ESP_AUTH_2_TAIL = ("0c1d2e3f", "40516273", "8495a6b7", "c8d9eafb", "0c1d2e3e", "40516272", "8495a6b6", "c8d9eafa")
XFRM_ENC = ("4d3c2b1a", "0f9e8d7c", "6b5a4938", "27160504")
XFRM_AUTH = ("a0b1c2d3", "e4f50617", "28394a5b", "6c7d8e9f", "01122334")
SCRIPT_ENC = ("c0dec0de", "11335577", "99bbddff", "22446688")
SCRIPT_AUTH = ("aabbccd1", "eeff0012", "34567890", "abcdef12", "3456789a")
LOG_ENC_KEY = ("e1c2a3f4", "b5d6e7f8", "091a2b3c", "4d5e6f70")
LOG_SKEYID = ("51e7d0a1", "b2c3d4e5", "f6071829", "3a4b5c6d", "7e8f9001")
LOG_KEYMAT = ("ce11ab1e", "da7aba5e", "f1ee7ab1", "e0ddba11")
PSK_TEXT = "Planted-PSK-zebra-47-quokka"
PSK_HEX = "0x7a1b2c3d4e5f60718293a4b5c6d7e8f9"

#: Words whose spaced and joined forms must never leak.
KEY_WORDS = (ESP_ENC, ESP_AUTH, ESP_ENC_2, ESP_AUTH_2, ESP_AUTH_2_TAIL, XFRM_ENC, XFRM_AUTH, SCRIPT_ENC, SCRIPT_AUTH,
             LOG_ENC_KEY, LOG_SKEYID, LOG_KEYMAT)


def _sp(text: str) -> str:
    """The reference docs' ``␠`` marks a significant trailing space."""
    return text.replace("␠", " ")


def words(key: tuple[str, ...]) -> str:
    return " ".join(key)


def joined(key: tuple[str, ...]) -> str:
    return "".join(key)


SETKEY_D = _sp(f"""198.51.100.7 192.0.2.1␠
\tesp mode=tunnel spi=96473128(0x05c00e28) reqid=16385(0x00004001)
\tE: aes-cbc  {words(ESP_ENC)}
\tA: hmac-sha1  {words(ESP_AUTH)}
\tseq=0x00000000 replay=4 flags=0x00000000 state=mature␠
\tcreated: Mar  1 10:00:06 2014\tcurrent: Mar  1 10:05:00 2014
\tdiff: 294(s)\thard: 3600(s)\tsoft: 2880(s)
\tlast: Mar  1 10:00:09 2014\thard: 0(s)\tsoft: 0(s)
\tcurrent: 5220(bytes)\thard: 0(bytes)\tsoft: 0(bytes)
\tallocated: 58\thard: 0\tsoft: 0
\tsadb_seq=1 pid=2350 refcnt=0
192.0.2.1 198.51.100.7␠
\tesp mode=tunnel spi=2864434397(0xaabbccdd) reqid=16386(0x00004002)
\tE: 3des-cbc  {words(ESP_ENC_2)}
\tA: hmac-sha512  {words(ESP_AUTH_2)}
 {words(ESP_AUTH_2_TAIL)}
\tseq=0x00000000 replay=4 flags=0x00000000 state=mature␠
\tcreated: Mar  1 10:00:06 2014\tcurrent: Mar  1 10:05:00 2014
\tdiff: 294(s)\thard: 3600(s)\tsoft: 2880(s)
\tlast:                     \thard: 0(s)\tsoft: 0(s)
\tcurrent: 0(bytes)\thard: 0(bytes)\tsoft: 0(bytes)
\tallocated: 0\thard: 0\tsoft: 0
\tsadb_seq=0 pid=2350 refcnt=0
""")

SETKEY_DP = _sp("""10.2.0.0/16[any] 10.1.0.0/16[any] 255
\tfwd prio def ipsec
\tesp/tunnel/198.51.100.7-192.0.2.1/require
\tcreated: Mar  1 10:00:00 2014  lastused:␠␠␠␠␠␠␠␠␠␠␠␠␠␠␠␠␠␠␠␠␠
\tlifetime: 0(s) validtime: 0(s)
\tspid=18 seq=3 pid=2346
\trefcnt=1
10.2.0.0/16[any] 10.1.0.0/16[any] 255
\tin prio def ipsec
\tesp/tunnel/198.51.100.7-192.0.2.1/require
\tcreated: Mar  1 10:00:00 2014  lastused:␠␠␠␠␠␠␠␠␠␠␠␠␠␠␠␠␠␠␠␠␠
\tlifetime: 0(s) validtime: 0(s)
\tspid=16 seq=2 pid=2346
\trefcnt=1
10.1.0.0/16[any] 10.2.0.0/16[any] 255
\tout prio def ipsec
\tesp/tunnel/192.0.2.1-198.51.100.7/require
\tcreated: Mar  1 10:00:00 2014  lastused: Mar  1 10:04:59 2014
\tlifetime: 0(s) validtime: 0(s)
\tspid=9 seq=1 pid=2346
\trefcnt=2
""")

XFRM_STATE = _sp(f"""src 192.0.2.1 dst 198.51.100.7
\tproto esp spi 0xc1a55e5d reqid 16386 mode tunnel
\treplay-window 32 flag af-unspec
\tauth-trunc hmac(sha1) 0x{joined(XFRM_AUTH)} 96
\tenc cbc(aes) 0x{joined(XFRM_ENC)}
\tanti-replay context: seq 0x0, oseq 0x5, bitmap 0x00000000
\tsel src 0.0.0.0/0 dst 0.0.0.0/0␠
src 198.51.100.7 dst 192.0.2.1
\tproto esp spi 0x0dd01a73 reqid 16385 mode tunnel
\treplay-window 32 flag af-unspec
\taead rfc4106(gcm(aes)) 0x{joined(ESP_ENC)}{joined(("0a0b0c0d",))} 128
\tanti-replay context: seq 0x9, oseq 0x0, bitmap 0x000001ff
\tsel src 0.0.0.0/0 dst 0.0.0.0/0␠
""")

XFRM_POLICY = _sp("""src 10.1.0.0/16 dst 10.2.0.0/16␠
\tdir out priority 2147483648 ptype main␠
\ttmpl src 192.0.2.1 dst 198.51.100.7
\t\tproto esp reqid 16386 mode tunnel
src 10.2.0.0/16 dst 10.1.0.0/16␠
\tdir fwd priority 2147483648 ptype main␠
\ttmpl src 198.51.100.7 dst 192.0.2.1
\t\tproto esp reqid 16385 mode tunnel
src 10.2.0.0/16 dst 10.1.0.0/16␠
\tdir in priority 2147483648 ptype main␠
\ttmpl src 198.51.100.7 dst 192.0.2.1
\t\tproto esp reqid 16385 mode tunnel
""")

SETKEY_SCRIPT = f"""#!/usr/sbin/setkey -f
flush;
spdflush;
spdadd 192.0.2.1 198.51.100.7 any -P out ipsec esp/transport//require;
spdadd 198.51.100.7 192.0.2.1 any -P in  ipsec esp/transport//require;
add 192.0.2.1 198.51.100.7 esp 0x1001 -m transport
        -E aes-cbc 0x{joined(SCRIPT_ENC)}
        -A hmac-sha1 0x{joined(SCRIPT_AUTH)};
add 198.51.100.7 192.0.2.1 esp 0x1002 -m transport
        -E aes-cbc "{PSK_TEXT[:16]}"
        -A hmac-sha1 0x{joined(SCRIPT_AUTH[::-1])};
"""

PSK_TXT = f"""# IPv4/v6 addresses
198.51.100.7\t{PSK_TEXT}
2001:db8::7\t{PSK_HEX}
# USER_FQDN and FQDN
admin@example.com\t{PSK_TEXT}-2
gw.example.net {PSK_TEXT}-3
"""


def _hexdump(data: bytes) -> str:
    """racoon's plogdump(): 4-byte words, 8 words a line."""
    hexwords = [data[i:i + 4].hex() for i in range(0, len(data), 4)]
    return "\n".join(" ".join(hexwords[i:i + 8]) for i in range(0, len(hexwords), 8))


def _dump(ts: str, title: str, key: tuple[str, ...]) -> str:
    return f"{ts}: DEBUG: {title}\n{ts}: DEBUG:␠\n{_hexdump(bytes.fromhex(joined(key)))}\n"


_T = "2014-03-01 10:00:05"
RACOON_LOG = _sp(
    f"""{_T}: INFO: @(#)ipsec-tools 0.8.2 (http://ipsec-tools.sourceforge.net)
{_T}: INFO: Reading configuration from "/etc/racoon/racoon.conf"
{_T}: INFO: 192.0.2.1[500] used as isakmp port (fd=8)
{_T}: INFO: IPsec-SA request for 198.51.100.7 queued due to no phase1 found.
{_T}: INFO: initiate new phase 1 negotiation: 192.0.2.1[500]<=>198.51.100.7[500]
{_T}: INFO: begin Identity Protection mode.
{_T}: DEBUG: the psk found.
{_T}: DEBUG2: psk:␠
{_hexdump(PSK_TEXT.encode())}
"""
    + _dump(_T, "SKEYID computed:", LOG_SKEYID)
    + _dump(_T, "final encryption key computed:", LOG_ENC_KEY)
    + f"""{_T}: INFO: ISAKMP-SA established 192.0.2.1[500]-198.51.100.7[500] spi:1f2e3d4c5b6a7988:8a9b0c1d2e3f4051
{_T}: INFO: initiate new phase 2 negotiation: 192.0.2.1[500]<=>198.51.100.7[500]
{_T}: DEBUG: KEYMAT compute with
{_T}: DEBUG:␠
{_hexdump(bytes.fromhex(joined(LOG_KEYMAT)))}
{_T}: INFO: IPsec-SA established: ESP/Tunnel 198.51.100.7[0]->192.0.2.1[0] spi=231742451(0xdd01a73)
{_T}: ERROR: phase2 negotiation failed due to time up waiting for phase1. ESP 198.51.100.7[0]->192.0.2.1[0]␠
"""
)

#: The PSK as the -dd hexdump shows it, word by word.
PSK_DUMP_WORDS = tuple(PSK_TEXT.encode()[i:i + 4].hex() for i in range(0, len(PSK_TEXT) - 3, 4))

RACOON_CONF = """path include "/etc/racoon";
path pre_shared_key "psk.txt";
path certificate "certs";
listen { isakmp 192.0.2.1 [500]; }
remote 198.51.100.7 {
\texchange_mode main;
\tmy_identifier address;
\tproposal {
\t\tencryption_algorithm aes;
\t\thash_algorithm sha1;
\t\tauthentication_method pre_shared_key;
\t\tdh_group modp1024;
\t}
}
sainfo address 10.1.0.0/16 any address 10.2.0.0/16 any {
\tencryption_algorithm aes;
\tauthentication_algorithm hmac_sha1;
\tcompression_algorithm deflate;
}
"""


@dataclass(frozen=True)
class Sample:
    """One planted input: a file name, its content, the evidence part it feeds, what must not leak."""

    name: str
    part: str
    content: bytes
    needles: tuple[str, ...]

    def write(self, directory: Path) -> Path:
        path = directory / self.name
        path.write_bytes(self.content)
        return path


def _key_needles(*keys: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(n for key in keys for n in (*key, joined(key), words(key)))


@cache
def private_key_pem() -> tuple[bytes, bytes]:
    """(PEM private key, PEM self-signed certificate) made with `cryptography` (EC: fast)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gw1.example.net")])
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(4711).not_valid_before(now).not_valid_after(now + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    return pem, cert.public_bytes(serialization.Encoding.PEM)


def deep_file(directory: Path, levels: int, name: str, data: bytes) -> Path:
    """A file ``levels`` directories below ``directory`` (d0/d1/.../name)."""
    parent = directory.joinpath(*(f"d{level}" for level in range(levels)))
    parent.mkdir(parents=True)
    path = parent / name
    path.write_bytes(data)
    return path


def pem_needles(pem: bytes) -> tuple[str, ...]:
    """The secret part of an EC private key PEM: its first base64 line holds the private scalar
    (the last lines hold the public point, which a redacted bundle may legitimately show)."""
    lines = [line for line in pem.decode().splitlines() if line and not line.startswith("-----")]
    return (lines[0],)


SAMPLES = (
    Sample("sad.txt", "sad", SETKEY_D.encode(),
           _key_needles(ESP_ENC, ESP_AUTH, ESP_ENC_2, ESP_AUTH_2, ESP_AUTH_2_TAIL)),
    Sample("spd.txt", "spd", SETKEY_DP.encode(), ()),
    Sample("xfrm-state.txt", "sad", XFRM_STATE.encode(), _key_needles(XFRM_ENC, XFRM_AUTH, ESP_ENC)),
    Sample("xfrm-policy.txt", "spd", XFRM_POLICY.encode(), ()),
    Sample("ipsec.setkey", "script", SETKEY_SCRIPT.encode(),
           (*_key_needles(SCRIPT_ENC, SCRIPT_AUTH, SCRIPT_AUTH[::-1]), PSK_TEXT[:16])),
    Sample("psk.txt", "psk", PSK_TXT.encode(), (PSK_TEXT, PSK_HEX, PSK_HEX[2:])),
    Sample("racoon.log", "log", RACOON_LOG.encode(),
           (*_key_needles(LOG_ENC_KEY, LOG_SKEYID, LOG_KEYMAT), *PSK_DUMP_WORDS, PSK_TEXT)),
    Sample("racoon.conf", "conf", RACOON_CONF.encode(), ()),
)
