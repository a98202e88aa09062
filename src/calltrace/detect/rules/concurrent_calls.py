"""``concurrent_calls``: more simultaneous calls from one source than it should ever hold.

A hijacked account or trunk is milked in parallel: tens of calls at once to expensive
destinations, where a desk phone holds one or two and a small office a few. Calls are
tracked per source (account, else source IP, else A-number) by call id, open from the
attempt (or the answer) until END, CANCEL or REJECT. State stays bounded: a call whose
end is never seen (a lost BYE, a capture cut short) expires ``max_duration`` seconds
after its attempt or answer. An event-file row with a ``duration`` (one row, one whole
call) occupies ``[ts, ts + duration]``; an event-file attempt without one says nothing
about its length and is not held (only its answer, if a row says so, opens it).
Concurrency is counted when a call opens, over the calls open at that moment.
"""

from __future__ import annotations

import heapq

from calltrace.detect.base import Detector, Item
from calltrace.detect.fraud import source_of
from calltrace.detect.registry import register
from calltrace.model import Alert, CallEvent, CallEventType

_ATTEMPT, _ANSWER = CallEventType.ATTEMPT, CallEventType.ANSWER
_CLOSE = frozenset({CallEventType.END, CallEventType.CANCEL, CallEventType.REJECT})


@register
class ConcurrentCalls(Detector):
    """>= ``high`` calls open at once from one source (high, score 70 + 2 per extra call);
    >= ``critical`` is critical (score 90 + 1 per extra call).

    >>> rule = ConcurrentCalls()
    >>> alerts = [a for i in range(10) for a in rule.observe(CallEvent(
    ...     type=CallEventType.ATTEMPT, ts=float(i), account="acct-9", a_number="201",
    ...     b_number=f"+88163141{i:04d}", call_id=f"c{i}", duration=120.0, source="events"))]
    >>> [(a.entity, a.evidence["concurrent"], a.severity) for a in alerts]
    [('acct-9', 10, 'high')]
    """

    rule_id = "concurrent_calls"
    doc = (
        "Concurrent calls per account (else source IP, else A-number): at least high "
        "calls open at once is high, at least critical is critical. Calls are open from "
        "attempt or answer to END/CANCEL/REJECT (by call id), or for an event-file row's "
        "duration; a call with no end expires after max_duration seconds."
    )
    entity_type = "source"
    severity = "high"
    cooldown = 300.0

    def __init__(
        self,
        *,
        high: int = 10,
        critical: int = 20,
        max_duration: float = 14400.0,
        allowed_lateness: float = 1.0,
    ) -> None:
        self.high = high
        self.critical = critical
        self.max_duration = max_duration
        self.allowed_lateness = allowed_lateness
        self._open: dict[str, dict[str, float]] | None = None  # source -> call -> expiry
        self._owner: dict[str, str] = {}  # call -> source
        self._expiries: list[tuple[float, str]] = []

    def partition_key(self, item: Item) -> str | None:
        if type(item) is CallEvent and (item.type in _CLOSE or item.type in (_ATTEMPT, _ANSWER)):
            source = source_of(item)
            return None if source is None else source[1]
        return None

    def state_size(self) -> int:
        return 0 if self._open is None else len(self._owner)

    def observe(self, item: Item) -> list[Alert]:
        if type(item) is not CallEvent:
            return []
        kind = item.type
        if kind in _CLOSE:
            if self._open is not None and item.call_id in self._owner:
                self._close(self._open, item.call_id)
            return []
        if kind is not _ATTEMPT and kind is not _ANSWER:
            return []
        if kind is _ATTEMPT and item.duration is not None:
            until = item.ts + item.duration
        elif kind is _ANSWER or item.source == "sip":
            until = item.ts + self.max_duration
        else:
            return []  # an event-file attempt of unknown length
        source = source_of(item)
        if source is None or until <= item.ts:
            return []
        opened = self._open
        if opened is None:
            opened = self._open = {}
        self._expire(opened, item.ts)
        call = item.call_id or f"{source[1]}@{item.ts}"
        owner = self._owner.get(call)
        if owner is not None and kind is _ATTEMPT:
            return []  # seen already (an attempt is one call however often repeated)
        if owner is not None and owner != source[1] and owner in opened:
            # A call stays with the source that opened it: a SIP call's answer names the
            # account its credentials gave, which its attempt (before the 407) could not.
            source = (source[0], owner)
        calls = opened.setdefault(source[1], {})
        known = call in calls
        calls[call] = until
        self._owner[call] = source[1]
        heapq.heappush(self._expiries, (until, call))
        count = len(calls)
        if known or count < self.high or not self._news(count):
            return []
        return [self._alert(source, item, calls)]

    def _news(self, count: int) -> bool:
        """Whether reaching ``count`` open calls is worth an alert: crossing ``high`` or
        ``critical``, then each doubling above critical (40, 80... by default). A trunk
        that stays over the limit is one alert per level, not one per call opened (each
        sorted its hundreds of call ids for the cooldown to drop it)."""
        if count in (self.high, self.critical):
            return True
        return (
            count > self.critical
            and count % self.critical == 0
            and ((count // self.critical) & (count // self.critical - 1) == 0)
        )

    def _close(self, opened: dict[str, dict[str, float]], call: str) -> None:
        source = self._owner.pop(call)
        calls = opened[source]
        del calls[call]
        if not calls:
            del opened[source]

    def _expire(self, opened: dict[str, dict[str, float]], now: float) -> None:
        """Close calls whose end time (or max_duration) passed, lateness allowed."""
        expiries, horizon = self._expiries, now - self.allowed_lateness
        while expiries and expiries[0][0] <= horizon:
            until, call = heapq.heappop(expiries)
            source = self._owner.get(call)
            if source is not None and opened[source].get(call) == until:
                self._close(opened, call)
        if len(expiries) > 2 * len(self._owner) + 64:  # drop heap entries of closed calls
            self._expiries = [(u, c) for u, c in expiries if self._owner.get(c) is not None]
            heapq.heapify(self._expiries)

    def _alert(self, source: tuple[str, str], item: CallEvent, calls: dict[str, float]) -> Alert:
        count = len(calls)
        critical = count >= self.critical
        return self.alert(
            entity=source[1],
            first_seen=item.ts,
            last_seen=item.ts,
            title=f"{count} concurrent calls from {source[1]}",
            score=90 + count - self.critical if critical else 70 + 2 * (count - self.high),
            severity="critical" if critical else "high",
            call_ids=tuple(sorted(calls)),
            evidence={
                "source_kind": source[0],
                "concurrent": count,
                "high": self.high,
                "critical": self.critical,
                "b_number": item.b_number,
            },
        )
