"""scanner_user_agent: one request of a known attack tool is enough; real devices are not."""

from __future__ import annotations

import doctest
import pickle

import pytest

from calltrace.detect.rules import scanner_user_agent
from calltrace.detect.rules.scanner_user_agent import ScannerUserAgent
from calltrace.model import CallEventType
from tests.detect._events import T0
from tests.detect.rules._sip import ATTACKER, SERVER, event, feed, request, response


def _with_agent(offset: float, agent: str, method: str = "OPTIONS") -> object:
    msg = request(offset, method)
    return request(offset, method, headers=(*msg.headers, ("user-agent", agent)))


@pytest.mark.parametrize(
    ("agent", "tool"),
    [
        ("friendly-scanner", "sipvicious"),
        ("sipcli/v1.8", "sipcli"),
        ("VaxSIPUserAgent/3.1", "vaxsipuseragent"),
        ("pplsip", "pplsip"),
        ("sundayddr", "sundayddr"),
        ("iWar", "iwar"),
        ("Cisco-SIPGateway/IOS-12.x", None),
    ],
)
def test_one_request_of_a_tool_fires(agent: str, tool: str | None) -> None:
    """A single request with a scanner User-Agent fires on its source, naming the tool."""
    (alert,) = feed(ScannerUserAgent(), [_with_agent(3.0, agent)])
    assert alert.entity == ATTACKER and alert.entity_type == "source_ip"
    assert alert.evidence["user_agent"] == agent
    if tool is not None:
        assert alert.evidence["tool"] == tool
    assert alert.evidence["request"] == f"OPTIONS to {SERVER}:5060"
    assert (alert.first_seen, alert.severity, alert.score) == (T0 + 3.0, "high", 75)


@pytest.mark.parametrize(
    "agent", ["Yealink SIP-T46S 66.86.0.15", "Asterisk PBX 18.9.0", "Linphone/5.0.0 (belle-sip)"]
)
def test_real_devices_do_not_fire(agent: str) -> None:
    """Near miss: product user agents of phones and PBXs give nothing."""
    assert feed(ScannerUserAgent(), [_with_agent(1.0, agent)]) == []


def test_a_response_with_a_scanner_string_does_not_fire() -> None:
    """The headers of a response describe the server, not the prober."""
    msg = response(1.0, 404)
    answer = response(1.0, 404, headers=(*msg.headers, ("user-agent", "friendly-scanner")))
    assert feed(ScannerUserAgent(), [answer]) == []


def test_dual_use_tools_are_medium() -> None:
    """sipsak is an admin tool as well: medium, score 50."""
    (alert,) = feed(ScannerUserAgent(), [_with_agent(1.0, "sipsak 0.9.8")])
    assert (alert.severity, alert.score) == ("medium", 50)


def test_one_alert_per_window_counting_requests() -> None:
    """Twenty scanner requests within 60 s alert once; the next, 61 s later, alerts again
    with the count of its own window."""
    items = [_with_agent(i * 0.5, "friendly-scanner") for i in range(20)]
    items.append(_with_agent(70.5, "friendly-scanner"))
    alerts = feed(ScannerUserAgent(), items)
    assert [a.first_seen - T0 for a in alerts] == [0.0, 70.5]
    assert alerts[1].evidence["requests_in_window"] == 1


def test_event_file_user_agents_count_sip_derived_do_not() -> None:
    """An event-file attempt with a scanner UA fires; the same event from SIP does not
    (its request was already judged)."""
    kind = CallEventType.ATTEMPT
    assert feed(ScannerUserAgent(), [event(1.0, kind, user_agent="pplsip")])
    assert feed(ScannerUserAgent(), [event(1.0, kind, user_agent="pplsip", source="sip")]) == []


def test_pickles_with_its_parser() -> None:
    """A detector that has built its parser pickles and goes on alerting."""
    rule = ScannerUserAgent()
    feed(rule, [_with_agent(0.0, "friendly-scanner")])
    copy = pickle.loads(pickle.dumps(rule))
    assert feed(copy, [_with_agent(100.0, "sipcli/v1.8")])


def test_doctest() -> None:
    """The module's example runs."""
    assert doctest.testmod(scanner_user_agent).failed == 0
