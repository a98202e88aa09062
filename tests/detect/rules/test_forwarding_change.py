"""forwarding_change: config-change events and SIP redirections, scored by target and time."""

from __future__ import annotations

from calltrace.config import parse_config
from calltrace.detect.engine import DetectionEngine
from calltrace.detect.rules.forwarding_change import ForwardingChange
from calltrace.model import Alert, CallEvent, CallEventType, SipMessage
from tests.detect._events import T0  # Monday 09:00 UTC
from tests.trace.factory import sip

LINE = "+442079460000"


def _change(offset: float, target: str, account: str | None = "admin") -> CallEvent:
    return CallEvent(type=CallEventType.CONFIG_CHANGE, ts=T0 + offset, a_number=LINE,
                     b_number=target, account=account, source="events")  # fmt: skip


def _run(rule: ForwardingChange, items: list[CallEvent | SipMessage]) -> list[Alert]:
    return [a for item in items for a in rule.observe(item)]


def _reasons(alerts: list[Alert]) -> list[str]:
    (alert,) = alerts
    return list(alert.evidence["reasons"])


def test_internal_forwarding_in_hours_is_low() -> None:
    """Forwarding to an extension in business hours fires at the base score, low."""
    (alert,) = _run(ForwardingChange(home_region="GB"), [_change(0.0, "2002")])
    assert (alert.entity, alert.entity_type, alert.score, alert.severity) == (
        "admin", "account", 30, "low")  # fmt: skip
    assert alert.evidence == {"line": LINE, "setting": None, "target": "2002",
                              "previous_target": None, "how": "config_change",
                              "reasons": []}  # fmt: skip


def test_setting_and_target_fields_are_used() -> None:
    """``target`` wins over ``b_number`` and ``setting`` is in the evidence; a change of
    a setting that is not forwarding, or a forwarding switched off, is not an alert."""
    rule = ForwardingChange(home_region="GB")

    def change(offset: float, setting: str, target: str | None) -> CallEvent:
        return CallEvent(type=CallEventType.CONFIG_CHANGE, ts=T0 + offset, a_number=LINE,
                         b_number=LINE, account="admin", setting=setting, target=target,
                         source="events")  # fmt: skip

    (alert,) = _run(rule, [change(0.0, "call_forward_all", "+33142685300")])
    assert (alert.evidence["setting"], alert.evidence["target"]) == (
        "call_forward_all", "+33142685300")  # fmt: skip
    assert alert.evidence["reasons"] == ["external", "international"]
    assert _run(rule, [change(1.0, "voicemail_pin", "1234")]) == []
    assert _run(rule, [change(2.0, "CFB", None), change(3.0, "CFNRy", "")]) == []
    assert len(_run(rule, [change(4.0, "CFNRy", "2002")])) == 1


def test_each_aggravation_adds() -> None:
    """External +20, international +20, premium/high-risk +30, after hours +20."""
    rule = ForwardingChange(home_region="GB")
    assert _reasons(_run(rule, [_change(0.0, "+442079460001")])) == ["external"]
    assert _reasons(_run(rule, [_change(1.0, "+33142685300")])) == ["external", "international"]
    (premium,) = _run(rule, [_change(2.0, "+449098790000")])
    assert premium.evidence["reasons"] == ["external", "high_risk"] and premium.score == 80
    (night,) = _run(rule, [_change(12 * 3600.0, "2002")])  # 21:00 London
    assert night.evidence["reasons"] == ["after_hours"] and night.score == 50


def test_line_is_the_entity_without_an_account() -> None:
    """A change event with no account names the forwarded line."""
    (alert,) = _run(ForwardingChange(), [_change(0.0, "2002", account=None)])
    assert alert.entity == LINE


def _redirect(ts: float, contact: str) -> SipMessage:
    return sip(
        "SIP/2.0 302 Moved Temporarily\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\n"
        f"From: <sip:1001@a>;tag=f1\nTo: <sip:{LINE}@b>;tag=t1\nCall-ID: c{ts}@a\n"
        f"CSeq: 1 INVITE\nContact: <sip:{contact}@gw.example>\n", ts=T0 + ts)  # fmt: skip


def test_sip_redirect_fires_once_per_new_target() -> None:
    """A 302 to a new Contact fires; the same redirection again does not; a new target does."""
    rule = ForwardingChange(home_region="GB")
    items = [_redirect(0.0, "+33142685300"), _redirect(5.0, "+33142685300"),
             _redirect(9.0, "+881631412345")]  # fmt: skip
    alerts = _run(rule, items)
    assert [(a.entity, a.evidence["how"], a.evidence["previous_target"]) for a in alerts] == [
        (LINE, "redirect_3xx", None), (LINE, "redirect_3xx", "+33142685300")]  # fmt: skip


def test_diversion_and_history_info() -> None:
    """INVITEs carrying Diversion (first entry to R-URI) or History-Info (first to last) fire."""
    head = ("Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK2\nFrom: <sip:+15550100@a>;tag=f\n"
            "CSeq: 1 INVITE\nMax-Forwards: 70\n")  # fmt: skip
    div = sip(f"INVITE sip:+33142685300@b SIP/2.0\n{head}To: <sip:{LINE}@b>\nCall-ID: d@a\n"
              f"Diversion: <sip:{LINE}@b>;reason=unconditional;counter=1\n", ts=T0)  # fmt: skip
    hist = sip(f"INVITE sip:2002@b SIP/2.0\n{head}To: <sip:2001@b>\nCall-ID: h@a\n"
               "History-Info: <sip:2001@b>;index=1,"
               "<sip:2002@b?Reason=SIP%3Bcause%3D302>;index=1.1\n",
               ts=T0)  # fmt: skip
    rule = ForwardingChange(home_region="GB")
    alerts = _run(rule, [div, hist])
    assert [(a.evidence["line"], a.evidence["target"], a.evidence["how"]) for a in alerts] == [
        (LINE, "+33142685300", "diversion"), ("2001", "2002", "history_info")]  # fmt: skip


def test_plain_calls_and_other_events_give_nothing() -> None:
    """Near miss: an INVITE without redirection headers, a 486 and an attempt event."""
    plain = sip("INVITE sip:2002@b SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK3\n"
                "From: <sip:1001@a>;tag=f\nTo: <sip:2002@b>\nCall-ID: p@a\nCSeq: 1 INVITE\n",
                ts=T0)  # fmt: skip
    attempt = CallEvent(type=CallEventType.ATTEMPT, ts=T0, a_number=LINE, b_number="2002")
    assert _run(ForwardingChange(), [plain, attempt]) == []


def test_allowlisted_line() -> None:
    """An allowlisted line (the partition key) gives no alert."""
    config = parse_config({"rules": {"forwarding_change": {"allowlist": [LINE]}}})
    alerts = DetectionEngine(config).observe_many([_change(0.0, "+881631412345")])
    assert [a for a in alerts if a.rule == "forwarding_change"] == []
