"""Attack scenarios: deterministic, their truth is what is in the files, they mix, and
every registered rule with a scenario finds its attack and nothing else (evaluate)."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from calltrace.config import load_config
from calltrace.detect.engine import DetectionEngine
from calltrace.detect.registry import registered
from calltrace.pipeline import Analysis, Analyzer
from calltrace.report.jsondoc import alert_json
from calltrace.sim.engine import SimConfig
from calltrace.sim.evaluate import evaluate
from calltrace.sim.events import carrier_events
from calltrace.sim.scenarios import available
from calltrace.sources.pcapfile import read_chunks
from calltrace.sources.simwriter import write_run

from .conftest import EXTRA_PORTS, needs_tshark

RULE_IDS = (
    "multicall_masking", "sip_scan", "scanner_user_agent", "extension_enumeration",
    "auth_bruteforce", "request_flood", "toll_fraud", "irsf", "wangiri", "mass_dialing",
    "concurrent_calls", "after_hours", "cli_spoofing", "header_anomaly",
    "device_inconsistency", "geo_anomaly", "forwarding_change",
)  # fmt: skip
ATTACKS = {name: s for name, s in available().items() if s.rule is not None}
SMALL = SimConfig(seed=5, duration=20.0)


def _analyze(path: Path, config: Path | None = None) -> Analysis:
    """Analyze ``path`` with the run's calltrace.toml when it wrote one."""
    engine = DetectionEngine(load_config(config)) if config and config.exists() else None
    analyzer = Analyzer(engine=engine)
    analyzer.begin_file(str(path), "jsonl" if path.suffix == ".jsonl" else None)
    for chunk in read_chunks(path):
        analyzer.feed(chunk)
    analyzer.end_file()
    return analyzer.finish()


def _truth(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "truth.json").read_text())
    return data


def test_one_scenario_per_rule_of_the_issue() -> None:
    """Each of the issue's 17 rule ids has exactly one attack scenario of that name."""
    assert {s.rule for s in ATTACKS.values()} == set(RULE_IDS)
    assert all(name == s.rule for name, s in ATTACKS.items())


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    """A mix written twice with one seed gives identical pcap, JSONL and truth files."""
    digests = []
    for run in ("a", "b"):
        write_run(["office", "wangiri", "auth_bruteforce"], SMALL, tmp_path / run, "both")
        digests.append([hashlib.sha256((tmp_path / run / f).read_bytes()).hexdigest()
                        for f in ("capture.pcap", "events.jsonl", "truth.json")])  # fmt: skip
    assert digests[0] == digests[1]


@pytest.fixture(scope="module")
def every_attack(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each attack scenario alone, written as pcap and JSONL (once for the module)."""
    root = tmp_path_factory.mktemp("attacks")
    for name in ATTACKS:
        write_run([name], SMALL, root / name, "both")
    return {name: root / name for name in ATTACKS}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_truth_matches_the_capture(name: str, every_attack: dict[str, Path]) -> None:
    """Our analyzer finds the truth's calls and every labelled Call-ID in the capture, and
    no decode error (header_anomaly's rule-breaking messages are defects, not errors)."""
    folder = every_attack[name]
    truth, analysis = _truth(folder), _analyze(folder / "capture.pcap")
    assert analysis.stats.decode_errors == 0
    assert analysis.stats.calls == truth["calls"]["total"]
    assert analysis.stats.sip_messages == truth["sip_messages"]
    seen = {c.call_id for c in analysis.calls} | {r.call_id for r in analysis.registrations}
    seen |= {e.call_id for e in analysis.errors if e.call_id}
    labelled = {c for g in truth["attacks"] + truth["near_misses"] for c in g["call_ids"]}
    options = {g["rule"] for g in truth["attacks"]} & {"sip_scan", "scanner_user_agent",
                                                        "request_flood"}  # fmt: skip
    if not options:  # OPTIONS pings are not calls: their Call-IDs are checked by tshark
        assert labelled <= seen
    assert truth["attacks"] and truth["near_misses"]
    assert analysis.stats.defects == (3 if name == "header_anomaly" else 0)


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_jsonl_holds_the_events_of_the_capture(name: str, every_attack: dict[str, Path]) -> None:
    """The JSONL file has one line per call event rebuilt from the capture, plus the
    switch-only side events (forwarding_change's config_change)."""
    folder = every_attack[name]
    pcap, events = _analyze(folder / "capture.pcap"), _analyze(folder / "events.jsonl")
    side = 1 if name == "forwarding_change" else 0
    assert events.stats.decode_errors == 0
    assert sum(events.stats.call_events.values()) == sum(pcap.stats.call_events.values()) + side
    assert _truth(folder)["events_file"]["lines"] == sum(events.stats.call_events.values())


@needs_tshark
@pytest.mark.parametrize("name", ["sip_scan", "header_anomaly", "wangiri"])
def test_tshark_counts_the_truths_messages(name: str, every_attack: dict[str, Path]) -> None:
    """tshark reads as many SIP messages as the truth says, with no malformed packet."""
    folder = every_attack[name]
    out = subprocess.run(
        ["tshark", "-r", str(folder / "capture.pcap"), "-T", "fields", "-e", "sip.Call-ID",
         "-e", "_ws.malformed", "-Y", "sip", *EXTRA_PORTS],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout.splitlines()  # fmt: skip
    truth = _truth(folder)
    assert len(out) == truth["sip_messages"]
    assert not any(line.split("\t")[1:] != [""] for line in out)
    ids = {line.split("\t")[0] for line in out}
    assert {c for g in truth["attacks"] + truth["near_misses"] for c in g["call_ids"]} <= ids


def test_wangiri_victims_call_back_and_are_labelled(tmp_path: Path) -> None:
    """Three of wangiri's 25 rung numbers call the A-number back after the burst: their
    calls are in the attack group (25 + 3 Call-IDs), answered, from rung numbers."""
    write_run(["wangiri"], SimConfig(seed=5, duration=20.0, detail=True), tmp_path, "pcap")
    truth = _truth(tmp_path)
    (attack,) = truth["attacks"]
    assert len(attack["call_ids"]) == 25 + 3
    backs = [f for f in truth["flows"] if f.get("callee") == "+2693214000"]
    assert len(backs) == 3 and {f["call_id"] for f in backs} <= set(attack["call_ids"])
    assert {f["caller"] for f in backs} <= set(attack["entities"]["b_number"])
    assert {f["state"] for f in backs} == {"completed"}


def test_mix_keeps_every_scenarios_labels(tmp_path: Path) -> None:
    """``carrier wangiri toll_fraud`` holds both attacks' groups and carrier's calls."""
    alone = write_run(["carrier"], SMALL, tmp_path / "c", "pcap")
    mixed = write_run(["carrier", "wangiri", "toll_fraud"], SMALL, tmp_path / "m", "pcap")
    truth = json.loads(mixed.truth.read_text())
    assert {g["rule"] for g in truth["attacks"]} == {"wangiri", "toll_fraud"}
    background = json.loads(alone.truth.read_text())["calls"]["total"]
    assert truth["calls"]["total"] == background + (25 + 3 + 19) + (5 + 2)


def test_carrier_events_are_fast_and_ordered() -> None:
    """Direct carrier events come in time order at the requested rate: attempts ~ rate x
    duration, every call ending in exactly one of end, cancel or reject."""
    rows = list(carrier_events(SimConfig(seed=3, duration=100.0, rate=20.0)))
    assert [r["timestamp"] for r in rows] == sorted(r["timestamp"] for r in rows)
    kinds = Counter(r["event"] for r in rows)
    assert 1700 < kinds["attempt"] < 2300  # Poisson: 2000 +- 7 sigma
    assert kinds["end"] + kinds["cancel"] + kinds["reject"] == kinds["attempt"]


E2E = [
    pytest.param(rule, fmt, id=f"{rule}-{fmt}")
    for rule in sorted(registered())
    if rule in ATTACKS
    for fmt in ATTACKS[rule].formats
]


@pytest.mark.parametrize(("rule", "fmt"), E2E)
def test_registered_rule_finds_its_attack_and_nothing_else(
    rule: str, fmt: str, tmp_path: Path
) -> None:
    """Attack + near misses (+ office background where it is safe), analyzed and
    evaluated: the rule's recall and precision are both 1.0."""
    names = [rule]
    if ATTACKS[rule].background_safe:
        names = ["office", rule]
    config = SimConfig(seed=9, duration=60.0, rate=0.5)
    write_run(names, config, tmp_path, fmt)
    data = tmp_path / ("capture.pcap" if fmt == "pcap" else "events.jsonl")
    analysis = _analyze(data, tmp_path / "calltrace.toml")
    result = {"alerts": [alert_json(a) for a in analysis.alerts]}
    score = evaluate(result, _truth(tmp_path))["rules"][rule]
    assert (score["recall"], score["precision"]) == (1.0, 1.0), score


def test_forwarding_change_row_names_its_setting_and_target(tmp_path: Path) -> None:
    """The PBX's config_change row says what changed (call_forward_all) and where calls
    now go (the Iridium number the feature code dialled)."""
    write_run(["forwarding_change"], SMALL, tmp_path, "jsonl")
    rows = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    (change,) = [r for r in rows if r["event"] == "config_change"]
    assert (change["a_number"], change["setting"], change["target"]) == (
        "3030", "call_forward_all", "+881612345678")  # fmt: skip
