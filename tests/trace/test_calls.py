"""Call reconstruction from hand-written SIP flows (RFC 3261 §12-17)."""

from __future__ import annotations

import dataclasses

from calltrace.model import Call, CallEvent, CallEventType, MediaDescription, SipMessage
from calltrace.trace.calls import CallTracker, new_event
from tests.trace.factory import A, B, Leg, sdp, sip

P = "10.0.0.9:5060"  # a proxy between A and B
OFFER = sdp("10.0.0.1", 4000, (0, "PCMU/8000"), (8, "PCMA/8000"))
ANSWER = sdp("10.0.0.2", 5000, (8, "PCMA/8000"))
T = CallEventType


def run(messages: list[SipMessage]) -> tuple[CallTracker, list[CallEvent], list[Call]]:
    tracker = CallTracker()
    events: list[CallEvent] = []
    for msg in messages:
        events.extend(tracker.observe(msg))
    calls = [r for r in tracker.close() if isinstance(r, Call)]
    return tracker, events, calls


def basic_call(leg: Leg, *, callee_hangs_up: bool = False) -> list[SipMessage]:
    inv = leg.invite(100.0, body=OFFER, extra="P-Asserted-Identity: <sip:+4930123@a.example>\n")
    msgs = [
        inv,
        leg.response(inv, 100, "Trying", 100.1),
        leg.response(inv, 180, "Ringing", 100.5, to_tag="tt1"),
        leg.response(inv, 200, "OK", 103.0, to_tag="tt1", body=ANSWER),
        leg.request("ACK", 103.1, branch="z9hG4bKack", to_tag="tt1"),
    ]
    bye = leg.request(
        "BYE", 163.0, cseq=1 if callee_hangs_up else 2, branch="z9hG4bKbye", to_tag="tt1",
        from_callee=callee_hangs_up,
    )  # fmt: skip
    return [*msgs, bye, leg.response(bye, 200, "OK", 163.1)]


def test_basic_call_completed_fields() -> None:
    """A basic INVITE/180/200/ACK/BYE call fills every field with the hand-computed values."""
    _, _, calls = run(basic_call(Leg()))
    (call,) = calls
    assert call.state == "completed"
    assert (call.start, call.ringing, call.answered, call.end) == (100.0, 100.5, 103.0, 163.0)
    assert call.duration == 60.0 and call.setup_time == 3.0 and call.pdd == 0.5
    assert (call.final_status, call.final_reason, call.hangup_by) == (200, "OK", "caller")
    assert (call.caller, call.callee) == ("1001", "2002")
    assert call.from_uri == "sip:1001@a.example" and call.to_uri == "sip:2002@b.example"
    assert call.request_uri == "sip:2002@b.example"
    assert call.pai == "<sip:+4930123@a.example>"
    assert (call.from_tag, call.to_tag) == ("ftag1", "tt1")
    assert (call.src_ip, call.src_port, call.dst_ip, call.dst_port) == ("10.0.0.1", 5060,
                                                                      "10.0.0.2", 5060)  # fmt: skip
    assert call.transport == "udp"
    assert (call.user_agent, call.server) == ("PhoneA/1.0", "PbxB/2.0")
    assert call.via == ("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKinv1",)
    assert call.contact == "<sip:1001@10.0.0.1:5060>"
    assert call.codecs == ("PCMU/8000", "PCMA/8000")
    assert call.media == (
        MediaDescription(party="caller", media="audio", ip="10.0.0.1", port=4000,
                         proto="RTP/AVP", codecs=("PCMU/8000", "PCMA/8000"), packet=1),
        MediaDescription(party="callee", media="audio", ip="10.0.0.2", port=5000,
                         proto="RTP/AVP", codecs=("PCMA/8000",), packet=4),
    )  # fmt: skip
    assert call.messages == 7 and call.packets == (1, 2, 3, 4, 5, 6, 7)
    assert call.methods == {"INVITE": 1, "ACK": 1, "BYE": 1}
    assert call.statuses == {"100": 1, "180": 1, "200": 2}
    assert call.forks == ("tt1",) and call.retransmissions == 0
    assert not call.auth_challenged


def test_basic_call_events_in_order() -> None:
    """ATTEMPT, RINGING, ANSWER, END are emitted in order with the call's A/B and source."""
    _, events, _ = run(basic_call(Leg()))
    assert [(e.type, e.ts, e.status, e.packet) for e in events] == [
        (T.ATTEMPT, 100.0, None, 1),
        (T.RINGING, 100.5, 180, 3),
        (T.ANSWER, 103.0, 200, 4),
        (T.END, 163.0, None, 6),
    ]
    for e in events:
        assert (e.call_id, e.a_number, e.b_number) == ("call-1@a.example", "1001", "2002")
        assert (e.source_ip, e.source_port, e.dest_ip) == ("10.0.0.1", 5060, "10.0.0.2")
        assert e.user_agent == "PhoneA/1.0" and e.source == "sip"
    assert events[-1].duration == 60.0


def test_hangup_by_callee() -> None:
    """A BYE whose From tag is not the INVITE's comes from the callee."""
    _, events, (call,) = run(basic_call(Leg(), callee_hangs_up=True))
    assert call.hangup_by == "callee" and call.state == "completed"
    assert events[-1].type is T.END


def test_cancelled_call() -> None:
    """CANCEL then 487 is a cancelled call ending at the 487; CANCEL emitted, no REJECT."""
    leg = Leg()
    inv = leg.invite(10.0)
    cancel = leg.request("CANCEL", 14.0, branch="z9hG4bKinv1")
    _, events, (call,) = run(
        [
            inv,
            leg.response(inv, 180, "Ringing", 10.4, to_tag="x"),
            cancel,
            leg.response(cancel, 200, "OK", 14.1, to_tag="x"),
            leg.response(inv, 487, "Request Terminated", 14.2, to_tag="x"),
            leg.request("ACK", 14.3, branch="z9hG4bKinv1", to_tag="x"),
        ]
    )
    assert call.state == "cancelled"
    assert (call.final_status, call.final_reason) == (487, "Request Terminated")
    assert call.end == 14.2 and call.answered is None and call.duration is None
    assert abs(call.pdd - 0.4) < 1e-9  # type: ignore[operator]
    assert [e.type for e in events] == [T.ATTEMPT, T.RINGING, T.CANCEL]
    assert events[-1].ts == 14.0


def test_rejected_486() -> None:
    """A 486 is a rejected call: final status, end and pdd at the 486, a REJECT event."""
    leg = Leg()
    inv = leg.invite(50.0)
    _, events, (call,) = run(
        [
            inv,
            leg.response(inv, 100, "Trying", 50.05),
            leg.response(inv, 486, "Busy Here", 51.5, to_tag="b"),
            leg.request("ACK", 51.6, branch="z9hG4bKinv1", to_tag="b"),
        ]
    )
    assert call.state == "rejected"
    assert (call.final_status, call.final_reason, call.end, call.pdd) == (486, "Busy Here",
                                                                        51.5, 1.5)  # fmt: skip
    assert call.setup_time is None and call.duration is None and call.forks == ()
    assert [(e.type, e.status) for e in events] == [(T.ATTEMPT, None), (T.REJECT, 486)]


def auth_flow(leg: Leg) -> list[SipMessage]:
    inv1 = leg.invite(0.0)
    inv2 = leg.invite(
        0.3, cseq=2, branch="z9hG4bKinv2",
        extra='Proxy-Authorization: Digest username="1001", realm="a.example", nonce="n"\n',
    )  # fmt: skip
    return [
        inv1,
        leg.response(inv1, 407, "Proxy Authentication Required", 0.1, to_tag="p",
                     extra='Proxy-Authenticate: Digest realm="a.example", nonce="n"\n'),
        leg.request("ACK", 0.2, branch="z9hG4bKinv1", to_tag="p"),
        inv2,
        leg.response(inv2, 180, "Ringing", 1.0, to_tag="c"),
        leg.response(inv2, 200, "OK", 4.0, to_tag="c"),
    ]  # fmt: skip


def test_auth_challenged_then_answered_is_one_call() -> None:
    """407 then an INVITE with credentials is one call, challenged, final status from the retry."""
    _, events, calls = run(auth_flow(Leg()))
    (call,) = calls
    assert call.state == "answered" and call.auth_challenged
    assert (call.final_status, call.start, call.answered, call.setup_time) == (200, 0.0, 4.0, 4.0)
    assert call.methods == {"INVITE": 2, "ACK": 1} and call.forks == ("c",)
    assert [(e.type, e.status) for e in events] == [
        (T.ATTEMPT, None), (T.AUTH_CHALLENGE, 407), (T.RINGING, 180), (T.ANSWER, 200)
    ]  # fmt: skip


def test_challenge_never_retried_is_rejected() -> None:
    """A 407 with no retry ends as a rejected call with the 407 as its final status."""
    _, events, (call,) = run(auth_flow(Leg())[:3])
    assert call.state == "rejected" and call.final_status == 407 and call.end == 0.1
    assert [e.type for e in events] == [T.ATTEMPT, T.AUTH_CHALLENGE]


def test_auth_failure_when_credentials_refused() -> None:
    """An INVITE carrying credentials answered 403 gives AUTH_FAILURE and REJECT."""
    leg = Leg()
    inv = leg.invite(0.0, extra='Authorization: Digest username="x", realm="r", nonce="n"\n')
    _, events, (call,) = run([inv, leg.response(inv, 403, "Forbidden", 0.2, to_tag="t")])
    assert call.state == "rejected"
    assert [(e.type, e.status) for e in events] == [
        (T.ATTEMPT, None), (T.AUTH_FAILURE, 403), (T.REJECT, 403)
    ]  # fmt: skip


def test_forked_call_lists_every_early_dialog() -> None:
    """Two 180s with different To tags are two forks; the 2xx's tag is the call's, one RINGING."""
    leg = Leg()
    inv = leg.invite(0.0)
    _, events, (call,) = run(
        [
            inv,
            leg.response(inv, 180, "Ringing", 0.5, to_tag="fork1"),
            leg.response(inv, 180, "Ringing", 0.7, to_tag="fork2"),
            leg.response(inv, 200, "OK", 2.0, to_tag="fork2"),
        ]
    )
    assert call.forks == ("fork1", "fork2") and call.to_tag == "fork2"
    assert call.ringing == 0.5 and call.answered == 2.0
    assert [e.type for e in events] == [T.ATTEMPT, T.RINGING, T.ANSWER]


def test_reinvite_does_not_restart_the_call() -> None:
    """A re-INVITE (To tag set) keeps start/answer, adds its SDP and counts as an INVITE."""
    leg = Leg()
    msgs = basic_call(leg)[:5]
    hold = sdp("10.0.0.1", 4000, (8, "PCMA/8000"), direction="sendonly")
    reinv = leg.invite(30.0, cseq=2, branch="z9hG4bKre", to_tag="tt1", body=hold)
    msgs += [reinv, leg.response(reinv, 200, "OK", 30.1, to_tag="tt1", body=ANSWER)]
    _, events, (call,) = run(msgs)
    assert call.state == "answered" and call.start == 100.0 and call.answered == 103.0
    assert call.methods["INVITE"] == 2 and call.final_status == 200
    assert [m.direction for m in call.media] == ["sendrecv", "sendrecv", "sendonly"]
    assert call.media[2].packet == reinv.number and call.media[2].party == "caller"
    assert [e.type for e in events] == [T.ATTEMPT, T.RINGING, T.ANSWER]


def test_retransmissions_counted_not_replayed() -> None:
    """A resent INVITE and 200 on the same hop are counted, and change nothing twice."""
    leg = Leg()
    inv = leg.invite(0.0)
    ok = leg.response(inv, 200, "OK", 1.0, to_tag="t")
    tracker, events, (call,) = run([inv, leg.again(inv, 0.5), ok, leg.again(ok, 1.5)])
    assert call.retransmissions == 2 and tracker.stats.retransmissions == 2
    assert call.messages == 4 and call.statuses == {"200": 2} and call.methods == {"INVITE": 2}
    assert call.answered == 1.0
    assert [e.type for e in events] == [T.ATTEMPT, T.ANSWER]


def test_same_message_at_two_hops_is_not_a_retransmission() -> None:
    """The same INVITE captured A->P and P->B is a hop: both kept, none a retransmission."""
    leg = Leg(a=A, b=P)
    inv = leg.invite(0.0)
    tracker, events, (call,) = run([inv, leg.hop(inv, 0.01, P, B)])
    assert call.retransmissions == 0 and tracker.stats.retransmissions == 0
    assert call.messages == 2 and call.packets == (1, 2)
    assert [e.type for e in events] == [T.ATTEMPT]


def test_orphan_200_starts_a_call_mid_way() -> None:
    """A 200 to an uncaptured INVITE creates an answered call and counts an orphan response."""
    leg = Leg()
    inv = leg.invite(0.0)  # built for its headers, never fed
    ok = leg.response(inv, 200, "OK", 5.0, to_tag="t")
    bye = leg.request("BYE", 65.0, cseq=2, branch="z9hG4bKbye", to_tag="t")
    tracker, events, (call,) = run([ok, bye])
    assert tracker.stats.orphan_responses == 1
    assert call.state == "completed" and call.start == 5.0 and call.answered == 5.0
    assert call.duration == 60.0 and call.caller == "1001" and call.src_ip == "10.0.0.1"
    assert [e.type for e in events] == [T.ANSWER, T.END]


def test_call_seen_from_its_bye_only() -> None:
    """A capture that starts with the BYE still reports the call, completed, hangup side unknown."""
    leg = Leg()
    bye = leg.request("BYE", 7.0, cseq=5, branch="z9hG4bKb", to_tag="t", from_callee=True)
    _, events, (call,) = run([bye, leg.response(bye, 200, "OK", 7.1)])
    assert call.state == "completed" and call.start == 7.0 and call.end == 7.0
    assert call.hangup_by is None and call.answered is None
    assert [e.type for e in events] == [T.END]


def test_request_timeout_is_failed() -> None:
    """A 408 to the INVITE is a failed call, reported as a REJECT with status 408."""
    leg = Leg()
    inv = leg.invite(0.0)
    _, events, (call,) = run([inv, leg.response(inv, 408, "Request Timeout", 32.0, to_tag="t")])
    assert call.state == "failed" and call.final_status == 408 and call.end == 32.0
    assert [(e.type, e.status) for e in events][-1] == (T.REJECT, 408)


def test_unanswered_invite_fails_at_close() -> None:
    """An INVITE that never gets a final answer is failed when the input ends."""
    leg = Leg()
    inv = leg.invite(0.0)
    _, _, (call,) = run([inv, leg.response(inv, 100, "Trying", 0.1)])
    assert call.state == "failed" and call.end is None and call.final_status is None


def test_answered_without_bye_stays_answered() -> None:
    """A call answered whose BYE is not captured stays `answered`, with no end or duration."""
    _, _, (call,) = run(basic_call(Leg())[:5])
    assert call.state == "answered" and call.end is None and call.duration is None


def test_cancel_crossing_the_200_is_answered() -> None:
    """A 200 that crosses the CANCEL answers the call (RFC 3261 §9.1)."""
    leg = Leg()
    inv = leg.invite(0.0)
    cancel = leg.request("CANCEL", 3.0, branch="z9hG4bKinv1")
    _, events, (call,) = run([inv, cancel, leg.response(inv, 200, "OK", 3.01, to_tag="t")])
    assert call.state == "answered" and call.final_status == 200
    assert [e.type for e in events] == [T.ATTEMPT, T.CANCEL, T.ANSWER]


def test_prack_update_refer_counted() -> None:
    """PRACK, UPDATE and REFER inside the call are counted per method, state untouched."""
    leg = Leg()
    msgs = basic_call(leg)[:5]
    for n, method in enumerate(["PRACK", "UPDATE", "REFER"], start=2):
        req = leg.request(method, 10.0 + n, cseq=n, branch=f"z9hG4bK{method}", to_tag="tt1")
        msgs += [req, leg.response(req, 200 if method != "REFER" else 202, "OK", 10.5 + n)]
    _, _, (call,) = run(msgs)
    assert call.methods == {"INVITE": 1, "ACK": 1, "PRACK": 1, "UPDATE": 1, "REFER": 1}
    assert call.statuses == {"100": 1, "180": 1, "200": 3, "202": 1}
    assert call.state == "answered"


def test_rfc2543_peer_matched_by_cseq() -> None:
    """Without the z9hG4bK cookie, responses find their INVITE by CSeq: no orphan."""
    leg = Leg()
    inv = leg.invite(0.0, branch="oldstyle1")
    tracker, _, (call,) = run([inv, leg.response(inv, 603, "Decline", 1.0, to_tag="t")])
    assert tracker.stats.orphan_responses == 0
    assert call.state == "rejected" and call.final_status == 603


def test_bad_header_values_do_not_crash() -> None:
    """Unreadable From/To values leave caller/callee empty instead of raising."""
    text = (
        "INVITE sip:2002@b.example SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKq\n"
        "From: <sip:@@@;tag=1\nTo: <<<\nCall-ID: bad-1\nCSeq: 1 INVITE\n"
    )
    _, events, (call,) = run([sip(text, ts=1.0)])
    assert call.call_id == "bad-1" and call.callee in (None, "2002")
    assert events[0].type is T.ATTEMPT


def test_out_of_dialog_requests_are_summarised() -> None:
    """OPTIONS and SUBSCRIBE/NOTIFY make no call: counted per method, summarised, OPTIONS event."""
    leg = Leg("ood-1")
    opt = leg.request("OPTIONS", 1.0, branch="z9hG4bKo")
    sub = Leg("sub-1").request("SUBSCRIBE", 2.0, branch="z9hG4bKs", extra="Event: presence\n")
    tracker = CallTracker()
    events = tracker.observe(opt) + tracker.observe(leg.response(opt, 200, "OK", 1.1))
    events += tracker.observe(sub)
    assert [(e.type, e.a_number, e.b_number, e.source_ip) for e in events] == [
        (T.OPTIONS, "1001", "2002", "10.0.0.1")
    ]
    assert tracker.close() == []
    assert tracker.stats.out_of_dialog == {"OPTIONS": 1, "SUBSCRIBE": 1}
    summary = {(o.method, o.status, o.from_user, o.src_ip) for o in tracker.out_of_dialog}
    assert summary == {("OPTIONS", 200, "1001", "10.0.0.1"), ("SUBSCRIBE", None, "1001",
                                                               "10.0.0.1")}  # fmt: skip


def test_fast_event_constructor_matches_dataclass() -> None:
    """new_event builds exactly the CallEvent the dataclass constructor builds."""
    fast = new_event(T.END, 1.5, "c", "a", "b", "1.2.3.4", 5060, "5.6.7.8", "ua", None, 3.0, 9)
    slow = CallEvent(type=T.END, ts=1.5, call_id="c", a_number="a", b_number="b",
                     source_ip="1.2.3.4", source_port=5060, dest_ip="5.6.7.8", user_agent="ua",
                     duration=3.0, packet=9)  # fmt: skip
    assert fast == slow and repr(fast) == repr(slow) and hash(fast) == hash(slow)


def test_auth_retry_with_same_cseq_is_still_answered() -> None:
    """A client that retries with credentials under the same CSeq (new branch) is answered."""
    leg = Leg()
    inv1 = leg.invite(0.0)
    c407 = leg.response(inv1, 407, "Proxy Authentication Required", 0.1, to_tag="p")
    inv2 = leg.invite(0.3, branch="z9hG4bKinv2", extra='Proxy-Authorization: Digest username="u"\n')
    ok = leg.response(inv2, 200, "OK", 2.0, to_tag="c")
    _, events, (call,) = run([inv1, c407, inv2, ok])
    assert call.state == "answered" and call.final_status == 200 and call.auth_challenged
    assert [e.type for e in events] == [T.ATTEMPT, T.AUTH_CHALLENGE, T.ANSWER]


def test_answer_after_challenge_without_captured_retry() -> None:
    """A 200 for a retried INVITE the capture missed still answers a challenged call."""
    leg = Leg()
    inv1 = leg.invite(0.0)
    c407 = leg.response(inv1, 407, "Proxy Authentication Required", 0.1, to_tag="p")
    inv2 = leg.invite(0.3, cseq=2, branch="z9hG4bKinv2")  # never fed
    _, _, (call,) = run([inv1, c407, leg.response(inv2, 200, "OK", 2.0, to_tag="c")])
    assert call.state == "answered" and call.final_status == 200 and call.answered == 2.0


def test_sdp_that_does_not_decode_is_counted() -> None:
    """An SDP body that does not decode is counted in stats and adds no media."""
    leg = Leg()
    inv = leg.invite(0.0, body="this is not a session description")
    tracker, _, (call,) = run([inv])
    assert tracker.stats.sdp_errors == 1 and call.media == () and call.codecs == ()


def test_out_of_dialog_summaries_are_bounded() -> None:
    """Past max_out_of_dialog summaries the oldest are dropped and counted."""
    tracker = CallTracker(max_out_of_dialog=10)
    for i in range(40):
        tracker.observe(Leg(f"o{i}").request("OPTIONS", float(i), branch=f"z9hG4bK{i}"))
    tracker.close()
    kept = tracker.pop_out_of_dialog()
    assert len(kept) <= 15 and kept[-1].call_id == "o39"
    assert tracker.stats.out_of_dialog_dropped == 40 - len(kept)
    assert tracker.stats.out_of_dialog == {"OPTIONS": 40} and tracker.out_of_dialog == []


def test_unrolled_call_constructor_matches_dataclass() -> None:
    """A Call record built by the unrolled constructor equals one built by Call(...)."""
    _, _, (call,) = run(basic_call(Leg()))
    rebuilt = dataclasses.replace(call)  # through Call.__init__
    assert rebuilt == call and repr(rebuilt) == repr(call)
    assert type(call) is Call and not hasattr(call, "__dict__")


def test_call_seen_from_a_bye_response_only() -> None:
    """A lone 200 to a BYE is a completed call whose caller side stays unknown."""
    leg = Leg()
    bye = leg.request("BYE", 7.0, cseq=5, branch="z9hG4bKb", to_tag="t", from_callee=True)
    tracker, events, (call,) = run([leg.response(bye, 200, "OK", 7.1)])
    assert call.state == "completed" and call.end == 7.1 and tracker.stats.orphan_responses == 1
    assert call.from_tag is None and call.hangup_by is None
    assert [e.type for e in events] == [T.END]


def test_record_fills_each_field_from_its_attribute() -> None:
    """CallFlow.record() (positional, for speed) equals Call(...) built by keyword."""
    tracker = CallTracker()
    for msg in basic_call(Leg()):
        tracker.observe(msg)
    (flow,) = tracker._calls.values()
    end, answered = flow.end_time(), flow.answered
    assert end is not None and answered is not None
    same = {name: getattr(flow, name) for name in (
        "call_id", "start", "ringing", "answered", "final_status", "final_reason", "hangup_by",
        "caller", "callee", "from_uri", "to_uri", "request_uri", "pai", "from_tag", "to_tag",
        "src_ip", "src_port", "dst_ip", "dst_port", "transport", "user_agent", "server", "via",
        "contact", "auth_challenged", "messages", "methods", "statuses", "retransmissions",
    )}  # fmt: skip
    expected = Call(
        **same, state="completed", end=end, duration=end - answered,
        setup_time=answered - flow.start, pdd=flow.pdd(), codecs=tuple(flow.codecs),
        media=tuple(flow.media), forks=tuple(flow.forks), packets=tuple(flow.packets),
        defects=(),
    )  # fmt: skip
    assert repr(flow.record()) == repr(expected)
