"""The notifier: alerts in, deliveries out, never in detection's way.

Detection calls :meth:`Notifier.submit` (synchronous, never waits): each target that
wants the alert (severity, rule) gets it on its own bounded queue, and one asyncio worker
per target sends it. One worker per target so that a target being retried for a minute
does not hold back the others; bounded queues so that a dead target costs a fixed amount
of memory: when a target's queue is full the alert is dropped for that target and
counted (``dropped``) instead of slowing the caller.

Retries: after a failed attempt that may pass later (targets.DeliveryError.retryable),
the worker waits ``backoff * 2**n`` seconds (n = 0, 1, ...; at most ``max_backoff``) and
tries again, ``retries`` times at most (per target, default 4: waits of 1, 2, 4, 8 s).
Then it gives up and counts ``failed``. Deterministic delays (no jitter): one process
sends to a handful of targets, so there is no herd to spread.

Every finished delivery is counted per target (``sent``, ``failed``, ``retried``,
``dropped``: the figures /metrics will export) and, when ``on_outcome`` is given, passed
to it as a :class:`Delivery`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from calltrace.model import Alert
from calltrace.notify.targets import DeliveryError, Target


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """How sending one alert to one target ended."""

    target: str
    alert_id: str
    ok: bool
    attempts: int
    error: str | None = None


@dataclass(slots=True)
class TargetCounters:
    """Per-target delivery counters (monotonic, for Prometheus counters)."""

    queued: int = 0
    sent: int = 0
    failed: int = 0
    retried: int = 0  # attempts after a first one that failed
    dropped: int = 0  # the target's queue was full
    last_error: str | None = None


@dataclass(slots=True)
class _Lane:
    target: Target
    queue: asyncio.Queue[Alert]
    counters: TargetCounters = field(default_factory=TargetCounters)
    task: asyncio.Task[None] | None = None


Sleep = Callable[[float], Awaitable[object]]


class Notifier:
    """Queues and workers for a set of targets (notify.targets.make_target)."""

    def __init__(
        self,
        targets: Sequence[Target],
        *,
        queue_size: int = 1000,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        on_outcome: Callable[[Delivery], None] | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.backoff, self.max_backoff = backoff, max_backoff
        self.on_outcome = on_outcome
        self._sleep = sleep
        self._lanes = [_Lane(t, asyncio.Queue(maxsize=queue_size)) for t in targets]

    @property
    def counters(self) -> dict[str, TargetCounters]:
        return {lane.target.config.name: lane.counters for lane in self._lanes}

    def start(self) -> None:
        """Start one worker per target (call from the running event loop)."""
        for lane in self._lanes:
            if lane.task is None:
                lane.task = asyncio.create_task(self._work(lane), name=lane.target.config.name)

    def submit(self, alert: Alert) -> int:
        """Queue ``alert`` for every target that wants it; returns how many took it.
        Never blocks: a full queue drops the alert for that target (counted)."""
        taken = 0
        for lane in self._lanes:
            if not lane.target.config.wants(alert):
                continue
            try:
                lane.queue.put_nowait(alert)
            except asyncio.QueueFull:
                lane.counters.dropped += 1
                continue
            lane.counters.queued += 1
            taken += 1
        return taken

    async def drain(self) -> None:
        """Wait until every queued alert has been delivered or given up."""
        await asyncio.gather(*(lane.queue.join() for lane in self._lanes))

    async def close(self) -> None:
        """Stop the workers (queued alerts not yet sent are abandoned) and close targets."""
        for lane in self._lanes:
            if lane.task is not None:
                lane.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await lane.task
                lane.task = None
            await lane.target.aclose()

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based).

        >>> [Notifier([], backoff=1.0, max_backoff=5.0).delay(n) for n in range(4)]
        [1.0, 2.0, 4.0, 5.0]
        """
        return float(min(self.max_backoff, self.backoff * 2**attempt))

    async def _work(self, lane: _Lane) -> None:
        while True:
            alert = await lane.queue.get()
            try:
                outcome = await self._deliver(lane, alert)
            except Exception as exc:  # a bug in a target must not stop the notifier
                lane.counters.failed += 1
                lane.counters.last_error = repr(exc)
                outcome = Delivery(target=lane.target.config.name, alert_id=alert.id, ok=False,
                                   attempts=1, error=repr(exc))  # fmt: skip
            try:
                if self.on_outcome is not None:
                    self.on_outcome(outcome)
            finally:
                lane.queue.task_done()

    async def _deliver(self, lane: _Lane, alert: Alert) -> Delivery:
        target, counters = lane.target, lane.counters
        retries = target.config.retries
        attempt = 0
        while True:
            attempt += 1
            try:
                await target.send(alert)
            except DeliveryError as exc:
                counters.last_error = exc.detail
                if not exc.retryable or attempt > retries:
                    counters.failed += 1
                    return Delivery(target=target.config.name, alert_id=alert.id, ok=False,
                                    attempts=attempt, error=exc.detail)  # fmt: skip
                counters.retried += 1
                await self._sleep(self.delay(attempt - 1))
                continue
            counters.sent += 1
            return Delivery(target=target.config.name, alert_id=alert.id, ok=True, attempts=attempt)
