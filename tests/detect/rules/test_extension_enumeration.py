"""extension_enumeration: ten users answered 404/403/401/407 to one prober in a minute."""

from __future__ import annotations

import doctest

from calltrace.detect.rules import extension_enumeration
from calltrace.detect.rules.extension_enumeration import ExtensionEnumeration
from calltrace.model import CallEventType
from tests.detect._events import T0
from tests.detect.rules._sip import ATTACKER, event, feed, request, response


def _answers(count: int, step: float, statuses: tuple[int, ...] = (404,)) -> list:  # type: ignore[type-arg]
    return [
        response(i * step, statuses[i % len(statuses)], user=str(990 + i)) for i in range(count)
    ]


def test_ten_users_in_a_minute_fire_on_the_prober() -> None:
    """svwar's pattern: 404 for eight users, 401 for two, within 45 s, fires on the
    destination of the answers with every user and status."""
    items = _answers(10, 5.0, (404, 404, 404, 404, 401))
    (alert,) = feed(ExtensionEnumeration(), items)
    assert alert.entity == ATTACKER and alert.entity_type == "source_ip"
    assert alert.evidence["distinct_users"] == 10
    assert alert.evidence["users"]["994"] == 401 and alert.evidence["users"]["990"] == 404
    assert alert.evidence["statuses"] == {"404": 8, "401": 2}
    assert alert.evidence["likely_present"] == ["994", "999"]
    assert (alert.first_seen, alert.last_seen) == (T0, T0 + 45.0)
    assert (alert.severity, alert.score) == ("medium", 55)


def test_nine_users_do_not_fire() -> None:
    """Near miss: nine users answered 404 within a second stay under ten."""
    assert feed(ExtensionEnumeration(), _answers(9, 0.1)) == []


def test_ten_users_spread_over_more_than_a_minute_do_not_fire() -> None:
    """Near miss: ten answers 6.7 s apart span 60.3 s."""
    assert feed(ExtensionEnumeration(), _answers(10, 6.7)) == []


def test_one_user_challenged_many_times_does_not_fire() -> None:
    """Near miss: a phone re-registering gets twenty 401s for one user: one user."""
    items = [response(i * 2.0, 401, user="1000") for i in range(20)]
    assert feed(ExtensionEnumeration(), items) == []


def test_other_statuses_and_requests_do_not_count() -> None:
    """200, 486 and 503 answers, and the requests themselves, are not enumeration."""
    items = _answers(12, 1.0, (200, 486, 503))
    items += [request(i, "REGISTER", user=str(i)) for i in range(12)]
    assert feed(ExtensionEnumeration(), items) == []


def test_answers_to_different_probers_are_apart() -> None:
    """Five users answered to each of two addresses are five per prober."""
    items = [response(i, 404, user=str(i), to=f"93.184.216.{i % 2}") for i in range(10)]
    assert feed(ExtensionEnumeration(), items) == []


def test_late_answer_within_lateness_counts() -> None:
    """The tenth user's answer arriving 0.5 s behind a later one still completes the sweep."""
    items = _answers(9, 1.0)
    late = items.pop()
    items += [response(8.5, 404, user="5000"), late]
    (alert,) = feed(ExtensionEnumeration(), items)
    assert alert.evidence["distinct_users"] == 10


def test_statuses_can_be_narrowed() -> None:
    """With statuses (403, 404), ten 407 challenges give nothing."""
    rule = ExtensionEnumeration(statuses=(403, 404))
    assert feed(rule, _answers(10, 1.0, (407,))) == []


def test_event_file_rejections_count_b_numbers() -> None:
    """Rejected attempts from an event file count their B-numbers for their source IP."""
    items = [event(i, CallEventType.REJECT, b_number=str(200 + i), status=404) for i in range(10)]
    (alert,) = feed(ExtensionEnumeration(), items)
    assert alert.evidence["users"] == {str(200 + i): 404 for i in range(10)}


def test_doctest() -> None:
    """The module's example runs."""
    assert doctest.testmod(extension_enumeration).failed == 0
