"""Speed of the signalling-attack rules: items/s through the engine, per rule and together.

The stream is what a busy SBC sees: 200k SIP messages (REGISTER/INVITE/OPTIONS requests
from 20,000 phones to 4 servers, each answered 401 then 200, a few scanners and a
guesser among them) plus the AUTH_FAILURE call events of the guesses, in time order over
200 s; then 200k call events as an event file gives them (which the message rules read)
and as the trace layer gives them (which they skip). CPU time (time.process_time), best
of three runs, one core of the 2-core dev machine; a fresh engine each run.

    .venv/bin/python bench/bench_detect_sip.py
"""

from __future__ import annotations

import gc
import random
import time

from calltrace.detect.base import Detector, Item
from calltrace.detect.engine import DetectionEngine
from calltrace.detect.registry import registered
from calltrace.detect.rules._signalling import SIGNALLING_RULES
from calltrace.model import CallEvent, CallEventType, Packet, SipMessage

RULES = SIGNALLING_RULES
MESSAGES = 200_000
T0 = 1767603600.0


def _message(ts: float, src: str, dst: str, request: bool, user: str, agent: str,
             status: int | None = None, method: str = "REGISTER") -> SipMessage:  # fmt: skip
    headers = (
        ("via", f"SIP/2.0/UDP {src if request else dst}:5060;branch=z9hG4bK{int(ts * 1e3)}"),
        ("max-forwards", "70"),
        ("from", f"<sip:{user}@example.net>;tag=f1"),
        ("to", f"<sip:{user}@example.net>" + ("" if request else ";tag=t1")),
        ("call-id", f"{user}-{int(ts)}@{src}"),
        ("cseq", f"1 {method}"),
        ("contact", f"<sip:{user}@{src}:5060>"),
        ("user-agent" if request else "server", agent),
        ("content-length", "0"),
    )
    packet = Packet(number=0, ts=ts, src_ip=src, src_port=5060, dst_ip=dst, dst_port=5060,
                    transport="udp", payload=b"")  # fmt: skip
    return SipMessage(packet=packet, is_request=request, method=method,
                      request_uri=f"sip:{user}@{dst}" if request else None, status=status,
                      reason=None, call_id=f"{user}-{int(ts)}", cseq=1, cseq_method=method,
                      from_tag="f1", to_tag=None if request else "t1",
                      branch=f"z9hG4bK{int(ts * 1e3)}", headers=headers, body=b"",
                      raw=b"")  # fmt: skip


def stream() -> list[Item]:
    """Phones registering (request, 401, request, 200), scanners and a guesser."""
    rng = random.Random(11)
    items: list[Item] = []
    servers = [f"198.51.100.{i}" for i in range(1, 5)]
    step = 200.0 / MESSAGES
    ts = T0
    while len(items) < MESSAGES:
        ts += 4 * step
        roll = rng.random()
        if roll < 0.01:  # a scanner probing a random host as friendly-scanner
            src, dst = f"203.0.113.{rng.randrange(8)}", f"192.0.2.{rng.randrange(256)}"
            items.append(_message(ts, src, dst, True, str(rng.randrange(100, 999)),
                                  "friendly-scanner", method="OPTIONS"))  # fmt: skip
            continue
        if roll < 0.02:  # a guesser: refused credentials
            src, dst, user = "100.64.9.9", servers[0], "1000"
            items.append(_message(ts, dst, src, False, user, "Kamailio", 403))
            items.append(CallEvent(type=CallEventType.AUTH_FAILURE, ts=ts, a_number=user,
                                   source_ip=src, status=403, call_id=f"g{ts}"))  # fmt: skip
            continue
        phone = rng.randrange(20_000)
        src, dst, user = f"10.{phone >> 8}.{phone & 255}.1", servers[phone % 4], str(phone)
        agent = "Yealink SIP-T46S 66.86.0.15"
        items.append(_message(ts, src, dst, True, user, agent))
        items.append(_message(ts + step, dst, src, False, user, "Kamailio", 401))
        items.append(_message(ts + 2 * step, src, dst, True, user, agent))
        items.append(_message(ts + 3 * step, dst, src, False, user, "Kamailio", 200))
    return items


def events(source: str) -> list[Item]:
    """200k call events as an event file (or the trace layer) gives them: attempts from
    5,000 sources to 200 gateways, each answered and ended, some auth failures."""
    rng = random.Random(5)
    kinds = (CallEventType.ATTEMPT, CallEventType.ANSWER, CallEventType.END)
    out: list[Item] = []
    for i in range(MESSAGES):
        caller = rng.randrange(5000)
        kind = CallEventType.AUTH_FAILURE if i % 100 == 0 else kinds[i % 3]
        out.append(CallEvent(type=kind, ts=T0 + i / 1000, a_number=f"+1555{caller:07d}",
                             b_number=f"+4420{rng.randrange(10**7):07d}",
                             source_ip=f"100.64.{caller >> 8}.{caller & 255}",
                             dest_ip=f"198.51.100.{caller % 200}", status=200,
                             user_agent="Yealink SIP-T46S 66.86.0.15", source=source,
                             call_id=f"c{i}"))  # fmt: skip
    return out


def run(detectors: list[Detector], items: list[Item]) -> tuple[float, int]:
    """Best CPU seconds of three runs, and the alerts of the last. The input list is
    frozen out of the garbage collector first (``gc.freeze``): a stream does not hold
    200k items at once, and collecting them would be the benchmark's cost, not the rules'."""
    gc.collect()
    gc.freeze()
    best, alerts = float("inf"), 0
    for _ in range(3):
        engine = DetectionEngine(detectors=[d.clone() for d in detectors])
        start = time.process_time()
        alerts = len(engine.observe_many(items))
        best = min(best, time.process_time() - start)
    return best, alerts


def main() -> None:
    items = stream()
    print(f"{len(items)} items ({MESSAGES} SIP messages + auth-failure events)")
    classes = registered()
    for rule in RULES:
        seconds, alerts = run([classes[rule]()], items)
        print(f"  {rule:24s} {len(items) / seconds:>12,.0f} items/s  {alerts:5d} alerts")
    seconds, alerts = run([classes[rule]() for rule in RULES], items)
    print(f"  {'the six together':24s} {len(items) / seconds:>12,.0f} items/s  {alerts:5d} alerts")
    for source in ("events", "sip"):
        calls = events(source)
        seconds, alerts = run([classes[rule]() for rule in RULES], calls)
        print(
            f"{len(calls)} call events, source {source!r}: the six together "
            f"{len(calls) / seconds:,.0f} events/s, {alerts} alerts"
        )


if __name__ == "__main__":
    main()
