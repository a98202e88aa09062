"""``after_hours``: calls placed outside the business hours of the caller's location.

PBX toll fraud happens at night and at weekends, when nobody watches the phones; an
enterprise admin with CDRs asks for exactly this alert. Business hours are those of the
caller's location: a ``locations`` entry naming the account or switch (its time zone,
days, hours, holidays), else the rule's ``timezone`` when set, else the A-number's
country (libphonenumber's time-zone data, for valid numbers only: an unallocated number says
nothing about where its caller is; a number whose prefix spans several zones,
such as an unknown North American area code, is after hours only when it is outside
business hours in all of them). A call without a location is not judged.
"""

from __future__ import annotations

from typing import Any

from calltrace.detect.base import Detector, Item
from calltrace.detect.identity import (
    HoursCache,
    IdleMap,
    Schedule,
    account_of,
    number_zones,
    severity_for,
    zone,
)
from calltrace.detect.registry import register
from calltrace.detect.windows import SlidingWindow
from calltrace.enrich.validity import e164_valid
from calltrace.errors import UsageError
from calltrace.model import Alert, CallEvent, CallEventType

_ATTEMPT = CallEventType.ATTEMPT
_LOCATION_KEYS = frozenset({"accounts", "switches", "timezone", "days", "hours", "holidays"})


@register
class AfterHours(Detector):
    """>= ``min_calls`` call attempts of one account (else A-number) outside business
    hours (default Mon-Fri 08:00-18:00 local) within ``window`` seconds.

    >>> rule = AfterHours(timezone="Europe/London")
    >>> night = CallEvent(type=CallEventType.ATTEMPT, ts=1767574800.0,  # Mon 01:00 UTC
    ...                   a_number="+442079460000", b_number="+15550100", call_id="c1")
    >>> [(a.entity, a.evidence["local_time"]) for a in rule.observe(night)]
    [('+442079460000', '2026-01-05T01:00:00+00:00')]
    """

    rule_id = "after_hours"
    doc = (
        "Calls outside business hours of the caller's location (default Mon-Fri "
        "08:00-18:00 local): per-account or per-switch locations, else the rule's "
        "timezone, else the A-number's country. Entity: the account, else the A-number."
    )
    entity_type = "account"
    severity = "low"
    cooldown = 3600.0

    def __init__(
        self,
        *,
        days: str = "mon-fri",
        hours: str = "08:00-18:00",
        holidays: tuple[str, ...] = (),
        timezone: str = "",
        locations: tuple[Any, ...] = (),
        by_number: bool = True,
        min_calls: int = 1,
        window: float = 3600.0,
        allowed_lateness: float = 1.0,
    ) -> None:
        self.days, self.hours, self.holidays = days, hours, holidays
        self.timezone, self.locations, self.by_number = timezone, locations, by_number
        self.min_calls, self.window = min_calls, window
        self.allowed_lateness = allowed_lateness
        self._check()
        self._calls: SlidingWindow | None = None
        self._fired: IdleMap | None = None
        self._cache: HoursCache | None = None
        self._places: dict[tuple[str, str], tuple[HoursCache, tuple[str, ...]]] | None = None

    def _check(self) -> None:
        """Bad settings stop the run at start (config.py's promise), not mid-stream."""
        Schedule(days=self.days, hours=self.hours, holidays=self.holidays)
        if self.timezone:
            zone(self.timezone)
        for place in self.locations:
            if not isinstance(place, dict) or not set(place) <= _LOCATION_KEYS:
                raise UsageError(
                    f"after_hours.locations entries take {sorted(_LOCATION_KEYS)}", layer="config"
                )
            if not place.get("timezone"):
                raise UsageError("after_hours.locations entries need a timezone", layer="config")

    def partition_key(self, item: Item) -> str | None:
        if type(item) is CallEvent and item.type is _ATTEMPT:
            return account_of(item)
        return None

    def state_size(self) -> int:
        calls = 0 if self._calls is None else self._calls.size
        return calls + (0 if self._fired is None else len(self._fired))

    def late_events(self) -> int:
        return 0 if self._calls is None else self._calls.late

    def observe(self, item: Item) -> list[Alert]:
        if type(item) is not CallEvent or item.type is not _ATTEMPT:
            return []
        entity = account_of(item)
        if not entity:
            return []
        cache, zones, where = self._location(item)
        if not zones:
            return []
        if not cache.closed(item.ts, zones):
            return []
        if where == "a_number" and not e164_valid(item.a_number or ""):
            return []  # checked only now: most calls are in hours, validity costs ~1.5 µs
        if self._fired is None:
            self._fired = IdleMap(2 * self.window)
        # per entity: [last alert, after-hours calls since it, first of those calls]
        fired = self._fired.get(entity)
        if fired is None:
            fired = [float("-inf"), 0, item.ts]
        if fired[1] == 0:
            fired[2] = item.ts
        fired[1] += 1
        self._fired.put(entity, item.ts, fired)
        if item.ts - fired[0] < self.window:
            return []
        if self.min_calls > 1:
            # a count needs the sliding window (exact under disorder); one call does not
            if self._calls is None:
                self._calls = SlidingWindow(self.window, allowed_lateness=self.allowed_lateness)
            count = self._calls.add(entity, item.ts, None, item)
            if count < self.min_calls:
                return []
            calls = [e for _, _, e in self._calls.last_entries()]
        else:
            count = fired[1] if fired[0] > float("-inf") else 1
            calls = [item]
        first = calls[0].ts if self.min_calls > 1 else fired[2]
        fired[:] = [item.ts, 0, item.ts]
        return [self._alert(entity, item, calls, count, first, cache, zones, where)]

    def _alert(
        self, entity: str, item: CallEvent, calls: list[CallEvent], count: int, first: float,
        cache: HoursCache, zones: tuple[str, ...], where: str,
    ) -> Alert:  # fmt: skip
        score = min(80, 30 + 10 * (count - 1))
        local = cache.schedule.local(item.ts, zone(zones[0]))
        return self.alert(
            entity=entity,
            first_seen=min(first, item.ts),
            last_seen=item.ts,
            title=f"{count} call(s) by {entity} outside business hours ({zones[0]})",
            score=score,
            severity=severity_for(score),
            call_ids=tuple(c.call_id for c in calls if c.call_id),
            evidence={
                "local_time": local.isoformat(),
                "timezone": zones[0],
                "location": where,
                "calls": count,
                "b_numbers": list(dict.fromkeys(c.b_number for c in calls if c.b_number)),
                "days": self.days,
                "hours": self.hours,
            },
        )

    def _location(self, event: CallEvent) -> tuple[HoursCache, tuple[str, ...], str]:
        """(hours of the place, its zones, how it was found: account/switch/config/number)."""
        places = self._places
        if places is None:
            places = self._places = self._build_places()
        for kind, value in (("account", event.account), ("switch", event.switch_id)):
            if value:
                found = places.get((kind, value))
                if found is not None:
                    return found[0], found[1], kind
        cache = self._cache
        if cache is None:
            cache = self._cache = HoursCache(
                Schedule(days=self.days, hours=self.hours, holidays=self.holidays)
            )
        if self.timezone:
            return cache, (self.timezone,), "config"
        number = event.a_number
        if self.by_number and number and number[0] == "+":
            return cache, number_zones(number), "a_number"
        return cache, (), ""

    def _build_places(self) -> dict[tuple[str, str], tuple[HoursCache, tuple[str, ...]]]:
        places: dict[tuple[str, str], tuple[HoursCache, tuple[str, ...]]] = {}
        for place in self.locations:
            schedule = Schedule(
                days=place.get("days", self.days),
                hours=place.get("hours", self.hours),
                holidays=place.get("holidays", self.holidays),
            )
            found = (HoursCache(schedule), (str(place["timezone"]),))
            for account in place.get("accounts", ()):
                places[("account", str(account))] = found
            for switch in place.get("switches", ()):
                places[("switch", str(switch))] = found
        return places
