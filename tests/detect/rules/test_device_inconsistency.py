"""device_inconsistency: two SIP stack families on one account within an hour."""

from __future__ import annotations

from calltrace.config import parse_config
from calltrace.detect.engine import DetectionEngine
from calltrace.detect.rules.device_inconsistency import DeviceInconsistency
from calltrace.model import Alert, CallEvent, CallEventType
from tests.detect._events import T0

YEALINK = "Yealink SIP-T46S 66.86.0.15"
ASTERISK = "Asterisk PBX 18.9.0"


def _seen(offset: float, ua: str, *, user: str = "1001", account: str | None = None,
          kind: CallEventType = CallEventType.REGISTER) -> CallEvent:  # fmt: skip
    return CallEvent(type=kind, ts=T0 + offset, a_number=user, user_agent=ua, account=account,
                     call_id=f"r{offset}", source_ip="203.0.113.5")  # fmt: skip


def _run(events: list[CallEvent], **params: object) -> list[Alert]:
    rule = DeviceInconsistency(**params)  # type: ignore[arg-type]
    return [a for e in events for a in rule.observe(e)]


def test_phone_then_pbx_stack_fires() -> None:
    """A Yealink then an Asterisk on one user within the hour: two families, medium, 60."""
    (alert,) = _run([_seen(0.0, YEALINK), _seen(1800.0, ASTERISK, kind=CallEventType.ATTEMPT)])
    assert (alert.entity, alert.entity_type) == ("1001", "account")
    assert alert.evidence["families"] == ["yealink", "asterisk"]
    assert alert.evidence["user_agents"] == {"yealink": [YEALINK], "asterisk": [ASTERISK]}
    assert (alert.score, alert.severity) == (60, "medium")
    assert (alert.first_seen, alert.last_seen) == (T0, T0 + 1800.0)


def test_firmware_upgrade_is_one_family() -> None:
    """Near miss: two versions of one phone are one family."""
    assert _run([_seen(0.0, YEALINK), _seen(60.0, "Yealink SIP-T46S 66.86.0.20")]) == []


def test_families_spread_beyond_the_window() -> None:
    """Near miss: the second family arrives 3601 s after the first."""
    assert _run([_seen(0.0, YEALINK), _seen(3601.0, ASTERISK)]) == []


def test_accounts_are_kept_apart_and_account_beats_the_number() -> None:
    """Two users with one stack each give nothing; the account field groups two users."""
    assert _run([_seen(0.0, YEALINK), _seen(1.0, ASTERISK, user="1002")]) == []
    (alert,) = _run([_seen(0.0, YEALINK, account="acme"), _seen(1.0, ASTERISK, user="9",
                                                                 account="acme")])  # fmt: skip
    assert alert.entity == "acme"


def test_scanner_family_scores_high() -> None:
    """A scanner user agent on an account that had a phone scores 80, high."""
    (alert,) = _run([_seen(0.0, YEALINK), _seen(5.0, "friendly-scanner")])
    assert alert.evidence["families"] == ["yealink", "scanner:sipvicious"]
    assert (alert.score, alert.severity) == (80, "high")


def test_late_event_within_lateness_counts() -> None:
    """An event 0.9 s late still makes the second family of its window."""
    events = [_seen(0.0, YEALINK), _seen(3600.5, YEALINK), _seen(3599.6, ASTERISK)]
    (alert,) = _run(events)
    assert alert.evidence["families"] == ["yealink", "asterisk"]


def test_allowlisted_account_gives_nothing() -> None:
    """An allowlisted shared account never reaches the rule."""
    config = parse_config({"rules": {"device_inconsistency": {"allowlist": ["1001"]}}})
    alerts = DetectionEngine(config).observe_many([_seen(0.0, YEALINK), _seen(1.0, ASTERISK)])
    assert [a for a in alerts if a.rule == "device_inconsistency"] == []


def test_a_caller_id_that_never_registered_is_not_an_account() -> None:
    """Near miss: one CLI on SIP calls through two trunks' stacks is no subscriber's device."""
    calls = [
        _seen(0.0, YEALINK, kind=CallEventType.ATTEMPT),
        _seen(60.0, ASTERISK, kind=CallEventType.ATTEMPT),
    ]
    assert _run(calls) == []
