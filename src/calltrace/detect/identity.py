"""What the identity and behaviour rules share: whose event it is, keyed state that
forgets idle keys, the rules' enrichment, business hours, and score -> severity.

- :func:`account_of`: the account an event belongs to. ``CallEvent.account`` (a switch's
  or CDR's account, or the digest username), else the A-number (for a REGISTER, trace
  puts the registering user there).
- :class:`IdleMap`: per-key state for what is not a count over a window (the last
  forwarding target of a line, the countries an account is known from). Keys idle for
  ``ttl`` seconds of event time are dropped, so memory follows the active keys of the
  last ``ttl``, not the length of the run (DESIGN.md, "State is bounded").
- :func:`rule_enricher`: one Enricher per home region, shared by the rules (the bundled
  IP database takes ~130 MiB: loaded once, not once per rule). Pickles with its settings.
- :class:`Schedule`: business hours (days, hours, holidays) in one or more time zones,
  and :func:`number_zones`: the zones of a number from libphonenumber's time-zone data.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

from calltrace.enrich.enricher import EnrichConfig, Enricher
from calltrace.enrich.numbers import NumberConfig
from calltrace.errors import UsageError
from calltrace.model import CallEvent, CallEventType

_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def account_of(event: CallEvent) -> str | None:
    """The account of an event: its ``account``, else its A-number."""
    return event.account or event.a_number


def severity_for(score: int) -> str:
    """The severity of a score: critical >= 90, high >= 70, medium >= 50, else low."""
    if score >= 90:
        return "critical"
    if score >= 70:
        return "high"
    return "medium" if score >= 50 else "low"


class IdleMap:
    """A dict whose keys are forgotten ``ttl`` seconds (event time) after last touched.

    >>> m = IdleMap(10.0)
    >>> m.put("a", 0.0, 1); m.put("b", 5.0, 2); m.put("c", 21.0, 3)
    >>> sorted(m.data), m.get("b")
    (['c'], None)
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.data: dict[Hashable, Any] = {}
        self._touched: dict[Hashable, float] = {}
        self._max = float("-inf")
        self._next_sweep = float("-inf")

    def get(self, key: Hashable) -> Any:
        return self.data.get(key)

    def put(self, key: Hashable, ts: float, value: Any) -> None:
        """Set ``key``'s value, touched at ``ts``; sweeps idle keys once per ``ttl``."""
        self.data[key] = value
        if ts > self._touched.get(key, float("-inf")):
            self._touched[key] = ts
        if ts > self._max:
            self._max = ts
            if ts >= self._next_sweep:
                self._sweep()

    def _sweep(self) -> None:
        horizon = self._max - self.ttl
        for key in [k for k, t in self._touched.items() if t <= horizon]:
            del self._touched[key], self.data[key]
        self._next_sweep = self._max + self.ttl

    def __len__(self) -> int:
        return len(self.data)


@lru_cache(maxsize=16)
def rule_enricher(home_region: str = "") -> Enricher:
    """The enricher of the rules: the environment's settings (``CALLTRACE_*``), with
    ``home_region`` (ISO 3166 code) replacing the home and default region when given."""
    config = EnrichConfig.from_env()
    if home_region:
        region = home_region.upper()
        config = EnrichConfig(
            numbers=NumberConfig(default_region=region, home_region=region),
            geo=config.geo,
            useragents_file=config.useragents_file,
        )
    return Enricher(config)


def number_zones(e164: str) -> tuple[str, ...]:
    """Time zones of an E.164 number from libphonenumber's prefix data (``()`` if none).

    >>> number_zones("+442079460000"), number_zones("+999")
    (('Europe/London',), ())
    """
    digits = e164.lstrip("+")
    for size in range(min(TIMEZONE_LONGEST_PREFIX, len(digits)), 0, -1):
        zones = _ZONES.get(digits[:size])
        if zones is not None:
            return zones
    return ()


#: libphonenumber's prefix -> zones, without its "Etc/Unknown" placeholder.
_ZONES: dict[str, tuple[str, ...]] = {
    prefix: tuple(z for z in zones if z != "Etc/Unknown") for prefix, zones in TIMEZONE_DATA.items()
}


class Schedule:
    """Business hours: ``days`` (``"mon-fri"``, ``"mon,wed,sat"``), ``hours``
    (``"08:00-18:00"``, local, end excluded), optional ISO ``holidays``.

    >>> s = Schedule(days="mon-fri", hours="08:00-18:00", holidays=("2026-01-06",))
    >>> z = ZoneInfo("Europe/London")
    >>> s.open_at(1767603600.0, z), s.open_at(1767603600.0 + 86400, z)  # Mon 09:00, hol.
    (True, False)
    """

    def __init__(self, *, days: str, hours: str, holidays: Iterable[str] = ()) -> None:
        self.days = _parse_days(days)
        match = _HOURS.match(hours)
        if match is None:
            raise UsageError(f"hours must look like 08:00-18:00, not {hours!r}", layer="config")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        self.start, self.end = h1 * 3600 + m1 * 60, h2 * 3600 + m2 * 60
        try:
            self.holidays = frozenset(date.fromisoformat(d) for d in holidays)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"holidays must be ISO dates: {exc}", layer="config") from None

    def local(self, ts: float, zone: ZoneInfo) -> datetime:
        return datetime.fromtimestamp(ts, zone)

    def open_at(self, ts: float, zone: ZoneInfo) -> bool:
        """Whether ``ts`` falls in business hours in ``zone``."""
        when = self.local(ts, zone)
        if when.weekday() not in self.days or when.date() in self.holidays:
            return False
        second = when.hour * 3600 + when.minute * 60 + when.second
        if self.start <= self.end:
            return self.start <= second < self.end
        return second >= self.start or second < self.end  # a night shift across midnight


def _parse_days(text: str) -> frozenset[int]:
    days: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in _DAY_NAMES or (last and last not in _DAY_NAMES):
            raise UsageError(f"days must name mon..sun, not {text!r}", layer="config")
        a, b = _DAY_NAMES.index(first), _DAY_NAMES.index(last or first)
        days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(b + 1)])
    return frozenset(days)


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """A time zone by IANA name (UsageError when unknown)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"unknown time zone {name!r}", layer="config") from None


class HoursCache:
    """``Schedule.open_at`` answered once per zone set and minute of event time: time
    zones offsets and schedules change on whole minutes, so every call of one minute
    has the same answer (one dict look-up instead of a datetime per call)."""

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self._minute = 0
        self._answers: dict[tuple[str, ...], bool] = {}

    def closed(self, ts: float, zones: tuple[str, ...]) -> bool:
        """Whether ``ts`` is outside business hours in every zone of ``zones`` (so an
        ambiguous number counts only when it is night everywhere it may be)."""
        minute = int(ts // 60)
        if minute != self._minute:
            self._minute, self._answers = minute, {}
        found = self._answers.get(zones)
        if found is None:
            base = minute * 60.0
            found = self._answers[zones] = not any(
                self.schedule.open_at(base, zone(z)) for z in zones
            )
        return found


class Subscribers:
    """Whose devices and whereabouts an event tells about, for device and geo rules.

    ``account`` when the event has one; from CDRs, event files and the API, the A-number
    (an enterprise line). On SIP, a caller ID on a call is an account only once that user
    has been seen registering here (a REGISTER within ``ttl`` seconds):
    a CLI that reaches a carrier through many trunks and devices is not a subscriber, a
    PBX extension calling with a stranger's SIP stack is.

    >>> from calltrace.model import CallEvent, CallEventType as T
    >>> subs = Subscribers()
    >>> subs.of(CallEvent(type=T.ATTEMPT, ts=0.0, a_number="1001"))
    >>> subs.of(CallEvent(type=T.REGISTER, ts=1.0, a_number="1001"))
    '1001'
    >>> subs.of(CallEvent(type=T.ATTEMPT, ts=2.0, a_number="1001"))
    '1001'
    """

    def __init__(self, ttl: float = 86400.0) -> None:
        self._registered = IdleMap(ttl)

    def of(self, event: CallEvent) -> str | None:
        if event.account:
            return event.account
        number = event.a_number
        if event.source != "sip" or not number:
            return number
        if event.type is CallEventType.REGISTER:  # not a challenge: INVITEs get those too
            self._registered.put(number, event.ts, True)
            return number
        return number if self._registered.get(number) else None

    def __len__(self) -> int:
        return len(self._registered)


__all__ = [
    "HoursCache",
    "IdleMap",
    "Schedule",
    "Subscribers",
    "account_of",
    "number_zones",
    "rule_enricher",
    "severity_for",
    "zone",
]
