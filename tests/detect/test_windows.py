"""Keyed sliding windows: exact counts under bounded disorder, late events, eviction."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from calltrace.detect.windows import SlidingWindow


def _reference(
    events: list[tuple[str, float, int]], window: float, lateness: float, distinct: bool
) -> list[int]:
    """Brute force: for each event, 0 if later than the lateness bound, else the count of
    the fullest window of length ``window`` that contains it, over the accepted events so far."""
    accepted: list[tuple[str, float, int]] = []
    out = []
    max_ts = float("-inf")
    for key, ts, value in events:
        if ts < max_ts - lateness:
            out.append(0)
            continue
        max_ts = max(max_ts, ts)
        accepted.append((key, ts, value))
        mine = [(t, v) for k, t, v in accepted if k == key]
        best = 0
        for end in {t for t, _ in mine if ts <= t < ts + window}:
            inside = [v for t, v in mine if end - window < t <= end]
            best = max(best, len(set(inside)) if distinct else len(inside))
        out.append(best)
    return out


# Times on a 0.25 s grid make ties and exact window edges common, where off-by-ones hide.
_events = st.lists(
    st.tuples(
        st.sampled_from(["k1", "k2", "k3"]),
        st.integers(min_value=0, max_value=4),  # disorder: step back up to 1 s
        st.integers(min_value=0, max_value=12),  # forward step
        st.integers(min_value=0, max_value=4),
    ),
    max_size=60,
)


def _materialise(steps: list[tuple[str, int, int, int]]) -> list[tuple[str, float, int]]:
    now, out = 100.0, []
    for key, back, forward, value in steps:
        now += forward * 0.25
        out.append((key, now - back * 0.25, value))
    return out


@settings(max_examples=300, deadline=None)
@given(_events, st.sampled_from([0.5, 1.0, 2.0, 5.0]), st.sampled_from([0.0, 0.5, 1.0]))
def test_counts_match_brute_force(
    steps: list[tuple[str, int, int, int]], window: float, lateness: float
) -> None:
    """Every answer equals the brute-force fullest-window count, for counts and distinct counts."""
    events = _materialise(steps)
    for distinct in (False, True):
        w = SlidingWindow(window, allowed_lateness=lateness, distinct=distinct)
        got = [w.add(k, t, v) for k, t, v in events]
        assert got == _reference(events, window, lateness, distinct)


@settings(max_examples=100, deadline=None)
@given(_events)
def test_last_entries_are_the_counted_window(steps: list[tuple[str, int, int, int]]) -> None:
    """last_entries() holds exactly the events counted, in time order, all within the window."""
    w = SlidingWindow(2.0, allowed_lateness=1.0, distinct=True)
    for key, ts, value in _materialise(steps):
        count = w.add(key, ts, value, item=(key, ts))
        entries = w.last_entries()
        if count == 0:
            continue
        times = [t for t, _, _ in entries]
        assert times == sorted(times) and times[-1] - times[0] < 2.0
        assert ts in times and all(item[0] == key for _, _, item in entries)
        assert len({v for _, v, _ in entries}) == count


def test_in_order_window_is_half_open() -> None:
    """An event exactly W seconds older than the newest is out of the window: (ts - W, ts]."""
    w = SlidingWindow(5.0)
    assert [w.add("b", t) for t in (0.0, 4.0, 5.0, 8.5, 9.0)] == [1, 2, 2, 3, 3]


def test_late_event_within_lateness_completes_an_earlier_window() -> None:
    """An event 0.8 s late still joins the window it belongs to: four in (0, 3] become five."""
    w = SlidingWindow(3.0, allowed_lateness=1.0, distinct=True)
    for ts, a in [(1.0, "a"), (1.5, "b"), (2.0, "c"), (3.0, "d")]:
        w.add("b1", ts, a)
    assert w.add("b1", 2.2, "e") == 5
    assert [v for _, v, _ in w.last_entries()] == ["a", "b", "c", "e", "d"]


def test_too_late_events_are_counted_and_dropped() -> None:
    """An event older than the watermark returns 0, is counted in late, and is not stored."""
    w = SlidingWindow(10.0, allowed_lateness=1.0)
    w.add("x", 50.0)
    assert w.add("x", 48.5) == 0 and w.add("y", 10.0) == 0
    assert w.late == 2 and w.size == 1 and "y" not in w


def test_idle_keys_are_evicted_and_state_stays_bounded() -> None:
    """After a long run over a million distinct keys, only the last window's events remain."""
    w = SlidingWindow(5.0, allowed_lateness=1.0, distinct=True)
    for i in range(200_000):  # 1,000 events/s for 200 s, every key new
        w.add(f"b{i}", i / 1000.0, "a")
    # retained: at most the window + lateness + one sweep interval of events
    assert w.size <= (5 + 1 + 5) * 1000 and len(w) == w.size
    assert w.size >= 5 * 1000


def test_hot_key_is_compacted() -> None:
    """One key taking every event keeps only its recent events, not its history."""
    w = SlidingWindow(25.0, allowed_lateness=12.5)
    for i in range(100_000):  # 0.25 s apart: exact in binary, so the edges are exact
        assert w.add("hot", i * 0.25) == min(i + 1, 100)
    assert w.size <= 2 * (100 + 50) + 32


def test_invalid_parameters_are_refused() -> None:
    """A zero window or a negative lateness is a programming error, caught at once."""
    for window, lateness in ((0.0, 1.0), (1.0, -1.0)):
        try:
            SlidingWindow(window, allowed_lateness=lateness)
        except ValueError:
            continue
        raise AssertionError("accepted")


@settings(max_examples=150, deadline=None)
@given(_events, st.integers(min_value=1, max_value=5))
def test_floor_only_skips_counts_that_cannot_reach_it(
    steps: list[tuple[str, int, int, int]], floor: int
) -> None:
    """With a floor, an answer at or above it is the exact distinct count, and an answer
    below it means the exact count is below it too."""
    events = _materialise(steps)
    exact = _reference(events, 2.0, 1.0, distinct=True)
    w = SlidingWindow(2.0, allowed_lateness=1.0, distinct=True)
    for (key, ts, value), truth in zip(events, exact, strict=True):
        got = w.add(key, ts, value, floor=floor)
        assert got == truth if got >= floor else truth < floor
