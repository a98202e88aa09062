"""What the signalling-attack rules share (sip_scan, scanner_user_agent,
extension_enumeration, auth_bruteforce, request_flood, header_anomaly).

- **One view of SIP.** These rules read SIP messages. Call events that the trace layer
  derived from those same messages (``source == "sip"``) would count every request
  twice, so the message rules read only call events from other sources (event files,
  CDRs, the API): :func:`foreign_event`.
- **A re-alert interval.** Once a key is over its threshold every further event is too;
  building the evidence (a copy of the window) for each of them would make a flood of
  N requests cost O(N x window). :class:`WindowedRule` lets a rule alert on a key at
  most once per ``window`` seconds of event time; the engine's cooldown (longer) then
  decides what is emitted, so a running attack still gives one alert per cooldown.
- **Bounded evidence.** Lists in evidence keep at most :data:`EVIDENCE_LIMIT` entries;
  the counts beside them are always whole.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, Final, TypeVar

from calltrace.detect.base import Detector
from calltrace.detect.windows import SlidingWindow
from calltrace.enrich.geo import scope_of
from calltrace.model import Alert, CallEvent

T = TypeVar("T")

#: The rules this module serves (the benchmark and the corpus test run them together).
SIGNALLING_RULES: Final = (
    "sip_scan",
    "scanner_user_agent",
    "extension_enumeration",
    "auth_bruteforce",
    "request_flood",
    "header_anomaly",
)
#: Request methods that probe whether something answers SIP (svmap, smap, sipsak).
SCAN_METHODS: Final = frozenset({"OPTIONS", "INVITE", "REGISTER"})
#: Most entries any evidence list keeps.
EVIDENCE_LIMIT: Final = 50


def foreign_event(item: object) -> CallEvent | None:
    """``item`` if it is a call event that did not come from SIP (whose messages the
    rule reads itself), else None."""
    if type(item) is CallEvent and item.source != "sip":
        return item
    return None


@lru_cache(maxsize=65536)
def ip_scope(text: str) -> str:
    """``public``, ``private``, ``loopback``... of an address (enrich.geo's scopes), or
    ``invalid`` for a host name or garbage; memoised (addresses repeat)."""
    try:
        return scope_of(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        return "invalid"


def capped(values: Iterable[T]) -> list[T]:
    """The first :data:`EVIDENCE_LIMIT` values, in order."""
    out: list[T] = []
    for value in values:
        if len(out) == EVIDENCE_LIMIT:
            break
        out.append(value)
    return out


def tally(values: Iterable[object]) -> dict[str, int]:
    """How often each value occurs, most frequent first (ties: first seen first)."""
    counts: dict[str, int] = {}
    for value in values:
        key = str(value)
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def graded(count: int, threshold: int, top: int, *, low: int, high: int) -> int:
    """A score from ``low`` at ``threshold`` rising linearly to ``high`` at ``top``."""
    if top <= threshold:
        return high
    share = min(1.0, max(0.0, (count - threshold) / (top - threshold)))
    return round(low + (high - low) * share)


class WindowedRule(Detector):
    """A rule whose state is :class:`SlidingWindow` s named in ``_window_names``, with a
    per-key re-alert interval (:meth:`due`). Subclasses set the attributes to None in
    ``__init__`` (state on first use) and call :meth:`sliding` to get one."""

    _window_names: tuple[str, ...] = ("_window",)
    _last_alert: dict[str, float] | None = None

    def sliding(self, name: str, span: float, *, distinct: bool) -> SlidingWindow:
        """The window ``name``, made on first use with this rule's lateness."""
        found: SlidingWindow | None = getattr(self, name)
        if found is None:
            lateness = float(getattr(self, "allowed_lateness", 1.0))
            found = SlidingWindow(span, allowed_lateness=lateness, distinct=distinct)
            setattr(self, name, found)
        return found

    def tripped(
        self, key: str, ts: float, value: object, item: object, threshold: int, *,
        distinct: bool, interval: float | None = None,
    ) -> list[tuple[float, Any, Any]] | None:  # fmt: skip
        """Count one event of ``key`` in the rule's window (``self.window`` seconds); the
        window's entries when the count reached ``threshold`` and the key is :meth:`due`
        (every ``interval``, default the window), else None."""
        span = float(getattr(self, "window"))  # noqa: B009 (every subclass has one)
        seen = self.sliding("_window", span, distinct=distinct)
        if seen.add(key, ts, value, item) < threshold:
            return None
        if not self.due(key, ts, span if interval is None else interval):
            return None
        return seen.last_entries()

    def window_alert(
        self, entity: str, entries: list[tuple[float, Any, Any]], *, count: int,
        threshold: int, escalate: int, low: int, high: int, title: str,
        evidence: dict[str, Any],
    ) -> Alert:  # fmt: skip
        """An alert over a window's ``entries``: the score rises from ``low`` at
        ``threshold`` to ``high`` at ``escalate`` x threshold, where severity turns high."""
        top = escalate * threshold
        return self.alert(
            entity=entity,
            first_seen=entries[0][0],
            last_seen=entries[-1][0],
            title=title,
            score=graded(count, threshold, top, low=low, high=high),
            severity="high" if count >= top else None,
            evidence=evidence,
        )

    def due(self, key: str, ts: float, interval: float) -> bool:
        """Whether ``key`` may alert at ``ts`` (none within ``interval`` before); if so,
        remember it. Old entries are dropped as the map grows, so it stays bounded."""
        last = self._last_alert
        if last is None:
            last = self._last_alert = {}
        previous = last.get(key)
        if previous is not None and abs(ts - previous) < interval:
            return False
        last[key] = ts
        if len(last) > 64 and len(last) & 63 == 0:
            self._last_alert = {k: t for k, t in last.items() if ts - t < interval}
        return True

    def _windows(self) -> list[SlidingWindow]:
        return [w for w in (getattr(self, n) for n in self._window_names) if w is not None]

    def state_size(self) -> int:
        return sum(w.size for w in self._windows()) + len(self._last_alert or ())

    def late_events(self) -> int:
        return sum(w.late for w in self._windows())
