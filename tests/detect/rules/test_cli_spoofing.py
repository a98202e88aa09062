"""cli_spoofing: each finding on hand-built INVITEs and events, the near misses, and the
Metasploit spoofed INVITE of the corpus."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from calltrace.config import parse_config
from calltrace.detect.engine import DetectionEngine
from calltrace.detect.rules.cli_spoofing import CliSpoofing, same_number
from calltrace.model import Alert, CallEvent, CallEventType, SipMessage
from calltrace.pipeline import Analyzer
from calltrace.sources.pcapfile import read_chunks
from tests.detect._events import T0
from tests.trace.factory import sip


def _invite(from_: str, *extra: str, ruri: str = "sip:+15550100@b.example",
            src: str = "10.0.0.1:5060") -> SipMessage:  # fmt: skip
    headers = "\n".join(extra)
    text = (
        f"INVITE {ruri} SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\n"
        f"From: {from_};tag=f1\nTo: <{ruri}>\nCall-ID: c1@a\nCSeq: 1 INVITE\n"
        f"Max-Forwards: 70\n{headers}\n"
    )
    return sip(text, ts=T0, src=src)


def _checks(alerts: list[Alert]) -> list[str]:
    (alert,) = alerts
    return [f["check"] for f in alert.evidence["findings"]]


def _event(a: str, b: str, *, ip: str | None = None) -> CallEvent:
    return CallEvent(type=CallEventType.ATTEMPT, ts=T0, a_number=a, b_number=b,
                     call_id="e1", source_ip=ip, source="events")  # fmt: skip


def test_from_and_pai_disagree() -> None:
    """An INVITE whose From number is none of its P-Asserted-Identity numbers fires."""
    msg = _invite("<sip:+442079460000@a.example>", "P-Asserted-Identity: <sip:+442079460999@a>")
    (alert,) = CliSpoofing().observe(msg)
    assert alert.entity == "+442079460000" and alert.entity_type == "a_number"
    assert alert.evidence["findings"] == [
        {"check": "from_pai_mismatch", "from": "+442079460000", "pai": ["+442079460999"]}
    ]
    assert (alert.score, alert.severity, alert.call_ids) == (60, "medium", ("c1@a",))


def test_pai_in_national_form_or_withheld_from_is_not_spoofing() -> None:
    """Near misses: the same number in national form, and an anonymous From with a PAI."""
    same = _invite("<sip:+442079460000@a>", "P-Asserted-Identity: <tel:02079460000>")
    withheld = _invite("<sip:anonymous@anonymous.invalid>", "P-Asserted-Identity: <sip:+44207@a>")
    assert CliSpoofing().observe(same) == [] and CliSpoofing().observe(withheld) == []


def test_passport_orig_tn_that_is_not_the_caller() -> None:
    """A PASSporT asserting another number than From and PAI gives identity_mismatch (80)."""
    claims = base64.urlsafe_b64encode(b'{"orig":{"tn":"12155550112"}}').rstrip(b"=").decode()
    header = f"Identity: eyJhbGciOiJFUzI1NiJ9.{claims}.c2ln;info=<https://cert.example/c.pem>"
    alerts = CliSpoofing().observe(_invite("<sip:+12015550123@a>", header))
    assert _checks(alerts) == ["identity_mismatch"] and alerts[0].score == 80
    assert alerts[0].evidence["findings"][0]["orig_tn"] == "12155550112"
    honest = _invite("<sip:+12155550112@a>", header)
    assert CliSpoofing().observe(honest) == []


def test_display_name_tricks() -> None:
    """A number in the display name other than the From user fires; the same number does not."""
    spoof = _invite('"+44 20 7946 0000" <sip:1001@a.example>')
    assert _checks(CliSpoofing().observe(spoof)) == ["display_number_mismatch"]
    plain = _invite('"+44 20 7946 0000" <sip:+442079460000@a.example>')
    assert CliSpoofing().observe(plain) == []


def test_unallocated_a_number_and_a_equals_b_from_events() -> None:
    """Event-file attempts: an unallocated +44 number and A = B each fire, two findings add 10."""
    assert _checks(CliSpoofing().observe(_event("+4400123", "+15550100"))) == ["invalid_cli"]
    (alert,) = CliSpoofing().observe(_event("+4400123", "+4400123"))
    assert [f["check"] for f in alert.evidence["findings"]] == ["a_equals_b", "invalid_cli"]
    assert alert.score == 70 and alert.severity == "high"
    assert CliSpoofing().observe(_event("+442079460000", "+442079460001")) == []


def test_national_numbers_are_not_judged_without_a_region() -> None:
    """Near miss: a national-format A-number with no default region says no country."""
    assert CliSpoofing().observe(_event("02079460000", "+15550100")) == []


def test_home_cli_from_abroad() -> None:
    """A valid GB number from a Russian address fires with home region GB; from GB it does not."""
    rule = CliSpoofing(home_region="GB")
    alerts = rule.observe(_event("+442079460000", "+15550100", ip="77.88.8.8"))
    assert _checks(alerts) == ["local_cli_from_abroad"]
    assert alerts[0].evidence["findings"][0]["source_country"] == "RU"
    assert rule.observe(_event("+442079460000", "+15550100", ip="81.2.69.142")) == []


def test_sip_call_events_are_left_to_the_invite() -> None:
    """Call events that trace made from SIP are skipped (their INVITE was judged)."""
    event = CallEvent(type=CallEventType.ATTEMPT, ts=T0, a_number="+4400", b_number="+4400")
    assert CliSpoofing().observe(event) == []


def test_engine_allowlist_drops_the_caller() -> None:
    """An allowlisted caller ID gives no alert through the engine."""
    config = parse_config({"rules": {"cli_spoofing": {"allowlist": ["+4400123"]}}})
    engine = DetectionEngine(config)
    assert [a for a in engine.observe(_event("+4400123", "+1")) if a.rule == "cli_spoofing"] == []


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [("+442079460000", "442079460000", True), ("0044 20 7946 0000", "+442079460000", True),
     ("12345", "212345", False), ("alice", "Alice", True)],
)  # fmt: skip
def test_same_number(a: str, b: str, same: bool) -> None:
    """National, international and separated forms of one number compare equal; short
    numbers must match exactly."""
    assert same_number(a, b) is same


def test_metasploit_spoofed_invite(corpus: Path) -> None:
    """The corpus's Metasploit sip_invite_spoof INVITE gives cli_spoofing: a display-name-only
    caller ID "testtest"."""
    path = corpus / "pcap" / "wireshark-samples" / "metasploit-sip-invite-spoof.pcap"
    analyzer = Analyzer(engine=DetectionEngine())
    analyzer.begin_file(str(path))
    for chunk in read_chunks(path):
        analyzer.feed(chunk)
    analyzer.end_file()
    result = analyzer.finish()
    alerts = [a for a in result.alerts if a.rule == "cli_spoofing"]
    assert [(a.entity, _checks([a])) for a in alerts] == [("testtest", ["display_only"])]


FROM_FORMS = [
    '"Alice" <sip:+15550100@a.example>;tag=1',
    "Alice Smith <sip:alice@a.example;user=phone>;tag=2",
    "<sips:+447700900123@a.example:5061>;tag=3",
    '"A \\"quoted\\" name" <sip:100@a.example>;tag=4',
    "sip:200@a.example;tag=5",
    '"Bob <the boss>" <sip:300@a.example>;tag=6',
    "<tel:+15550100>;tag=7",
    '"" <sip:anonymous@anonymous.invalid>;tag=8',
    "<sip:a.example>;tag=9",
    "<sip:%2B1555@a.example>;tag=10",
    "Carol <sip:carol:pw@a.example>;tag=11",
    "Broken <sip:400@a.example",
]


@pytest.mark.parametrize("value", FROM_FORMS)
def test_fast_from_reader_equals_the_parser(value: str) -> None:
    """The fast From reader gives the full name-addr parser's user and display name."""
    from calltrace.detect.rules.cli_spoofing import _from_user, _from_user_parsed

    msg = _invite(value)
    assert _from_user(msg) == _from_user_parsed(msg.header("from") or "")
