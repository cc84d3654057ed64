"""A policy asks for one IPsec mode, the SAD holds SAs of the other mode for the same endpoints."""

from __future__ import annotations

from collections.abc import Iterator

from racoondbg.engine import Hit, rule
from racoondbg.evidence import Evidence
from racoondbg.model.finding import Severity
from racoondbg.model.kernel import Policy, SecurityAssociation

from ._kernel import LIVE, SaIndex, contains_pair, host_address, policies, policy_ref, sa_ref, selector

MAX_SA_REFS = 6


@rule("RDB201", "spd-sad-mode-mismatch", title="Tunnel policy served by transport-mode SAs (or the reverse)",
      severity=Severity.ERROR, needs={"sad", "spd|script"},
      fix="Stop the two policies sharing one endpoint pair, then flush the stale SAs on both hosts.")
def spd_sad_mode_mismatch(ev: Evidence) -> Iterator[Hit]:
    """**What it means**

    A policy asks for `esp/tunnel/A-B`, but every live SA between A and B in the SAD is a
    transport-mode SA (or a transport policy between two hosts finds only tunnel-mode SAs).

    **Why racoon fails**

    The kernel finds SAs by addresses and protocol. When a second, broader *transport* policy
    covers the same two addresses as a tunnel's endpoints (a host that talks to its whole subnet
    in transport mode and tunnels everything else through the router on that subnet), racoon
    negotiates transport SAs for the pair and the tunnel policy ends up with them: the peer
    expects tunnel-mode packets, tunnelled traffic does not pass, and each new ACQUIRE adds
    another SA (see `duplicate-sa`). This is the 2002 "IPsec vs. OSX" case: the iBook's tunnel
    SAs "always appear as transport mode entries".

    **Evidence it looks at**

    SPD (`setkey -DP`, `ip xfrm policy`, or the setkey script) and SAD (`setkey -D`, `ip xfrm
    state`): the tunnel request's endpoints, the modes of the live SAs between them, and
    transport policies whose selectors cover the same two addresses.

    **How to fix**

    Give the tunnel's SAs their own identity with `unique:N` levels on the tunnel requests, or take
    the tunnel gateway out of the transport policy so the pair has one mode only; then clear the
    wrong SAs (`setkey -F` on both hosts) and restart racoon.

    **References**

    setkey(8) (levels `require` vs `unique`); racoon(8); failure catalog #32.
    """
    all_policies = [p for p in policies(ev) if p.is_ipsec]
    assert ev.sad is not None
    index = SaIndex(sa for sa in ev.sad.sas if sa.state in LIVE)
    reported: set[frozenset[str]] = set()
    tunnel_pairs = {frozenset((r.src, r.dst)) for p in all_policies for r in p.requests if r.mode == "tunnel"}
    for p in sorted(all_policies, key=lambda q: q.direction != "out"):
        for r in p.requests:
            if r.mode == "tunnel" and r.src and r.dst:
                pair = frozenset((r.src, r.dst))
                if pair in reported:
                    continue
                sas = index.between(r.src, r.dst, r.proto) + index.between(r.dst, r.src, r.proto)
                modes = {sa.mode for sa in sas}
                if sas and modes == {"transport"}:
                    reported.add(pair)
                    local, remote = (r.src, r.dst) if p.direction == "out" else (r.dst, r.src)
                    yield _tunnel_hit(p, local, remote, r.proto, sas, all_policies)
            elif r.mode == "transport" and p.src and p.dst and host_address(p.src) and host_address(p.dst):
                a, b = host_address(p.src), host_address(p.dst)
                assert a and b
                pair = frozenset((a, b))
                if pair in reported or pair in tunnel_pairs:
                    continue
                sas = index.between(a, b, r.proto) + index.between(b, a, r.proto)
                if sas and {sa.mode for sa in sas} == {"tunnel"}:
                    reported.add(pair)
                    yield _transport_hit(p, a, b, r.proto, sas)


def _tunnel_hit(p: Policy, a: str, b: str, proto: str, sas: list[SecurityAssociation],
                all_policies: list[Policy]) -> Hit:
    forward = sum(1 for sa in sas if sa.src == a)
    backward = len(sas) - forward
    rivals = [q for q in all_policies if q is not p and any(r.mode == "transport" for r in q.requests)
              and (contains_pair(q, a, b) or contains_pair(q, b, a))]
    tunnels = [q for q in all_policies if q is not p and any(
        r.mode == "tunnel" and {r.src, r.dst} == {a, b} for r in q.requests)]
    evidence = [policy_ref(p, "wants tunnel-mode SAs"), *(policy_ref(q, "wants tunnel-mode SAs") for q in tunnels[:1])]
    evidence += [policy_ref(q, f"transport policy covering {a} ↔ {b}") for q in rivals[:2]]
    evidence += [sa_ref(sa, "transport-mode SA") for sa in sas[:MAX_SA_REFS]]
    why = ""
    if rivals:
        why = (f" The transport policy {selector(rivals[0])} covers the same two addresses, so racoon "
               f"negotiates transport SAs for {a} ↔ {b} and the kernel hands them to the tunnel policy as "
               f"well: tunnelled traffic through {b} does not pass, and every new ACQUIRE stacks another SA.")
    message = (f"The tunnel policy {selector(p)} ({p.direction}) needs {proto.upper()} tunnel-mode SAs between "
               f"{a} and {b}, but the SAD holds only transport-mode SAs for that pair ({forward} from {a} to {b}, "
               f"{backward} back).{why}")
    tunnel_text = next(r.text() for r in p.requests if r.mode == "tunnel")
    unique = tunnel_text.rsplit("/", 1)[0] + "/unique:" + str(_free_reqid(all_policies))
    gateway_only = f"spdadd {a} {b} any -P out ipsec {proto}/tunnel/{a}-{b}/require;"
    fix = (f"Give the pair {a} ↔ {b} one mode only: add `{gateway_only}` (and the mirrored `in` policy) before the "
           f"transport policies, on both hosts; or keep the layout and give the tunnel its own SAs with "
           f"`{unique}` (another unique:N on the `in` policy). Then run `setkey -F` on both hosts and restart "
           f"racoon to drop the wrong SAs.")
    return Hit(message, evidence, fix=fix, peer=b)


def _free_reqid(all_policies: list[Policy]) -> int:
    used = {r.reqid for p in all_policies for r in p.requests if r.reqid}
    return next(n for n in range(100, 16384) if n not in used)


def _transport_hit(p: Policy, a: str, b: str, proto: str, sas: list[SecurityAssociation]) -> Hit:
    message = (f"The transport policy {selector(p)} ({p.direction}) needs {proto.upper()} transport-mode SAs "
               f"between {a} and {b}, but the SAD holds only tunnel-mode SAs for that pair and no policy here "
               f"asks for a tunnel between them: the peer negotiated a tunnel (its policy says tunnel), so "
               f"packets that arrive decapsulated do not match this host's transport policy.")
    evidence = [policy_ref(p, "wants transport-mode SAs"), *(sa_ref(sa, "tunnel-mode SA") for sa in sas[:MAX_SA_REFS])]
    fix = (f"Make both ends agree on the mode for {a} ↔ {b}: the same `{proto}/transport//require` (or both "
           f"`{proto}/tunnel/{a}-{b}/require`) policies on each host, then `setkey -F` on both and restart racoon.")
    return Hit(message, evidence, fix=fix, peer=b)
