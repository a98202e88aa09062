"""The pcap writer: a file any reader opens, frames and times intact, truth beside it."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import dpkt

from calltrace.sim.engine import SimConfig
from calltrace.sim.scenarios import simulation
from calltrace.sources.pcapwriter import write_pcap, write_simulation


def test_write_pcap_round_trips_through_dpkt(tmp_path: Path) -> None:
    """dpkt reads back every frame with its microsecond timestamp; sizes add up."""
    frames = [(1_767_603_600_000_001_000, b"\x01" * 60), (1_767_603_601_250_000_000, b"\x02" * 70)]
    result = write_pcap(tmp_path / "x.pcap", iter(frames))
    assert result.frames == 2 and result.size == 24 + 16 * 2 + 130
    assert (tmp_path / "x.pcap").stat().st_size == result.size
    with open(tmp_path / "x.pcap", "rb") as f:
        got = [(round(ts, 6), bytes(buf)) for ts, buf in dpkt.pcap.Reader(f)]
    assert got == [(1767603600.000001, b"\x01" * 60), (1767603601.25, b"\x02" * 70)]
    assert not list(tmp_path.glob("*.part"))


def test_write_pcap_nanosecond(tmp_path: Path) -> None:
    """A nanosecond file keeps the full fraction (dpkt reads the ns magic)."""
    write_pcap(tmp_path / "n.pcap", [(1_000_000_000_123_456_789, b"\x00" * 14)], nanosecond=True)
    with open(tmp_path / "n.pcap", "rb") as f:
        reader = dpkt.pcap.Reader(f)
        ((ts, _),) = list(reader)
    assert ts == Decimal("1000000000.123456789")


def test_write_simulation_puts_truth_json_next_to_the_capture(tmp_path: Path) -> None:
    """truth.json lands in the capture's directory and describes the file written."""
    sim = simulation("office", SimConfig(seed=2, duration=20))
    result = write_simulation(sim, tmp_path / "capture.pcap")
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert result.truth_path == tmp_path / "truth.json"
    assert truth["file"] == {"name": "capture.pcap", "frames": result.frames, "bytes": result.size}
    assert truth["scenario"] == "office" and truth["seed"] == 2
    with open(tmp_path / "capture.pcap", "rb") as f:
        assert sum(1 for _ in dpkt.pcap.Reader(f)) == truth["frames"]
