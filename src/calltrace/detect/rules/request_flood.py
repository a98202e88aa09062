"""``request_flood``: too many SIP requests from one source, Kamailio pike's way.

Kamailio's pike module blocks a source that sends more than ``reqs_density_per_unit``
(default 30) requests per ``sampling_time_unit`` (default 2 s); the defaults are kept
here, so the rule fires where a stock Kamailio would start dropping: on the 31st request
within 2 s. Every request counts, retransmissions and ACKs included, as pike counts
packets. Call events from other sources (attempts, registrations, OPTIONS) count for
their source IP.
"""

from __future__ import annotations

from calltrace.detect.base import Item
from calltrace.detect.registry import register
from calltrace.detect.rules._signalling import WindowedRule, foreign_event, tally
from calltrace.detect.windows import SlidingWindow
from calltrace.model import Alert, CallEvent, CallEventType, SipMessage

_REQUEST_EVENTS = frozenset({CallEventType.ATTEMPT, CallEventType.REGISTER, CallEventType.OPTIONS})


@register
class RequestFlood(WindowedRule):
    """More than ``max_requests`` requests from one source IP within ``window`` seconds
    (pike: 30 per 2 s); high from ten times that.

    >>> from calltrace.model import CallEvent, CallEventType
    >>> rule = RequestFlood()
    >>> alerts = [a for i in range(31) for a in rule.observe(CallEvent(
    ...     type=CallEventType.REGISTER, ts=i / 20, a_number="100", source_ip="203.0.113.9",
    ...     source="events"))]
    >>> [(a.entity, a.evidence["requests"], a.severity) for a in alerts]
    [('203.0.113.9', 31, 'medium')]
    """

    rule_id = "request_flood"
    doc = (
        "Request flood (Kamailio pike's defaults): more than max_requests SIP requests from "
        "one source IP within window seconds, every method and retransmission counted. "
        "Allowlist trunks, proxies and SBCs that carry many users' traffic."
    )
    entity_type = "source_ip"
    severity = "medium"
    cooldown = 60.0
    consumes = (SipMessage, CallEvent)

    def __init__(
        self, *, max_requests: int = 30, window: float = 2.0, allowed_lateness: float = 1.0
    ) -> None:
        self.max_requests = max_requests
        self.window = window
        self.allowed_lateness = allowed_lateness
        self._window: SlidingWindow | None = None

    def partition_key(self, item: Item) -> str | None:
        request = _request(item)
        return None if request is None else request[0]

    def observe(self, item: Item) -> list[Alert]:
        request = _request(item)
        if request is None:
            return []
        source, method = request
        # "more than max_requests"; re-alert at most once per window (at least 1 s)
        entries = self.tripped(source, item.ts, method, None, self.max_requests + 1,
                               distinct=False, interval=max(self.window, 1.0))  # fmt: skip
        if entries is None:
            return []
        count = len(entries)
        span = entries[-1][0] - entries[0][0]
        alert = self.window_alert(
            source,
            entries,
            count=count,
            threshold=self.max_requests,
            escalate=10,
            low=50,
            high=85,
            title=f"{source} sent {count} SIP requests within {self.window:g} s",
            evidence={
                "requests": count,
                "span": round(span, 6),
                "methods": tally(m for _, m, _ in entries),
                "max_requests": self.max_requests,
                "window": self.window,
            },
        )
        return [alert]


def _request(item: Item) -> tuple[str, str] | None:
    """(source IP, method) of a request, else None."""
    if type(item) is SipMessage:
        return (item.packet.src_ip, item.method) if item.is_request else None
    event = foreign_event(item)
    if event is None or event.type not in _REQUEST_EVENTS or not event.source_ip:
        return None
    return event.source_ip, str(event.type)
