"""`racoondbg parse spd|sad|setkey-script|xfrm` and `analyze` sniffing of kernel state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from racoondbg.cli import cli
from racoondbg.inputs import input_kinds
from racoondbg.sources import Source

FIXTURES = Path(__file__).parent / "fixtures"
KERNEL = FIXTURES / "kernel"

RACOON_LOG = """\
Mar  1 10:00:05 gw racoon: INFO: initiate new phase 1 negotiation: 192.0.2.1[500]<=>198.51.100.7[500]
Mar  1 10:00:05 gw racoon: [198.51.100.7] INFO: Selected NAT-T version: RFC 3947
Mar  1 10:00:35 gw racoon: ERROR: phase1 negotiation failed due to time up. 1f2e3d4c5b6a7988:0000000000000000
2014-03-01 10:00:07: INFO: IPsec-SA established: ESP/Tunnel 198.51.100.7[500]->192.0.2.1[500] spi=96473128(0x5c00e28)
2014-03-01 10:00:07: DEBUG: pfkey UPDATE succeeded: ESP/Tunnel 198.51.100.7[500]->192.0.2.1[500] spi=96473128
"""


@pytest.mark.parametrize("kind,rel,field,count", [
    ("spd", "spd/ipsec-tools-0.8-linux/prio-forms.raw", "policies", 6),
    ("sad", "sad/ipsec-tools-0.8/natt-tunnel.raw", "sas", 2),
    ("xfrm", "xfrm/linux-xfrm/policy.raw", "policies", 6),
    ("xfrm", "xfrm/linux-xfrm/state-s.raw", "sas", 2),
    ("setkey-script", "../scripts/ipsec.conf", "policies", 4),
])
def test_parse_prints_the_model(kind: str, rel: str, field: str, count: int) -> None:
    result = CliRunner().invoke(cli, ["parse", kind, str(KERNEL / rel)])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)[field]) == count


def test_analyze_sniffs_each_kernel_input(tmp_path: Path) -> None:
    for rel in ("spd/kame-2001/bypass.raw", "sad/kame-2001/transport.raw", "xfrm/linux-xfrm/state-s.raw"):
        (tmp_path / Path(rel).name).write_text((KERNEL / rel).read_text())
    result = CliRunner().invoke(cli, ["analyze", "--format", "json", str(tmp_path)])
    kinds = {Path(i["path"]).name: i["kind"] for i in json.loads(result.stdout)["inputs"]}
    assert kinds == {"bypass.raw": "spd", "transport.raw": "sad", "state-s.raw": "xfrm-state"}


def test_racoon_logs_are_not_claimed(tmp_path: Path) -> None:
    log = tmp_path / "racoon.log"
    log.write_text(RACOON_LOG)
    head = log.read_bytes()
    for kind in input_kinds():
        if kind.part in ("spd", "sad", "script"):
            assert kind.sniff(Source(log, "racoon.log"), head) == 0, kind.name
