"""ESP with HMAC-SHA-256 truncated to 96 bits (old Linux default) against RFC 4868 peers."""

from __future__ import annotations

from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import Severity

from ._kernel import sa_ref

L2TP_PORT = 1701


@rule("RDB214", "esp-sha2-truncation", title="ESP hmac-sha256 with mismatched truncation (96 vs 128 bits)",
      severity=Severity.WARNING, needs={"sad"},
      fix="Use hmac-sha1 for these peers, or make both sides truncate SHA-256 to 128 bits (RFC 4868).")
def esp_sha2_truncation(ev: Evidence) -> Iterator[Hit]:
    """**What it means**

    ESP SAs use `hmac-sha256`. Old Linux kernels (and Android's racoon on them) truncate the
    SHA-256 ICV to 96 bits, as a draft said; RFC 4868 and every other stack use 128 bits.

    **Why racoon fails**

    Negotiation succeeds, both SAs are `mature`, ESP packets flow — and every packet fails the
    integrity check on the other side. With L2TP over IPsec (UDP 1701) this is the classic "connected
    but no traffic": the L2TP SCCRQ is never answered.

    **Evidence it looks at**

    SAD: `A: hmac-sha256` ESP SAs; `ip xfrm state` shows the truncation (`auth-trunc hmac(sha256)
    … 96`). On a setkey dump the length is not visible, so it is flagged only next to an L2TP
    (UDP 1701) policy on Linux.

    **How to fix**

    Offer `hmac_sha1` in `sainfo` (`authentication_algorithm hmac_sha1;`), or set the truncation to
    128 bits on the Linux side (`ip xfrm state … auth-trunc 'hmac(sha256)' KEY 128`, kernel ≥ 2.6.33).

    **References**

    RFC 4868; failure catalog #7.
    """
    assert ev.sad is not None
    l2tp = ev.spd is not None and "linux" in (ev.spd.flavour or "") and any(
        p.proto == "udp" and L2TP_PORT in (p.src_port, p.dst_port) for p in ev.spd.policies)
    for sa in ev.sad.sas:
        if sa.proto != "esp" or sa.auth_alg not in ("hmac-sha256", "hmac-sha2-256") or sa.state not in ("mature",
                                                                                                      "dying"):
            continue
        if sa.auth_trunc_bits == 96:
            yield Hit(f"The ESP SA {sa.src} → {sa.dst} (SPI 0x{sa.spi:08x}) truncates HMAC-SHA-256 to 96 bits; RFC "
                      f"4868 peers use 128, so every packet fails their integrity check.",
                      [sa_ref(sa, "auth-trunc hmac(sha256) … 96")], severity=Severity.ERROR, peer=sa.dst)
        elif sa.auth_trunc_bits is None and l2tp:
            yield Hit(f"The ESP SA {sa.src} → {sa.dst} (SPI 0x{sa.spi:08x}) uses HMAC-SHA-256 for L2TP on Linux: if "
                      f"either side truncates to 96 bits (old kernels, Android) the peers drop each other's packets.",
                      [sa_ref(sa, "hmac-sha256")], peer=sa.dst)
