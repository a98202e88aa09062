"""The service core: posted events in, detection, durable storage, answers out.

Detection runs on the event loop, synchronously: the engine is pure and takes a few
microseconds an event, far less than a thread hand-off would cost, and running it in one
place gives every event one total order. Storage runs on the writer thread
(:class:`~calltrace.store.service.ServiceStore`); a request is answered once the
transaction holding its events and their alerts is committed.

Idempotency: each event has a key (``event_id``, else ``call_id``, else a random one). A
key seen in the last ``dedup_seconds`` is answered from the current window without being
counted again (``"duplicate": true``); the store's unique key catches anything older. On
start the service reads the tail of the store: the events of the last window are replayed
into the engine, the alerts still cooling down are remembered (so a restart neither
forgets an attack under way nor reports it twice) and the recent keys fill the dedup
memory.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from calltrace.api.metrics import Metrics
from calltrace.api.schemas import CallIn
from calltrace.api.settings import MASKING, AcmSettings, Settings
from calltrace.detect.engine import DetectionEngine
from calltrace.detect.rules.multicall_masking import MulticallMasking
from calltrace.model import Alert, CallEvent, CallEventType
from calltrace.store.acm import event_row, ingest_job, recent_state, service_alert_row
from calltrace.store.service import ServiceStore

#: At most this many event keys are remembered, whatever dedup_seconds says.
MAX_DEDUP_KEYS = 2_000_000
AlertHook = Callable[[list[Alert]], Coroutine[Any, Any, None]]


@dataclass(slots=True)
class Tally:
    """What the service did since it started (``/acm/stats``)."""

    started: float
    calls: int = 0
    alerts: int = 0
    duplicates: int = 0
    requests: int = 0
    request_seconds: float = 0.0
    stored_events: int = 0  # in the store when the service started
    stored_alerts: int = 0


class AcmService:
    """Owns the engine, the store and the counters; the routes call it."""

    def __init__(self, settings: Settings, store: ServiceStore, metrics: Metrics) -> None:
        self.settings = settings
        self.store = store
        self.metrics = metrics
        self.engine = DetectionEngine(settings.detect)
        self.tally = Tally(started=time.time())
        self.alert_hooks: list[AlertHook] = []
        self._keys: OrderedDict[str, tuple[float, float]] = OrderedDict()  # (received, ts)
        self._active: dict[str, tuple[str, float]] = {}  # b_number -> (alert id, last_seen)
        self._late_seen = 0

    # -- start -------------------------------------------------------------------------
    def restore(self) -> None:
        """Carry on from the store's tail (call once, before serving)."""
        acm = self.settings.acm
        lateness = self.settings.detect.allowed_lateness
        state = self.store.read(
            lambda conn: recent_state(
                conn,
                window=acm.window_seconds + lateness,
                cooldown=max([acm.cooldown_seconds] + [s.cooldown for s in self.engine.slots]),
                dedup_since=time.time() - self.settings.dedup_seconds,
            )
        )
        for alert in state.alerts:
            self.engine.remember(alert)
            self._note_active(alert)
        for event in state.events:
            self.engine.observe(event)
        self._late_seen = self.engine.late_events()
        for key, received, ts in sorted(state.keys, key=lambda entry: entry[1]):
            self._keys[key] = (received, ts)
        self.tally.stored_events = state.total_events
        self.tally.stored_alerts = state.total_alerts

    @property
    def masking(self) -> MulticallMasking | None:
        for detector in self.engine.detectors:
            if isinstance(detector, MulticallMasking):
                return detector
        return None

    # -- ingest ------------------------------------------------------------------------
    async def ingest(self, calls: list[CallIn], now: float) -> list[dict[str, Any]]:
        """Detect, store durably, answer: one result per call, in order."""
        started = time.perf_counter()
        results, rows, new_keys, alerts = self._detect(calls, now)
        detected = time.perf_counter()
        if rows or alerts:
            alert_rows = [service_alert_row(a, now) for a in alerts]
            try:
                await self.store.submit_async(ingest_job(rows, alert_rows))
            except Exception:
                for key in new_keys:  # not stored: a retry must be taken as new
                    self._keys.pop(key, None)
                raise
        finished = time.perf_counter()
        self._count(len(calls), len(rows), alerts, detected - started, finished - started)
        if alerts:
            for hook in self.alert_hooks:
                asyncio.get_running_loop().create_task(hook(alerts))
        return results

    def _detect(
        self, calls: list[CallIn], now: float
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str], list[Alert]]:
        engine, keys = self.engine, self._keys
        acm, masking = self.settings.acm, self.masking  # once a request: not free
        results: list[dict[str, Any]] = []
        rows: list[dict[str, Any]] = []
        new_keys: list[str] = []
        alerts: list[Alert] = []
        for call in calls:
            key = _event_key(call)
            ts = now if call.timestamp is None else float(call.timestamp)
            seen = keys.get(key)
            if seen is not None:
                results.append(
                    self._result(acm, masking, call.b_number, seen[1], None, duplicate=True)
                )
                continue
            keys[key] = (now, ts)
            new_keys.append(key)
            event = _event(call, ts)
            raised = engine.observe(event)
            own = None
            for alert in raised:
                self._note_active(alert)
                if alert.rule == MASKING and alert.entity == call.b_number:
                    own = alert
            alerts.extend(raised)
            rows.append(event_row(event, key, now))
            results.append(self._result(acm, masking, call.b_number, ts, own))
        self._forget_keys(now)
        return results, rows, new_keys, alerts

    def _result(
        self,
        acm: AcmSettings,
        masking: MulticallMasking | None,
        b_number: str,
        ts: float,
        alert: Alert | None,
        *,
        duplicate: bool = False,
    ) -> dict[str, Any]:
        calls, distinct = (0, 0) if masking is None else masking.window_counts(b_number, ts)
        alert_id = None if alert is None else alert.id
        if alert_id is None and distinct >= acm.threshold:
            active = self._active.get(b_number)
            if active is not None and ts - active[1] < acm.cooldown_seconds:
                alert_id = active[0]
        out: dict[str, Any] = {
            "detected": alert_id is not None,
            "b_number": b_number,
            "call_count": calls,
            "distinct_a_count": distinct,
            "window_seconds": acm.window_seconds,
            "threshold": acm.threshold,
        }
        if alert_id is not None:
            out["alert_id"] = alert_id
        if duplicate:
            out["duplicate"] = True
        return out

    def _note_active(self, alert: Alert) -> None:
        if alert.rule == MASKING:
            if len(self._active) > 100_000:
                horizon = alert.last_seen - self.settings.acm.cooldown_seconds
                self._active = {b: v for b, v in self._active.items() if v[1] >= horizon}
            self._active[alert.entity] = (alert.id, alert.last_seen)

    def _forget_keys(self, now: float) -> None:
        keys, horizon = self._keys, now - self.settings.dedup_seconds
        while keys and (len(keys) > MAX_DEDUP_KEYS or next(iter(keys.values()))[0] < horizon):
            keys.popitem(last=False)

    def _count(
        self, received: int, new: int, alerts: list[Alert], detect_s: float, total_s: float
    ) -> None:
        tally, metrics = self.tally, self.metrics
        tally.calls += new
        tally.duplicates += received - new
        tally.alerts += len(alerts)
        tally.requests += 1
        tally.request_seconds += total_s
        metrics.ingested("api", received)
        metrics.calls.inc(new)
        if received > new:
            metrics.dropped("api", "duplicate", received - new)
        late = self.engine.late_events()
        if late > self._late_seen:
            metrics.dropped("api", "late", late - self._late_seen)
            self._late_seen = late
        for alert in alerts:
            metrics.alerts.labels(alert.rule).inc()
        metrics.latency.observe(detect_s)
        metrics.commits.set(self.store.commits)

    # -- configuration -----------------------------------------------------------------
    def reconfigure(self, acm: AcmSettings, *, auto_disconnect: bool, auto_block: bool) -> Settings:
        """New masking settings and flags, effective for the next event (state kept)."""
        settings = dataclasses.replace(
            self.settings.with_acm(acm),
            auto_disconnect=auto_disconnect,
            auto_block=auto_block,
        )
        self.engine.reconfigure(settings.detect)
        self.settings = settings
        return settings


def _event_key(call: CallIn) -> str:
    if call.event_id is not None:
        return "e:" + call.event_id
    if call.call_id is not None:
        return f"c:{call.event}:{call.call_id}"
    return "u:" + uuid.uuid4().hex


def _event(call: CallIn, ts: float) -> CallEvent:
    return CallEvent(
        type=CallEventType(call.event),
        ts=ts,
        call_id=call.call_id,
        a_number=call.a_number,
        b_number=call.b_number,
        source_ip=call.source_ip,
        switch_id=call.switch_id,
        direction=call.direction,
        account=call.account,
        user_agent=call.user_agent,
        source="api",
    )
