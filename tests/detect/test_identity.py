"""The identity rules' shared pieces: idle eviction, schedules, number zones."""

from __future__ import annotations

import pytest

from calltrace.detect.identity import HoursCache, IdleMap, Schedule, number_zones, zone

MONDAY_0900Z = 1767603600.0


def test_idle_map_forgets_keys_idle_for_ttl() -> None:
    """A key touched ttl seconds before the newest time is dropped at the next sweep."""
    m = IdleMap(100.0)
    m.put("a", 0.0, 1)
    m.put("b", 50.0, 2)
    m.put("a", 60.0, 3)  # touched again: kept
    m.put("c", 155.0, 4)  # sweep at 100 s intervals: b (50) is idle past 55
    assert sorted(m.data) == ["a", "c"] and m.get("a") == 3


def test_schedule_wraps_days_and_night_shifts() -> None:
    """fri-mon covers the weekend; 22:00-06:00 is open at 23:00 and 05:59, shut at 06:00."""
    london = zone("Europe/London")
    weekend = Schedule(days="fri-mon", hours="00:00-23:59")
    assert weekend.days == frozenset({4, 5, 6, 0})
    night = Schedule(days="mon-sun", hours="22:00-06:00")
    at = {h: MONDAY_0900Z + (h - 9) * 3600.0 for h in (23, 6)}
    assert night.open_at(at[23], london) and night.open_at(at[6] - 1.0, london)
    assert not night.open_at(at[6], london)


def test_hours_cache_agrees_with_the_schedule_across_dst() -> None:
    """Minute-cached answers equal Schedule.open_at on every 7th minute of the week of the
    2026 spring DST change in New York."""
    schedule = Schedule(days="mon-fri", hours="08:00-18:00")
    cache = HoursCache(schedule)
    ny = zone("America/New_York")
    start = 1773014400.0  # 2026-03-09T00:00Z, the day after the change
    for step in range(0, 7 * 1440, 7):
        ts = start - 86400.0 + step * 60.0 + 13.0
        assert cache.closed(ts, ("America/New_York",)) is not schedule.open_at(ts, ny)


@pytest.mark.parametrize(
    ("number", "zones"),
    [("+12125550123", ("America/New_York",)), ("+61291234567", ("Australia/Sydney",)),
     ("+4930123456", ("Europe/Berlin",)), ("+999", ())],
)  # fmt: skip
def test_number_zones(number: str, zones: tuple[str, ...]) -> None:
    """A number's zones come from libphonenumber's prefix data; unknown codes have none."""
    assert number_zones(number) == zones
