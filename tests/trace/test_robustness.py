"""Whatever message sequence arrives, the tracker never raises and keeps its records sane."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from calltrace.model import Call, Packet, Registration, SipMessage
from calltrace.trace.calls import CallTracker

METHODS = ["INVITE", "ACK", "BYE", "CANCEL", "PRACK", "UPDATE", "REGISTER", "OPTIONS", "INFO",
           "NOTIFY", "SUBSCRIBE", "REFER", "MESSAGE", "FOO"]  # fmt: skip
STATES = {"completed", "answered", "cancelled", "rejected", "failed", "in_progress"}
OUTCOMES = {"registered", "unregistered", "failed", "challenged", "no_response"}
VALUES = st.sampled_from(
    ['"A" <sip:1001@a.example>;tag=x', "<sip:@>", "<<<", "", "sip:2002@b", "<tel:+1>", "*",
     'Digest realm="r", username="u"', "Digest", "0", "3600", "<sip:x@h>;expires=0",
     "application/sdp", "SIP/2.0/UDP h;branch=z9hG4bK1, SIP/2.0/TCP g"]
)  # fmt: skip
STATUSES = st.sampled_from([0, 100, 180, 183, 200, 202, 302, 401, 403, 407, 408, 486, 487, 999])
HEADERS = st.sampled_from(["from", "to", "contact", "user-agent", "server", "expires",
                           "authorization", "www-authenticate", "proxy-authenticate",
                           "content-type", "via", "p-asserted-identity"])  # fmt: skip


@st.composite
def messages(draw: st.DrawFn) -> SipMessage:
    is_request = draw(st.booleans())
    method = draw(st.sampled_from(METHODS))
    packet = Packet(
        number=draw(st.integers(1, 10**6)), ts=draw(st.floats(0, 1e5)),
        src_ip=draw(st.sampled_from(["10.0.0.1", "10.0.0.2", "::1"])), src_port=5060,
        dst_ip=draw(st.sampled_from(["10.0.0.1", "10.0.0.2"])), dst_port=5060,
        transport="udp", payload=b"",
    )  # fmt: skip
    return SipMessage(
        packet=packet,
        is_request=is_request,
        method=method,
        request_uri=draw(st.sampled_from([None, "sip:2002@b", "garbage"])),
        status=None if is_request else draw(STATUSES),
        reason=draw(st.sampled_from([None, "OK"])),
        call_id=draw(st.sampled_from(["c1", "c2", "c3"])),
        cseq=draw(st.sampled_from([None, 0, 1, 2, 3, 2**32 - 1])),
        cseq_method=draw(st.sampled_from([None, method, "INVITE", "REGISTER"])),
        from_tag=draw(st.sampled_from([None, "f1", "f2"])),
        to_tag=draw(st.sampled_from([None, "t1", "t2"])),
        branch=draw(st.sampled_from([None, "z9hG4bK1", "z9hG4bK2", "old"])),
        headers=tuple(draw(st.lists(st.tuples(HEADERS, VALUES), max_size=6))),
        body=draw(st.sampled_from([b"", b"v=0\r\nm=audio 4000 RTP/AVP 0\r\n", b"\xff\x00"])),
        raw=b"",
        defects=tuple(draw(st.lists(st.sampled_from(["d1", "d2"]), max_size=2))),
    )


@given(st.lists(messages(), max_size=30), st.floats(1.0, 100.0))
@settings(max_examples=300, deadline=None)
def test_any_sequence_is_traced_without_error(msgs: list[SipMessage], linger: float) -> None:
    """Random message sequences never raise, and every record has a documented state."""
    tracker = CallTracker(ended_linger=linger, setup_timeout=linger, max_calls=2)
    records: list[Call | Registration] = []
    for msg in msgs:
        for event in tracker.observe(msg):
            assert event.call_id == msg.call_id and event.ts == msg.packet.ts
        records.extend(tracker.pop_finished())
    records.extend(tracker.close())
    assert tracker.open_flows == 0
    for record in records:
        if isinstance(record, Call):
            assert record.state in STATES
            assert record.messages == sum(record.methods.values()) + sum(record.statuses.values())
            assert record.messages == len(record.packets)
            assert record.duration is None or record.answered is not None
        else:
            assert record.outcome in OUTCOMES
    held = sum(len(r.packets) for r in records)
    assert held <= tracker.stats.messages == len(msgs)
