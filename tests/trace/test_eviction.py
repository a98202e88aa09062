"""Bounded state: flows are closed by capture time, never by the clock."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from calltrace.model import Call, Packet, SipMessage
from calltrace.trace.calls import CallTracker
from tests.trace.factory import Leg

FIELDS = dataclasses.fields(SipMessage)


def cloner(msg: SipMessage) -> Callable[[str, float, int], SipMessage]:
    """Copies of ``msg`` for other Call-IDs and times, without re-parsing (fast)."""
    base = {f.name: getattr(msg, f.name) for f in FIELDS if f.name not in ("packet", "call_id")}
    p = msg.packet

    def make(call_id: str, ts: float, number: int) -> SipMessage:
        packet = Packet(number=number, ts=ts, src_ip=p.src_ip, src_port=p.src_port,
                        dst_ip=p.dst_ip, dst_port=p.dst_port, transport=p.transport,
                        payload=p.payload)  # fmt: skip
        return SipMessage(packet=packet, call_id=call_id, **base)

    return make


def test_100k_short_calls_keep_state_small() -> None:
    """100k rejected calls, 10 ms apart: live state stays within the 32 s linger window."""
    leg = Leg()
    inv = leg.invite(0.0)
    busy = leg.response(inv, 486, "Busy Here", 0.001, to_tag="t")
    new_invite, new_busy = cloner(inv), cloner(busy)
    tracker = CallTracker()
    finished: list[Call] = []
    peak = 0
    for i in range(100_000):
        ts = i * 0.01
        cid = f"c{i}"
        tracker.observe(new_invite(cid, ts, 2 * i + 1))
        tracker.observe(new_busy(cid, ts + 0.001, 2 * i + 2))
        if i % 1000 == 0:
            peak = max(peak, tracker.open_flows)
            finished.extend(r for r in tracker.pop_finished() if isinstance(r, Call))
    finished.extend(r for r in tracker.pop_finished() if isinstance(r, Call))
    assert peak <= 3300  # 32 s linger + 1 s sweep period at 100 calls/s
    assert len(finished) >= 96_000 and tracker.stats.evicted_idle == len(finished)
    finished.extend(r for r in tracker.close() if isinstance(r, Call))
    assert len(finished) == 100_000 and len({c.call_id for c in finished}) == 100_000
    assert {c.state for c in finished} == {"rejected"}


def test_ended_call_lingers_then_is_finished() -> None:
    """A rejected call is held ended_linger seconds of capture time, then popped once."""
    leg = Leg()
    inv = leg.invite(0.0)
    tracker = CallTracker(ended_linger=32.0)
    tracker.observe(inv)
    tracker.observe(leg.response(inv, 486, "Busy Here", 1.0, to_tag="t"))
    other = Leg("other")
    tracker.observe(other.request("OPTIONS", 30.0, branch="z9hG4bKo1"))
    assert tracker.pop_finished() == []
    tracker.observe(other.request("OPTIONS", 33.5, branch="z9hG4bKo2"))
    (call,) = tracker.pop_finished()
    assert isinstance(call, Call) and call.state == "rejected"
    assert tracker.pop_finished() == []


def test_unanswered_call_fails_after_setup_timeout() -> None:
    """An INVITE left without a final answer is closed as failed after setup_timeout."""
    leg = Leg()
    tracker = CallTracker(setup_timeout=60.0)
    tracker.observe(leg.invite(0.0))
    tracker.observe(Leg("x").request("OPTIONS", 61.5, branch="z9hG4bKo"))
    (call,) = tracker.pop_finished()
    assert isinstance(call, Call) and call.state == "failed" and call.end is None


def test_answered_call_idles_out_as_answered() -> None:
    """An answered call with no BYE is closed after call_idle_timeout, still `answered`."""
    leg = Leg()
    inv = leg.invite(0.0)
    tracker = CallTracker(call_idle_timeout=100.0)
    tracker.observe(inv)
    tracker.observe(leg.response(inv, 200, "OK", 1.0, to_tag="t"))
    tracker.observe(Leg("x").request("OPTIONS", 50.0, branch="z9hG4bKo"))
    assert tracker.pop_finished() == []
    tracker.observe(Leg("y").request("OPTIONS", 102.0, branch="z9hG4bKo"))
    (call,) = tracker.pop_finished()
    assert isinstance(call, Call) and call.state == "answered"


def test_max_calls_overflow_evicts_oldest() -> None:
    """Past max_calls, a new call closes the oldest one and counts the overflow."""
    leg = Leg()
    inv = leg.invite(0.0)
    tracker = CallTracker(max_calls=10)
    for i in range(15):
        tracker.observe(cloner(inv)(f"c{i}", i * 0.001, i + 1))
    assert tracker.open_flows == 10 and tracker.stats.evicted_overflow == 5
    assert [c.call_id for c in tracker.pop_finished()] == [f"c{i}" for i in range(5)]


def test_out_of_order_timestamps_do_not_break_eviction() -> None:
    """A message older than the newest seen is attached normally and evicts nothing."""
    leg = Leg()
    inv = leg.invite(10.0)
    tracker = CallTracker()
    tracker.observe(inv)
    tracker.observe(leg.response(inv, 180, "Ringing", 9.0, to_tag="t"))
    (call,) = tracker.close()
    assert isinstance(call, Call) and call.ringing == 9.0
