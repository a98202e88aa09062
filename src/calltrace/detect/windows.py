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

from bisect import bisect_right, insort
from collections.abc import Hashable
from operator import itemgetter
from typing import Any

#: One retained event: (ts, value, item).
Entry = tuple[float, Hashable, Any]
_ts = itemgetter(0)


class SlidingWindow:
    """Per-key count (or distinct count) of events within ``window`` seconds of event time.

    ``add(key, ts, value, item)`` records one event and returns the count of events (with
    ``distinct=True``: of distinct ``value``s) in the fullest ``window``-second window that
    contains it, or 0 when the event is late (counted in ``late``). ``last_entries()`` then
    gives that window's ``(ts, value, item)`` triples, in time order, for the evidence.

    ``floor`` is a speed hint for threshold rules: when the window holds fewer than
    ``floor`` events, the distinct count cannot reach ``floor`` and ``add`` returns the
    number of events instead (an upper bound, still below ``floor``) without counting
    distinct values. Counting is O(events in the key's window) once a window reaches the
    floor, so a key that takes a constant stream (a hunt group) costs more per event;
    such keys belong on the rule's allowlist anyway.

    Per key, the state is one time-sorted list of entry tuples: a new key costs one list
    and one tuple (most keys of a carrier's B-numbers see one call per window).
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
        self._keys: dict[Hashable, list[Entry]] = {}
        self._next_sweep = float("-inf")
        self._last: tuple[list[Entry], int, int] | None = None

    @property
    def watermark(self) -> float:
        """Events before this time are late."""
        return self.max_ts - self.allowed_lateness

    def add(
        self, key: Hashable, ts: float, value: Hashable = None, item: Any = None, floor: int = 0
    ) -> int:
        """Record one event of ``key``; return the count of its fullest window (0 if late)."""
        if ts > self.max_ts:
            self.max_ts = ts
            if ts >= self._next_sweep:
                self._sweep()
        elif ts < self.max_ts - self.allowed_lateness:
            self.late += 1
            return 0
        entries = self._keys.get(key)
        if entries is None:
            entries = self._keys[key] = [(ts, value, item)]
            self._last = (entries, 0, 1)
            return 1
        if ts < entries[-1][0]:
            return self._add_late(entries, ts, value, item)
        entries.append((ts, value, item))
        start = ts - self.window
        first = 0
        if entries[0][0] <= start:
            horizon = self.max_ts - self.allowed_lateness - self.window
            if entries[0][0] <= horizon:  # no event that is not late can need these
                del entries[: bisect_right(entries, horizon, key=_ts)]
            if entries[0][0] <= start:
                first = bisect_right(entries, start, key=_ts)
        end = len(entries)
        self._last = (entries, first, end)
        if not self.distinct or end - first < floor:
            return end - first
        return len({entry[1] for entry in entries[first:]})

    def _add_late(self, entries: list[Entry], ts: float, value: Hashable, item: Any) -> int:
        """An event older than its key's newest: insert it in place, scan its windows.

        The fullest window containing ts ends at some entry in [ts, ts + W): slide any
        window that contains ts left until its end meets an entry; it only gains events.
        """
        insort(entries, (ts, value, item), key=_ts)
        window = self.window
        best, span = -1, (0, 0)
        index = bisect_right(entries, ts, key=_ts) - 1  # the entry just inserted (or a tie)
        end = len(entries)
        while index < end and entries[index][0] < ts + window:
            edge = entries[index][0]
            stop = bisect_right(entries, edge, index, key=_ts)
            start = bisect_right(entries, edge - window, 0, stop, key=_ts)
            if self.distinct:
                count = len({entry[1] for entry in entries[start:stop]})
            else:
                count = stop - start
            if count > best:
                best, span = count, (start, stop)
            index = stop
        self._last = (entries, *span)
        return best

    def last_entries(self) -> list[Entry]:
        """``(ts, value, item)`` of the window the last :meth:`add` counted, oldest first."""
        if self._last is None:
            return []
        entries, start, stop = self._last
        return entries[start:stop]

    def counts(self, key: Hashable, end: float) -> tuple[int, int]:
        """Events of ``key`` in ``(end - window, end]`` and their distinct values: what the
        window holds now (the service answers ``call_count``/``distinct_a_count`` with it).

        >>> w = SlidingWindow(5.0, distinct=True)
        >>> _ = [w.add("b", ts, a) for ts, a in [(0.0, "x"), (1.0, "y"), (2.0, "x")]]
        >>> w.counts("b", 2.0), w.counts("b", 5.5), w.counts("other", 2.0)
        ((3, 2), (2, 2), (0, 0))
        """
        entries = self._keys.get(key)
        if entries is None:
            return 0, 0
        start = bisect_right(entries, end - self.window, key=_ts)
        stop = bisect_right(entries, end, start, key=_ts)
        return stop - start, len({entry[1] for entry in entries[start:stop]})

    def entries(self) -> list[tuple[float, Hashable, Hashable, Any]]:
        """Every retained ``(ts, key, value, item)``, in time order: what a rule rebuilt
        with new parameters replays to carry its state over."""
        out = [(ts, key, value, item) for key, entries in self._keys.items()
               for ts, value, item in entries]  # fmt: skip
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
        return sum(len(entries) for entries in self._keys.values())

    def _sweep(self) -> None:
        """Trim every key and drop the idle ones; runs once per window of event time."""
        horizon = self.max_ts - self.allowed_lateness - self.window
        idle = []
        for key, entries in self._keys.items():
            if entries[-1][0] <= horizon:
                idle.append(key)
            elif entries[0][0] <= horizon:
                del entries[: bisect_right(entries, horizon, key=_ts)]
        for key in idle:
            del self._keys[key]
        self._next_sweep = self.max_ts + max(self.window, 1.0)
        self._last = None
