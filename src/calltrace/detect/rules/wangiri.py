"""``wangiri``: "one ring and cut" calls from one A-number, and the callbacks they bait.

Wangiri (Japanese "one ring and cut") fraud rings many numbers for a second or two from a
premium-rate or IRSF number and hangs up; curious victims call back and pay. The FCC's
"One Ring" advisory (2019) describes it. Signature: one A-number whose calls mostly end
unanswered within seconds of the attempt, to many distinct B-numbers. A call is *short*
when it is cancelled, rejected or ends unanswered less than ``max_ring`` seconds after
its attempt (SIP: CANCEL/4xx after INVITE; an event-file row: an unanswered row whose
``duration`` is under ``max_ring``). A call answered, or still ringing ``max_ring`` s
after its attempt, is *long*.

State: attempts wait ``max_ring`` (+ lateness) for their outcome in an insertion-ordered
dict (bounded by ``max_ring`` of traffic); short calls go into a per-A window. Long calls
are kept only for A-numbers that already have a short call in the window (so memory is
spent on suspects only): the share of short calls is taken over the calls since the
A-number's first short call in the window. After an alert, the B-numbers it rang are
remembered for ``callback_window`` seconds: a later call from one of them to the
A-number is a critical alert on the victim's number; its evidence counts the rung
numbers that have called back so far (``callbacks``, of ``rung_numbers``).
"""

from __future__ import annotations

from collections import OrderedDict

from calltrace.detect.base import Detector, Item
from calltrace.detect.registry import register
from calltrace.detect.windows import SlidingWindow
from calltrace.model import Alert, CallEvent, CallEventType

_ATTEMPT, _ANSWER = CallEventType.ATTEMPT, CallEventType.ANSWER
_CANCEL, _REJECT = CallEventType.CANCEL, CallEventType.REJECT
_ENDS = frozenset({_CANCEL, _REJECT, CallEventType.END})
_RELEVANT = _ENDS | {_ATTEMPT, _ANSWER}


@register
class Wangiri(Detector):
    """>= ``min_numbers`` distinct B-numbers rung short by one A-number within ``window``
    seconds, short calls being >= ``min_share`` of its calls. Score 70 at the threshold,
    +1 per extra number (high); a callback from a rung number scores 95 (critical).

    >>> rule, alerts = Wangiri(), []
    >>> for i in range(20):
    ...     for kind, dt in ((CallEventType.ATTEMPT, 0.0), (CallEventType.CANCEL, 2.0)):
    ...         alerts += rule.observe(CallEvent(type=kind, ts=10.0 * i + dt,
    ...             a_number="+2693001234", b_number=f"+4477009{i:05d}", call_id=f"w{i}"))
    >>> alerts += rule.observe(CallEvent(type=CallEventType.ATTEMPT, ts=400.0,
    ...     a_number="+447700900003", b_number="+2693001234", call_id="back"))
    >>> [(a.entity, a.severity) for a in alerts]
    [('+2693001234', 'high'), ('+447700900003', 'critical')]
    """

    rule_id = "wangiri"
    doc = (
        "Wangiri (one ring and cut): one A-number rings at least min_numbers distinct "
        "B-numbers within window seconds, at least min_share of its calls cancelled or "
        "ended unanswered under max_ring seconds after the attempt; a later call from one "
        "of those B-numbers back to it is a critical callback alert."
    )
    entity_type = "a_number"
    severity = "high"
    cooldown = 600.0

    def __init__(
        self,
        *,
        min_numbers: int = 20,
        window: float = 600.0,
        min_share: float = 0.8,
        max_ring: float = 5.0,
        callback_window: float = 86400.0,
        allowed_lateness: float = 1.0,
    ) -> None:
        self.min_numbers = min_numbers
        self.window = window
        self.min_share = min_share
        self.max_ring = max_ring
        self.callback_window = callback_window
        self.allowed_lateness = allowed_lateness
        self._pending: OrderedDict[str, tuple[float, str, str]] | None = None
        self._calls: SlidingWindow | None = None
        self._baited: dict[str, tuple[float, frozenset[str]]] = {}
        self._callbacks: dict[str, set[str]] = {}  # wangiri number -> victims who called
        self._max_ts = float("-inf")

    def partition_key(self, item: Item) -> str | None:
        if type(item) is CallEvent and item.type in _RELEVANT:
            return item.a_number
        return None

    def state_size(self) -> int:
        if self._pending is None or self._calls is None:
            return 0
        baited = sum(len(b) for _, b in self._baited.values())
        called = sum(len(v) for v in self._callbacks.values())
        return len(self._pending) + self._calls.size + baited + called

    def late_events(self) -> int:
        return 0 if self._calls is None else self._calls.late

    def observe(self, item: Item) -> list[Alert]:
        if type(item) is not CallEvent:
            return []
        kind = item.type
        if kind is not _ATTEMPT and kind is not _ANSWER and kind not in _ENDS:
            return []
        pending = self._pending
        if pending is None:
            pending = self._pending = OrderedDict()
            self._calls = SlidingWindow(self.window, allowed_lateness=self.allowed_lateness)
        out: list[Alert] = []
        ts = item.ts
        if ts > self._max_ts:
            self._max_ts = ts
            self._expire(pending, ts)
        a, b, call = item.a_number, item.b_number, item.call_id
        if not a or not b:
            return out
        if kind is _ATTEMPT:
            if self._baited:
                out += self._callback(item, a, b)
            if item.status is not None or item.duration is not None:  # a whole-call row
                ring = item.duration if item.status is None or item.status >= 300 else None
                out += self._resolve(a, b, ts, ring)
            elif call is not None:
                pending[call] = (ts, a, b)
        elif call is not None and call in pending:
            start = pending.pop(call)[0]
            out += self._resolve(a, b, ts, None if kind is _ANSWER else ts - start)
        elif (kind is _CANCEL or kind is _REJECT) and item.duration is not None:
            out += self._resolve(a, b, ts, item.duration)  # a row with its ring time
        return out

    def _expire(self, pending: OrderedDict[str, tuple[float, str, str]], now: float) -> None:
        """Attempts still unresolved ``max_ring`` s (+ lateness) on are long calls.

        An OrderedDict, not a dict: taking the first key of a dict whose front was deleted
        scans the deleted slots (O(n) each time, 5x the whole rule set's cost at 100k CPS);
        the OrderedDict's linked list gives it in O(1)."""
        horizon = now - self.max_ring - self.allowed_lateness
        while pending:
            call = next(iter(pending))
            start, a, b = pending[call]
            if start > horizon:
                break
            del pending[call]
            self._resolve(a, b, now, None)

    def _resolve(self, a: str, b: str, at: float, ring: float | None) -> list[Alert]:
        """One call of ``a`` to ``b`` settled at event time ``at``: short or long."""
        calls = self._calls
        assert calls is not None
        if ring is None or ring >= self.max_ring:
            if a in calls:  # long calls matter only for A-numbers with short ones
                calls.add(a, at, None, (b, False))
            return []
        if calls.add(a, at, b, (b, True)) < self.min_numbers:
            return []
        entries = calls.last_entries()
        rung = [str(r[0]) for _, _, r in entries if isinstance(r, tuple) and r[1]]
        numbers = len(set(rung))
        if numbers < self.min_numbers or len(rung) < self.min_share * len(entries):
            return []
        self._baited[a] = (entries[-1][0], frozenset(rung))
        longs = len(entries) - len(rung)
        return [
            self.alert(
                entity=a,
                first_seen=entries[0][0],
                last_seen=entries[-1][0],
                title=f"{a} rang {numbers} numbers short within {self.window:g} s",
                score=70 + numbers - self.min_numbers,
                evidence={
                    "distinct_numbers": numbers,
                    "short_calls": len(rung),
                    "long_calls": longs,
                    "short_share": round(len(rung) / len(entries), 3),
                    "b_numbers": sorted(set(rung)),
                    "max_ring": self.max_ring,
                    "window": self.window,
                },
            )
        ]

    def _callback(self, item: CallEvent, a: str, b: str) -> list[Alert]:
        """A call to a flagged wangiri number from one of the numbers it rang."""
        flagged = self._baited.get(b)
        if flagged is not None and item.ts - flagged[0] > self.callback_window:
            del self._baited[b]
            self._callbacks.pop(b, None)
            flagged = None
        if len(self._baited) > 64:
            horizon = item.ts - self.callback_window
            self._baited = {k: v for k, v in self._baited.items() if v[0] >= horizon}
            self._callbacks = {k: v for k, v in self._callbacks.items() if k in self._baited}
        if flagged is None or a not in flagged[1]:
            return []
        victims = self._callbacks.setdefault(b, set())
        victims.add(a)
        return [
            self.alert(
                entity=a,
                first_seen=item.ts,
                last_seen=item.ts,
                title=f"{a} called back wangiri number {b}",
                score=95,
                severity="critical",
                call_ids=(item.call_id,) if item.call_id else (),
                evidence={
                    "wangiri_number": b,
                    "rung_at": flagged[0],
                    "callback": True,
                    # distinct rung numbers that have called it back so far, this one included
                    "callbacks": len(victims),
                    "rung_numbers": len(flagged[1]),
                },
            )
        ]
