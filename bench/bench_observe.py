"""Benchmark: generated SIP messages through CallTracker.observe (prints figures).

Not a test (pytest does not collect it); meant for bench/ (STYLE.md: benchmarks print
figures, tests assert behaviour). Run from the repository root:

    .venv/bin/python bench/bench_observe.py [N_MESSAGES] [--no-sdp] [--no-gc]

Each call is INVITE(SDP) 100 180 200(SDP) ACK BYE 200 = 7 messages; a new call starts
every 2 ms of capture time and lasts 60 s, so ~30k calls are live at once. Messages are
cloned from parsed templates outside the timed section; the figure is CPU time of
observe() + pop_finished() + close() per message.
"""

from __future__ import annotations

import dataclasses
import gc
import sys
import time

from tests.trace.factory import Leg, sdp

from calltrace.model import SipMessage
from calltrace.trace.calls import CallTracker


def templates(with_sdp: bool) -> list[tuple[float, SipMessage]]:
    leg = Leg()
    offer = sdp("10.0.0.1", 4000, (0, "PCMU/8000"), (8, "PCMA/8000")) if with_sdp else ""
    answer = sdp("10.0.0.2", 5000, (0, "PCMU/8000")) if with_sdp else ""
    inv = leg.invite(0.0, body=offer)
    bye = leg.request("BYE", 60.0, cseq=2, branch="z9hG4bKbye", to_tag="tt")
    return [
        (0.0, inv),
        (0.05, leg.response(inv, 100, "Trying", 0.05)),
        (0.5, leg.response(inv, 180, "Ringing", 0.5, to_tag="tt")),
        (3.0, leg.response(inv, 200, "OK", 3.0, to_tag="tt", body=answer)),
        (3.1, leg.request("ACK", 3.1, branch="z9hG4bKack", to_tag="tt")),
        (60.0, bye),
        (60.1, leg.response(bye, 200, "OK", 60.1)),
    ]


def chunk(tmpl: list[tuple[float, SipMessage]], first: int, count: int) -> list[SipMessage]:
    out: list[tuple[float, SipMessage]] = []
    for c in range(first, first + count):
        base = c * 0.002
        cid = f"bench-{c}"
        for off, m in tmpl:
            packet = dataclasses.replace(m.packet, ts=base + off, number=c * 7)
            out.append((base + off, dataclasses.replace(m, call_id=cid, packet=packet)))
    out.sort(key=lambda e: e[0])
    return [m for _, m in out]


def main(argv: list[str]) -> None:
    total = next((int(a) for a in argv if a.isdigit()), 1_000_000)
    tmpl = templates(with_sdp="--no-sdp" not in argv)
    if "--no-gc" in argv:
        gc.disable()
    tracker = CallTracker()
    calls = total // len(tmpl)
    step = 20_000
    spent = 0.0
    fed = events = records = peak = 0
    for first in range(0, calls, step):
        msgs = chunk(tmpl, first, min(step, calls - first))
        t0 = time.process_time()
        for m in msgs:
            events += len(tracker.observe(m))
        records += len(tracker.pop_finished())
        spent += time.process_time() - t0
        fed += len(msgs)
        peak = max(peak, tracker.open_flows)
    t0 = time.process_time()
    records += len(tracker.close())
    spent += time.process_time() - t0
    print(f"{fed} messages, {calls} calls, {events} events, {records} records, peak {peak} open")
    print(f"CPU {spent:.2f} s = {spent / fed * 1e6:.2f} us/message = {fed / spent:,.0f} msg/s")


if __name__ == "__main__":
    main(sys.argv[1:])
