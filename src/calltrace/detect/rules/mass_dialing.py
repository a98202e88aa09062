"""``mass_dialing``: autodialers, by sequential numbers or by sheer call rate.

Robocallers, number-harvesting and wangiri campaigns and compromised PBXs running a
dialer work through number lists: many calls from one source, often to consecutive
numbers (``...0100``, ``...0101``, ``...0103``...). Two tests per source (account, else
source IP, else A-number):

- *sequential*: a call is sequential when its B-number is within ``max_step`` of (and not
  equal to) a B-number the same source called in the last ``rate_window`` seconds, read
  as integers of their digits: sorted, the numbers step by small amounts. Fires at
  ``min_sequential`` such calls within ``window`` seconds. A redial of one number is not
  sequential.
- *rate*: ``rate_calls`` call attempts within ``rate_window`` seconds, whatever the numbers.
"""

from __future__ import annotations

import itertools

from calltrace.detect.base import Detector, Item
from calltrace.detect.fraud import attempt_source, number_value, source_of
from calltrace.detect.identity import IdleMap
from calltrace.detect.registry import register
from calltrace.detect.windows import SlidingWindow
from calltrace.model import Alert, CallEvent, CallEventType

_ATTEMPT = CallEventType.ATTEMPT


@register
class MassDialing(Detector):
    """>= ``min_sequential`` sequential calls within ``window`` s, or >= ``rate_calls``
    calls within ``rate_window`` s, from one source. Score 50 at a threshold, +1 per extra
    call; high at twice a threshold.

    >>> rule = MassDialing()
    >>> alerts = [a for i in range(51) for a in rule.observe(CallEvent(
    ...     type=CallEventType.ATTEMPT, ts=6.0 * i, source_ip="198.51.100.4",
    ...     a_number="+15550100", b_number=f"+1202555{1000 + 2 * i}", call_id=f"d{i}"))]
    >>> [(a.entity, a.evidence["test"], a.evidence["calls"]) for a in alerts]
    [('198.51.100.4', 'sequential', 50)]
    """

    rule_id = "mass_dialing"
    doc = (
        "Mass dialing (autodialers): one account/source IP/A-number placing "
        "min_sequential calls to sequential B-numbers (each within max_step of a number "
        "it called in the last rate_window seconds) within window seconds, or rate_calls "
        "calls within rate_window seconds."
    )
    entity_type = "source"
    severity = "medium"
    cooldown = 600.0

    def __init__(
        self,
        *,
        min_sequential: int = 50,
        window: float = 600.0,
        max_step: int = 10,
        rate_calls: int = 60,
        rate_window: float = 60.0,
        allowed_lateness: float = 1.0,
    ) -> None:
        self.min_sequential = min_sequential
        self.window = window
        self.max_step = max_step
        self.rate_calls = rate_calls
        self.rate_window = rate_window
        self.allowed_lateness = allowed_lateness
        self._recent: SlidingWindow | None = None
        self._sequential: SlidingWindow | None = None
        # (source, test) -> (time of the last alert built, whether it was high): an
        # autodialer keeps the count over the threshold call after call, and building
        # an alert each time (sorting its numbers) only for the cooldown to drop it cost
        # more than the rest of the rule; one per window, or an escalation, is built
        self._fired: IdleMap | None = None

    def partition_key(self, item: Item) -> str | None:
        return attempt_source(item)

    def state_size(self) -> int:
        if self._recent is None or self._sequential is None:
            return 0
        fired = 0 if self._fired is None else len(self._fired)
        return self._recent.size + self._sequential.size + fired

    def late_events(self) -> int:
        return 0 if self._recent is None else self._recent.late

    def observe(self, item: Item) -> list[Alert]:
        if type(item) is not CallEvent or item.type is not _ATTEMPT:
            return []
        source = source_of(item)
        if source is None:
            return []
        recent, sequential = self._recent, self._sequential
        if recent is None or sequential is None:
            lateness = self.allowed_lateness
            recent = self._recent = SlidingWindow(self.rate_window, allowed_lateness=lateness)
            sequential = self._sequential = SlidingWindow(self.window, allowed_lateness=lateness)
        key, ts, value = source[1], item.ts, number_value(item.b_number)
        count = recent.add(key, ts, value, item.call_id)
        if not count:
            return []  # late
        out = []
        if count >= self.rate_calls and self._due(key, "rate", ts, count >= 2 * self.rate_calls):
            out.append(self._alert(source, "rate", recent.last_entries(), self.rate_calls))
        if value is not None and count > 1 and self._near(value, recent.last_entries()):
            found = sequential.add(key, ts, value, item.call_id)
            if found >= self.min_sequential and self._due(
                key, "sequential", ts, found >= 2 * self.min_sequential
            ):
                entries = sequential.last_entries()
                out.append(self._alert(source, "sequential", entries, self.min_sequential))
        return out

    def _due(self, key: str, test: str, ts: float, high: bool) -> bool:
        """Whether to build this alert: none of this test on this source within its
        window, or this one escalates to high."""
        interval = self.rate_window if test == "rate" else self.window
        fired = self._fired
        if fired is None:  # sources quiet for a whole window are forgotten
            fired = self._fired = IdleMap(max(self.window, self.rate_window))
        last = fired.get((key, test))
        if last is not None and ts - last[0] < interval and (last[1] or not high):
            return False
        fired.put((key, test), ts, (ts, high))
        return True

    def _near(self, value: int, entries: list[tuple[float, object, object]]) -> bool:
        step = self.max_step
        for _, other, _ in entries:
            if isinstance(other, int) and other != value and abs(other - value) <= step:
                return True
        return False

    def _alert(
        self,
        source: tuple[str, str],
        test: str,
        entries: list[tuple[float, object, object]],
        threshold: int,
    ) -> Alert:
        calls = len(entries)
        numbers = sorted({v for _, v, _ in entries if isinstance(v, int)})
        steps = [b - a for a, b in itertools.pairwise(numbers)]
        window = self.rate_window if test == "rate" else self.window
        return self.alert(
            entity=source[1],
            first_seen=entries[0][0],
            last_seen=entries[-1][0],
            title=f"{calls} {test} calls from {source[1]} within {window:g} s",
            score=50 + calls - threshold,
            severity="high" if calls >= 2 * threshold else None,
            call_ids=tuple(str(c) for _, _, c in entries if c is not None),
            evidence={
                "test": test,
                "source_kind": source[0],
                "calls": calls,
                "distinct_numbers": len(numbers),
                "lowest": numbers[0] if numbers else None,
                "highest": numbers[-1] if numbers else None,
                "median_step": sorted(steps)[len(steps) // 2] if steps else None,
                "threshold": threshold,
                "window": window,
            },
        )
