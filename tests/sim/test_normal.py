"""Normal traffic is clean: the office and carrier scenarios raise no alert once the
site's declared allowlists (calltrace.toml) are in, and without them only on the
servers and trunks those allowlists name."""

from __future__ import annotations

from pathlib import Path

import pytest

from calltrace.config import load_config
from calltrace.detect.engine import DetectionEngine
from calltrace.model import Alert
from calltrace.pipeline import Analyzer
from calltrace.sim.engine import SimConfig
from calltrace.sim.scenarios import deployment_allowlists
from calltrace.sources.pcapfile import read_chunks
from calltrace.sources.simwriter import write_run

RUNS = [
    pytest.param("office", SimConfig(seed=1), "pcap", id="office-default"),
    pytest.param("office", SimConfig(seed=4, duration=120.0), "jsonl", id="office-jsonl"),
    pytest.param("carrier", SimConfig(seed=1, duration=30.0), "pcap", id="carrier-30s"),
    pytest.param("carrier", SimConfig(seed=2, duration=60.0), "jsonl", id="carrier-events"),
]


def _alerts(path: Path, config: Path | None) -> list[Alert]:
    engine = DetectionEngine(load_config(config)) if config is not None else None
    analyzer = Analyzer(engine=engine)
    analyzer.begin_file(str(path), "jsonl" if path.suffix == ".jsonl" else None)
    for chunk in read_chunks(path):
        analyzer.feed(chunk)
    analyzer.end_file()
    return analyzer.finish().alerts


@pytest.mark.parametrize(("name", "config", "fmt"), RUNS)
def test_normal_traffic_raises_no_alert_with_the_site_config(
    name: str, config: SimConfig, fmt: str, tmp_path: Path
) -> None:
    """Analyzed with the calltrace.toml simulate wrote, a normal-only run has no alert."""
    run = write_run([name], config, tmp_path, fmt)
    assert run.config == tmp_path / "calltrace.toml"
    data = run.pcap if fmt == "pcap" else run.events
    assert data is not None
    assert [(a.rule, a.entity) for a in _alerts(data, run.config)] == []


@pytest.mark.parametrize(("name", "config", "fmt"), RUNS[::2])
def test_without_the_config_only_declared_entities_alert(
    name: str, config: SimConfig, fmt: str, tmp_path: Path
) -> None:
    """Without the config every alert is on an entity the scenario's allowlist names for
    that rule (its own PBX or SBC, its customers' trunks): nothing else is noisy."""
    run = write_run([name], config, tmp_path, fmt)
    assert run.pcap is not None
    declared = deployment_allowlists([name])
    stray = [(a.rule, a.entity) for a in _alerts(run.pcap, None)
             if a.entity not in declared.get(a.rule, ())]  # fmt: skip
    assert stray == []


def test_office_declares_its_pbx_and_carrier_its_sbc_and_trunks() -> None:
    """The office allowlists its PBX for sip_scan and concurrent_calls; the carrier its two
    SBC addresses for the per-source rules and its 60 trunks for two of them."""
    office = deployment_allowlists(["office"])
    assert office == {"concurrent_calls": ["10.20.0.10"], "sip_scan": ["10.20.0.10"]}
    carrier = deployment_allowlists(["carrier"])
    sbc = ["2001:db8:100::10", "203.0.113.10"]
    assert carrier["sip_scan"] == carrier["request_flood"] == carrier["mass_dialing"] == sbc
    assert len(carrier["concurrent_calls"]) == len(carrier["extension_enumeration"]) == 62
