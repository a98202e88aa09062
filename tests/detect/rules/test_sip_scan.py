"""sip_scan: ten targets probed within a minute, and the near misses."""

from __future__ import annotations

import doctest

from calltrace.detect.rules import sip_scan
from calltrace.detect.rules.sip_scan import SipScan
from calltrace.model import CallEventType
from tests.detect._events import T0
from tests.detect.rules._sip import ATTACKER, event, feed, request


def _sweep(count: int, step: float, method: str = "OPTIONS") -> list:  # type: ignore[type-arg]
    return [request(i * step, method, dst=f"198.51.100.{i + 1}") for i in range(count)]


def test_ten_targets_in_a_minute_fire_with_evidence() -> None:
    """Ten addresses probed 5 s apart fire once, on the tenth, naming source and targets."""
    (alert,) = feed(SipScan(), _sweep(10, 5.0))
    assert alert.rule == "sip_scan" and alert.entity == ATTACKER
    assert alert.entity_type == "source_ip" and alert.severity == "medium"
    assert alert.evidence["distinct_targets"] == 10
    assert alert.evidence["targets"] == [f"198.51.100.{i}:5060" for i in range(1, 11)]
    assert alert.evidence["methods"] == {"OPTIONS": 10}
    assert (alert.first_seen, alert.last_seen, alert.score) == (T0, T0 + 45.0, 50)


def test_nine_targets_do_not_fire() -> None:
    """Near miss: nine targets, however fast, stay under ten."""
    assert feed(SipScan(), _sweep(9, 0.1)) == []


def test_ten_targets_spread_over_60_3_seconds_do_not_fire() -> None:
    """Near miss: ten probes 6.7 s apart span 60.3 s, so no 60 s window holds all ten."""
    assert feed(SipScan(), _sweep(10, 6.7)) == []


def test_many_requests_to_two_targets_do_not_fire() -> None:
    """Near miss: volume is not a sweep; 100 REGISTERs to two servers are two targets."""
    items = [request(i * 0.1, "REGISTER", dst=f"198.51.100.{i % 2}") for i in range(100)]
    assert feed(SipScan(), items) == []


def test_ports_of_one_host_are_targets() -> None:
    """A port sweep of one host (5060-5069) is ten targets."""
    items = [request(i, "INVITE", port=5060 + i) for i in range(10)]
    (alert,) = feed(SipScan(), items)
    assert alert.evidence["targets"][-1] == "198.51.100.1:5069"


def test_other_methods_and_responses_do_not_count() -> None:
    """BYE, ACK and MESSAGE to ten hosts are not probes."""
    items = [request(i, m, dst=f"198.51.100.{i}") for i in range(12) for m in ("BYE", "ACK")]
    assert feed(SipScan(), items) == []


def test_late_probe_within_lateness_completes_the_sweep() -> None:
    """A probe arriving 0.8 s after a later one still makes the tenth target."""
    items = _sweep(9, 1.0)
    late = items.pop()  # the ninth target, ts 8.0, arrives after the tenth at 8.8
    items += [request(8.8, dst="198.51.100.99"), late]
    assert feed(SipScan(), items[:-1]) == []
    (alert,) = feed(SipScan(), items)
    assert alert.evidence["distinct_targets"] == 10


def test_event_file_attempts_count_their_dest_ip() -> None:
    """Attempts from an event file to ten destination IPs fire; SIP-derived ones do not."""
    files = [event(i, CallEventType.ATTEMPT, dest_ip=f"10.0.0.{i}") for i in range(10)]
    (alert,) = feed(SipScan(), files)
    assert alert.evidence["targets"][0] == "10.0.0.0"
    derived = [
        event(i, CallEventType.ATTEMPT, dest_ip=f"10.0.0.{i}", source="sip") for i in range(10)
    ]
    assert feed(SipScan(), derived) == []


def test_re_alerts_once_per_window() -> None:
    """A sweep of 200 targets in 100 s gives one alert per 60 s window, high at 50 targets."""
    alerts = feed(SipScan(), _sweep(200, 0.5))
    assert [a.last_seen - T0 for a in alerts] == [4.5, 64.5]
    assert alerts[1].severity == "high" and alerts[1].score == 90


def test_doctest() -> None:
    """The module's example runs."""
    assert doctest.testmod(sip_scan).failed == 0
