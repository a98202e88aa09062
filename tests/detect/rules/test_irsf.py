"""irsf: ten calls to five numbers of one international range in ten minutes, and near misses."""

from __future__ import annotations

import doctest

from calltrace.detect.rules import irsf
from calltrace.detect.rules.irsf import Irsf
from calltrace.model import Alert, CallEvent, CallEventType
from tests.detect._events import T0

RANGE = "+37167000"  # a Latvian range (Commsrisk's IRSF destinations; on the high-risk list)


def _call(offset: float, b: str, *, kind: CallEventType = CallEventType.ATTEMPT,
          duration: float | None = None, call: str | None = None) -> CallEvent:  # fmt: skip
    return CallEvent(type=kind, ts=T0 + offset, a_number="+442079460000", b_number=b,
                     call_id=call or f"{b}@{offset}", duration=duration)  # fmt: skip


def _run(rule: Irsf, events: list[CallEvent]) -> list[Alert]:
    return [alert for event in events for alert in rule.observe(event)]


def _pump(count: int, numbers: int, step: float = 30.0) -> list[CallEvent]:
    return [_call(i * step, f"{RANGE}1{i % numbers:02d}") for i in range(count)]


def test_ten_calls_to_five_numbers_of_a_range_fire() -> None:
    """Ten calls to five numbers of +37167000xxx within 4.5 minutes fire on the tenth."""
    events = _pump(10, 5)
    (alert,) = _run(Irsf(home_region="GB"), events)
    assert (alert.rule, alert.entity_type, alert.entity) == ("irsf", "number_range", "+37167000xxx")
    assert alert.evidence["calls"] == 10 and alert.evidence["distinct_numbers"] == 5
    assert alert.evidence["b_numbers"] == [f"{RANGE}1{i:02d}" for i in range(5)]
    assert alert.call_ids == tuple(e.call_id for e in events)
    assert (alert.first_seen, alert.last_seen, alert.score, alert.severity) == (
        T0, T0 + 270, 60, "high")  # fmt: skip


def test_nine_calls_do_not_fire() -> None:
    """Near miss: nine calls to the range stay under ten."""
    assert _run(Irsf(home_region="GB"), _pump(9, 5)) == []


def test_four_numbers_do_not_fire() -> None:
    """Near miss: fifteen calls to only four numbers are redials, not a range pumped."""
    assert _run(Irsf(home_region="GB"), _pump(15, 4)) == []


def test_calls_spread_over_more_than_ten_minutes_do_not_fire() -> None:
    """Near miss: ten calls 67 s apart span 603 s, so no 600 s window holds ten."""
    assert _run(Irsf(home_region="GB"), _pump(10, 5, step=67.0)) == []


def test_domestic_range_does_not_count() -> None:
    """Near miss: a home-region range (a company's DID block) is not international."""
    events = [_call(i, f"+44207946{i:04d}") for i in range(12)]
    assert _run(Irsf(home_region="GB"), events) == []


def test_numbers_of_different_ranges_do_not_add_up() -> None:
    """Near miss: calls whose B-numbers differ before the last three digits are two ranges."""
    events = [_call(i, f"+371670{i % 2}0{i:03d}") for i in range(12)]
    assert _run(Irsf(home_region="GB"), events) == []


def test_without_home_region_only_risky_destinations_count() -> None:
    """With no home region, a listed destination (+371) counts and an ordinary one (+33) not."""
    assert len(_run(Irsf(), _pump(10, 5))) == 1
    assert _run(Irsf(), [_call(i, f"+3314259{i:04d}") for i in range(12)]) == []


def test_long_talk_time_is_critical() -> None:
    """Ends carrying 200 s of talk each make 10 calls (and 2000 s) critical, score 80;
    an attempt and the end of one call count as one call."""
    events = []
    for i in range(10):
        b = f"{RANGE}1{i % 5:02d}"
        events.append(_call(i * 30.0, b, call=f"p{i}"))
        events.append(_call(i * 30.0 + 20, b, kind=CallEventType.END, duration=200.0, call=f"p{i}"))
    alerts = _run(Irsf(home_region="GB"), events)
    assert alerts[0].evidence["calls"] == 10
    last = alerts[-1]
    assert last.evidence["total_duration"] == 2000.0 and last.severity == "critical"
    assert last.score == 80


def test_late_call_within_lateness_counts() -> None:
    """A tenth call arriving 0.9 s out of order still counts; 1.5 s late it does not."""
    on_time = [*_pump(8, 5, step=10.0), _call(80.0, f"{RANGE}100")]
    assert len(_run(Irsf(home_region="GB"), [*on_time, _call(79.1, f"{RANGE}199")])) == 1
    assert _run(Irsf(home_region="GB"), [*on_time, _call(78.5, f"{RANGE}199")]) == []


def test_calls_without_call_id_count_but_are_not_named() -> None:
    """Event-file rows without a call id are distinct calls; the alert names no made-up ids."""
    rows = [
        CallEvent(type=CallEventType.ATTEMPT, ts=T0 + i, b_number=f"{RANGE}1{i % 5:02d}")
        for i in range(10)
    ]
    (alert,) = _run(Irsf(home_region="GB"), rows)
    assert alert.evidence["calls"] == 10 and alert.call_ids == ()


def test_doctests() -> None:
    """The module's example gives what it shows."""
    result = doctest.testmod(irsf)
    assert result.attempted > 0 and result.failed == 0
