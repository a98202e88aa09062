"""multicall_masking: five callers to one number within five seconds, and the near misses."""

from __future__ import annotations

from calltrace.detect.engine import DetectionEngine
from calltrace.detect.rules.multicall_masking import MulticallMasking
from calltrace.model import CallEventType
from tests.detect._events import T0, attempt

B = "+15550999"


def _run(events: list[tuple[float, str]], **params: object) -> list:  # type: ignore[type-arg]
    rule = MulticallMasking(**params)  # type: ignore[arg-type]
    return [alert for ts, a in events for alert in rule.observe(attempt(ts, a, B))]


def test_five_callers_in_four_seconds_fire_with_evidence() -> None:
    """Five distinct A-numbers within 4 s fire once, on the fifth call, naming all five."""
    events = [(i * 1.0, f"+1555010{i}") for i in range(5)]
    (alert,) = _run(events)
    assert alert.rule == "multicall_masking" and alert.entity == B
    assert alert.entity_type == "b_number" and alert.severity == "high"
    assert alert.evidence["a_numbers"] == [a for _, a in events]
    assert alert.call_ids == tuple(f"{a}>{B}@{ts}" for ts, a in events)
    assert (alert.first_seen, alert.last_seen) == (T0, T0 + 4.0)
    assert alert.score == 60


def test_four_callers_in_two_seconds_do_not_fire() -> None:
    """Near miss: four callers, however fast, stay under the threshold of five."""
    assert _run([(i * 0.5, f"a{i}") for i in range(4)]) == []


def test_five_callers_spread_over_six_seconds_do_not_fire() -> None:
    """Near miss: five callers 1.5 s apart span 6 s, so no 5 s window holds all five."""
    assert _run([(i * 1.5, f"a{i}") for i in range(5)]) == []


def test_ten_calls_from_two_callers_do_not_fire() -> None:
    """Near miss: volume is not rotation; ten calls from two A-numbers are two callers."""
    assert _run([(i * 0.3, f"a{i % 2}") for i in range(10)]) == []


def test_only_attempts_count() -> None:
    """Ringing, answer and end events of calls are not new callers."""
    rule = MulticallMasking()
    kinds = [CallEventType.RINGING, CallEventType.ANSWER, CallEventType.END, CallEventType.CANCEL]
    events = [attempt(i * 0.1, f"a{i}", B, kind=kinds[i % 4]) for i in range(20)]
    assert [a for e in events for a in rule.observe(e)] == []
    assert rule.state_size() == 0


def test_ten_callers_are_critical() -> None:
    """Twice the threshold of distinct callers makes the alert critical, with score 100."""
    alerts = _run([(i * 0.2, f"a{i}") for i in range(10)])
    assert alerts[-1].severity == "critical" and alerts[-1].score == 100


def test_late_caller_within_lateness_completes_the_burst() -> None:
    """A caller whose event arrives 0.9 s late still makes the fifth of its window."""
    events = [(0.0, "a0"), (1.0, "a1"), (2.0, "a2"), (4.5, "a3"), (3.6, "a4")]
    (alert,) = _run(events)
    assert alert.evidence["distinct_callers"] == 5


def test_engine_applies_cooldown_and_allowlist() -> None:
    """Through the engine a burst gives one alert per 30 s, and an allowlisted B-number none."""
    from calltrace.config import parse_config

    engine = DetectionEngine()
    burst = [attempt(i * 0.5, f"a{i}", B) for i in range(9)]  # 9: below critical (10)
    later = [attempt(31.0 + i * 0.5, f"c{i}", B) for i in range(5)]
    alerts = engine.observe_many(burst + later)
    assert [a.first_seen for a in alerts] == [T0, T0 + 31.0]
    assert engine.counters.suppressed["multicall_masking"] == 4
    config = parse_config({"rules": {"multicall_masking": {"allowlist": [B]}}})
    quiet = DetectionEngine(config)
    assert quiet.observe_many(burst) == []
    assert quiet.counters.allowlisted["multicall_masking"] == 9


def test_engine_lets_an_escalation_through_the_cooldown() -> None:
    """Within the cooldown a critical alert still passes after a high one; then it holds."""
    engine = DetectionEngine()
    burst = [attempt(i * 0.5, f"a{i}", B) for i in range(12)]
    alerts = engine.observe_many(burst)
    assert [(a.severity, a.evidence["distinct_callers"]) for a in alerts] == [
        ("high", 5),
        ("critical", 10),
    ]
    assert engine.counters.suppressed["multicall_masking"] == 6
