"""concurrent_calls: ten open calls per source is high, twenty critical; ends and expiry close."""

from __future__ import annotations

import doctest

from calltrace.detect.rules import concurrent_calls
from calltrace.detect.rules.concurrent_calls import ConcurrentCalls
from calltrace.model import Alert, CallEvent, CallEventType
from tests.detect._events import T0

ATTEMPT, ANSWER, END = CallEventType.ATTEMPT, CallEventType.ANSWER, CallEventType.END


def _ev(kind: CallEventType, offset: float, call: str, *, account: str = "acct1",
        source: str = "sip", duration: float | None = None) -> CallEvent:  # fmt: skip
    return CallEvent(type=kind, ts=T0 + offset, a_number="201", b_number=f"+1555{call}",
                     account=account, call_id=call, source=source, duration=duration)  # fmt: skip


def _run(rule: ConcurrentCalls, events: list[CallEvent]) -> list[Alert]:
    return [alert for event in events for alert in rule.observe(event)]


def test_ten_open_calls_are_high_and_twenty_critical() -> None:
    """The tenth open call fires high (score 70), the twentieth critical (score 90)."""
    alerts = _run(ConcurrentCalls(), [_ev(ATTEMPT, i, f"c{i}") for i in range(20)])
    assert next((a.evidence["concurrent"], a.severity, a.score) for a in alerts) == (10, "high", 70)
    assert (alerts[-1].evidence["concurrent"], alerts[-1].severity, alerts[-1].score) == (
        20, "critical", 90)  # fmt: skip
    first = alerts[0]
    assert (first.rule, first.entity_type, first.entity) == ("concurrent_calls", "source", "acct1")
    assert first.call_ids == tuple(sorted(f"c{i}" for i in range(10)))


def test_nine_open_calls_do_not_fire() -> None:
    """Near miss: nine calls open at once stay under ten."""
    assert _run(ConcurrentCalls(), [_ev(ATTEMPT, i, f"c{i}") for i in range(9)]) == []


def test_ended_calls_are_not_open() -> None:
    """Near miss: twelve calls, each ended before the next two start, never reach ten."""
    events = []
    for i in range(12):
        events += [_ev(ATTEMPT, 2.0 * i, f"c{i}"), _ev(END, 2.0 * i + 1, f"c{i}")]
    assert _run(ConcurrentCalls(), events) == []


def test_retransmitted_attempt_is_one_call() -> None:
    """Near miss: one call id seen ten times is one call."""
    assert _run(ConcurrentCalls(), [_ev(ATTEMPT, i, "c0") for i in range(10)]) == []


def test_sources_do_not_add_up() -> None:
    """Near miss: ten calls from two accounts are five each."""
    events = [_ev(ATTEMPT, i, f"c{i}", account=f"u{i % 2}") for i in range(10)]
    assert _run(ConcurrentCalls(), events) == []


def test_calls_without_end_expire_after_max_duration() -> None:
    """Nine calls never ended stop counting 4 h after they opened; until then they count."""
    events = [_ev(ATTEMPT, i, f"c{i}") for i in range(9)]
    assert _run(ConcurrentCalls(), [*events, _ev(ATTEMPT, 14400.0, "late1")]) != []
    assert _run(ConcurrentCalls(), [*events, _ev(ATTEMPT, 14410.0, "late1")]) == []


def test_event_file_rows_occupy_their_duration() -> None:
    """Rows with a 60 s duration overlap when 5 s apart (ten open) but not when 7 s apart;
    rows without a duration are not held."""
    rows = [_ev(ATTEMPT, 5.0 * i, f"r{i}", source="events", duration=60.0) for i in range(10)]
    spread = [_ev(ATTEMPT, 7.0 * i, f"r{i}", source="events", duration=60.0) for i in range(10)]
    bare = [_ev(ATTEMPT, 1.0 * i, f"r{i}", source="events") for i in range(10)]
    assert len(_run(ConcurrentCalls(), rows)) == 1
    assert _run(ConcurrentCalls(), spread) == [] and _run(ConcurrentCalls(), bare) == []


def test_event_file_answers_open_calls() -> None:
    """Event-file answer rows open calls until their end rows."""
    events = [_ev(ANSWER, i, f"a{i}", source="events") for i in range(10)]
    assert len(_run(ConcurrentCalls(), events)) == 1


def test_late_attempt_within_lateness_counts() -> None:
    """An attempt arriving 0.9 s out of order is the tenth open call."""
    events = [_ev(ATTEMPT, i, f"c{i}") for i in range(9)]
    assert len(_run(ConcurrentCalls(), [*events, _ev(ATTEMPT, 7.1, "c9")])) == 1


def test_doctests() -> None:
    """The module's example gives what it shows."""
    result = doctest.testmod(concurrent_calls)
    assert result.attempted > 0 and result.failed == 0


def test_a_source_over_the_limit_alerts_per_level_not_per_call() -> None:
    """90 calls open at once: alerts at 10, 20, 40 and 80 open calls, none in between."""
    alerts = _run(ConcurrentCalls(), [_ev(ATTEMPT, i, f"c{i}") for i in range(90)])
    assert [a.evidence["concurrent"] for a in alerts] == [10, 20, 40, 80]
