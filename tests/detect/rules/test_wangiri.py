"""wangiri: twenty numbers rung short by one A-number, the callbacks, and the near misses."""

from __future__ import annotations

import dataclasses
import doctest

from calltrace.detect.rules import wangiri
from calltrace.detect.rules.wangiri import Wangiri
from calltrace.model import Alert, CallEvent, CallEventType
from tests.detect._events import T0

A = "+2693001234"  # Comoros, as in the FCC "One Ring" advisory's examples of far codes
ATTEMPT, CANCEL, ANSWER = CallEventType.ATTEMPT, CallEventType.CANCEL, CallEventType.ANSWER


def _ev(
    kind: CallEventType, offset: float, b: str, call: str, a: str = A, **kw: object
) -> CallEvent:
    event = CallEvent(type=kind, ts=T0 + offset, a_number=a, b_number=b, call_id=call)
    return dataclasses.replace(event, **kw)


def _rings(count: int, *, ring: float = 2.0, step: float = 10.0, first: int = 0) -> list[CallEvent]:
    """``count`` calls to distinct numbers, each cancelled ``ring`` s after its attempt."""
    out = []
    for i in range(first, first + count):
        b = f"+4477009{i:05d}"
        out += [_ev(ATTEMPT, i * step, b, f"w{i}"), _ev(CANCEL, i * step + ring, b, f"w{i}")]
    return out


def _run(rule: Wangiri, events: list[CallEvent]) -> list[Alert]:
    return [alert for event in events for alert in rule.observe(event)]


def test_twenty_short_rings_fire_with_evidence() -> None:
    """Twenty distinct numbers cancelled 2 s after the attempt fire once, on the twentieth."""
    (alert,) = _run(Wangiri(), _rings(20))
    assert (alert.rule, alert.entity_type, alert.entity) == ("wangiri", "a_number", A)
    assert alert.evidence["distinct_numbers"] == 20 and alert.evidence["short_share"] == 1.0
    assert (alert.first_seen, alert.last_seen) == (T0 + 2.0, T0 + 192.0)
    assert (alert.severity, alert.score) == ("high", 70)


def test_nineteen_numbers_do_not_fire() -> None:
    """Near miss: nineteen numbers, however short, stay under twenty."""
    assert _run(Wangiri(), _rings(19)) == []


def test_rings_of_five_seconds_are_not_short() -> None:
    """Near miss: calls cancelled 5 s after the attempt ring long enough."""
    assert _run(Wangiri(), _rings(25, ring=5.0)) == []


def test_rings_spread_over_more_than_ten_minutes_do_not_fire() -> None:
    """Near miss: twenty rings 32 s apart span 608 s, more than the 600 s window."""
    assert _run(Wangiri(), _rings(20, step=32.0)) == []


def test_a_share_under_eighty_percent_does_not_fire() -> None:
    """Near miss: 20 short rings with 6 answered calls among them are 77 % short."""
    events = _rings(20)
    for i in range(6):  # answered calls interleaved, after the first short ring
        b = f"+4420794600{i:02d}"
        events.insert(4 + 6 * i, _ev(ATTEMPT, 5.0 + i * 30, b, f"x{i}"))
        events.insert(5 + 6 * i, _ev(ANSWER, 6.0 + i * 30, b, f"x{i}"))
    events.sort(key=lambda e: e.ts)
    assert _run(Wangiri(), events) == []
    five = [e for e in events if not (e.call_id or "").startswith("x5")]
    assert len(_run(Wangiri(), five)) == 1  # 20 of 25 short: 80 %, fires


def test_unanswered_ringing_is_long() -> None:
    """An attempt with no outcome within 5 s counts as a long call (still ringing)."""
    events = _rings(20)
    for i in range(6):
        events.append(_ev(ATTEMPT, 2.5 + i * 30, f"+4420794600{i:02d}", f"r{i}"))
    events.sort(key=lambda e: e.ts)
    assert _run(Wangiri(), events) == []


def test_callback_from_a_rung_number_is_critical() -> None:
    """After the alert, a call from a rung number to the A-number is a critical alert on
    the caller; a call from a number never rung is not."""
    rule = Wangiri()
    _run(rule, _rings(20))
    stranger = _run(rule, [_ev(ATTEMPT, 300.0, A, "s1", a="+447700999999")])
    (back,) = _run(rule, [_ev(ATTEMPT, 900.0, A, "b1", a="+447700900007")])
    assert stranger == []
    assert (back.entity, back.severity, back.score) == ("+447700900007", "critical", 95)
    assert back.evidence["wangiri_number"] == A and back.call_ids == ("b1",)


def test_callback_evidence_counts_the_victims_who_called_back() -> None:
    """Three rung numbers call back, then the first again: the alerts count the distinct
    victims who called back (1, 2, 3, and still 3) of the 20 rung."""
    rule = Wangiri()
    _run(rule, _rings(20))
    calls = [("+447700900003", 300.0), ("+447700900011", 320.0), ("+447700900019", 340.0),
             ("+447700900003", 360.0)]  # fmt: skip
    alerts = _run(rule, [_ev(ATTEMPT, t, A, f"b{t:g}", a=a) for a, t in calls])
    assert [(x.entity, x.evidence["callbacks"]) for x in alerts] == [
        ("+447700900003", 1), ("+447700900011", 2), ("+447700900019", 3), ("+447700900003", 3)
    ]  # fmt: skip
    assert {x.evidence["rung_numbers"] for x in alerts} == {20}


def test_callback_after_the_callback_window_is_forgotten() -> None:
    """A callback a day and a second after the alert is no longer tied to it."""
    rule = Wangiri()
    _run(rule, _rings(20))
    assert _run(rule, [_ev(ATTEMPT, 192.0 + 86401.0, A, "b1", a="+447700900007")]) == []


def test_event_file_rows_with_ring_time() -> None:
    """One-row calls (attempt with status 487 and a 1 s duration) are short rings."""
    rows = [_ev(ATTEMPT, i * 5.0, f"+4477009{i:05d}", f"r{i}", status=487, duration=1.0,
                source="events") for i in range(20)]  # fmt: skip
    assert len(_run(Wangiri(), rows)) == 1


def test_late_cancel_within_lateness_counts() -> None:
    """A cancel arriving 0.9 s out of order still makes the twentieth short ring."""
    events = [*_rings(19), _ev(ATTEMPT, 190.0, "+447700999990", "late")]
    events += [
        _ev(ATTEMPT, 192.5, "+447700999991", "other"),
        _ev(CANCEL, 191.6, "+447700999990", "late"),
    ]
    assert len(_run(Wangiri(), events)) == 1


def test_doctests() -> None:
    """The module's example gives what it shows."""
    result = doctest.testmod(wangiri)
    assert result.attempted > 0 and result.failed == 0


def test_engine_allowlist_keeps_an_a_number_out() -> None:
    """Through the engine, an allowlisted A-number's rings neither fire nor keep state."""
    from calltrace.config import parse_config
    from calltrace.detect.engine import DetectionEngine

    engine = DetectionEngine(parse_config({"rules": {"wangiri": {"allowlist": [A]}}}))
    alerts = engine.observe_many(_rings(25))
    assert [a for a in alerts if a.rule == "wangiri"] == []
    assert engine.counters.allowlisted["wangiri"] == 50
