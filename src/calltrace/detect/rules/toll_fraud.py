"""``toll_fraud``: one source placing several calls to costly destinations.

A hijacked PBX account or trunk is used to call premium-rate, shared-cost, satellite and
high-risk destinations whose revenue the fraudster shares; the victim pays. The signature
is a handful of such calls from one account (else source IP, else A-number) in minutes,
which ordinary users almost never place. What a risky destination is comes from
``enrich.numbers`` (libphonenumber's number types and the high-risk list, both
configurable), screened fast by :class:`calltrace.detect.fraud.DestinationRisk`.
"""

from __future__ import annotations

from calltrace.detect.base import Detector, Item
from calltrace.detect.fraud import DestinationRisk, attempt_source, destinations, source_of
from calltrace.detect.registry import register
from calltrace.detect.windows import SlidingWindow
from calltrace.enrich.numbers import DEFAULT_RISKY_TYPES
from calltrace.model import Alert, CallEvent, CallEventType

_ATTEMPT = CallEventType.ATTEMPT


@register
class TollFraud(Detector):
    """>= ``min_calls`` call attempts to risky destinations from one source within
    ``window`` seconds. Score 70 at the threshold, +10 per extra call; critical at twice
    the threshold. Costs ~1 µs per attempt to an ordinary E.164 number (the screen), one
    cached ``NumberIntel`` look-up otherwise (~0.2 µs cached, ~130 µs the first time).

    >>> rule = TollFraud()
    >>> alerts = [a for i in range(3) for a in rule.observe(CallEvent(
    ...     type=CallEventType.ATTEMPT, ts=60.0 * i, account="pbx-7", a_number="201",
    ...     b_number=f"+88163141234{i}", call_id=f"c{i}"))]
    >>> [(a.entity, a.evidence["risky_calls"], a.evidence["reasons"]) for a in alerts]
    [('pbx-7', 3, {'satellite': 3})]
    """

    rule_id = "toll_fraud"
    doc = (
        "Toll fraud: at least min_calls call attempts to premium-rate, shared-cost, "
        "satellite, international-network or high-risk-list destinations from one "
        "account (else source IP, else A-number) within window seconds. Number types "
        "from libphonenumber; risky_types, home_region and risk_file are configurable."
    )
    entity_type = "source"
    severity = "high"
    cooldown = 600.0

    def __init__(
        self,
        *,
        min_calls: int = 3,
        window: float = 600.0,
        risky_types: tuple[str, ...] = tuple(sorted(DEFAULT_RISKY_TYPES)),
        default_region: str = "",
        home_region: str = "",
        risk_file: str = "",
        allowed_lateness: float = 1.0,
    ) -> None:
        self.min_calls = min_calls
        self.window = window
        self.risky_types = risky_types
        self.default_region = default_region
        self.home_region = home_region
        self.risk_file = risk_file
        self.allowed_lateness = allowed_lateness
        self._calls: SlidingWindow | None = None
        self._risk: DestinationRisk | None = None

    def partition_key(self, item: Item) -> str | None:
        return attempt_source(item)

    def state_size(self) -> int:
        return 0 if self._calls is None else self._calls.size

    def late_events(self) -> int:
        return 0 if self._calls is None else self._calls.late

    def observe(self, item: Item) -> list[Alert]:
        if type(item) is not CallEvent or item.type is not _ATTEMPT:
            return []
        risk = self._risk
        if risk is None:
            risk = self._risk = destinations(
                self.default_region, self.home_region, self.risk_file, self.risky_types
            )
        reasons = risk.risk(item.b_number)
        if not reasons:
            return []
        source = source_of(item)
        if source is None:
            return []
        calls = self._calls
        if calls is None:
            calls = self._calls = SlidingWindow(self.window, allowed_lateness=self.allowed_lateness)
        record = (source[0], item.b_number, item.call_id, reasons[0])
        if calls.add(source[1], item.ts, record[1], record) < self.min_calls:
            return []
        return [self._alert(source[1], calls.last_entries())]

    def _alert(self, entity: str, entries: list[tuple[float, object, object]]) -> Alert:
        records = [r for _, _, r in entries if isinstance(r, tuple)]
        count = len(records)
        reasons: dict[str, int] = {}
        for record in records:
            reasons[record[3]] = reasons.get(record[3], 0) + 1
        return self.alert(
            entity=entity,
            first_seen=entries[0][0],
            last_seen=entries[-1][0],
            title=f"{count} calls to risky destinations from {entity} within {self.window:g} s",
            score=70 + 10 * (count - self.min_calls),
            severity="critical" if count >= 2 * self.min_calls else None,
            call_ids=tuple(str(r[2]) for r in records if r[2] is not None),
            evidence={
                "source_kind": records[-1][0],
                "risky_calls": count,
                "reasons": reasons,
                "b_numbers": list(dict.fromkeys(str(r[1]) for r in records)),
                "min_calls": self.min_calls,
                "window": self.window,
            },
        )
