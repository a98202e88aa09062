"""REGISTER flows become Registration records (RFC 3261 §10, §22)."""

from __future__ import annotations

from calltrace.model import CallEvent, CallEventType, Registration, SipMessage
from calltrace.trace.calls import CallTracker
from tests.trace.factory import Leg

T = CallEventType
CREDS = 'Authorization: Digest username="alice", realm="pbx.example", nonce="n1", response="r"\n'
CHALLENGE = 'WWW-Authenticate: Digest realm="pbx.example", nonce="n1", algorithm=MD5\n'


def run(messages: list[SipMessage]) -> tuple[CallTracker, list[CallEvent], list[Registration]]:
    tracker = CallTracker()
    events: list[CallEvent] = []
    for msg in messages:
        events.extend(tracker.observe(msg))
    regs = [r for r in tracker.close() if isinstance(r, Registration)]
    return tracker, events, regs


def register(leg: Leg, ts: float, cseq: int, *, extra: str = "") -> SipMessage:
    return leg.request("REGISTER", ts, cseq=cseq, branch=f"z9hG4bKr{cseq}", extra=extra)


def test_challenge_then_success() -> None:
    """REGISTER/401/REGISTER+credentials/200 is one registered record with realm and expiry."""
    leg = Leg("reg-1", caller="alice", callee="alice")
    r1 = register(leg, 0.0, 1)
    c1 = leg.response(r1, 401, "Unauthorized", 0.1, to_tag="s", extra=CHALLENGE)
    r2 = register(leg, 0.2, 2, extra=CREDS)
    ok = leg.response(r2, 200, "OK", 0.3, to_tag="s",
                      extra="Contact: <sip:alice@10.0.0.1:5060>;expires=3600\n")  # fmt: skip
    _, events, (reg,) = run([r1, c1, r2, ok])
    assert (reg.user, reg.domain, reg.realm) == ("alice", "b.example", "pbx.example")
    assert (reg.outcome, reg.attempts, reg.challenged, reg.final_status) == ("registered", 2,
                                                                           True, 200)  # fmt: skip
    assert (reg.expires, reg.auth_username, reg.user_agent) == (3600, "alice", "PhoneA/1.0")
    assert reg.contact == "<sip:alice@10.0.0.1:5060>"
    assert (reg.src_ip, reg.src_port, reg.dst_ip, reg.dst_port, reg.transport) == (
        "10.0.0.1", 5060, "10.0.0.2", 5060, "udp")  # fmt: skip
    assert (reg.start, reg.end, reg.packets) == (0.0, 0.3, (1, 2, 3, 4))
    assert [(e.type, e.status) for e in events] == [
        (T.REGISTER, None), (T.AUTH_CHALLENGE, 401), (T.REGISTER, None)
    ]  # fmt: skip
    assert all(e.a_number == "alice" and e.source_ip == "10.0.0.1" for e in events)


def test_expires_header_when_contact_has_none() -> None:
    """Without a Contact expires= parameter, the 200's Expires header gives the expiry."""
    leg = Leg("reg-e", caller="bob", callee="bob")
    r1 = register(leg, 0.0, 1)
    _, _, (reg,) = run([r1, leg.response(r1, 200, "OK", 0.1, to_tag="s", extra="Expires: 120\n")])
    assert reg.expires == 120 and reg.outcome == "registered" and not reg.challenged


def test_refused_credentials_fail() -> None:
    """Credentials answered 403 make a failed registration and an AUTH_FAILURE event."""
    leg = Leg("reg-2", caller="alice", callee="alice")
    r1 = register(leg, 0.0, 1, extra=CREDS)
    _, events, (reg,) = run([r1, leg.response(r1, 403, "Forbidden", 0.1, to_tag="s")])
    assert (reg.outcome, reg.final_status, reg.attempts) == ("failed", 403, 1)
    assert [(e.type, e.status) for e in events] == [(T.REGISTER, None), (T.AUTH_FAILURE, 403)]


def test_wrong_password_401_again_is_failed() -> None:
    """A second 401 to a REGISTER with credentials is a failure, not a mere challenge."""
    leg = Leg("reg-3", caller="alice", callee="alice")
    r1 = register(leg, 0.0, 1)
    r2 = register(leg, 0.2, 2, extra=CREDS)
    _, events, (reg,) = run(
        [
            r1,
            leg.response(r1, 401, "Unauthorized", 0.1, to_tag="s", extra=CHALLENGE),
            r2,
            leg.response(r2, 401, "Unauthorized", 0.3, to_tag="s", extra=CHALLENGE),
        ]
    )
    assert reg.outcome == "failed" and reg.challenged and reg.attempts == 2
    assert (T.AUTH_FAILURE, 401) in [(e.type, e.status) for e in events]


def test_unregister() -> None:
    """A 200 to a REGISTER with Expires: 0 is an unregistration (§10.2.2)."""
    leg = Leg("reg-4", caller="alice", callee="alice")
    r1 = register(leg, 0.0, 1, extra="Expires: 0\n")
    _, _, (reg,) = run([r1, leg.response(r1, 200, "OK", 0.1, to_tag="s")])
    assert reg.outcome == "unregistered"


def test_challenged_only_and_no_response() -> None:
    """A lone 401 is `challenged`; a REGISTER nobody answers is `no_response`."""
    leg = Leg("reg-5", caller="alice", callee="alice")
    r1 = register(leg, 0.0, 1)
    r2 = Leg("reg-6").request("REGISTER", 1.0, branch="z9hG4bKx")
    _, _, regs = run([r1, leg.response(r1, 401, "Unauthorized", 0.1, to_tag="s"), r2])
    assert {r.call_id: r.outcome for r in regs} == {"reg-5": "challenged", "reg-6": "no_response"}


def test_refresh_with_same_call_id_is_a_new_record() -> None:
    """A refresh after a 200 with the same Call-ID starts the next record (one per cycle)."""
    leg = Leg("reg-7", caller="alice", callee="alice")
    r1 = register(leg, 0.0, 1)
    ok1 = leg.response(r1, 200, "OK", 0.1, to_tag="s")
    r2 = register(leg, 60.0, 2)
    tracker = CallTracker()
    for msg in (r1, ok1, r2):
        tracker.observe(msg)
    (first,) = tracker.pop_finished()
    assert isinstance(first, Registration) and first.end == 0.1 and first.attempts == 1
    tracker.observe(leg.response(r2, 200, "OK", 60.1, to_tag="s"))
    (second,) = tracker.close()
    assert isinstance(second, Registration) and (second.start, second.attempts) == (60.0, 1)


def test_retransmitted_register_is_not_an_attempt() -> None:
    """A REGISTER resent on the same hop counts as a retransmission, not as an attempt."""
    leg = Leg("reg-8", caller="alice", callee="alice")
    r1 = register(leg, 0.0, 1)
    tracker, events, (reg,) = run([r1, leg.again(r1, 0.5)])
    assert reg.attempts == 1 and tracker.stats.retransmissions == 1 and len(events) == 1
    assert reg.packets == (1, 2)


def test_idle_registration_is_evicted_by_capture_time() -> None:
    """A registration silent for registration_idle_timeout is finished by later traffic."""
    leg = Leg("reg-9", caller="alice", callee="alice")
    r1 = register(leg, 0.0, 1)
    tracker = CallTracker(registration_idle_timeout=10.0)
    tracker.observe(r1)
    tracker.observe(Leg("other").request("OPTIONS", 5.0, branch="z9hG4bKo"))
    assert tracker.pop_finished() == []
    tracker.observe(Leg("other2").request("OPTIONS", 11.0, branch="z9hG4bKo2"))
    (reg,) = tracker.pop_finished()
    assert isinstance(reg, Registration) and reg.call_id == "reg-9"


def test_orphan_register_response_makes_a_record() -> None:
    """A 200 to an uncaptured REGISTER still yields a record, its client the 200's target."""
    leg = Leg("reg-10", caller="carol", callee="carol")
    r1 = register(leg, 0.0, 1)  # never fed
    tracker, _, (reg,) = run([leg.response(r1, 200, "OK", 1.0, to_tag="s")])
    assert tracker.stats.orphan_responses == 1
    assert (reg.user, reg.outcome, reg.attempts, reg.final_status) == ("carol", "registered", 0,
                                                                      200)  # fmt: skip


def test_password_guesses_on_one_cseq_are_attempts() -> None:
    """Guesses resent on one CSeq with new credentials (svcrack) are each an attempt, a failure."""
    leg = Leg("reg-crack", caller="1000", callee="1000")
    r1 = register(leg, 0.0, 1)
    messages = [r1, leg.response(r1, 401, "Unauthorized", 0.01, to_tag="s", extra=CHALLENGE)]
    for guess in range(5):
        creds = CREDS.replace('response="r"', f'response="{guess:032x}"')
        request = leg.request(
            "REGISTER", 1.0 + guess, cseq=2, branch=f"z9hG4bKg{guess}", extra=creds
        )
        reply = leg.response(
            request, 401, "Unauthorized", 1.01 + guess, to_tag="s", extra=CHALLENGE
        )
        messages += [request, reply]
    # a copy of the last guess and of its answer captured on another hop is not a new attempt
    messages += [leg.hop(messages[-2], 5.5, "10.0.0.9:5060", "10.0.0.8:5060"),
                 leg.hop(messages[-1], 5.6, "10.0.0.8:5060", "10.0.0.9:5060")]  # fmt: skip
    _, events, (reg,) = run(messages)
    assert (reg.attempts, reg.outcome, reg.final_status) == (6, "failed", 401)
    failures = [e for e in events if e.type is T.AUTH_FAILURE]
    assert [e.ts for e in failures] == [1.01, 2.01, 3.01, 4.01, 5.01]
