"""mass_dialing: sequential sweeps and call rates per source, and the near misses."""

from __future__ import annotations

import doctest
import random

from calltrace.detect.rules import mass_dialing
from calltrace.detect.rules.mass_dialing import MassDialing
from calltrace.model import Alert, CallEvent
from tests.detect._events import T0, attempt

IP = "198.51.100.4"


def _call(offset: float, b: str, ip: str = IP) -> CallEvent:
    return CallEvent(type=attempt(0, "x", "y").type, ts=T0 + offset, a_number="+15550100",
                     b_number=b, source_ip=ip, call_id=f"{b}@{offset}")  # fmt: skip


def _run(rule: MassDialing, events: list[CallEvent]) -> list[Alert]:
    return [alert for event in events for alert in rule.observe(event)]


def _sweep(count: int, step: int = 1, every: float = 6.0) -> list[CallEvent]:
    return [_call(i * every, f"+1202555{1000 + step * i}") for i in range(count)]


def test_fifty_sequential_calls_fire_with_evidence() -> None:
    """51 calls stepping by 1 (50 of them next to an earlier one) within 5 minutes fire once."""
    events = _sweep(51)
    (alert,) = _run(MassDialing(), events)
    assert (alert.rule, alert.entity_type, alert.entity) == ("mass_dialing", "source", IP)
    assert alert.evidence["test"] == "sequential" and alert.evidence["calls"] == 50
    assert alert.evidence["median_step"] == 1 and alert.evidence["source_kind"] == "source_ip"
    assert alert.evidence["lowest"] == 12025551001 and alert.evidence["highest"] == 12025551050
    assert alert.call_ids == tuple(e.call_id for e in events[1:])
    assert (alert.score, alert.severity) == (50, "medium")


def test_forty_nine_sequential_calls_do_not_fire() -> None:
    """Near miss: 50 calls in sequence are 49 sequential calls, under 50."""
    assert _run(MassDialing(), _sweep(50)) == []


def test_steps_over_max_step_are_not_sequential() -> None:
    """Near miss: numbers 11 apart are not sequential under max_step 10."""
    assert _run(MassDialing(), _sweep(80, step=11)) == []
    assert _run(MassDialing(max_step=11), _sweep(80, step=11)) != []


def test_random_numbers_and_redials_are_not_sequential() -> None:
    """Near miss: 55 calls to random numbers, or 55 redials of one number, in 10 minutes."""
    rng = random.Random(3)
    scattered = [_call(i * 10.0, f"+1202{rng.randrange(10**6, 10**7)}") for i in range(55)]
    redials = [_call(i * 10.0, "+12025551000") for i in range(55)]
    assert _run(MassDialing(), scattered) == [] and _run(MassDialing(), redials) == []


def test_sequential_calls_spread_over_more_than_ten_minutes_do_not_fire() -> None:
    """Near miss: 51 calls 12.3 s apart put their 50 sequential ones over 602.7 s."""
    assert _run(MassDialing(), _sweep(51, every=12.3)) == []


def test_sixty_calls_in_a_minute_fire_on_rate() -> None:
    """60 calls to random numbers within 59 s fire the rate test; 59 do not."""
    rng = random.Random(5)
    events = [_call(i * 1.0, f"+1202{rng.randrange(10**6, 10**7)}") for i in range(60)]
    (alert,) = _run(MassDialing(), events)
    assert alert.evidence["test"] == "rate" and alert.evidence["calls"] == 60
    assert _run(MassDialing(), events[:59]) == []


def test_a_sustained_dialer_gives_one_alert_per_window_and_its_escalation() -> None:
    """At 2 calls/s for 100 s: one rate alert per minute, and the escalation to high."""
    rng = random.Random(7)
    events = [_call(i * 0.5, f"+1202{rng.randrange(10**6, 10**7)}") for i in range(200)]
    alerts = _run(MassDialing(), events)
    assert [(a.last_seen - T0, a.evidence["calls"], a.severity) for a in alerts] == [
        (29.5, 60, "medium"),  # the 60th call
        (59.5, 120, "high"),  # the window holds 120 = 2 x 60: an escalation
    ]


def test_sixty_calls_over_sixty_one_seconds_do_not_fire() -> None:
    """Near miss: 60 calls 1.03 s apart span 60.8 s, so no 60 s window holds 60."""
    rng = random.Random(5)
    events = [_call(i * 1.03, f"+1202{rng.randrange(10**6, 10**7)}") for i in range(60)]
    assert _run(MassDialing(), events) == []


def test_sources_do_not_add_up() -> None:
    """Near miss: a sweep split over two source IPs is two half sweeps."""
    events = [_call(i * 6.0, f"+1202555{1000 + i}", ip=f"198.51.100.{i % 2}") for i in range(60)]
    assert _run(MassDialing(), events) == []


def test_late_call_within_lateness_counts() -> None:
    """A 60th call arriving 0.5 s out of order still makes the rate; 1.5 s late it does not."""
    rng = random.Random(5)
    events = [_call(i * 1.0, f"+1202{rng.randrange(10**6, 10**7)}") for i in range(58)]
    events.append(_call(59.0, "+12029999999"))
    assert len(_run(MassDialing(), [*events, _call(58.5, "+12028888888")])) == 1
    assert _run(MassDialing(), [*events, _call(57.5, "+12028888888")]) == []


def test_doctests() -> None:
    """The module's example gives what it shows."""
    result = doctest.testmod(mass_dialing)
    assert result.attempted > 0 and result.failed == 0
