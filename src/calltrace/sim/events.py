"""Simulated traffic as a call-event file (pure): rows of decode/events.py's format.

Two ways to the rows, both in time order:

- :func:`simulation_events`: the frames a :class:`Simulation` puts on the wire go
  through CallTrace's own decoders and call tracker, so the JSONL holds exactly the
  call events ``calltrace analyze`` rebuilds from the pcap of the same run (plus the
  side events a switch logs that SIP does not carry, such as a forwarding change).
  Exact, but it pays for SIP rendering and parsing: ~40k rows/s.
- :func:`carrier_events`: carrier traffic drawn straight as events, no SIP in between,
  for big files (the 1M-line analyze benchmark): ~300k rows/s. Same kind of traffic as
  the ``carrier`` scenario (its peers, number plans and outcome mix), not the same calls.

Rows name ``timestamp`` (epoch seconds) and ``event`` first. The event-file format
requires both numbers: a registration's B-number is the registrar's address (a REGISTER
is addressed to it), a request without a user part has the A-number ``anonymous``
(RFC 3323's spelling).
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import random
from collections.abc import Iterable, Iterator
from typing import Any, Final

from calltrace.decode.frames import FrameDecoder
from calltrace.decode.sip import parse_sip
from calltrace.errors import DecodeError
from calltrace.model import CallEvent, CaptureRecord, Packet
from calltrace.sim import catalog
from calltrace.sim.calls import CALL_MIX
from calltrace.sim.carrier import build_carrier, peer_for
from calltrace.sim.dialog import NS
from calltrace.sim.engine import Context, SimConfig, Simulation
from calltrace.trace.calls import CallTracker

Row = dict[str, Any]
_OPTIONAL: Final = (
    "call_id", "source_ip", "source_port", "dest_ip", "user_agent", "status", "duration",
    "account", "setting", "target",
)  # fmt: skip


def event_row(event: CallEvent) -> Row:
    """A call event as an event-file row (absent fields left out)."""
    row: Row = {
        "timestamp": round(event.ts, 6),
        "event": event.type.value,
        "a_number": event.a_number or "anonymous",
        "b_number": event.b_number or event.dest_ip or "unknown",
    }
    for name in _OPTIONAL:
        value = getattr(event, name)
        if value is not None:
            row[name] = round(value, 6) if name == "duration" else value
    return row


def simulation_events(sim: Simulation) -> Iterator[Row]:
    """Every call event of ``sim``'s frames, as our decoders and tracker see them, with
    the simulation's side events merged in by time."""
    frames = FrameDecoder()
    tracker = CallTracker()
    side = sim.side_events
    for number, (ts_ns, frame) in enumerate(sim, start=1):
        while side and side[0][0] <= ts_ns:
            yield heapq.heappop(side)[2]
        record = CaptureRecord(number=number, ts=ts_ns / NS, interface=0, link_type=1,
                               orig_len=len(frame), data=frame)  # fmt: skip
        yield from _rows(frames.decode(record), tracker)
    yield from _rows(frames.flush(), tracker)
    while side:
        yield heapq.heappop(side)[2]


def _rows(items: Iterable[Packet | DecodeError], tracker: CallTracker) -> Iterator[Row]:
    for item in items:
        if isinstance(item, DecodeError):
            continue  # not on generated traffic; the pcap path records them
        try:
            message = parse_sip(item)
        except DecodeError:
            continue  # RTP and other non-SIP datagrams
        if message.call_id:
            for event in tracker.observe(message):
                yield event_row(event)


_OUTCOMES: Final = list(CALL_MIX)
_CUMULATIVE: Final = list(itertools.accumulate(CALL_MIX.values()))
_REJECT: Final = {"busy": 486, "not_found": 404, "forbidden": 403, "unavailable": 503}


def carrier_events(config: SimConfig, default_rate: float = 30.0) -> Iterator[Row]:
    """Carrier call events drawn directly, in time order: attempt, ringing, then answer
    and end (with the talk time as ``duration``), cancel, or reject with its status.

    >>> rows = list(carrier_events(SimConfig(seed=1, duration=2.0, rate=5)))
    >>> rows[0]["event"], rows == sorted(rows, key=lambda r: r["timestamp"])
    ('attempt', True)
    """
    ctx = Context(config, default_rate)
    rng = ctx.rng("carrier-events")
    site = build_carrier(ctx.rng("topology"))
    pending: list[tuple[float, int, Row]] = []
    push, pop = heapq.heappush, heapq.heappop
    serial = 0
    for t_ns in ctx.poisson(rng, ctx.rate):
        t = t_ns / NS
        while pending and pending[0][0] <= t:
            yield pop(pending)[2]
        serial += 1
        a = catalog.caller(rng, t_ns)
        peer, sbc = peer_for(site, a)
        src, dst, agent = peer.ip, sbc.ip, peer.agent
        base: Row = {"call_id": f"sim-{config.seed}-{serial}", "a_number": a,
                     "b_number": catalog.callee(rng, a), "source_ip": src, "dest_ip": dst,
                     "user_agent": agent}  # fmt: skip
        yield {"timestamp": round(t, 6), "event": "attempt", **base}
        for at, row in _call_rows(rng, t, base):
            serial += 1
            push(pending, (at, serial, row))
    while pending:
        yield pop(pending)[2]


def _call_rows(rng: random.Random, t: float, base: Row) -> list[tuple[float, Row]]:
    outcome = _OUTCOMES[bisect.bisect(_CUMULATIVE, rng.random() * _CUMULATIVE[-1])]
    pdd = t + rng.uniform(0.05, 0.5)
    status = _REJECT.get(outcome)
    if status is not None:
        return [(pdd, {"timestamp": round(pdd, 6), "event": "reject", "status": status, **base})]
    rows = [(pdd, {"timestamp": round(pdd, 6), "event": "ringing", "status": 180, **base})]
    if outcome == "no_answer":
        gone = pdd + rng.uniform(4.0, 40.0)
        rows.append((gone, {"timestamp": round(gone, 6), "event": "cancel", **base}))
        return rows
    answer = pdd + rng.uniform(1.0, 15.0)
    talk = min(3600.0, max(2.0, rng.lognormvariate(4.1, 1.1)))  # median ~60 s
    end = answer + talk
    rows.append((answer, {"timestamp": round(answer, 6), "event": "answer", "status": 200,
                          **base}))  # fmt: skip
    rows.append((end, {"timestamp": round(end, 6), "event": "end",
                       "duration": round(talk, 6), **base}))  # fmt: skip
    return rows
