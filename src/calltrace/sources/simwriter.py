"""``calltrace simulate``'s files: a run's capture, event file and truth in one folder.

The I/O end of the simulator (sim/ is pure). ``capture.pcap`` and ``events.jsonl`` come
from one deterministic run each (the same seed gives the same bytes), ``truth.json``
holds the run's counts and its labelled attacks and near misses (sim/labels.py).
With ``--format jsonl`` alone, scenarios that can be drawn straight as events
(``carrier``: sim/events.py) skip SIP altogether, which is what makes a 1M-line file
take seconds; with ``both`` every row comes from the frames of the pcap.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any, Final

from calltrace.sim.engine import TRUTH_VERSION, SimConfig
from calltrace.sim.events import Row, carrier_events, simulation_events
from calltrace.sim.scenarios import available, config_toml, deployment_allowlists, simulation
from calltrace.sources.events import write_events
from calltrace.sources.pcapwriter import write_pcap, write_truth

FORMATS: Final = ("pcap", "jsonl", "both")
PCAP_NAME: Final = "capture.pcap"
EVENTS_NAME: Final = "events.jsonl"
TRUTH_NAME: Final = "truth.json"
CONFIG_NAME: Final = "calltrace.toml"
#: Scenarios with a direct event generator (used for ``--format jsonl`` alone).
DIRECT_EVENTS: Final[dict[str, Callable[[SimConfig, float], Iterator[Row]]]] = {
    "carrier": carrier_events,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    """What ``simulate`` wrote."""

    pcap: Path | None
    frames: int
    events: Path | None
    lines: int
    truth: Path
    config: Path | None = None  # calltrace.toml: the allowlists the scenarios declare


def write_run(names: Sequence[str], config: SimConfig, out: Path, fmt: str = "pcap") -> RunResult:
    """Simulate ``names`` mixed into one run and write the files of ``fmt`` into ``out``."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, not {fmt!r}")
    known = available()
    for name in names:
        if name not in known:
            raise KeyError(f"unknown scenario {name!r}; known: {', '.join(known)}")
    out.mkdir(parents=True, exist_ok=True)
    truth: dict[str, Any] = {}
    pcap, frames, events, lines = None, 0, None, 0
    if fmt in ("pcap", "both"):
        sim = simulation(names, config)
        written = write_pcap(out / PCAP_NAME, sim)
        pcap, frames = written.path, written.frames
        truth = sim.truth
        truth["file"] = {"name": PCAP_NAME, "frames": written.frames, "bytes": written.size}
    if fmt in ("jsonl", "both"):
        direct = [n for n in names if n in DIRECT_EVENTS] if fmt == "jsonl" else []
        planned = [n for n in names if n not in direct]
        streams: list[Iterator[Row]] = [DIRECT_EVENTS[n](config, known[n].rate) for n in direct]
        planned_sim = simulation(planned, config) if planned else None
        if planned_sim is not None:
            streams.append(simulation_events(planned_sim))
        events = out / EVENTS_NAME
        rows = (
            streams[0] if len(streams) == 1 else heapq.merge(*streams, key=itemgetter("timestamp"))
        )
        lines = write_events(events, rows)
        if not truth:
            truth = planned_sim.truth if planned_sim is not None else _head(names, config)
            truth["scenario"] = "+".join(dict.fromkeys(names))
        truth["events_file"] = {"name": EVENTS_NAME, "lines": lines, "direct": direct}
    allowlists = deployment_allowlists(names)
    config_path = None
    if allowlists:
        config_path = out / CONFIG_NAME
        config_path.write_text(config_toml(allowlists))
        truth["config"] = {"name": CONFIG_NAME, "allowlists": allowlists}
    truth_path = write_truth(out / TRUTH_NAME, truth)
    return RunResult(pcap=pcap, frames=frames, events=events, lines=lines, truth=truth_path,
                     config=config_path)  # fmt: skip


def _head(names: Sequence[str], config: SimConfig) -> dict[str, Any]:
    return {
        "generator": "calltrace.sim",
        "truth_version": TRUTH_VERSION,
        "scenario": "+".join(names),
        "seed": config.seed,
        "start": config.start.isoformat(),
        "duration": config.duration,
        "rate": config.rate,
        "attacks": [],
        "near_misses": [],
    }
