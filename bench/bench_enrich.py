"""Enrichment speed: µs per number, address, user agent and event, cold and cached.

CPU time (time.process_time), best of five repeats for the cached figures; the cold
figure is one pass over values never seen. Prints the figures of docs/enrichment.md.

    .venv/bin/python bench/bench_enrich.py
"""

from __future__ import annotations

import random
import resource
import time
from collections.abc import Callable, Sequence

from calltrace.enrich.enricher import EnrichConfig, Enricher
from calltrace.enrich.numbers import NumberConfig
from calltrace.model import CallEvent, CallEventType

N = 5000


def _per_item(fn: Callable[[str], object], items: Sequence[str]) -> float:
    start = time.process_time()
    for item in items:
        fn(item)
    return (time.process_time() - start) / len(items) * 1e6


def main() -> None:
    rng = random.Random(7)
    start = time.process_time()
    enricher = Enricher(EnrichConfig(numbers=NumberConfig(default_region="GB")))
    enricher.ip("8.8.8.8")  # opens the bundled database
    print(f"start (load data, open database): {time.process_time() - start:.2f} s CPU")
    numbers = [f"+44207946{i:04d}" for i in range(N)]
    ips = [
        ".".join(str(rng.randrange(1, 223 if k == 0 else 256)) for k in range(4)) for _ in range(N)
    ]
    agents = [f"Yealink SIP-T46S 66.86.0.{i}" for i in range(N)]
    for name, fn, items in (
        ("number", enricher.number, numbers),
        ("ip", enricher.ip, ips),
        ("user agent", enricher.user_agent, agents),
    ):
        cold = _per_item(fn, items)
        cached = min(_per_item(fn, items) for _ in range(5))
        print(f"{name:11s} cold {cold:8.1f} µs   cached {cached:6.2f} µs")
    events = [
        CallEvent(
            type=CallEventType.ATTEMPT,
            ts=float(i),
            a_number=numbers[i % 200],
            b_number=numbers[(i * 7) % 1000],
            source_ip=ips[i % 100],
            user_agent=agents[i % 20],
        )
        for i in range(50_000)
    ]
    for event in events:
        enricher.event(event)
    best = min(
        (lambda t0: ([enricher.event(e) for e in events], time.process_time() - t0)[1])(
            time.process_time()
        )
        for _ in range(5)
    )
    print(f"event (all values cached): {best / len(events) * 1e6:.2f} µs")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
