"""The bundled sample: reproducible to the byte, small, and as rich as a demo needs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from calltrace.sim.calls import OUTCOME_STATE
from calltrace.sim.sample import SAMPLE_PATH, build, truth_path_for

from .conftest import needs_tshark, tshark_sip_stat


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample") / "sample.pcap"
    build(out)
    return out


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_sample_regenerates_byte_identical(regenerated: Path) -> None:
    """python -m calltrace.sim.sample reproduces the committed capture and truth exactly."""
    assert _sha(regenerated) == _sha(SAMPLE_PATH)
    assert _sha(truth_path_for(regenerated)) == _sha(truth_path_for(SAMPLE_PATH))


def test_sample_is_small_and_covers_every_outcome() -> None:
    """Under 1 MB; 40-60 calls with every outcome, ~10 registrations with one failure."""
    truth = json.loads(truth_path_for(SAMPLE_PATH).read_text())
    assert SAMPLE_PATH.stat().st_size < 1_000_000
    calls = truth["calls"]
    assert 40 <= calls["total"] <= 60
    assert set(calls["by_outcome"]) == set(OUTCOME_STATE)
    assert set(calls["hangup_by"]) == {"caller", "callee"}
    assert truth["registrations"]["by_outcome"]["failed"] == 1
    assert 8 <= truth["registrations"]["total"] <= 12
    assert truth["requests"]["REGISTER"] > 2 * truth["registrations"]["total"]  # refreshes
    assert truth["options"] > 0 and truth["rtp_packets"] > 0
    assert truth["messages_by_transport"]["tcp"] > 0 and truth["messages_by_port"]["5080"] > 0
    assert truth["tcp_split"] > 0 and truth["tcp_coalesced"] > 0


def test_sample_truth_lists_every_call_and_registration() -> None:
    """One flow record per call and registration, each call with its Call-ID and state."""
    truth = json.loads(truth_path_for(SAMPLE_PATH).read_text())
    calls = [f for f in truth["flows"] if f["kind"] == "call"]
    regs = [f for f in truth["flows"] if f["kind"] == "register"]
    assert len(calls) == truth["calls"]["total"] and len(regs) == truth["registrations"]["total"]
    assert len({c["call_id"] for c in calls}) == len(calls)
    assert all(c["state"] == OUTCOME_STATE[c["outcome"]] for c in calls)


@pytest.mark.tshark
@needs_tshark
def test_sample_counts_agree_with_tshark() -> None:
    """tshark sees the sample's SIP messages per method and status exactly as the truth says."""
    truth = json.loads(truth_path_for(SAMPLE_PATH).read_text())
    stat = tshark_sip_stat(SAMPLE_PATH)
    assert stat["messages"] == truth["sip_messages"] and stat["resent"] == truth["resent"]
    assert stat["requests"] == truth["requests"] and stat["responses"] == truth["responses"]
