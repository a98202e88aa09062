"""Keyed sliding windows over event time, shared by every counting rule.

A rule asks one question per event: "how many events (or distinct values) did this key
see within W seconds around now?". :class:`SlidingWindow` answers it per key (a B-number,
a source IP...) in amortised O(1) for in-order events, keeps only what the window needs,
and forgets idle keys, so memory is a function of W and the event rate, never of the run's
length (DESIGN.md, "State is bounded").

Bounded disorder. Sources interleave (two capture files, several switches), so events
may arrive a little out of time order. Time is event time; the *watermark* is the largest
timestamp seen minus ``allowed_lateness``. An event at or after the watermark is inserted
in its place and counted exactly as if the stream had been sorted: the answer is the
fullest window of length W that contains the event (in order, that is simply
``(ts - W, ts]``; for a late event it may be a window ending at an event that arrived
before it). An event before the watermark is counted in ``late`` and dropped, never raised
(its window may already have been evicted). This is the watermark model of stream engines
(Akidau et al., "The Dataflow Model", VLDB 2015) with a fixed lateness bound.

>>> w = SlidingWindow(5.0, distinct=True)
>>> [w.add("b1", ts, a) for ts, a in [(0.0, "a1"), (1.0, "a2"), (2.0, "a1"), (5.5, "a3")]]
[1, 2, 2, 3]
>>> [ts for ts, _, _ in w.last_entries()]
[1.0, 2.0, 5.5]
>>> w.add("b1", 0.2, "a9"), w.late    # 5.5 - 1 s lateness = 4.5 > 0.2: too late
(0, 1)
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Hashable
from typing import Any

#: Compact a key's lists once this many evicted entries sit at their front.
_COMPACT_MIN = 32


class _Key:
    """One key's retained events, sorted by time; ``counts`` covers ``[lo:]``."""

    __slots__ = ("counts", "head", "items", "lo", "times", "values")

    def __init__(self) -> None:
        self.times: list[float] = []
        self.values: list[Hashable] = []
        self.items: list[Any] = []
        self.head = 0  # first retained entry (earlier ones await compaction)
        self.lo = 0  # first entry of the window ending at times[-1]
        self.counts: dict[Hashable, int] = {}

    def evict_window(self, start: float, distinct: bool) -> None:
        """Move ``lo`` past every entry at or before ``start``."""
        times, lo = self.times, self.lo
        end = len(times)
        if distinct:
            counts, values = self.counts, self.values
            while lo < end and times[lo] <= start:
                value = values[lo]
                left = counts[value] - 1
                if left:
                    counts[value] = left
                else:
                    del counts[value]
                lo += 1
        else:
            while lo < end and times[lo] <= start:
                lo += 1
        self.lo = lo

    def trim(self, horizon: float, distinct: bool) -> None:
        """Forget entries at or before ``horizon`` (no event that is not late needs them)."""
        times, head = self.times, self.head
        end = len(times)
        while head < end and times[head] <= horizon:
            head += 1
        self.head = head
        if head > self.lo:
            self.evict_window(horizon, distinct)
        if head >= _COMPACT_MIN and head * 2 >= end:
            del times[:head], self.values[:head], self.items[:head]
            self.lo -= head
            self.head = 0


class SlidingWindow:
    """Per-key count (or distinct count) of events within ``window`` seconds of event time.

    ``add(key, ts, value, item)`` records one event and returns the count of events (with
    ``distinct=True``: of distinct ``value``s) in the fullest ``window``-second window that
    contains it, or 0 when the event is late (counted in ``late``). ``last_entries()`` then
    gives that window's ``(ts, value, item)`` triples, in time order, for the evidence.
    """

    def __init__(
        self, window: float, *, allowed_lateness: float = 1.0, distinct: bool = False
    ) -> None:
        if window <= 0 or allowed_lateness < 0:
            raise ValueError("window must be > 0 and allowed_lateness >= 0")
        self.window = float(window)
        self.allowed_lateness = float(allowed_lateness)
        self.distinct = distinct
        self.late = 0
        self.max_ts = float("-inf")
        self._keys: dict[Hashable, _Key] = {}
        self._next_sweep = float("-inf")
        self._last: tuple[_Key, int, int] | None = None

    @property
    def watermark(self) -> float:
        """Events before this time are late."""
        return self.max_ts - self.allowed_lateness

    def add(self, key: Hashable, ts: float, value: Hashable = None, item: Any = None) -> int:
        """Record one event of ``key``; return the count of its fullest window (0 if late)."""
        if ts > self.max_ts:
            self.max_ts = ts
            if ts >= self._next_sweep:
                self._sweep()
        elif ts < self.max_ts - self.allowed_lateness:
            self.late += 1
            return 0
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = _Key()
        times = state.times
        if times and ts < times[-1]:
            return self._add_late(state, ts, value, item)
        times.append(ts)
        state.values.append(value)
        state.items.append(item)
        if self.distinct:
            counts = state.counts
            counts[value] = counts.get(value, 0) + 1
        if times[state.lo] <= ts - self.window:
            state.evict_window(ts - self.window, self.distinct)
        if state.head < state.lo and times[state.head] <= self._horizon():
            state.trim(self._horizon(), self.distinct)
        end = len(times)
        self._last = (state, state.lo, end)
        return len(state.counts) if self.distinct else end - state.lo

    def _add_late(self, state: _Key, ts: float, value: Hashable, item: Any) -> int:
        """An event older than its key's newest: insert it in place, scan its windows."""
        times, values = state.times, state.values
        pos = bisect_right(times, ts, state.head)
        times.insert(pos, ts)
        values.insert(pos, value)
        state.items.insert(pos, item)
        if ts > times[-1] - self.window:
            if self.distinct:
                state.counts[value] = state.counts.get(value, 0) + 1
        else:
            state.lo += 1
        # The fullest window containing ts ends at some entry in [ts, ts + W) (slide any
        # such window left until its end meets an entry: it only gains events).
        best, best_span = -1, (pos, pos + 1)
        index, end = pos, len(times)
        while index < end and times[index] < ts + self.window:
            stop = bisect_right(times, times[index], index)
            start = bisect_right(times, times[index] - self.window, state.head, stop)
            count = len(set(values[start:stop])) if self.distinct else stop - start
            if count > best:
                best, best_span = count, (start, stop)
            index = stop
        self._last = (state, *best_span)
        return best

    def last_entries(self) -> list[tuple[float, Hashable, Any]]:
        """``(ts, value, item)`` of the window the last :meth:`add` counted, oldest first."""
        if self._last is None:
            return []
        state, start, stop = self._last
        times, values, items = state.times, state.values, state.items
        return list(zip(times[start:stop], values[start:stop], items[start:stop], strict=True))

    def counts(self, key: Hashable, end: float) -> tuple[int, int]:
        """Events of ``key`` in ``(end - window, end]`` and their distinct values: what the
        window holds now (the service answers ``call_count``/``distinct_a_count`` with it).

        >>> w = SlidingWindow(5.0, distinct=True)
        >>> _ = [w.add("b", ts, a) for ts, a in [(0.0, "x"), (1.0, "y"), (2.0, "x")]]
        >>> w.counts("b", 2.0), w.counts("b", 5.5), w.counts("other", 2.0)
        ((3, 2), (2, 2), (0, 0))
        """
        state = self._keys.get(key)
        if state is None:
            return 0, 0
        times = state.times
        start = bisect_right(times, end - self.window, state.head)
        stop = bisect_right(times, end, start)
        return stop - start, len(set(state.values[start:stop]))

    def entries(self) -> list[tuple[float, Hashable, Hashable, Any]]:
        """Every retained ``(ts, key, value, item)``, in time order: what a rule rebuilt
        with new parameters replays to carry its state over."""
        out = [
            (ts, key, value, item)
            for key, state in self._keys.items()
            for ts, value, item in zip(
                state.times[state.head :],
                state.values[state.head :],
                state.items[state.head :],
                strict=True,
            )
        ]
        out.sort(key=lambda entry: entry[0])
        return out

    def clear(self, key: Hashable) -> None:
        """Forget one key (a rule may restart counting after it fired)."""
        self._keys.pop(key, None)
        self._last = None

    def keys(self) -> list[Hashable]:
        """Keys with retained events."""
        return list(self._keys)

    def __len__(self) -> int:
        """Keys with retained events."""
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    @property
    def size(self) -> int:
        """Retained events over all keys (what memory is proportional to)."""
        return sum(len(s.times) - s.head for s in self._keys.values())

    def _horizon(self) -> float:
        return self.watermark - self.window

    def _sweep(self) -> None:
        """Trim every key and drop the idle ones; runs once per window of event time."""
        horizon = self._horizon()
        idle = []
        for key, state in self._keys.items():
            if state.times[-1] <= horizon:
                idle.append(key)
            else:
                state.trim(horizon, self.distinct)
        for key in idle:
            del self._keys[key]
        self._next_sweep = self.max_ts + max(self.window, 1.0)
        self._last = None
