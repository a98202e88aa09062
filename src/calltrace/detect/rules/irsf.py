"""``irsf``: International Revenue Share Fraud, traffic pumped into one number range.

An IRSF fraudster leases a range of international numbers (an IPRN range, often at a
high-cost or badly regulated destination) and pumps calls into it from hijacked
accounts: many calls, to sequential or near numbers of that one range, held long. So
calls are counted per *range*: the B-number's E.164 digits without their last
``range_digits`` digits (same country, same leading digits; ``enrich.numbers.same_range``
is the same test). Only international destinations count: with ``home_region`` set, any
B-number outside it; without one (nothing says what is abroad), the risky destinations of
``toll_fraud`` (premium, satellite, international networks, the high-risk list).
"""

from __future__ import annotations

from typing import TypeGuard

import phonenumbers

from calltrace.detect.base import Detector, Item
from calltrace.detect.fraud import DestinationRisk, destinations
from calltrace.detect.registry import register
from calltrace.detect.windows import SlidingWindow
from calltrace.model import Alert, CallEvent, CallEventType

#: Attempts start calls; ends carry the talk time (SIP); a row of an event file is both.
_COUNTED = frozenset({CallEventType.ATTEMPT, CallEventType.END})


@register
class Irsf(Detector):
    """>= ``min_calls`` calls to one international range (B-numbers sharing all but their
    last ``range_digits`` digits) with >= ``min_numbers`` distinct B-numbers within
    ``window`` seconds. Score 60 at the threshold, +4 per extra call, +20 when the calls'
    known talk time reaches ``long_total`` seconds; critical at twice ``min_calls`` or
    with that talk time.

    >>> rule = Irsf(home_region="GB")
    >>> alerts = [a for i in range(10) for a in rule.observe(CallEvent(
    ...     type=CallEventType.ATTEMPT, ts=30.0 * i, a_number="+442079460000",
    ...     b_number=f"+3716700010{i % 5}", call_id=f"c{i}", duration=200.0))]
    >>> [(a.entity, a.evidence["distinct_numbers"], a.severity) for a in alerts]
    [('+37167000xxx', 5, 'critical')]
    """

    rule_id = "irsf"
    doc = (
        "International Revenue Share Fraud (traffic pumping): at least min_calls calls "
        "with at least min_numbers distinct B-numbers to one international range (the "
        "B-number without its last range_digits digits) within window seconds; long "
        "talk time makes it critical. International: outside home_region, or (without "
        "one) a risky destination as for toll_fraud."
    )
    entity_type = "number_range"
    severity = "high"
    cooldown = 600.0

    def __init__(
        self,
        *,
        min_calls: int = 10,
        min_numbers: int = 5,
        window: float = 600.0,
        range_digits: int = 3,
        long_total: float = 1800.0,
        home_region: str = "",
        default_region: str = "",
        risk_file: str = "",
        allowed_lateness: float = 1.0,
    ) -> None:
        self.min_calls = min_calls
        self.min_numbers = min_numbers
        self.window = window
        self.range_digits = range_digits
        self.long_total = long_total
        self.home_region = home_region
        self.default_region = default_region
        self.risk_file = risk_file
        self.allowed_lateness = allowed_lateness
        self._calls: SlidingWindow | None = None
        self._risk: DestinationRisk | None = None

    def partition_key(self, item: Item) -> str | None:
        if type(item) is CallEvent and item.type in _COUNTED:
            digits = self._digits(item.b_number)
            return None if digits is None else self._range(digits)
        return None

    def state_size(self) -> int:
        return 0 if self._calls is None else self._calls.size

    def late_events(self) -> int:
        return 0 if self._calls is None else self._calls.late

    def observe(self, item: Item) -> list[Alert]:
        if type(item) is not CallEvent or item.type not in _COUNTED:
            return []
        digits = self._digits(item.b_number)
        if digits is None or not self._international(digits, item.b_number):
            return []
        calls = self._calls
        if calls is None:
            calls = self._calls = SlidingWindow(
                self.window, allowed_lateness=self.allowed_lateness, distinct=True
            )
        key = self._range(digits)
        call = item.call_id if item.call_id is not None else f"{item.ts}>{digits}"
        if calls.add(key, item.ts, call, (digits, item.duration, item.call_id)) < self.min_calls:
            return []
        entries = calls.last_entries()
        numbers = {r[0] for _, _, r in entries if isinstance(r, tuple)}
        if len(numbers) < self.min_numbers:
            return []
        return [self._alert(key, entries, len(numbers))]

    def _digits(self, raw: str | None) -> str | None:
        """E.164 digits of a B-number: as written when ``+``, else libphonenumber's."""
        if not raw:
            return None
        if raw[0] == "+" and raw[1:].isdigit():
            return raw[1:]
        info = self._destinations().intel.lookup(raw)
        return None if info is None or info.e164 is None else info.e164[1:]

    def _range(self, digits: str) -> str:
        cut = max(len(digits) - self.range_digits, 1)
        return f"+{digits[:cut]}{'x' * (len(digits) - cut)}"

    def _destinations(self) -> DestinationRisk:
        if self._risk is None:
            self._risk = destinations(self.default_region, self.home_region, self.risk_file)
        return self._risk

    def _international(self, digits: str, raw: str | None) -> bool:
        destinations = self._destinations()
        home = self.home_region.upper()
        if not home:
            return bool(destinations.risk("+" + digits))
        code = destinations.calling_code(digits)
        if code is None or int(code) != phonenumbers.country_code_for_region(home):
            return True
        if len(phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(code), ())) < 2:
            return False
        info = destinations.intel.lookup("+" + digits)  # +1, +7: the region decides
        return info is not None and info.country not in (None, home)

    def _alert(self, key: str, entries: list[tuple[float, object, object]], numbers: int) -> Alert:
        talk: dict[str, float] = {}
        for _, call, record in entries:
            if isinstance(record, tuple) and record[1]:
                talk[str(call)] = max(talk.get(str(call), 0.0), float(record[1]))
        calls = list(dict.fromkeys(str(c) for _, c, _ in entries))
        total = sum(talk.values())
        long = total >= self.long_total
        return self.alert(
            entity=key,
            first_seen=entries[0][0],
            last_seen=entries[-1][0],
            title=f"{len(calls)} calls to {numbers} numbers of range {key}",
            score=60 + 4 * (len(calls) - self.min_calls) + (20 if long else 0),
            severity="critical" if long or len(calls) >= 2 * self.min_calls else None,
            call_ids=tuple(dict.fromkeys(str(r[2]) for _, _, r in entries if _real(r))),
            evidence={
                "calls": len(calls),
                "distinct_numbers": numbers,
                "b_numbers": sorted(
                    {"+" + str(r[0]) for _, _, r in entries if isinstance(r, tuple)}
                ),
                "answered_calls": len(talk),
                "total_duration": round(total, 3),
                "max_duration": round(max(talk.values(), default=0.0), 3),
                "min_calls": self.min_calls,
                "min_numbers": self.min_numbers,
                "window": self.window,
            },
        )


def _real(record: object) -> TypeGuard[tuple[str, float | None, str]]:
    """Whether a window record names a real call id (rows without one get a made-up value)."""
    return isinstance(record, tuple) and record[2] is not None
