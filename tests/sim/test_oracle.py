"""Generated captures against tshark: SIP counts per method and status equal the truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from calltrace.sim.engine import SimConfig
from calltrace.sim.scenarios import simulation
from calltrace.sim.wire import WireOptions
from calltrace.sources.pcapwriter import write_simulation

from .conftest import needs_tshark, tshark_sip_stat

pytestmark = [pytest.mark.tshark, needs_tshark]

CASES = {
    "office": SimConfig(seed=21, duration=240, rate=0.6, rtp=True, max_talk_s=6,
                        wire=WireOptions(tcp_coalesce=0.6, tcp_split=0.5, rtp_loss=0.01)),
    "carrier": SimConfig(seed=22, duration=40, rate=25.0,
                         wire=WireOptions(tcp_coalesce=0.6, tcp_split=0.5)),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_tshark_counts_equal_truth(name: str, tmp_path: Path) -> None:
    """tshark's sip,stat (with 5080 decoded as SIP) sees exactly the truth's messages."""
    result = write_simulation(simulation(name, CASES[name]), tmp_path / f"{name}.pcap")
    truth = json.loads(Path(result.truth_path or "").read_text())
    # the run must exercise what the oracle is for: TCP, port 5080, resent INVITEs
    assert truth["messages_by_transport"]["tcp"] > 0 and truth["messages_by_port"]["5080"] > 0
    assert truth["resent"] > 0 and truth.get("tcp_split", 0) > 0
    stat = tshark_sip_stat(result.path)
    assert stat["messages"] == truth["sip_messages"]
    assert stat["resent"] == truth["resent"]
    assert stat["requests"] == truth["requests"]
    assert stat["responses"] == truth["responses"]
