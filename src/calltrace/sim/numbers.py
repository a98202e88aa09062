"""Telephone numbers of the simulated world: valid, allocated, and awake.

Normal traffic must look normal to the detection rules: ``cli_spoofing`` calls an
A-number that libphonenumber does not know allocated a spoofed caller ID, and
``after_hours`` judges a call by the business hours of the A-number's country. So:

- **Valid numbers.** Each country of the mix has seeds of a known type (fixed line,
  mobile): libphonenumber's own example number for the type
  (``phonenumbers.example_number_for_type``), and for the United States the NANP's
  fictional 555-0100..0199 lines in five area codes of three time zones. A seed's last
  digits are varied and every candidate is kept only if ``phonenumbers.is_valid_number``
  accepts it with the seed's type. The drama ranges the generator used before (Ofcom's
  01632 960 and 07700 900, 020 7946 0xxx) are not used: libphonenumber calls them
  unallocated, so they are, rightly, spoofing findings. Example numbers with varied last
  digits may belong to someone; the simulator only writes them into files.
- **Callers in business hours.** :func:`in_hours` picks the caller's country among
  those where it is a weekday between 08:00 and 18:00 in every time zone libphonenumber
  gives the number (``phonenumbers.timezone``), the ``after_hours`` rule's default
  schedule, at the call's own time: a carrier's traffic at 09:00 UTC comes from Europe,
  at 15:00 UTC from Europe and the Americas. When no country of the mix is open (a run
  started on a Sunday) callers come from the whole mix, and the rule rightly fires.
- B-numbers and other parties whose hour does not matter come from :func:`any_number`.

Pools are built once per process (about 0.1 s) and are the same on every run for a
given libphonenumber release; drawing is a couple of ``rng.random()`` calls.

>>> import random
>>> import phonenumbers
>>> n = in_hours(random.Random(1), 1767603600 * 10**9)  # Mon 5 Jan 2026 09:00 UTC
>>> phonenumbers.is_valid_number(phonenumbers.parse(n)), n[:3] in ("+44", "+49", "+33",
... "+34", "+39", "+31")
(True, True)
"""

from __future__ import annotations

import bisect
import random
from datetime import datetime
from functools import cache
from itertools import accumulate
from typing import Final
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import PhoneNumberType
from phonenumbers.timezone import time_zones_for_number

_FIXED: Final[int] = PhoneNumberType.FIXED_LINE
_MOBILE: Final[int] = PhoneNumberType.MOBILE
#: region, weight in the mix, extra seeds (national number prefix, digits to vary, type)
MIX: Final[tuple[tuple[str, int, tuple[tuple[str, int, int], ...]], ...]] = (
    ("US", 30, tuple((f"{area}55501", 2, _FIXED) for area in ("212", "312", "415", "617", "202"))),
    ("GB", 18, ()), ("DE", 14, ()), ("FR", 12, ()), ("ES", 6, ()), ("IT", 6, ()),
    ("NL", 5, ()), ("AU", 4, ()), ("JP", 3, ()), ("BR", 2, ()),
)  # fmt: skip
#: The after_hours rule's default schedule (docs/rules.md): Mon-Fri, 08:00-18:00 local.
OPEN_DAYS: Final = range(5)
OPEN_HOURS: Final = (8, 18)
BUCKET_S: Final = 1800  # open countries are decided per half hour (zone offsets: x:00, x:30)
_NS: Final = 1_000_000_000
_TYPES_OK: Final[dict[int, tuple[int, int]]] = {
    _FIXED: (_FIXED, PhoneNumberType.FIXED_LINE_OR_MOBILE),
    _MOBILE: (_MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE),
}


class Group:
    """Numbers of one region sharing time zones, and their weight in the mix."""

    __slots__ = ("code", "numbers", "weight", "zones")

    def __init__(self, code: str, zones: tuple[str, ...], numbers: list[str]) -> None:
        self.code, self.zones, self.numbers = code, zones, numbers
        self.weight = 0.0

    def pick(self, rng: random.Random) -> str:
        return self.numbers[int(rng.random() * len(self.numbers))]

    def open_at(self, ts: float) -> bool:
        """Every zone of the group in business hours at ``ts`` (Unix seconds)."""
        for name in self.zones:
            local = datetime.fromtimestamp(ts, ZoneInfo(name))
            if local.weekday() not in OPEN_DAYS or not OPEN_HOURS[0] <= local.hour < OPEN_HOURS[1]:
                return False
        return bool(self.zones)


def _varied(code: int, prefix: str, width: int, kind: int) -> list[str]:
    """Valid numbers of type ``kind``: ``prefix`` followed by ``width`` varied digits
    (every 9th value of three digits, every value of two)."""
    step = 9 if width >= 3 else 1
    out = []
    for tail in range(0, 10**width, step):
        number = phonenumbers.parse(f"+{code}{prefix}{tail:0{width}d}")
        if (
            phonenumbers.is_valid_number(number)
            and phonenumbers.number_type(number) in _TYPES_OK[kind]
        ):
            out.append(number)
    return [phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164) for n in out]


@cache
def groups() -> tuple[Group, ...]:
    """Every number of the mix, grouped by region and time zones, weighted."""
    out: list[Group] = []
    for region, weight, extra in MIX:
        code = phonenumbers.country_code_for_region(region)
        seeds = list(extra)
        for kind in (_FIXED, _MOBILE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                national = phonenumbers.national_significant_number(example)
                seeds.append((national[:-3], 3, kind))
        by_zones: dict[tuple[str, ...], Group] = {}
        for prefix, width, kind in seeds:
            for number in _varied(code, prefix, width, kind):
                zones = tuple(
                    z for z in time_zones_for_number(phonenumbers.parse(number)) if "/" in z
                )
                by_zones.setdefault(zones, Group(str(code), zones, [])).numbers.append(number)
        total = sum(len(g.numbers) for g in by_zones.values())
        for group in by_zones.values():
            group.weight = weight * len(group.numbers) / total
            out.append(group)
    return tuple(out)


def _choose(rng: random.Random, chosen: tuple[Group, ...], cumulative: list[float]) -> str:
    group = chosen[bisect.bisect(cumulative, rng.random() * cumulative[-1])]
    return group.pick(rng)


@cache
def _weighted(code: str | None) -> tuple[tuple[Group, ...], list[float]]:
    chosen = tuple(g for g in groups() if code is None or g.code == code)
    if not chosen:
        raise KeyError(f"no numbers for calling code {code!r}")
    return chosen, list(accumulate(g.weight for g in chosen))


@cache
def _open(bucket: int) -> tuple[tuple[Group, ...], list[float]]:
    """Groups open for the whole half hour ``bucket`` (its first and last second)."""
    start = bucket * BUCKET_S
    chosen = tuple(g for g in groups() if g.open_at(start) and g.open_at(start + BUCKET_S - 1))
    if not chosen:
        return _weighted(None)
    return chosen, list(accumulate(g.weight for g in chosen))


def any_number(rng: random.Random, code: str | None = None) -> str:
    """A valid number of calling code ``code`` (``"44"``), else of the weighted mix."""
    return _choose(rng, *_weighted(code))


def in_hours(rng: random.Random, ts_ns: int) -> str:
    """A valid number of a country in business hours at ``ts_ns`` (ns since the epoch)."""
    return _choose(rng, *_open(ts_ns // (BUCKET_S * _NS)))


def open_codes(ts_ns: int) -> set[str]:
    """Calling codes with callers at ``ts_ns`` (for tests and docs)."""
    return {g.code for g in _open(ts_ns // (BUCKET_S * _NS))[0]}


def fixed_block(region: str, count: int) -> list[str]:
    """``count`` valid fixed-line numbers of ``region`` (a company's DID block)."""
    example = phonenumbers.example_number_for_type(region, _FIXED)
    if example is None:
        raise KeyError(f"libphonenumber has no fixed-line example for {region!r}")
    code = phonenumbers.country_code_for_region(region)
    national = phonenumbers.national_significant_number(example)
    return _varied(code, national[:-3], 3, _FIXED)[:count]
