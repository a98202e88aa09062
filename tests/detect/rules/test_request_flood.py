"""request_flood: more than 30 requests from one source in 2 s (Kamailio pike)."""

from __future__ import annotations

import doctest

from calltrace.detect.rules import request_flood
from calltrace.detect.rules.request_flood import RequestFlood
from calltrace.model import CallEventType
from tests.detect._events import T0
from tests.detect.rules._sip import ATTACKER, event, feed, request, response


def _burst(count: int, step: float, methods: tuple[str, ...] = ("REGISTER",)) -> list:  # type: ignore[type-arg]
    return [request(i * step, methods[i % len(methods)]) for i in range(count)]


def test_the_31st_request_in_two_seconds_fires() -> None:
    """31 requests 60 ms apart (1.8 s) fire once, on the 31st, counting every method."""
    (alert,) = feed(RequestFlood(), _burst(31, 0.06, ("INVITE", "ACK", "BYE")))
    assert alert.entity == ATTACKER and alert.entity_type == "source_ip"
    assert alert.evidence["requests"] == 31
    assert alert.evidence["methods"] == {"INVITE": 11, "ACK": 10, "BYE": 10}
    assert (alert.first_seen, alert.severity, alert.score) == (T0, "medium", 50)
    assert abs(alert.evidence["span"] - 1.8) < 1e-6


def test_thirty_requests_do_not_fire() -> None:
    """Near miss: exactly 30 requests in 2 s is what pike still allows."""
    assert feed(RequestFlood(), _burst(30, 0.01)) == []


def test_31_requests_spread_over_more_than_two_seconds_do_not_fire() -> None:
    """Near miss: 31 requests 70 ms apart span 2.1 s."""
    assert feed(RequestFlood(), _burst(31, 0.07)) == []


def test_responses_do_not_count() -> None:
    """A server answering 100 requests is not flooding."""
    assert feed(RequestFlood(), [response(i * 0.01, 401) for i in range(100)]) == []


def test_a_flood_alerts_once_per_window_and_is_high_at_ten_times() -> None:
    """1000 requests in 4 s alert once per 2 s; the second window holds 500: high, 85."""
    alerts = feed(RequestFlood(), _burst(1000, 0.004))
    assert len(alerts) == 2
    assert alerts[1].evidence["requests"] >= 300 and alerts[1].severity == "high"
    assert alerts[1].score == 85


def test_late_request_within_lateness_counts() -> None:
    """The 31st request arriving 0.5 s behind a later one still completes the window."""
    items = _burst(30, 0.05)
    late = items.pop()
    items += [request(1.9, "OPTIONS"), late]
    (alert,) = feed(RequestFlood(), items)
    assert alert.evidence["requests"] == 31


def test_event_file_registrations_count() -> None:
    """31 registrations from an event file within a second fire; SIP-derived ones do not."""
    kind = CallEventType.REGISTER
    assert feed(RequestFlood(), [event(i * 0.03, kind) for i in range(31)])
    assert feed(RequestFlood(), [event(i * 0.03, kind, source="sip") for i in range(31)]) == []


def test_doctest() -> None:
    """The module's example runs."""
    assert doctest.testmod(request_flood).failed == 0
