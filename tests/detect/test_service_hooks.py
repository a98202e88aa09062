"""What the service needs from detection: window counts, retuning with state, cooldowns
remembered across a restart."""

from __future__ import annotations

from calltrace.config import parse_config
from calltrace.detect.engine import DetectionEngine
from calltrace.detect.rules.multicall_masking import MulticallMasking
from calltrace.detect.windows import SlidingWindow
from calltrace.model import CallEvent, CallEventType


def _attempt(i: int, ts: float, b: str = "b") -> CallEvent:
    return CallEvent(type=CallEventType.ATTEMPT, ts=ts, a_number=f"a{i}", b_number=b,
                     call_id=f"c{i}")  # fmt: skip


def test_counts_are_the_window_ending_at_a_time() -> None:
    """Entries in (end - W, end]: the left edge is open, the right closed."""
    w = SlidingWindow(5.0, distinct=True)
    for ts, a in [(0.0, "x"), (1.0, "y"), (5.0, "y"), (6.0, "z")]:
        w.add("k", ts, a)
    assert w.counts("k", 5.0) == (2, 1)  # (0, 5]: 1.0 y, 5.0 y
    assert w.counts("k", 6.0) == (2, 2)  # (1, 6]: 5.0 y, 6.0 z
    assert w.counts("k", 10.9) == (1, 1)  # (5.9, 10.9]: 6.0 z


def test_entries_are_every_retained_event_in_time_order() -> None:
    """Two keys interleaved come back merged by time."""
    w = SlidingWindow(5.0)
    w.add("a", 1.0, "x", "i1")
    w.add("b", 2.0, "y", "i2")
    w.add("a", 3.0, "z", "i3")
    assert w.entries() == [(1.0, "a", "x", "i1"), (2.0, "b", "y", "i2"), (3.0, "a", "z", "i3")]


def test_retune_carries_the_window_over() -> None:
    """Four callers held, threshold lowered to 4: the next caller alerts with all five."""
    rule = MulticallMasking()
    for i in range(4):
        assert rule.observe(_attempt(i, float(i))) == []
    tuned = rule.retune(min_callers=4)
    (alert,) = tuned.observe(_attempt(4, 4.0))
    assert alert.evidence["distinct_callers"] == 5
    assert alert.call_ids == ("c0", "c1", "c2", "c3", "c4")


def test_engine_reconfigure_changes_threshold_and_cooldown() -> None:
    """A running engine takes new parameters and cooldown without forgetting its window."""
    engine = DetectionEngine()
    for i in range(3):
        engine.observe(_attempt(i, float(i)))
    engine.reconfigure(parse_config({"rules": {"multicall_masking": {"min_callers": 3,
                                                                     "cooldown": 5}}}))  # fmt: skip
    (slot,) = [s for s in engine.slots if s.rule == "multicall_masking"]
    assert slot.cooldown == 5.0
    assert [a.rule for a in engine.observe(_attempt(3, 3.0))] == ["multicall_masking"]
    assert engine.observe(_attempt(4, 4.0)) == []  # cooling down
    assert engine.observe(_attempt(5, 8.0)) == []  # window (3, 8]: a4, a5
    assert engine.observe(_attempt(6, 8.2)) != []  # a4, a5, a6; 5.2 s after the last alert


def test_remembered_alert_keeps_its_cooldown() -> None:
    """A restarted engine told of a stored alert does not raise it again."""
    first = DetectionEngine()
    (alert,) = [a for i in range(5) for a in first.observe(_attempt(i, float(i)))]
    restarted = DetectionEngine()
    restarted.remember(alert)
    assert [a for i in range(5, 11) for a in restarted.observe(_attempt(i, float(i)))] == []
    assert restarted.risk.get("b_number", "b").score == alert.score
