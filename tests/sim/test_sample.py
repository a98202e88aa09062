"""The bundled sample: reproducible to the byte, small, and as rich as a demo needs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import phonenumbers
import pytest

from calltrace.pipeline import Analyzer
from calltrace.report.jsondoc import alert_json
from calltrace.sim.calls import OUTCOME_STATE
from calltrace.sim.evaluate import evaluate
from calltrace.sim.sample import SAMPLE_PATH, SAMPLE_SCENARIOS, build, truth_path_for
from calltrace.sources.pcapfile import read_chunks

from .conftest import needs_tshark, tshark_sip_stat


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample") / "sample.pcap"
    build(out)
    return out


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


#: The sample's number pools are drawn from phonenumbers' example numbers (sim/numbers.py):
#: another release of its data may draw other numbers. `make sample` after an upgrade.
SAMPLE_PHONENUMBERS = "9.0.43"


def test_sample_regenerates_byte_identical(regenerated: Path) -> None:
    """python -m calltrace.sim.sample reproduces the committed capture and truth exactly."""
    if phonenumbers.__version__ != SAMPLE_PHONENUMBERS:
        pytest.skip(
            f"sample made with phonenumbers {SAMPLE_PHONENUMBERS}, not {phonenumbers.__version__}"
        )
    assert _sha(regenerated) == _sha(SAMPLE_PATH)
    assert _sha(truth_path_for(regenerated)) == _sha(truth_path_for(SAMPLE_PATH))


def test_sample_is_small_and_covers_every_outcome() -> None:
    """Under 1 MB; the demo's 48 calls with every outcome plus wangiri's 25 + 19 one-ring
    calls and its 3 callbacks; the demo's 10 registrations (one failure) plus the password
    guesser's failed one and the near miss's successful one."""
    truth = json.loads(truth_path_for(SAMPLE_PATH).read_text())
    assert SAMPLE_PATH.stat().st_size < 1_000_000
    calls = truth["calls"]
    assert calls["total"] == 48 + 25 + 19 + 3
    assert set(calls["by_outcome"]) == set(OUTCOME_STATE)
    assert set(calls["hangup_by"]) == {"caller", "callee"}
    assert truth["registrations"]["by_outcome"] == {"failed": 1 + 1, "registered": 9 + 1}
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


def test_demo_alerts_are_the_sample_attacks_and_nothing_else() -> None:
    """``make demo`` (analyze with default settings) alerts on each staged attack of the
    sample (scanner, password guessing, wangiri) and on nothing else: precision and
    recall 1.0 for every rule that fired."""
    truth = json.loads(truth_path_for(SAMPLE_PATH).read_text())
    assert sorted(g["rule"] for g in truth["attacks"]) == sorted(SAMPLE_SCENARIOS[1:])
    analyzer = Analyzer()
    analyzer.begin_file(str(SAMPLE_PATH), None)
    for chunk in read_chunks(SAMPLE_PATH):
        analyzer.feed(chunk)
    analyzer.end_file()
    alerts = [alert_json(a) for a in analyzer.finish().alerts]
    overall = evaluate({"alerts": alerts}, truth)["overall"]
    assert {a["rule"] for a in alerts} == set(SAMPLE_SCENARIOS[1:])
    assert (overall["precision"], overall["recall"]) == (1.0, 1.0)


@pytest.mark.tshark
@needs_tshark
def test_sample_counts_agree_with_tshark() -> None:
    """tshark sees the sample's SIP messages per method and status exactly as the truth says."""
    truth = json.loads(truth_path_for(SAMPLE_PATH).read_text())
    stat = tshark_sip_stat(SAMPLE_PATH)
    assert stat["messages"] == truth["sip_messages"] and stat["resent"] == truth["resent"]
    assert stat["requests"] == truth["requests"] and stat["responses"] == truth["responses"]
