"""toll_fraud: three calls to risky destinations in ten minutes per source, and the near misses."""

from __future__ import annotations

import doctest
import pickle

from calltrace.detect import fraud
from calltrace.detect.fraud import DestinationRisk
from calltrace.detect.rules import toll_fraud
from calltrace.detect.rules.toll_fraud import TollFraud
from calltrace.model import Alert, CallEvent, CallEventType
from tests.detect._events import T0

SATELLITE = "+881631412345"  # Iridium, ITU-T E.164 code 881
PREMIUM_GB = "+449098790000"  # UK 09 premium rate (Ofcom numbering plan)
ORDINARY = "+442079460000"  # London fixed line


def _call(offset: float, b: str, *, account: str | None = "acct1", ip: str | None = None,
          a: str = "201", kind: CallEventType = CallEventType.ATTEMPT) -> CallEvent:  # fmt: skip
    return CallEvent(type=kind, ts=T0 + offset, a_number=a, b_number=b, account=account,
                     source_ip=ip, call_id=f"{a}>{b}@{offset}")  # fmt: skip


def _run(rule: TollFraud, events: list[CallEvent]) -> list[Alert]:
    return [alert for event in events for alert in rule.observe(event)]


def test_three_risky_calls_fire_with_evidence() -> None:
    """Satellite, premium and satellite calls from one account within 9 minutes fire once,
    on the third, naming the account, the reasons and the calls."""
    events = [_call(0, SATELLITE), _call(100, ORDINARY), _call(200, PREMIUM_GB),
              _call(540, SATELLITE)]  # fmt: skip
    (alert,) = _run(TollFraud(), events)
    assert (alert.rule, alert.entity, alert.entity_type) == ("toll_fraud", "acct1", "source")
    assert alert.evidence["reasons"] == {"satellite": 2, "premium_rate": 1}
    assert alert.evidence["source_kind"] == "account"
    assert alert.call_ids == (events[0].call_id, events[2].call_id, events[3].call_id)
    assert (alert.first_seen, alert.last_seen, alert.score, alert.severity) == (
        T0, T0 + 540, 70, "high")  # fmt: skip


def test_two_risky_calls_do_not_fire() -> None:
    """Near miss: two risky calls and any number of ordinary ones stay under three."""
    events = [_call(0, SATELLITE), _call(10, PREMIUM_GB)]
    events += [_call(20 + i, ORDINARY) for i in range(9)]
    assert _run(TollFraud(), events) == []


def test_three_calls_spread_over_more_than_ten_minutes_do_not_fire() -> None:
    """Near miss: risky calls 301 s apart span 602 s, so no 600 s window holds three."""
    assert _run(TollFraud(), [_call(i * 301.0, SATELLITE) for i in range(3)]) == []


def test_source_falls_back_to_ip_then_a_number() -> None:
    """Without an account the source IP is the entity; without either, the A-number."""
    ip = [_call(i, SATELLITE, account=None, ip="203.0.113.9") for i in range(3)]
    a_number = [_call(i, SATELLITE, account=None, a="+15550100") for i in range(3)]
    by_ip, by_a = _run(TollFraud(), ip), _run(TollFraud(), a_number)
    assert [(a.entity, a.evidence["source_kind"]) for a in by_ip] == [("203.0.113.9", "source_ip")]
    assert [(a.entity, a.evidence["source_kind"]) for a in by_a] == [("+15550100", "a_number")]


def test_calls_from_different_accounts_do_not_add_up() -> None:
    """Near miss: three risky calls from three accounts are one call each."""
    assert _run(TollFraud(), [_call(i, SATELLITE, account=f"u{i}") for i in range(3)]) == []


def test_only_attempts_count() -> None:
    """Answer and end events of the same calls are not more calls."""
    kinds = [CallEventType.ATTEMPT, CallEventType.ANSWER, CallEventType.END]
    assert _run(TollFraud(), [_call(i, SATELLITE, kind=kinds[i % 3]) for i in range(6)]) == []


def test_risky_types_are_configurable() -> None:
    """With only satellite risky, premium-rate calls no longer count."""
    events = [_call(0, PREMIUM_GB), _call(1, PREMIUM_GB), _call(2, SATELLITE)]
    assert _run(TollFraud(risky_types=("satellite",)), events) == []
    assert len(_run(TollFraud(), events)) == 1


def test_home_region_unflags_its_own_list_entries() -> None:
    """+371 (Latvia) is on the high-risk list, except for a network whose home is Latvia."""
    events = [_call(i, f"+3716700001{i}") for i in range(3)]
    assert len(_run(TollFraud(), events)) == 1
    assert _run(TollFraud(home_region="LV"), events) == []


def test_late_call_within_lateness_counts() -> None:
    """A risky call arriving 0.9 s out of order completes the three."""
    events = [_call(0.0, SATELLITE), _call(5.0, SATELLITE), _call(4.1, SATELLITE)]
    assert len(_run(TollFraud(), events)) == 1


def test_six_calls_are_critical() -> None:
    """Twice the threshold is critical, score 100."""
    alerts = _run(TollFraud(), [_call(i, SATELLITE) for i in range(6)])
    assert (alerts[-1].severity, alerts[-1].score) == ("critical", 100)


def test_screen_agrees_with_libphonenumber() -> None:
    """The fast screen gives NumberIntel's exact reasons for risky and ordinary numbers."""
    risk = DestinationRisk()
    for number in (SATELLITE, PREMIUM_GB, ORDINARY, "+12025550123", "+19005550123",
                   "+33899123456", "+37167000012", "+447700900123", "+8835100123"):  # fmt: skip
        info = risk.intel.lookup(number)
        assert info is not None and risk.risk(number) == info.risk, number
    assert pickle.loads(pickle.dumps(risk)).risk(SATELLITE) == ("satellite",)


def test_doctests() -> None:
    """The modules' examples give what they show."""
    for module in (toll_fraud, fraud):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0
