"""Prometheus metrics of the service (``GET /metrics``), one registry per app so tests
can build several apps in one process.

The ``acm_*`` names are the seed service's; ``calltrace_*`` count every source by its
``source`` label (``api`` here; the ESL and HEP sources add theirs through
:meth:`Metrics.ingested`, :meth:`Metrics.decode_error` and :meth:`Metrics.dropped`).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST
#: Detection latency buckets, 10 µs to 1 s: a batch of 1,000 takes a few ms.
LATENCY_BUCKETS = (1e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 0.1, 1.0)


class Metrics:
    """The service's counters and histograms."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.calls = Counter(
            "acm_calls_processed", "Call events run through detection.", registry=r
        )
        self.alerts = Counter(
            "acm_alerts_generated", "Alerts raised, per rule.", ["rule"], registry=r
        )
        self.latency = Histogram(
            "acm_detection_latency_seconds",
            "Time spent in the detection engine per request (a batch is one request).",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.ingest = Counter(
            "calltrace_ingest_events", "Events received, per source.", ["source"], registry=r
        )
        self.decode_errors = Counter(
            "calltrace_decode_errors",
            "Input rejected as undecodable, per source and kind.",
            ["source", "kind"],
            registry=r,
        )
        self.drops = Counter(
            "calltrace_dropped_events",
            "Events not run through detection, per source and reason (duplicate, late).",
            ["source", "reason"],
            registry=r,
        )
        self.commits = Gauge(
            "calltrace_store_commits", "Transactions committed by the writer.", registry=r
        )
        self.ingest.labels("api")
        self.drops.labels("api", "duplicate")
        self.drops.labels("api", "late")
        self.decode_errors.labels("api", "invalid_request")

    def ingested(self, source: str, count: int = 1) -> None:
        self.ingest.labels(source).inc(count)

    def decode_error(self, source: str, kind: str, count: int = 1) -> None:
        self.decode_errors.labels(source, kind).inc(count)

    def dropped(self, source: str, reason: str, count: int = 1) -> None:
        self.drops.labels(source, reason).inc(count)

    def render(self) -> bytes:
        return generate_latest(self.registry)
