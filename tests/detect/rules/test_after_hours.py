"""after_hours: calls outside business hours by account, switch, configured zone and
A-number country; the boundaries and the near misses."""

from __future__ import annotations

import pytest

from calltrace.config import parse_config
from calltrace.detect.engine import DetectionEngine
from calltrace.detect.rules.after_hours import AfterHours
from calltrace.errors import UsageError
from calltrace.model import Alert, CallEvent, CallEventType
from tests.detect._events import T0  # Monday 2026-01-05 09:00 UTC

LONDON = "+442079460000"  # GMT in January
NEW_YORK = "+12125550123"  # 212: New York, UTC-5 in January


def _call(offset: float, a: str = LONDON, **fields: object) -> CallEvent:
    return CallEvent(type=CallEventType.ATTEMPT, ts=T0 + offset, a_number=a,  # type: ignore[arg-type]
                     b_number="+33142685300", call_id=f"c{offset}", **fields)  # fmt: skip


def _run(rule: AfterHours, events: list[CallEvent]) -> list[Alert]:
    return [a for e in events for a in rule.observe(e)]


def test_new_york_number_at_four_in_the_morning() -> None:
    """09:00 UTC on a Monday is 04:00 in New York: the A-number's zone makes it after hours."""
    (alert,) = _run(AfterHours(), [_call(0.0, NEW_YORK)])
    assert (alert.entity, alert.entity_type) == (NEW_YORK, "account")
    assert alert.evidence["local_time"] == "2026-01-05T04:00:00-05:00"
    assert alert.evidence["timezone"] == "America/New_York"
    assert alert.evidence["location"] == "a_number"
    assert (alert.score, alert.severity, alert.call_ids) == (30, "low", ("c0.0",))


def test_london_number_at_nine_is_business_hours() -> None:
    """Near miss: the same instant is 09:00 in London, inside Mon-Fri 08:00-18:00."""
    assert _run(AfterHours(), [_call(0.0)]) == []


def test_boundaries_are_start_inclusive_end_exclusive() -> None:
    """17:59:59 is open and 18:00:00 closed; 07:59 closed and 08:00 open (London, Monday)."""
    rule = AfterHours()
    at = {h: (h - 9) * 3600.0 for h in (8, 18)}
    assert _run(rule, [_call(at[18] - 1.0)]) == []
    assert len(_run(AfterHours(), [_call(at[18])])) == 1
    assert len(_run(AfterHours(), [_call(at[8] - 60.0)])) == 1
    assert _run(AfterHours(), [_call(at[8])]) == []


def test_saturday_and_holidays_are_closed() -> None:
    """A Saturday at noon and a listed holiday at noon are after hours."""
    saturday = _call(5 * 86400.0 + 3 * 3600.0)
    assert len(_run(AfterHours(), [saturday])) == 1
    holiday = _call(86400.0 + 3 * 3600.0)  # Tuesday 2026-01-06 12:00
    assert _run(AfterHours(), [holiday]) == []
    assert len(_run(AfterHours(holidays=("2026-01-06",)), [holiday])) == 1


def test_account_location_beats_the_number() -> None:
    """An account placed in New York is judged there even with a London A-number; a
    switch in London makes a New York number's call business hours."""
    places = ({"accounts": ["alice"], "timezone": "America/New_York"},
              {"switches": ["sw-lon"], "timezone": "Europe/London"})  # fmt: skip
    rule = AfterHours(locations=places)
    (alert,) = _run(rule, [_call(0.0, account="alice")])
    assert (alert.entity, alert.evidence["location"]) == ("alice", "account")
    assert _run(rule, [_call(0.0, NEW_YORK, switch_id="sw-lon")]) == []


def test_one_alert_per_window_then_counts_rise() -> None:
    """A night of calls gives one alert an hour; with min_calls 3 the third call fires at 50."""
    night = [_call(i * 600.0, NEW_YORK) for i in range(7)]  # 04:00-05:00 local
    alerts = _run(AfterHours(), night)
    assert [(a.first_seen, a.last_seen, a.evidence["calls"]) for a in alerts] == [
        (T0, T0, 1), (T0 + 600.0, T0 + 3600.0, 6)]  # fmt: skip
    (alert,) = _run(AfterHours(min_calls=3), night[:3])
    assert (alert.evidence["calls"], alert.score, alert.severity) == (3, 50, "medium")
    assert _run(AfterHours(min_calls=3), [night[0], night[1]]) == []


def test_calls_spread_beyond_the_window_do_not_add_up() -> None:
    """Near miss: three after-hours calls 31 minutes apart never share a 1-hour window."""
    rule = AfterHours(min_calls=3, window=3600.0)
    assert _run(rule, [_call(i * 1860.0, NEW_YORK) for i in range(3)]) == []


def test_late_call_within_lateness_counts() -> None:
    """A call arriving 0.9 s late still completes min_calls."""
    events = [_call(0.0, NEW_YORK), _call(2.0, NEW_YORK), _call(1.1, NEW_YORK)]
    (alert,) = _run(AfterHours(min_calls=3), events)
    assert alert.evidence["calls"] == 3


def test_ambiguous_and_unallocated_numbers() -> None:
    """A toll-free +1 number spans zones from Newfoundland to Guam: some are open at 22:00
    UTC on a Monday, so it is not after hours; at 09:00 UTC all are shut. An unallocated
    number has no location."""
    assert _run(AfterHours(), [_call(13 * 3600.0, "+18005550123")]) == []
    assert len(_run(AfterHours(), [_call(0.0, "+18005550123")])) == 1
    assert _run(AfterHours(), [_call(0.0, "+19995550123")]) == []


def test_no_location_no_verdict_and_bad_settings_stop() -> None:
    """An extension without account config is not judged; bad hours, days or zones raise."""
    assert _run(AfterHours(), [_call(12 * 3600.0, "201")]) == []
    assert _run(AfterHours(by_number=False), [_call(0.0, NEW_YORK)]) == []
    for bad in ({"hours": "8-18"}, {"days": "monday"}, {"timezone": "Mars/Base"},
                {"locations": ({"accounts": ["a"]},)}):  # fmt: skip
        with pytest.raises(UsageError):
            AfterHours(**bad)  # type: ignore[arg-type]


def test_config_file_table() -> None:
    """A TOML table with locations builds the rule through the engine; allowlists apply."""
    config = parse_config({"rules": {"after_hours": {
        "hours": "09:00-17:00", "locations": [{"accounts": ["bob"], "timezone": "Asia/Tokyo"}],
        "allowlist": [NEW_YORK]}}})  # fmt: skip
    engine = DetectionEngine(config)
    alerts = engine.observe_many([_call(0.0, NEW_YORK), _call(1.0, account="bob")])
    assert [(a.rule, a.entity) for a in alerts if a.rule == "after_hours"] == [
        ("after_hours", "bob")
    ]
