"""Benchmark: the detection engine on generated call events (prints figures).

Not a test (STYLE.md: benchmarks print figures). Run from the repository root:

    .venv/bin/python bench/bench_detect.py                     # 10M events, 100k CPS x 100 s
    .venv/bin/python bench/bench_detect.py --seconds 10        # quick run (1M events)
    .venv/bin/python bench/bench_detect.py --history           # + 5-minute-window memory
    .venv/bin/python bench/bench_detect.py --e2e-lines 1000000 # + analyze on a JSONL file

Traffic: ``--cps`` call attempts per second of event time for ``--seconds`` seconds,
A-numbers drawn uniformly from 1M numbers and B-numbers from 1M numbers (so the masking
window holds ~500k live keys at 100k CPS), plus ``--bursts`` masking bursts per second
(6 distinct callers to one fresh B-number within 0.6 s). Events are generated one second
at a time outside the timed section, so memory holds one second of input, not 10M events.

Figures:
- events/s: CPU time (time.process_time) of the detector over every event, in one pass
  (the engine's ``observe_many`` per one-second batch; for the rule alone its
  ``observe`` in a loop);
- p50/p99 latency: perf_counter_ns around each ``observe`` over the first
  ``--latency-events`` events of a separate pass (timer overhead included, ~50 ns);
- peak memory: the detector's retained events (state_size) and the process's peak RSS
  (ru_maxrss), the input pools included.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from calltrace.config import Config
from calltrace.decode._construct import unrolled_constructor
from calltrace.detect.base import Detector
from calltrace.detect.engine import DetectionEngine, build_detectors
from calltrace.detect.rules.multicall_masking import MulticallMasking
from calltrace.model import CallEvent, CallEventType

T0 = 1767603600.0
_new = unrolled_constructor(CallEvent)
ATTEMPT = CallEventType.ATTEMPT


def _attempt(ts: float, call_id: str, a_number: str, b_number: str) -> CallEvent:
    """CallEvent(type=ATTEMPT, ts=..., ...) through the unrolled constructor (as the
    trackers and the event decoder make them)."""
    return _new(ATTEMPT, ts, call_id, a_number, b_number, *([None] * 9), "events", None)


def seconds_of_traffic(args: argparse.Namespace) -> Iterator[list[CallEvent]]:
    """One list of call events per second of event time, bursts mixed in, time-ordered."""
    rng = random.Random(args.seed)
    a_pool = [f"+1{rng.randrange(2 * 10**9, 10**10)}" for _ in range(1_000_000)]
    b_pool = [f"+44{rng.randrange(10**9, 10**10)}" for _ in range(1_000_000)]
    step = 1.0 / args.cps
    serial = 0
    for second in range(args.seconds):
        start = T0 + second
        pick_a, pick_b = rng.choices(a_pool, k=args.cps), rng.choices(b_pool, k=args.cps)
        events = [
            _attempt(start + j * step, f"c{serial + j}", pick_a[j], pick_b[j])
            for j in range(args.cps)
        ]
        serial += args.cps
        for burst in range(args.bursts):
            at = rng.randrange(args.cps - 6 * args.cps // 10)
            victim = f"+88{second:04d}{burst:04d}"
            for k in range(6):  # 6 distinct callers 0.1 s apart
                index = at + k * args.cps // 10
                serial += 1
                call = _attempt(start + index * step, f"m{serial}", rng.choice(a_pool), victim)
                events.insert(index, call)
        yield events


def throughput(
    name: str, make: Callable[[], Detector | DetectionEngine], args: argparse.Namespace
) -> None:
    target = make()
    if isinstance(target, DetectionEngine):
        batch = target.observe_many
        state = lambda: sum(d.state_size() for d in target.detectors)  # noqa: E731
    else:
        observe = target.observe

        def batch(events: list[CallEvent]) -> list[object]:
            out: list[object] = []
            for event in events:
                found = observe(event)
                if found:
                    out.extend(found)
            return out

        state = target.state_size
    cpu = 0.0
    events = alerts = peak_state = 0
    for chunk in seconds_of_traffic(args):
        began = time.process_time()
        alerts += len(batch(chunk))
        cpu += time.process_time() - began
        events += len(chunk)
        peak_state = max(peak_state, state())
    print(
        f"{name}: {events:,} events in {cpu:.2f} s CPU = {events / cpu:,.0f} events/s; "
        f"{alerts:,} alerts; peak state {peak_state:,} events; "
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB"
    )


def latency(
    name: str, make: Callable[[], Detector | DetectionEngine], args: argparse.Namespace
) -> None:
    target = make()
    observe = target.observe
    clock = time.perf_counter_ns
    samples: list[int] = []
    for chunk in seconds_of_traffic(args):
        for event in chunk:
            began = clock()
            observe(event)
            samples.append(clock() - began)
        if len(samples) >= args.latency_events:
            break
    samples.sort()
    p50, p99 = samples[len(samples) // 2], samples[len(samples) * 99 // 100]
    print(
        f"{name}: latency over {len(samples):,} events: p50 {p50 / 1000:.2f} µs, "
        f"p99 {p99 / 1000:.2f} µs, max {samples[-1] / 1000:.0f} µs"
    )


def history(args: argparse.Namespace) -> None:
    """Memory with a 5-minute window: multicall_masking(window=300) over 310 s of traffic."""
    hist = argparse.Namespace(**vars(args) | {"seconds": 310})
    rule = MulticallMasking(window=300.0)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for chunk in seconds_of_traffic(hist):
        for event in chunk:
            rule.observe(event)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"5-minute history at {args.cps:,} CPS: {rule.state_size():,} events held, "
        f"peak RSS {peak / 1024:,.0f} MiB (was {before / 1024:,.0f} MiB before the run)"
    )


def end_to_end(args: argparse.Namespace) -> None:
    """``calltrace analyze FILE.jsonl --no-store --json`` on a generated file."""
    path = Path(tempfile.gettempdir()) / f"calltrace-bench-{args.e2e_lines}.jsonl"
    if not path.exists():
        e2e = argparse.Namespace(**vars(args) | {"seconds": max(1, args.e2e_lines // args.cps)})
        with open(path, "w") as out:
            for chunk in seconds_of_traffic(e2e):
                out.writelines(
                    json.dumps(
                        {
                            "timestamp": round(e.ts, 6),
                            "a_number": e.a_number,
                            "b_number": e.b_number,
                            "call_id": e.call_id,
                        }
                    )
                    + "\n"
                    for e in chunk
                )
    with open(path, "rb") as handle:
        lines = sum(1 for _ in handle)
    exe = Path(sys.executable).with_name("calltrace")
    began = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    subprocess.run(
        [exe, "analyze", str(path), "--no-store", "--json"], check=True, stdout=subprocess.DEVNULL
    )
    wall = time.perf_counter() - wall
    ended = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ended.ru_utime - began.ru_utime) + (ended.ru_stime - began.ru_stime)
    print(
        f"analyze {path.name} ({path.stat().st_size / 2**20:,.0f} MiB, {lines:,} events): "
        f"{cpu:.2f} s CPU = {lines / cpu:,.0f} events/s ({wall:.2f} s wall)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cps", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=100)
    parser.add_argument("--bursts", type=int, default=5, help="masking bursts per second")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency-events", type=int, default=2_000_000)
    parser.add_argument("--history", action="store_true")
    parser.add_argument("--e2e-lines", type=int, default=0)
    parser.add_argument("--skip", action="append", default=[], choices=["masking", "all"])
    args = parser.parse_args()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)  # as analyze does: no cycles in this workload
    rules = [d.rule_id for d in build_detectors(Config())]
    print(
        f"{args.cps:,} CPS x {args.seconds} s, {args.bursts} masking bursts/s; "
        f"registered rules: {', '.join(rules)}; pid {os.getpid()}"
    )
    if "masking" not in args.skip:
        throughput("multicall_masking", MulticallMasking, args)
        latency("multicall_masking", MulticallMasking, args)
    if "all" not in args.skip:
        throughput("engine, every rule", DetectionEngine, args)
        latency("engine, every rule", DetectionEngine, args)
    if args.history:
        history(args)
    if args.e2e_lines:
        end_to_end(args)


if __name__ == "__main__":
    main()
