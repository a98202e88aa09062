"""``sip_scan``: one source sweeping addresses and ports with OPTIONS/INVITE/REGISTER.

svmap, smap and the mass scanners behind most SIP attacks (SIPVicious, and the toll-fraud
bots of the sip-attacks corpus) first look for anything that answers SIP: one request to
each address (and port) of a range. A phone or a PBX talks to a handful of registrars,
proxies and trunks; ten distinct targets within a minute is already a sweep. Targets are
``dst_ip:dst_port`` pairs, so a sweep of ports on one host counts as well.
"""

from __future__ import annotations

from calltrace.detect.base import Item
from calltrace.detect.registry import register
from calltrace.detect.rules._signalling import (
    SCAN_METHODS,
    WindowedRule,
    capped,
    foreign_event,
    tally,
)
from calltrace.detect.windows import SlidingWindow
from calltrace.model import Alert, CallEvent, CallEventType, SipMessage

#: Call-event types (from event files, CDRs, the API) that are a request to a target.
_PROBES = frozenset({CallEventType.ATTEMPT, CallEventType.REGISTER, CallEventType.OPTIONS})


@register
class SipScan(WindowedRule):
    """>= ``min_targets`` distinct targets (destination ``ip:port``) probed by one source
    with OPTIONS, INVITE or REGISTER within ``window`` seconds.

    >>> from calltrace.model import Packet, SipMessage
    >>> def probe(i):
    ...     packet = Packet(number=i, ts=100.0 + i, src_ip="203.0.113.9", src_port=5060,
    ...                     dst_ip=f"198.51.100.{i}", dst_port=5060, transport="udp",
    ...                     payload=b"")
    ...     return SipMessage(packet=packet, is_request=True, method="OPTIONS",
    ...         request_uri="sip:100@x", status=None, reason=None, call_id=f"c{i}", cseq=1,
    ...         cseq_method="OPTIONS", from_tag="t", to_tag=None, branch="z9hG4bKx",
    ...         headers=(), body=b"", raw=b"")
    >>> rule = SipScan()
    >>> alerts = [a for i in range(12) for a in rule.observe(probe(i))]
    >>> [(a.entity, a.evidence["distinct_targets"]) for a in alerts]
    [('203.0.113.9', 10)]
    """

    rule_id = "sip_scan"
    doc = (
        "SIP scan (svmap, smap, mass scanners): one source sends OPTIONS, INVITE or "
        "REGISTER to at least min_targets distinct destination ip:port pairs within window "
        "seconds. Evidence lists the targets, methods and user agents. Allowlist monitoring "
        "systems and proxies that fan out to many peers."
    )
    entity_type = "source_ip"
    severity = "medium"
    cooldown = 300.0
    consumes = (SipMessage, CallEvent)

    def __init__(
        self, *, min_targets: int = 10, window: float = 60.0, allowed_lateness: float = 1.0
    ) -> None:
        self.min_targets = min_targets
        self.window = window
        self.allowed_lateness = allowed_lateness
        self._window: SlidingWindow | None = None

    def partition_key(self, item: Item) -> str | None:
        target = _probe(item)
        return None if target is None else target[0]

    def observe(self, item: Item) -> list[Alert]:
        probe = _probe(item)
        if probe is None:
            return []
        source, target, probing = probe
        entries = self.tripped(source, item.ts, target, probing, self.min_targets, distinct=True)
        return [] if entries is None else [self._alert(source, entries)]

    def _alert(self, source: str, entries: list[tuple[float, object, object]]) -> Alert:
        targets = list(dict.fromkeys(str(t) for _, t, _ in entries))
        details = [_detail(item) for _, _, item in entries]
        count = len(targets)
        return self.window_alert(
            source,
            entries,
            count=count,
            threshold=self.min_targets,
            escalate=5,
            low=50,
            high=90,
            title=f"{source} probed {count} SIP targets within {self.window:g} s",
            evidence={
                "distinct_targets": count,
                "targets": capped(targets),
                "requests": len(entries),
                "methods": tally(d[0] for d in details),
                "user_agents": capped(dict.fromkeys(d[1] for d in details if d[1])),
                "min_targets": self.min_targets,
                "window": self.window,
            },
        )


def _probe(item: Item) -> tuple[str, str, Item] | None:
    """(source, target, item) of a probing request, else None."""
    if type(item) is SipMessage:
        if not item.is_request or item.method not in SCAN_METHODS:
            return None
        p = item.packet
        return p.src_ip, f"{p.dst_ip}:{p.dst_port}", item
    event = foreign_event(item)
    if event is None or event.type not in _PROBES or not event.source_ip or not event.dest_ip:
        return None
    return event.source_ip, event.dest_ip, event


def _detail(item: object) -> tuple[str, str | None]:
    """(method, user agent) of a probe, for the evidence (read only when alerting)."""
    if isinstance(item, SipMessage):
        return item.method, item.header("user-agent")
    if isinstance(item, CallEvent):
        return str(item.type), item.user_agent
    return "?", None
