"""geo_anomaly: impossible travel within an hour and countries new after learning."""

from __future__ import annotations

from calltrace.config import parse_config
from calltrace.detect.engine import DetectionEngine
from calltrace.detect.rules.geo_anomaly import GeoAnomaly
from calltrace.model import Alert, CallEvent, CallEventType
from tests.detect._events import T0

GB, RU, US, AU = "81.2.69.142", "77.88.8.8", "8.8.8.8", "1.1.1.1"
DAY = 86400.0


def _from(offset: float, ip: str, account: str = "alice") -> CallEvent:
    return CallEvent(type=CallEventType.REGISTER, ts=T0 + offset, a_number=account,
                     source_ip=ip, call_id=f"r{offset}")  # fmt: skip


def _run(rule: GeoAnomaly, events: list[CallEvent]) -> list[Alert]:
    return [a for e in events for a in rule.observe(e)]


def test_two_countries_within_the_hour() -> None:
    """GB then RU 20 minutes later is impossible travel: high, 70, both sources listed."""
    (alert,) = _run(GeoAnomaly(), [_from(0.0, GB), _from(1200.0, RU)])
    assert (alert.entity, alert.entity_type) == ("alice", "account")
    assert alert.evidence["findings"] == ["impossible_travel"]
    assert alert.evidence["countries"] == ["GB", "RU"]
    assert alert.evidence["sources"] == [{"ts": T0, "source_ip": GB},
                                         {"ts": T0 + 1200.0, "source_ip": RU}]  # fmt: skip
    assert (alert.score, alert.severity) == (70, "high")


def test_change_after_more_than_an_hour_is_travel() -> None:
    """Near miss: GB then RU 3601 s later (within the learning period) gives nothing."""
    assert _run(GeoAnomaly(), [_from(0.0, GB), _from(3601.0, RU)]) == []


def test_private_addresses_say_nothing() -> None:
    """Private and documentation addresses have no country and never count."""
    assert (
        _run(GeoAnomaly(), [_from(0.0, GB), _from(1.0, "10.0.0.7"), _from(2.0, "203.0.113.9")])
        == []
    )


def test_new_country_after_learning() -> None:
    """After 7 days of GB and US, AU is new (medium, 50); US again is not."""
    rule = GeoAnomaly()
    history = [_from(0.0, GB), _from(2 * DAY, US), _from(8 * DAY, GB)]
    assert _run(rule, history) == []
    (alert,) = _run(rule, [_from(9 * DAY, AU)])
    assert alert.evidence["findings"] == ["new_country"] and alert.evidence["countries"] == ["AU"]
    assert (alert.score, alert.severity) == (50, "medium")
    assert _run(rule, [_from(10 * DAY, US)]) == []


def test_new_country_during_learning_is_learnt() -> None:
    """Near miss: a new country 6 days after the first sighting is learnt, not alerted."""
    assert _run(GeoAnomaly(), [_from(0.0, GB), _from(6 * DAY, AU)]) == []


def test_forgetting_is_bounded() -> None:
    """With max_countries 2 the least recent country is forgotten; idle accounts go."""
    rule = GeoAnomaly(learning=0.0, max_countries=2, window=1.0)
    _run(rule, [_from(0.0, GB), _from(10.0, US), _from(20.0, AU)])
    (alert,) = _run(rule, [_from(30.0, GB)])
    assert alert.evidence["findings"] == ["new_country"]
    short = GeoAnomaly(memory=DAY, window=1.0)
    _run(short, [_from(0.0, GB), _from(2 * DAY, US, account="bob")])
    # bob's event in the window, his one country, and bob known as a registering user
    assert short.state_size() == 3


def test_late_event_within_lateness_counts() -> None:
    """A RU event 0.9 s late still meets the GB one in the window."""
    events = [_from(0.0, GB), _from(3600.5, GB, account="bob"), _from(3599.6, RU)]
    (alert,) = _run(GeoAnomaly(), events)
    assert alert.evidence["countries"] == ["GB", "RU"]


def test_allowlist() -> None:
    """An allowlisted multi-country account gives no alert."""
    config = parse_config({"rules": {"geo_anomaly": {"allowlist": ["alice"]}}})
    alerts = DetectionEngine(config).observe_many([_from(0.0, GB), _from(1.0, RU)])
    assert [a for a in alerts if a.rule == "geo_anomaly"] == []
