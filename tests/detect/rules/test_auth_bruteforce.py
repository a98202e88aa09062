"""auth_bruteforce: five failed authentications in ten minutes per source or per user."""

from __future__ import annotations

import doctest

from calltrace.detect.rules import auth_bruteforce
from calltrace.detect.rules.auth_bruteforce import AuthBruteforce
from calltrace.model import CallEvent, CallEventType
from tests.detect._events import T0
from tests.detect.rules._sip import ATTACKER, event, feed

FAIL = CallEventType.AUTH_FAILURE


def _failures(count: int, step: float, **fields: object) -> list[CallEvent]:
    values: dict[str, object] = {"a_number": "1000", "status": 401, "source": "sip"} | fields
    return [event(i * step, FAIL, call_id=f"r{i}", **values) for i in range(count)]


def test_five_failures_in_ten_minutes_fire_high() -> None:
    """Five refused credentials two minutes apart fire once, on the fifth, with call ids."""
    (alert,) = feed(AuthBruteforce(), _failures(5, 120.0))
    assert alert.entity == ATTACKER and alert.entity_type == "source_ip"
    assert (alert.severity, alert.score) == ("high", 70)
    assert alert.evidence["scope"] == "source" and alert.evidence["failures"] == 5
    assert alert.evidence["users"] == {"1000": 5} and alert.evidence["statuses"] == {"401": 5}
    assert alert.call_ids == ("r0", "r1", "r2", "r3", "r4")
    assert (alert.first_seen, alert.last_seen) == (T0, T0 + 480.0)


def test_four_failures_do_not_fire() -> None:
    """Near miss: four failures within a second stay under five."""
    assert feed(AuthBruteforce(), _failures(4, 0.2)) == []


def test_five_failures_spread_over_more_than_ten_minutes_do_not_fire() -> None:
    """Near miss: five failures 151 s apart span 604 s."""
    assert feed(AuthBruteforce(), _failures(5, 151.0)) == []


def test_challenges_and_registrations_are_not_failures() -> None:
    """A 401 challenge before a correct answer, and registrations, count for nothing."""
    items = [event(i, k, a_number="1000", status=401) for i in range(10)
             for k in (CallEventType.AUTH_CHALLENGE, CallEventType.REGISTER)]  # fmt: skip
    assert feed(AuthBruteforce(), items) == []


def test_fifty_failures_are_critical() -> None:
    """A fast guesser's fiftieth failure in the window (a new level) alerts critical, 100."""
    alerts = feed(AuthBruteforce(), _failures(61, 0.05))
    assert [(a.severity, a.evidence["failures"]) for a in alerts] == [("high", 5), ("critical", 50)]
    assert alerts[1].score == 100


def test_one_user_guessed_from_many_sources() -> None:
    """Five failures for user 1000 from five addresses (one each) fire on the fifth
    source with scope "user", listing every source."""
    items = [event(i * 10.0, FAIL, a_number="1000", status=403, source_ip=f"192.0.2.{i}")
             for i in range(5)]  # fmt: skip
    (alert,) = feed(AuthBruteforce(), items)
    assert alert.entity == "192.0.2.4" and alert.evidence["scope"] == "user"
    assert alert.evidence["sources"] == {f"192.0.2.{i}": 1 for i in range(5)}
    assert "user 1000" in alert.title


def test_account_is_the_user_when_given() -> None:
    """Failures of five different A-numbers under one account are one user's."""
    items = [event(i, FAIL, a_number=f"a{i}", account="acct", source_ip=f"192.0.2.{i}")
             for i in range(5)]  # fmt: skip
    (alert,) = feed(AuthBruteforce(), items)
    assert alert.evidence["users"] == {"acct": 5}


def test_late_failure_within_lateness_counts() -> None:
    """A failure arriving 0.9 s behind a later one still makes the fifth."""
    items = [*_failures(3, 1.0), event(3.9, FAIL, a_number="1000"), event(3.0, FAIL)]
    (alert,) = feed(AuthBruteforce(), items)
    assert alert.evidence["failures"] == 5


def test_failures_without_source_ip_are_skipped() -> None:
    """An event-file failure with no source IP has no entity to name: nothing."""
    items = _failures(6, 1.0, source_ip=None)
    assert feed(AuthBruteforce(), items) == []


def test_doctest() -> None:
    """The module's example runs."""
    assert doctest.testmod(auth_bruteforce).failed == 0
