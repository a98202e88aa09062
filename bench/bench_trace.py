"""Benchmark: call tracing (CallTracker.observe + close) per SIP message type, on a capture.

Not a test (benchmarks print figures, STYLE.md). Run from the repository root:

    .venv/bin/python bench/bench_trace.py [CAPTURE ...] [--repeat 5] [--gc on|off|freeze]

Without a capture it writes the "carrier" mix (seed 1, 30 calls/s, 50,000 SIP messages)
to bench/out/trace-carrier-50k.pcap and uses that. The capture is decoded (pcap, frames,
parse_sip) once, outside the timed part. Then, best of ``--repeat`` runs:

* the whole trace: CPU time (time.process_time) of observe() for every message plus
  close(), per message;
* per message type: each observe() timed alone with perf_counter_ns (the timer pair's
  own cost measured and subtracted), summed per type, best run per type; eviction
  sweeps land on whichever message crossed the second, as they do in the pipeline;
* SDP: parse_sdp and media_summary (what the tracker uses) per distinct body.

``--gc off`` disables the collector during the timed runs; ``--gc freeze`` moves every
object alive before the run (the decoded messages) out of the collector's sight, as a
pipeline could do after start-up.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import gc
import time
from pathlib import Path

from calltrace.decode.frames import FrameDecoder
from calltrace.decode.pcap import CaptureReader
from calltrace.decode.sdp import media_summary, parse_sdp
from calltrace.decode.sip import looks_like_sip, parse_sip
from calltrace.errors import DecodeError
from calltrace.model import CaptureRecord, Packet, SipMessage
from calltrace.sim.engine import SimConfig
from calltrace.sim.scenarios import simulation
from calltrace.sources.pcapwriter import write_pcap
from calltrace.trace.calls import CallTracker

OUT = Path(__file__).resolve().parent / "out"


def default_capture() -> Path:
    path = OUT / "trace-carrier-50k.pcap"
    if not path.exists():
        OUT.mkdir(exist_ok=True)
        config = SimConfig(seed=1, rate=30, duration=300, max_messages=50_000)
        write_pcap(path, simulation("carrier", config))
    return path


def messages(path: Path) -> list[SipMessage]:
    """Every SIP message of a capture, in capture order (as tests/trace/test_corpus.py)."""
    reader, frames = CaptureReader(), FrameDecoder()
    out: list[SipMessage] = []

    def take(items: list[Packet | DecodeError]) -> None:
        for item in items:
            if isinstance(item, Packet) and looks_like_sip(item.payload):
                with contextlib.suppress(DecodeError):
                    out.append(parse_sip(item))

    reader.feed(path.read_bytes())
    for event in reader.events():
        if isinstance(event, CaptureRecord):
            take(frames.decode(event))
    with contextlib.suppress(DecodeError):
        reader.close()
    take(frames.flush())
    return out


def kind(msg: SipMessage) -> str:
    if msg.is_request:
        return msg.method
    status = msg.status or 0
    shown = str(status) if status in (100, 180, 183, 200) else f"{status // 100}xx"
    return f"{shown} {msg.cseq_method}"


def best_cpu(func: object, repeat: int) -> float:
    assert callable(func)
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.process_time()
        func()
        best = min(best, time.process_time() - start)
    return best


def trace_all(msgs: list[SipMessage]) -> None:
    tracker = CallTracker()
    observe = tracker.observe
    for msg in msgs:
        observe(msg)
    tracker.close()


def per_type(msgs: list[SipMessage], repeat: int) -> tuple[dict[str, float], float]:
    """Best-of-``repeat`` nanoseconds per type, and the timer pair's own cost."""
    clock = time.perf_counter_ns
    pair = float("inf")
    for _ in range(5):
        start = clock()
        for _ in range(10_000):
            clock()
            clock()
        pair = min(pair, (clock() - start) / 10_000)
    kinds = [kind(m) for m in msgs]
    best: dict[str, float] = {}
    for _ in range(repeat):
        gc.collect()
        spent: dict[str, float] = collections.defaultdict(float)
        tracker = CallTracker()
        observe = tracker.observe
        for msg, name in zip(msgs, kinds, strict=True):
            start = clock()
            observe(msg)
            spent[name] += clock() - start - pair
        start = clock()
        tracker.close()
        spent["close()"] += clock() - start - pair
        for name, value in spent.items():
            best[name] = min(best.get(name, float("inf")), value)
    return best, pair


def report(path: Path, repeat: int, gc_mode: str) -> None:
    msgs = messages(path)
    n = len(msgs)
    print(f"{path.name}: {n} SIP messages (CPU time, best of {repeat}, gc {gc_mode})")
    if not n:
        return
    gc.collect()
    if gc_mode == "freeze":
        gc.freeze()
    elif gc_mode == "off":
        gc.disable()
    try:
        total = best_cpu(lambda: trace_all(msgs), repeat)
        spent, pair = per_type(msgs, repeat)
    finally:
        gc.enable()
        gc.unfreeze()
    print(f"  trace: {total / n * 1e6:.2f} us/message = {n / total:,.0f} messages/s")
    counts = collections.Counter(kind(m) for m in msgs)
    print(f"  per type (perf_counter_ns per observe, timer pair {pair:.0f} ns subtracted):")
    for name, count in counts.most_common():
        print(f"    {name:14s} {count:7d}  {spent[name] / count / 1000:7.2f} us")
    close = spent["close()"]
    print(f"    close()  {close / 1e6:.1f} ms = {close / n / 1000:.2f} us/msg")
    bodies = list(dict.fromkeys(m.body for m in msgs if m.body))
    if bodies:

        def run(func: object) -> None:
            assert callable(func)
            for body in bodies:
                with contextlib.suppress(DecodeError):
                    func(body)

        full = best_cpu(lambda: run(parse_sdp), repeat)
        lean = best_cpu(lambda: run(media_summary), repeat)
        print(
            f"  SDP ({len(bodies)} distinct bodies): parse_sdp {full / len(bodies) * 1e6:.2f} us,"
            f" media_summary {lean / len(bodies) * 1e6:.2f} us per body"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("captures", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--gc", choices=("on", "off", "freeze"), default="on")
    args = parser.parse_args()
    for path in args.captures or [default_capture()]:
        report(path, args.repeat, args.gc)


if __name__ == "__main__":
    main()
