"""``multicall_masking``: many different A-numbers calling one B-number at once.

A fraudster who rotates caller IDs (CLI rotation) to hide where calls come from, or a
SIM-box / bypass route spreading one source over many CLIs, shows up at the terminating
side as one B-number called by many distinct A-numbers within seconds. Legitimate
traffic almost never does that: a call centre's hunt group or a radio phone-in does, and
those B-numbers belong on the allowlist (docs/rules.md).
"""

from __future__ import annotations

from typing import Any

from calltrace.detect.base import Detector, Item
from calltrace.detect.registry import register
from calltrace.detect.windows import Entry, SlidingWindow
from calltrace.model import Alert, CallEvent, CallEventType

_ATTEMPT = CallEventType.ATTEMPT


@register
class MulticallMasking(Detector):
    """>= ``min_callers`` distinct A-numbers start calls to one B-number within ``window``
    seconds. Defaults (5 callers, 5 s, cooldown 30 s) are the seed anti-call-masking
    service's.

    >>> from calltrace.model import CallEvent, CallEventType
    >>> rule = MulticallMasking()
    >>> alerts = [a for i in range(5) for a in rule.observe(CallEvent(
    ...     type=CallEventType.ATTEMPT, ts=100.0 + i / 2, a_number=f"+1555010{i}",
    ...     b_number="+15550999", call_id=f"c{i}"))]
    >>> [(a.entity, a.evidence["distinct_callers"], a.call_ids) for a in alerts]
    [('+15550999', 5, ('c0', 'c1', 'c2', 'c3', 'c4'))]
    """

    rule_id = "multicall_masking"
    doc = (
        "Multicall masking (CLI rotation): at least min_callers distinct A-numbers start "
        "calls to one B-number within window seconds. Only call attempts count; evidence "
        "lists the A-numbers and call ids. Allowlist B-numbers that legitimately take "
        "bursts (hunt groups, phone-ins)."
    )
    entity_type = "b_number"
    severity = "high"
    cooldown = 30.0

    def __init__(
        self, *, min_callers: int = 5, window: float = 5.0, allowed_lateness: float = 1.0
    ) -> None:
        self.min_callers = min_callers
        self.window = window
        self.allowed_lateness = allowed_lateness
        self._calls: SlidingWindow | None = None

    def partition_key(self, item: Item) -> str | None:
        if type(item) is CallEvent and item.type is _ATTEMPT:
            return item.b_number
        return None

    def state_size(self) -> int:
        return 0 if self._calls is None else self._calls.size

    def late_events(self) -> int:
        return 0 if self._calls is None else self._calls.late

    def window_counts(self, b_number: str, at: float | None = None) -> tuple[int, int]:
        """Calls to ``b_number`` and their distinct A-numbers in the window ending at ``at``
        (event time; default the newest event seen): the ``call_count`` and
        ``distinct_a_count`` of the /acm API."""
        if self._calls is None:
            return 0, 0
        return self._calls.counts(b_number, self._calls.max_ts if at is None else at)

    def active_keys(self) -> list[str]:
        """The B-numbers with attempts still held in the window."""
        return [] if self._calls is None else [str(k) for k in self._calls.keys()]  # noqa: SIM118

    def newest(self) -> float | None:
        """Event time of the newest attempt seen (None before the first)."""
        return None if self._calls is None or not len(self._calls) else self._calls.max_ts

    def retune(self, **overrides: Any) -> MulticallMasking:
        """A clone with new parameters, fed (silently) every attempt this one still holds.

        >>> rule = MulticallMasking()
        >>> for i in range(3):
        ...     _ = rule.observe(CallEvent(type=CallEventType.ATTEMPT, ts=float(i),
        ...                                a_number=f"a{i}", b_number="b", call_id=f"c{i}"))
        >>> tuned = rule.retune(min_callers=4)
        >>> tuned.min_callers, tuned.window_counts("b", 2.0)
        (4, (3, 3))
        """
        new = MulticallMasking(**(self.params() | overrides))
        if self._calls is not None:
            for ts, b_number, a_number, call_id in self._calls.entries():
                new.observe(
                    CallEvent(type=_ATTEMPT, ts=ts, a_number=str(a_number),
                              b_number=str(b_number), call_id=call_id)
                )  # fmt: skip
        return new

    def observe(self, item: Item) -> list[Alert]:
        if type(item) is not CallEvent or item.type is not _ATTEMPT:
            return []
        b_number, a_number = item.b_number, item.a_number
        if not b_number or not a_number:
            return []
        calls = self._calls
        if calls is None:
            calls = self._calls = SlidingWindow(
                self.window, allowed_lateness=self.allowed_lateness, distinct=True
            )
        if (
            calls.add(b_number, item.ts, a_number, item.call_id, self.min_callers)
            < self.min_callers
        ):
            return []
        return [self._alert(b_number, calls.last_entries())]

    def _alert(self, b_number: str, entries: list[Entry]) -> Alert:
        callers = list(dict.fromkeys(str(a) for _, a, _ in entries))
        call_ids = tuple(str(c) for _, _, c in entries if c is not None)
        over = len(callers) - self.min_callers
        return self.alert(
            entity=b_number,
            first_seen=entries[0][0],
            last_seen=entries[-1][0],
            title=f"{len(callers)} callers to {b_number} within {self.window:g} s",
            score=60 + 10 * over,
            severity="critical" if len(callers) >= 2 * self.min_callers else None,
            call_ids=call_ids,
            evidence={
                "distinct_callers": len(callers),
                "a_numbers": callers,
                "calls": [{"ts": ts, "a_number": a, "call_id": c} for ts, a, c in entries],
                "min_callers": self.min_callers,
                "window": self.window,
            },
        )
