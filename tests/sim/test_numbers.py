"""The simulator's numbers: valid for libphonenumber, callers in business hours."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers.timezone import time_zones_for_number

from calltrace.sim import catalog, numbers

MONDAY_9_UTC = int(datetime(2026, 1, 5, 9, 0, tzinfo=UTC).timestamp()) * 10**9
HOUR = 3600 * 10**9


def test_every_pooled_number_is_valid_with_its_zones() -> None:
    """Every number of every group is valid for libphonenumber and has the group's zones."""
    for group in numbers.groups():
        assert group.numbers
        for number in group.numbers[::7]:
            parsed = phonenumbers.parse(number)
            assert phonenumbers.is_valid_number(parsed), number
            assert set(group.zones) <= set(time_zones_for_number(parsed)), number


def test_drama_ranges_are_not_used() -> None:
    """Ofcom's drama ranges (01632 960, 07700 900), which libphonenumber calls
    unallocated, never appear."""
    pooled = [n for g in numbers.groups() for n in g.numbers]
    assert not any(n.startswith(("+441632960", "+447700900")) for n in pooled)
    assert not phonenumbers.is_valid_number(phonenumbers.parse("+447700900123"))


def test_callers_at_monday_9_utc_are_european_and_in_office_hours() -> None:
    """At Monday 09:00 UTC the open countries are the European ones (New York is at 04:00,
    Tokyo at 18:00, Sydney at 20:00); each drawn caller is in 08:00-18:00 locally."""
    assert numbers.open_codes(MONDAY_9_UTC) == {"44", "49", "33", "34", "39", "31"}
    rng = random.Random(3)
    for offset in range(0, 10 * HOUR, HOUR // 2):
        ts = MONDAY_9_UTC + offset
        for _ in range(20):
            number = catalog.caller(rng, ts)
            for zone in time_zones_for_number(phonenumbers.parse(number)):
                local = datetime.fromtimestamp(ts / 10**9, ZoneInfo(zone))
                assert local.weekday() < 5 and 8 <= local.hour < 18, (number, zone, local)


def test_us_callers_come_when_new_york_opens() -> None:
    """At 13:00 UTC (08:00 in New York, UTC-5 in January) US callers are in the mix; at
    12:30 they are not."""
    assert "1" in numbers.open_codes(MONDAY_9_UTC + 4 * HOUR)
    assert "1" not in numbers.open_codes(MONDAY_9_UTC + 3 * HOUR + HOUR // 2)


def test_a_sunday_falls_back_to_the_whole_mix() -> None:
    """With no country open (Sunday) callers come from every country of the mix."""
    sunday = MONDAY_9_UTC - 24 * HOUR
    assert numbers.open_codes(sunday) == {g.code for g in numbers.groups()}


def test_callee_is_never_the_caller() -> None:
    """catalog.callee never returns the A-number it is given."""
    rng = random.Random(1)
    only = numbers.groups()[0].numbers[0]
    assert all(catalog.callee(rng, only) != only for _ in range(500))


def test_draws_are_deterministic() -> None:
    """Same seed, same numbers."""
    first = [catalog.caller(random.Random(5), MONDAY_9_UTC + i * HOUR) for i in range(10)]
    again = [catalog.caller(random.Random(5), MONDAY_9_UTC + i * HOUR) for i in range(10)]
    assert first == again
