"""Static (`add`) SAs from a setkey script next to SAs racoon negotiates."""

from __future__ import annotations

from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import Severity
from racoondbg.model.kernel import SecurityAssociation

from ._kernel import sa_ref


@rule("RDB213", "manual-keying-conflict", title="Manual SAs and racoon-negotiated SAs for the same peers",
      severity=Severity.WARNING, needs={"script", "sad|conf"},
      fix="Choose manual keying or IKE per peer; remove the `add` lines (or stop racoon for that peer), then flush.")
def manual_keying_conflict(ev: Evidence) -> Iterator[Hit]:
    """**What it means**

    A setkey script installs SAs by hand (`add … esp 0x1000 …`) while racoon also runs (a
    racoon.conf is present) or the SAD shows other, negotiated SAs for the same endpoints.

    **Why racoon fails**

    The kernel picks whichever SA it finds first; the peer may use the other. racoon logs
    `such policy already exists. anyway replace it`, `libipsec failed pfkey check (Invalid SA type)`.
    Manual SAs never rekey, so they also outlive the negotiated ones.

    **Evidence it looks at**

    setkey scripts (`add` commands, with their SPIs) and the SAD (SAs for the same source,
    destination and protocol with other SPIs) or the presence of racoon.conf.

    **How to fix**

    Use one keying method per peer: delete the `add` lines, or keep manual keying and stop racoon
    from negotiating for those peers; then `setkey -F` on both ends.

    **References**

    failure catalog #36.
    """
    manual = [sa for script in ev.scripts for sa in script.sas]
    if not manual:
        return
    spis = {(sa.src, sa.dst, sa.proto, sa.spi) for sa in manual}
    negotiated: dict[tuple[str, str, str], SecurityAssociation] = {}
    if ev.sad is not None:
        for sa in ev.sad.sas:
            if (sa.src, sa.dst, sa.proto, sa.spi) not in spis:
                negotiated.setdefault((sa.src, sa.dst, sa.proto), sa)
    for sa in manual:
        other = negotiated.get((sa.src, sa.dst, sa.proto))
        if other is None and ev.conf is None:
            continue
        why = (f"the SAD also holds the negotiated SA SPI 0x{other.spi:08x} for the same pair" if other
               else "racoon is configured on this host and negotiates SAs for its peers too")
        evidence = [sa_ref(sa, "manual SA (setkey add)")]
        if other is not None:
            evidence.append(sa_ref(other, "negotiated SA"))
        yield Hit(f"The script installs a manual {sa.proto.upper()} SA {sa.src} → {sa.dst} with SPI 0x{sa.spi:x}, and "
                  f"{why}: the two keying methods fight over the pair.", evidence, peer=sa.dst)
