"""The simulation loop: determinism, time order, truth bookkeeping, the message cap."""

from __future__ import annotations

import hashlib
import itertools
from collections import Counter

import dpkt
import pytest

from calltrace.sim.engine import SimConfig
from calltrace.sim.scenarios import available, simulation


def _digest(name: str, config: SimConfig) -> str:
    h = hashlib.sha256()
    for ts, frame in simulation(name, config):
        h.update(ts.to_bytes(8, "big"))
        h.update(frame)
    return h.hexdigest()


def test_builtin_scenarios_are_registered() -> None:
    """office, carrier and demo are available with a description and a default rate;
    attack scenarios (which stage fixed counts) name their rule instead."""
    known = available()
    assert {"office", "carrier", "demo"} <= set(known)
    assert all(s.description and (s.rate > 0 or s.rule) for s in known.values())


def test_unknown_scenario_names_the_known_ones() -> None:
    """Asking for a missing scenario fails with the list of registered names."""
    with pytest.raises(KeyError, match="office"):
        simulation("nope")


@pytest.mark.parametrize("name", ["office", "carrier"])
def test_same_seed_same_bytes_other_seed_other_bytes(name: str) -> None:
    """Two runs with one seed give identical frames; another seed gives different ones."""
    cfg = SimConfig(seed=11, duration=20, rate=2.0, rtp=True, max_talk_s=5)
    assert _digest(name, cfg) == _digest(name, cfg)
    assert _digest(name, cfg) != _digest(
        name, SimConfig(seed=12, duration=20, rate=2.0, rtp=True, max_talk_s=5)
    )


def test_frames_are_in_time_order_and_after_the_start() -> None:
    """Merged flows come out with non-decreasing timestamps, none before the configured start."""
    cfg = SimConfig(seed=5, duration=30, rate=3.0, rtp=True, max_talk_s=8)
    times = [ts for ts, _ in simulation("office", cfg)]
    assert times == sorted(times) and times[0] >= cfg.start_ns


def test_truth_counts_match_an_independent_udp_count() -> None:
    """Counting UDP SIP start lines with dpkt gives the truth's counts for a UDP-only run."""
    sim = simulation("carrier", SimConfig(seed=3, duration=5, rate=20.0))
    seen: Counter[str] = Counter()
    for _, frame in sim:
        ip = dpkt.ethernet.Ethernet(frame).data
        if isinstance(ip.data, dpkt.udp.UDP):
            first = bytes(ip.data.data).split(b"\r\n", 1)[0].decode()
            seen[first.split()[1] if first.startswith("SIP/2.0") else first.split()[0]] += 1
    truth = sim.truth
    udp_requests = {k: v for k, v in seen.items() if not k.isdigit()}
    assert sum(seen.values()) == truth["messages_by_transport"]["udp"]
    if truth["messages_by_transport"].get("tcp", 0) == 0:
        assert udp_requests == truth["requests"]


def test_max_messages_stops_between_flows() -> None:
    """With a cap, the run stops admitting flows at the cap: at least N messages, never cut."""
    sim = simulation("carrier", SimConfig(seed=1, duration=3600, max_messages=2000))
    frames = sum(1 for _ in sim)
    truth = sim.truth
    assert 2000 <= truth["sip_messages"] < 2000 + 40
    assert frames == truth["frames"]
    calls = truth["calls"]
    assert sum(calls["by_state"].values()) == calls["total"] == sum(calls["by_outcome"].values())


def test_generation_is_lazy() -> None:
    """The first frames of a long run arrive without generating the whole run."""
    sim = simulation("carrier", SimConfig(seed=1, duration=10**6))
    first = list(itertools.islice(sim, 100))
    assert len(first) == 100 and sim.truth["sip_messages"] < 5000


def test_truth_requests_and_responses_add_up() -> None:
    """Requests plus responses equal the message total; outcomes and states agree."""
    sim = simulation("office", SimConfig(seed=9, duration=300))
    for _ in sim:
        pass
    t = sim.truth
    assert sum(t["requests"].values()) + sum(t["responses"].values()) == t["sip_messages"]
    assert sum(t["messages_by_transport"].values()) == t["sip_messages"]
    assert t["registrations"]["total"] == 40 and t["options"] > 0
