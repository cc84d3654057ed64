"""Number-to-name tables of ISAKMP/IKEv1 (RFC 2407/2408/2409, NAT-T, DPD, mode-config, racoon's VIDs).

Names follow racoon's log vocabulary where racoon has one, so a finding can quote the same word
the administrator sees in the log.
"""

from __future__ import annotations

EXCHANGE_TYPES: dict[int, str] = {
    0: "None",
    1: "Base",
    2: "Identity Protection",
    3: "Authentication Only",
    4: "Aggressive",
    5: "Informational",
    6: "Transaction",
    32: "Quick Mode",
    33: "New Group",
    34: "Acknowledged Informational",
}

#: Short exchange labels used in message step names (MM3, AM2, QM1, INFO, TXN).
EXCHANGE_SHORT: dict[int, str] = {1: "BASE", 2: "MM", 3: "AUTH", 4: "AM", 5: "INFO", 6: "TXN", 32: "QM", 33: "NGM"}

PAYLOAD_TYPES: dict[int, str] = {
    0: "none",
    1: "SA",
    2: "Proposal",
    3: "Transform",
    4: "Key Exchange",
    5: "Identification",
    6: "Certificate",
    7: "Certificate Request",
    8: "Hash",
    9: "Signature",
    10: "Nonce",
    11: "Notification",
    12: "Delete",
    13: "Vendor ID",
    14: "Attribute",
    15: "NAT-D (draft)",
    16: "NAT-OA (draft)",
    20: "NAT-D",
    21: "NAT-OA",
    129: "GSS-API token",
    130: "NAT-D (draft 00-03)",
    131: "NAT-OA (draft 00-03)",
    132: "IKE fragment",
}

#: Payload types that carry NAT discovery hashes / original addresses, whatever NAT-T version.
NAT_D_TYPES = frozenset({15, 20, 130})
NAT_OA_TYPES = frozenset({16, 21, 131})

PROTOCOLS: dict[int, str] = {1: "ISAKMP", 2: "AH", 3: "ESP", 4: "IPCOMP"}

NOTIFY_TYPES: dict[int, str] = {
    1: "INVALID-PAYLOAD-TYPE",
    2: "DOI-NOT-SUPPORTED",
    3: "SITUATION-NOT-SUPPORTED",
    4: "INVALID-COOKIE",
    5: "INVALID-MAJOR-VERSION",
    6: "INVALID-MINOR-VERSION",
    7: "INVALID-EXCHANGE-TYPE",
    8: "INVALID-FLAGS",
    9: "INVALID-MESSAGE-ID",
    10: "INVALID-PROTOCOL-ID",
    11: "INVALID-SPI",
    12: "INVALID-TRANSFORM-ID",
    13: "ATTRIBUTES-NOT-SUPPORTED",
    14: "NO-PROPOSAL-CHOSEN",
    15: "BAD-PROPOSAL-SYNTAX",
    16: "PAYLOAD-MALFORMED",
    17: "INVALID-KEY-INFORMATION",
    18: "INVALID-ID-INFORMATION",
    19: "INVALID-CERT-ENCODING",
    20: "INVALID-CERTIFICATE",
    21: "BAD-CERT-REQUEST-SYNTAX",
    22: "INVALID-CERT-AUTHORITY",
    23: "INVALID-HASH-INFORMATION",
    24: "AUTHENTICATION-FAILED",
    25: "INVALID-SIGNATURE",
    26: "ADDRESS-NOTIFICATION",
    27: "NOTIFY-SA-LIFETIME",
    28: "CERTIFICATE-UNAVAILABLE",
    29: "UNSUPPORTED-EXCHANGE-TYPE",
    30: "UNEQUAL-PAYLOAD-LENGTHS",
    16384: "CONNECTED",
    24576: "RESPONDER-LIFETIME",
    24577: "REPLAY-STATUS",
    24578: "INITIAL-CONTACT",
    36136: "R-U-THERE",
    36137: "R-U-THERE-ACK",
    40503: "HEARTBEAT",
}


def notify_name(code: int) -> str:
    """The notify type's name, or ``NOTIFY-<n>`` with its class for unknown codes."""
    name = NOTIFY_TYPES.get(code)
    if name:
        return name
    return f"{'ERROR' if code < 16384 else 'STATUS'}-{code}"


PH1_ATTRIBUTES: dict[int, str] = {
    1: "Encryption Algorithm",
    2: "Hash Algorithm",
    3: "Authentication Method",
    4: "Group Description",
    5: "Group Type",
    6: "Group Prime",
    7: "Group Generator One",
    8: "Group Generator Two",
    9: "Group Curve A",
    10: "Group Curve B",
    11: "Life Type",
    12: "Life Duration",
    13: "PRF",
    14: "Key Length",
    15: "Field Size",
    16: "Group Order",
    17: "Block Size",
    16384: "GSS-API Endpoint Name",
}

GROUPS: dict[int, str] = {
    1: "MODP-768",
    2: "MODP-1024",
    3: "EC2N-155",
    4: "EC2N-185",
    5: "MODP-1536",
    14: "MODP-2048",
    15: "MODP-3072",
    16: "MODP-4096",
    17: "MODP-6144",
    18: "MODP-8192",
    19: "ECP-256",
    20: "ECP-384",
    21: "ECP-521",
}

LIFE_TYPES = {1: "seconds", 2: "kilobytes"}

PH1_VALUES: dict[int, dict[int, str]] = {
    1: {1: "DES-CBC", 2: "IDEA-CBC", 3: "Blowfish-CBC", 4: "RC5-R16-B64-CBC", 5: "3DES-CBC", 6: "CAST-CBC",
        7: "AES-CBC", 8: "Camellia-CBC"},
    2: {1: "MD5", 2: "SHA", 3: "Tiger", 4: "SHA2-256", 5: "SHA2-384", 6: "SHA2-512"},
    3: {1: "pre-shared key", 2: "DSS signatures", 3: "RSA signatures", 4: "RSA encryption",
        5: "revised RSA encryption", 6: "El-Gamal encryption", 7: "revised El-Gamal encryption",
        64221: "Hybrid RSA (initiator)", 64222: "Hybrid RSA (responder)", 64223: "Hybrid DSS (initiator)",
        64224: "Hybrid DSS (responder)", 65001: "XAUTH PSK (initiator)", 65002: "XAUTH PSK (responder)",
        65003: "XAUTH DSS (initiator)", 65004: "XAUTH DSS (responder)", 65005: "XAUTH RSA (initiator)",
        65006: "XAUTH RSA (responder)", 65007: "XAUTH RSA encryption (initiator)",
        65008: "XAUTH RSA encryption (responder)", 65009: "XAUTH revised RSA encryption (initiator)",
        65010: "XAUTH revised RSA encryption (responder)"},
    4: GROUPS,
    5: {1: "MODP", 2: "ECP", 3: "EC2N"},
    11: LIFE_TYPES,
}

PH2_ATTRIBUTES: dict[int, str] = {
    1: "SA Life Type",
    2: "SA Life Duration",
    3: "Group Description",
    4: "Encapsulation Mode",
    5: "Authentication Algorithm",
    6: "Key Length",
    7: "Key Rounds",
    8: "Compress Dictionary Size",
    9: "Compress Private Algorithm",
    10: "Security Context",
}

ENCAPSULATION_MODES: dict[int, str] = {
    1: "Tunnel",
    2: "Transport",
    3: "UDP-Encapsulated-Tunnel",
    4: "UDP-Encapsulated-Transport",
    61443: "UDP-Encapsulated-Tunnel (draft)",
    61444: "UDP-Encapsulated-Transport (draft)",
}

PH2_VALUES: dict[int, dict[int, str]] = {
    1: LIFE_TYPES,
    3: GROUPS,
    4: ENCAPSULATION_MODES,
    5: {1: "HMAC-MD5", 2: "HMAC-SHA", 3: "DES-MAC", 4: "KPDK", 5: "HMAC-SHA2-256", 6: "HMAC-SHA2-384",
        7: "HMAC-SHA2-512"},
}

TRANSFORM_IDS: dict[int, dict[int, str]] = {
    1: {1: "KEY_IKE"},
    2: {2: "MD5", 3: "SHA", 4: "DES", 5: "SHA2-256", 6: "SHA2-384", 7: "SHA2-512"},
    3: {1: "DES-IV64", 2: "DES", 3: "3DES", 4: "RC5", 5: "IDEA", 6: "CAST", 7: "BLOWFISH", 8: "3IDEA",
        9: "DES-IV32", 10: "RC4", 11: "NULL", 12: "AES", 20: "AES-GCM-16", 22: "CAMELLIA", 253: "TWOFISH"},
    4: {1: "OUI", 2: "DEFLATE", 3: "LZS"},
}

ID_TYPES: dict[int, str] = {
    1: "IPv4_address",
    2: "FQDN",
    3: "User_FQDN",
    4: "IPv4_subnet",
    5: "IPv6_address",
    6: "IPv6_subnet",
    7: "IPv4_address_range",
    8: "IPv6_address_range",
    9: "DER_ASN1_DN",
    10: "DER_ASN1_GN",
    11: "KEY_ID",
}

CERT_ENCODINGS: dict[int, str] = {
    1: "PKCS #7",
    2: "PGP",
    3: "DNS signed key",
    4: "X.509 signature",
    5: "X.509 key exchange",
    6: "Kerberos",
    7: "CRL",
    8: "ARL",
    9: "SPKI",
    10: "X.509 attribute",
    11: "plain RSA",
}

MODECFG_TYPES = {1: "REQUEST", 2: "REPLY", 3: "SET", 4: "ACK"}

MODECFG_ATTRIBUTES: dict[int, str] = {
    1: "INTERNAL_IP4_ADDRESS",
    2: "INTERNAL_IP4_NETMASK",
    3: "INTERNAL_IP4_DNS",
    4: "INTERNAL_IP4_NBNS",
    5: "INTERNAL_ADDRESS_EXPIRY",
    6: "INTERNAL_IP4_DHCP",
    7: "APPLICATION_VERSION",
    8: "INTERNAL_IP6_ADDRESS",
    9: "INTERNAL_IP6_NETMASK",
    10: "INTERNAL_IP6_DNS",
    11: "INTERNAL_IP6_NBNS",
    12: "INTERNAL_IP6_DHCP",
    13: "INTERNAL_IP4_SUBNET",
    14: "SUPPORTED_ATTRIBUTES",
    15: "INTERNAL_IP6_SUBNET",
    16520: "XAUTH_TYPE",
    16521: "XAUTH_USER_NAME",
    16522: "XAUTH_USER_PASSWORD",
    16523: "XAUTH_PASSCODE",
    16524: "XAUTH_MESSAGE",
    16525: "XAUTH_CHALLENGE",
    16526: "XAUTH_DOMAIN",
    16527: "XAUTH_STATUS",
    16528: "XAUTH_NEXT_PIN",
    16529: "XAUTH_ANSWER",
    28672: "UNITY_BANNER",
    28673: "UNITY_SAVE_PASSWD",
    28674: "UNITY_DEF_DOMAIN",
    28675: "UNITY_SPLITDNS_NAME",
    28676: "UNITY_SPLIT_INCLUDE",
    28677: "UNITY_NATT_PORT",
    28678: "UNITY_LOCAL_LAN",
    28679: "UNITY_PFS",
    28680: "UNITY_FW_TYPE",
    28681: "UNITY_BACKUP_SERVERS",
    28682: "UNITY_DDNS_HOSTNAME",
}

#: Mode-config attributes whose values are secrets: only their length is kept.
MODECFG_SECRET_ATTRIBUTES = frozenset({16522, 16523, 16529})

#: Known vendor IDs: (prefix bytes, name). Matching is by prefix, like racoon's.
VENDOR_IDS: tuple[tuple[bytes, str], ...] = tuple(
    (bytes.fromhex(hexvid), name)
    for hexvid, name in (
        ("20a3622c1cea7ce37bee3ca484425276", "IPSec-Tools"),
        ("7003cbc1097dbe9c2600ba6983bc8b35", "KAME/racoon"),
        ("ad2c0dd0b9c32083ccba25b8861ec455", "GSSAPI (long)"),
        ("621b04bb09882ac1e15935fefa24aeee", "GSSAPI"),
        ("1e2b516905991c7d7c96fcbfb587e461", "MS NT5 ISAKMPOAKLEY"),
        ("4485152d18b6bbcd0be8a8469579ddcc", "draft-ietf-ipsec-nat-t-ike-00"),
        ("16f6ca16e4a4066d83821a0f0aeaa862", "draft-ietf-ipsec-nat-t-ike-01"),
        ("cd60464335df21f87cfdb2fc68b6a448", "draft-ietf-ipsec-nat-t-ike-02"),
        ("90cb80913ebb696e086381b5ec427b1f", "draft-ietf-ipsec-nat-t-ike-02\\n"),
        ("7d9419a65310ca6f2c179d9215529d56", "draft-ietf-ipsec-nat-t-ike-03"),
        ("9909b64eed937c6573de52ace952fa6b", "draft-ietf-ipsec-nat-t-ike-04"),
        ("80d0bb3def54565ee84645d4c85ce3ee", "draft-ietf-ipsec-nat-t-ike-05"),
        ("4d1e0e136deafa34c4f3ea9f02ec7285", "draft-ietf-ipsec-nat-t-ike-06"),
        ("439b59f8ba676c4c7737ae22eab8f582", "draft-ietf-ipsec-nat-t-ike-07"),
        ("8f8d83826d246b6fc7a8a6a428c11de8", "draft-ietf-ipsec-nat-t-ike-08"),
        ("4a131c81070358455c5728f20e95452f", "RFC 3947"),
        ("09002689dfd6b712", "XAUTH"),
        ("12f5f28c457168a9702d9fe274cc", "Cisco Unity"),
        ("4048b7d56ebce88525e7de7f00d6c2d3", "FRAGMENTATION"),
        ("afcad71368a1f1c96b8696fc7757", "DPD"),
        ("882fe56d6fd20dbc2251613b2ebe5beb", "strongSwan"),
        ("4f45", "Openswan/Libreswan"),
        ("01528bbbc00696121849ab9a1c5b2a51", "Microsoft Vid-Initial-Contact"),
    )
)

#: Vendor IDs that tell which implementation sent them (for fingerprints).
IMPLEMENTATION_VIDS: dict[str, str] = {
    "IPSec-Tools": "racoon (ipsec-tools)",
    "KAME/racoon": "racoon (KAME)",
    "strongSwan": "strongSwan",
    "Openswan/Libreswan": "Openswan/Libreswan",
    "MS NT5 ISAKMPOAKLEY": "Windows",
    "Cisco Unity": "Cisco or a Unity client",
}


def vendor_id_name(vid: bytes) -> str | None:
    """The name of a vendor ID (prefix match), or None when unknown."""
    for prefix, name in VENDOR_IDS:
        if vid.startswith(prefix):
            return name
    return None


def value_name(table: dict[int, str], value: int) -> str:
    return table.get(value) or str(value)
