"""The simulation loop (pure): merge flows lazily in time order and keep the truth.

A scenario yields :class:`~calltrace.sim.dialog.Plan` objects in start order; each is
turned into a lazy frame iterator and merged through one heap. A plan is admitted only
when its start is not later than the earliest pending frame, so the heap holds just
the flows in progress: memory follows concurrency, not capture length. The truth is
counted at admission (everything admitted is emitted in full), which is what lets
``max_messages`` stop cleanly between flows and never cut one in half.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, Final

from calltrace.sim.calls import OUTCOME_STATE
from calltrace.sim.dialog import NS, Plan
from calltrace.sim.labels import Labels
from calltrace.sim.wire import Frame, WireOptions, WireStats, plan_frames

DEFAULT_START: Final = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)
TRUTH_VERSION: Final = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class SimConfig:
    """Parameters of one run. Same config and scenario: byte-identical frames."""

    seed: int = 1
    start: datetime = DEFAULT_START
    duration: float = 300.0  # seconds during which new flows start
    rate: float | None = None  # calls per second; None: the scenario's default
    max_messages: int | None = None  # stop admitting flows once this many SIP messages
    rtp: bool = False
    max_talk_s: float | None = None  # cap on talk time (keeps RTP captures small)
    wire: WireOptions = field(default_factory=WireOptions)
    detail: bool = False  # keep one truth record per flow (small runs only)

    @property
    def start_ns(self) -> int:
        return int(self.start.timestamp()) * NS + self.start.microsecond * 1000

    @property
    def end_ns(self) -> int:
        return self.start_ns + int(self.duration * NS)


class Context:
    """What a scenario function gets: the config and named, independent random streams."""

    def __init__(
        self,
        config: SimConfig,
        default_rate: float = 1.0,
        *,
        labels: Labels | None = None,
        namespace: str = "",
    ) -> None:
        self.config = config
        self.start = config.start_ns
        self.end = config.end_ns
        self.rate = config.rate if config.rate is not None else default_rate
        self.labels = labels if labels is not None else Labels()
        self.namespace = namespace

    def rng(self, stream: str) -> random.Random:
        """A generator seeded by (seed, stream): adding a stream never shifts the others.
        Scenarios mixed into another one draw under their own namespace, so ``carrier
        wangiri`` does not replay carrier's "calls" stream inside wangiri."""
        prefix = f"{self.namespace}:" if self.namespace else ""
        return random.Random(f"{self.config.seed}:{prefix}{stream}")

    def child(self, namespace: str, default_rate: float) -> Context:
        """The context of one scenario of a mix: same config and labels, own streams."""
        return Context(self.config, default_rate, labels=self.labels, namespace=namespace)

    def poisson(self, rng: random.Random, rate: float, start: int | None = None) -> Iterator[int]:
        """Arrival times (ns) of a Poisson process of ``rate`` per second until the end."""
        t = self.start if start is None else start
        while True:
            t += int(rng.expovariate(rate) * NS) + 1
            if t >= self.end:
                return
            yield t


ScenarioFn = Callable[[Context], Iterator[Plan]]


def merge_plans(*streams: Iterable[Plan]) -> Iterator[Plan]:
    """Interleave plan streams by start time (each stream already in start order)."""
    return heapq.merge(*streams, key=attrgetter("start"))


class Truth:
    """Counts of what a run put on the wire, in the terms tshark and our tracer use."""

    def __init__(self, labels: Labels | None = None) -> None:
        self.labels = labels if labels is not None else Labels()
        self.requests: Counter[str] = Counter()
        self.responses: Counter[int] = Counter()
        self.resent = 0
        self.messages = 0
        self.calls: Counter[str] = Counter()
        self.states: Counter[str] = Counter()
        self.hangup: Counter[str] = Counter()
        self.registrations: Counter[str] = Counter()
        self.options = 0
        self.by_transport: Counter[str] = Counter()
        self.by_port: Counter[int] = Counter()
        self.by_ip_version: Counter[str] = Counter()
        self.flows: list[dict[str, Any]] = []

    def add(self, plan: Plan, detail: bool) -> None:
        count = len(plan.messages)
        self.messages += count
        self.requests.update(plan.requests)
        self.responses.update(plan.responses)
        self.resent += plan.resent
        _, first_src, first_dst, _ = plan.messages[0]
        self.by_transport[plan.transport] += count
        self.by_port[_sip_port(plan)] += count
        self.by_ip_version["ipv6" if ":" in first_src.ip else "ipv4"] += count
        label = plan.detail.get("label")
        if isinstance(label, str):
            call_id = plan.detail.get("call_id")
            self.labels.add_call(label, call_id if isinstance(call_id, str) else None)
        if plan.kind == "call":
            self.calls[plan.outcome] += 1
            self.states[OUTCOME_STATE[plan.outcome]] += 1
            hangup = plan.detail.get("hangup_by")
            if isinstance(hangup, str):
                self.hangup[hangup] += 1
        elif plan.kind == "register":
            self.registrations[plan.outcome] += 1
        else:
            self.options += 1
        if detail and plan.kind != "options":
            record: dict[str, Any] = {
                "kind": plan.kind, "outcome": plan.outcome, "transport": plan.transport,
            }  # fmt: skip
            for key, value in plan.detail.items():
                record[key] = value / NS if key in _TIMES and isinstance(value, int) else value
            record["messages"] = count
            record["src"] = first_src.hostport
            record["dst"] = first_dst.hostport
            self.flows.append(record)

    def as_dict(self, stats: WireStats) -> dict[str, Any]:
        out: dict[str, Any] = {
            "sip_messages": self.messages,
            "resent": self.resent,
            "requests": dict(sorted(self.requests.items())),
            "responses": {str(k): v for k, v in sorted(self.responses.items())},
            "calls": {
                "total": sum(self.calls.values()),
                "by_outcome": dict(sorted(self.calls.items())),
                "by_state": dict(sorted(self.states.items())),
                "hangup_by": dict(sorted(self.hangup.items())),
            },
            "registrations": {
                "total": sum(self.registrations.values()),
                "by_outcome": dict(sorted(self.registrations.items())),
            },
            "options": self.options,
            "messages_by_transport": dict(sorted(self.by_transport.items())),
            "messages_by_port": {str(k): v for k, v in sorted(self.by_port.items())},
            "messages_by_ip_version": dict(sorted(self.by_ip_version.items())),
            "frames": stats.frames,
            "rtp_packets": stats.rtp_packets,
            "tcp_segments": stats.tcp_segments,
            **dict(sorted(stats.extra.items())),
        }
        if self.flows:
            out["flows"] = self.flows
        if self.labels.groups:
            out.update(self.labels.as_dict())
        return out


_TIMES: Final = frozenset({"start", "ringing", "answered", "ended"})


def _sip_port(plan: Plan) -> int:
    """The port a dissector keys on: the server's for TCP (clients use ephemeral ports),
    5060 for UDP when either end uses it, else the destination's."""
    _, src, dst, _ = plan.messages[0]
    if plan.transport == "tcp" or 5060 not in (src.port, dst.port):
        return dst.port
    return 5060


class Simulation:
    """Iterate to get ``(ts_ns, frame)`` in time order; then read :attr:`truth`."""

    def __init__(
        self, name: str, fn: ScenarioFn, config: SimConfig, *, default_rate: float = 1.0
    ) -> None:
        self.name = name
        self.default_rate = default_rate
        self.config = config
        self._fn = fn
        self.labels = Labels()
        self._truth = Truth(self.labels)
        self._stats = WireStats()
        self._first: int | None = None
        self._last: int | None = None
        # Events a switch would log that SIP does not carry (a forwarding change), as
        # (ts ns, order, event-file fields); pushed when their flow is admitted, so every
        # one is here before the frames of its time are yielded (sim/events.py merges).
        self.side_events: list[tuple[int, int, dict[str, Any]]] = []

    @property
    def truth(self) -> dict[str, Any]:
        """Counts so far (complete once iteration has finished)."""
        cfg = self.config
        head: dict[str, Any] = {
            "generator": "calltrace.sim",
            "truth_version": TRUTH_VERSION,
            "scenario": self.name,
            "seed": cfg.seed,
            "start": cfg.start.isoformat(),
            "duration": cfg.duration,
            "rate": cfg.rate if cfg.rate is not None else self.default_rate,
            "max_messages": cfg.max_messages,
            "rtp": cfg.rtp,
            "max_talk_s": cfg.max_talk_s,
            "first_ts": None if self._first is None else self._first / NS,
            "last_ts": None if self._last is None else self._last / NS,
        }
        head.update(self._truth.as_dict(self._stats))
        return head

    def __iter__(self) -> Iterator[Frame]:
        cfg, truth, stats = self.config, self._truth, self._stats
        limit = cfg.max_messages
        wire_rng = random.Random(f"{cfg.seed}:wire")
        self.labels.groups.clear()
        self._truth = truth = Truth(self.labels)
        plans = iter(self._fn(Context(cfg, self.default_rate, labels=self.labels)))
        heap: list[tuple[int, int, bytes, Iterator[Frame]]] = []
        order = 0
        pending = next(plans, None)
        while True:
            while pending is not None and (not heap or pending.start <= heap[0][0]):
                if limit is not None and truth.messages >= limit:
                    pending = None
                    break
                truth.add(pending, cfg.detail)
                for side in pending.detail.get("events", ()):  # type: ignore[attr-defined]
                    heapq.heappush(self.side_events, (int(side["timestamp"] * NS), order, side))
                frames = plan_frames(pending, wire_rng, cfg.wire, stats)
                ts, frame = next(frames)
                heapq.heappush(heap, (ts, order, frame, frames))
                order += 1
                pending = next(plans, None)
            if not heap:
                return
            ts, _, frame, frames = heap[0]
            if self._first is None:
                self._first = ts
            self._last = ts
            stats.frames += 1
            yield ts, frame
            following = next(frames, None)
            if following is None:
                heapq.heappop(heap)
            else:
                heapq.heapreplace(heap, (following[0], order, following[1], frames))
                order += 1
