"""header_anomaly: each manipulated header is found, and well-formed messages are quiet."""

from __future__ import annotations

import dataclasses
import doctest

import pytest

from calltrace.detect.rules import header_anomaly
from calltrace.detect.rules.header_anomaly import HeaderAnomaly, host_of_via
from calltrace.model import SipMessage
from tests.detect._events import T0
from tests.detect.rules._sip import ATTACKER, SERVER, feed, request, response

GOOD = request(0.0, "INVITE").headers


def _with(*changes: tuple[str, str | None], src: str = ATTACKER, **kw: object) -> SipMessage:
    """The good INVITE with headers replaced (value None: removed) or added."""
    headers = dict(GOOD)
    extra = []
    for name, value in changes:
        if value is None:
            headers.pop(name, None)
        elif name in headers and name not in ("call-id", "cseq", "from", "to"):
            headers[name] = value
        else:
            extra.append((name, value))
    return request(0.0, "INVITE", src=src, headers=(*headers.items(), *extra), **kw)  # type: ignore[arg-type]


def _findings(msg: SipMessage) -> list[str]:
    return HeaderAnomaly().findings(msg)


def test_a_well_formed_request_is_quiet() -> None:
    """Max-Forwards 70, a z9hG4bK branch, one of each header: nothing."""
    assert feed(HeaderAnomaly(), [request(0.0, "INVITE")]) == []


@pytest.mark.parametrize(
    ("value", "finding"),
    [(None, "max_forwards_missing"), ("seventy", "max_forwards_invalid"),
     ("0", "max_forwards_zero"), ("71", "max_forwards_high")],
)  # fmt: skip
def test_odd_max_forwards(value: str | None, finding: str) -> None:
    """Missing, non-numeric, zero and over-70 Max-Forwards are each found."""
    assert _findings(_with(("max-forwards", value))) == [finding]


def test_seventy_and_one_are_fine() -> None:
    """Near miss: 70 (the origin's value) and 1 (a far hop) are normal."""
    assert _findings(_with(("max-forwards", "70"))) == []
    assert _findings(_with(("max-forwards", "1"))) == []


def test_conflicting_duplicates_not_identical_ones() -> None:
    """Two different Call-IDs are a finding; the same To twice is not."""
    assert _findings(_with(("call-id", "other"))) == ["duplicate_call_id"]
    assert _findings(_with(("to", dict(GOOD)["to"]))) == []


def test_branch_without_magic_cookie() -> None:
    """An RFC 2543 style branch, or none, on a request is found."""
    assert _findings(request(0.0, "INVITE", branch="1234")) == ["branch_without_magic_cookie"]
    assert _findings(request(0.0, "INVITE", branch=None)) == ["branch_without_magic_cookie"]


def test_private_via_and_contact_from_a_public_source() -> None:
    """A 192.168/16 Via and Contact from a public address are found, alert scored 40."""
    msg = _with(("via", "SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-1"),
                ("contact", "<sip:100@10.0.0.7:5062>"))  # fmt: skip
    (alert,) = feed(HeaderAnomaly(), [msg])
    assert alert.evidence["findings"] == ["private_via", "private_contact"]
    assert (alert.entity, alert.score, alert.severity) == (ATTACKER, 40, "medium")
    assert alert.first_seen == T0 and alert.call_ids == ("c-0.0",)


def test_private_headers_from_a_private_source_are_fine() -> None:
    """Near miss: inside the LAN, private addresses are what they should be."""
    msg = _with(("via", "SIP/2.0/UDP 192.168.1.20;branch=z9hG4bK-1"), src="192.168.1.20")
    assert _findings(msg) == []
    assert HeaderAnomaly(check_private=False).findings(
        _with(("contact", "<sip:100@10.0.0.7>"))) == []  # fmt: skip


def test_responses_are_not_judged_on_the_copied_via() -> None:
    """A response copies the request's Via and has no Max-Forwards: nothing."""
    headers = (("via", "SIP/2.0/UDP 10.0.0.9;branch=1234"), *response(1.0, 404).headers[1:])
    assert _findings(response(1.0, 404, headers=headers, src=ATTACKER)) == []


def test_responses_are_not_blamed_for_copied_defects() -> None:
    """A 180 that copies the request's tagless From is the requester's fault, not the
    responder's; a defect of its own (bad Date) still counts."""
    msg = response(1.0, 180, src=ATTACKER)
    copied = dataclasses.replace(msg, defects=("missing_from_tag", "invalid_date"))
    assert _findings(copied) == ["defect:invalid_date"]


def test_decoder_defects_are_listed_without_repeats() -> None:
    """Defects become findings, except those the rule already names itself."""
    msg = request(0.0, "INVITE", branch="1234",
                  defects=("branch_without_magic_cookie", "invalid_display_name"))  # fmt: skip
    assert _findings(msg) == ["branch_without_magic_cookie", "defect:invalid_display_name"]


def test_min_score_filters_low_findings() -> None:
    """With min_score 40 a lone defect (15) gives nothing."""
    msg = request(0.0, "INVITE", defects=("invalid_display_name",))
    assert feed(HeaderAnomaly(min_score=40), [msg]) == []
    assert feed(HeaderAnomaly(), [msg])[0].severity == "low"


def test_host_of_via() -> None:
    """The sent-by host of a Via value, with or without port, IPv6 in brackets."""
    assert host_of_via("SIP/2.0/UDP 10.1.2.3:5060;branch=z9hG4bK1") == "10.1.2.3"
    assert host_of_via("SIP/2.0/TCP [fd00::1]:5060;branch=z") == "fd00::1"
    assert host_of_via(f"SIP/2.0/UDP {SERVER}") == SERVER
    assert host_of_via("garbage") is None


def test_doctest() -> None:
    """The module's example runs."""
    assert doctest.testmod(header_anomaly).failed == 0
