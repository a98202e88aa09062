"""``account`` on SIP call and registration events: the digest username of the first
request with credentials (RFC 3261 §22.2-§22.3), on real captures (tshark's view)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from calltrace.model import CallEvent, CallEventType
from calltrace.trace.calls import CallTracker
from tests.trace.test_corpus import messages

pytestmark = pytest.mark.corpus


def _events(path: Path) -> list[CallEvent]:
    tracker = CallTracker()
    return [e for msg in messages(path) for e in tracker.observe(msg)]


def test_invites_with_credentials_give_their_calls_the_username(corpus: Path) -> None:
    """SIP-3700-unauthorized-401: tshark lists 11 INVITE Call-IDs, 6 of them with digest
    username "200"; those calls' events name account "200", the others none."""
    by_call: dict[str | None, set[str | None]] = defaultdict(set)
    for event in _events(corpus / "pcap/sip-attacks/SIP-3700-unauthorized-401.pcap"):
        by_call[event.call_id].add(event.account)
    assert len(by_call) == 11
    assert sum(1 for accounts in by_call.values() if "200" in accounts) == 6
    assert {a for accounts in by_call.values() for a in accounts} == {None, "200"}


def test_the_attempt_before_the_challenge_has_no_account(corpus: Path) -> None:
    """The first INVITE of a challenged call carries no credentials, so its attempt names
    no account; the retry's events after the 407 do."""
    events = _events(corpus / "pcap/sip-attacks/SIP-3700-unauthorized-401.pcap")
    authed = {e.call_id for e in events if e.account == "200"}
    firsts = {e.call_id: e for e in reversed(events)}  # first event of each call
    assert all(firsts[c].type is CallEventType.ATTEMPT for c in authed)
    assert any(firsts[c].account is None for c in authed)


def test_registration_events_name_the_digest_username(corpus: Path) -> None:
    """sip_ipv4_tcp_retrans: a REGISTER without credentials, its 401, then a REGISTER with
    username "1001" and the 200: the events after the credentials name account "1001"."""
    events = _events(corpus / "pcap/heplify/sip_ipv4_tcp_retrans.pcap")
    kinds = [(e.type, e.account) for e in events]
    assert (CallEventType.AUTH_CHALLENGE, None) in kinds
    assert kinds[-1] == (CallEventType.REGISTER, "1001")
