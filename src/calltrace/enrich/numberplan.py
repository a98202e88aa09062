"""libphonenumber's answer for an E.164 number, without libphonenumber's per-call overhead.

Why this exists: on a carrier capture nearly every call brings two numbers never seen
before, so the lookup cache in :mod:`calltrace.enrich.numbers` rarely hits, and
``phonenumbers`` spends ~90 µs a number deciding validity and type. Most of that is not
the regular expressions but the layers around them: ``is_valid_number`` and
``number_type`` each resolve the region again (for +1 by trying up to 25 NANP regions'
patterns), and every pattern goes through a compile-cache lookup. This module asks the
same questions of the same metadata (``phonenumbers``' own ``PhoneMetadata``; no range
is written by hand), once, with the patterns compiled up front: ~6 µs a number
(docs/enrichment.md).

It answers only for inputs where that is safe to do without re-implementing the parser:
``+`` and digits, a geographic calling code, a national number that does not start with
``0`` (Italian-style leading zeros) and that the region's national-prefix rule does not
touch. Everything else returns ``None`` and the caller asks ``phonenumbers`` itself.
A test holds the two equal on every region's example numbers and on random numbers.

>>> plan = NumberPlan()
>>> facts = plan.describe("+442079460000")
>>> (facts.e164, facts.region, facts.calling_code, facts.type, facts.valid, facts.possible)
('+442079460000', 'GB', 44, 'fixed_line', True, True)
>>> plan.describe("+39061234567") is None   # leading zero: phonenumbers decides
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, PhoneNumberType

#: The longest and shortest national significant number libphonenumber parses.
_MIN_NSN, _MAX_NSN = 2, 17
#: The order in which libphonenumber tries the special types (phonenumberutil
#: ``_number_type_helper``); fixed line and mobile are decided after them.
_TYPE_ORDER = (
    ("premium_rate", PhoneNumberType.PREMIUM_RATE),
    ("toll_free", PhoneNumberType.TOLL_FREE),
    ("shared_cost", PhoneNumberType.SHARED_COST),
    ("voip", PhoneNumberType.VOIP),
    ("personal_number", PhoneNumberType.PERSONAL_NUMBER),
    ("pager", PhoneNumberType.PAGER),
    ("uan", PhoneNumberType.UAN),
    ("voicemail", PhoneNumberType.VOICEMAIL),
)
#: A number that matches no type: invalid.
UNKNOWN = "unknown"

_Desc = tuple[frozenset[int], "re.Pattern[str]"] | None


@dataclass(frozen=True, slots=True)
class NumberFacts:
    """What libphonenumber would say of a number: its E.164 form, the region it belongs to
    (None when no region of its calling code claims it), validity, type and whether its
    length is possible."""

    e164: str
    region: str | None
    calling_code: int
    type: str
    valid: bool
    possible: bool


def _desc(desc: Any) -> _Desc:
    """A number description as (possible lengths, compiled pattern), or None when it can
    match nothing (libphonenumber: no pattern, or an empty one)."""
    if desc is None or not desc.national_number_pattern:
        return None
    return frozenset(desc.possible_length), re.compile(desc.national_number_pattern)


def _matches(nsn: str, desc: _Desc) -> bool:
    """libphonenumber's ``_is_number_matching_desc``: the length first, then the pattern."""
    if desc is None:
        return False
    lengths, pattern = desc
    if lengths and len(nsn) not in lengths:
        return False
    return pattern.fullmatch(nsn) is not None


class _Region:
    """One region's metadata, compiled: what ``_number_type_helper`` reads."""

    __slots__ = ("fixed", "general", "leading", "mobile", "prefix", "same", "types")

    def __init__(self, meta: Any) -> None:
        self.general = _desc(meta.general_desc)
        self.types = [(name, _desc(getattr(meta, name))) for name, _ in _TYPE_ORDER]
        self.types = [(name, d) for name, d in self.types if d is not None]
        self.fixed = _desc(meta.fixed_line)
        self.mobile = _desc(meta.mobile)
        self.same = bool(meta.same_mobile_and_fixed_line_pattern)
        self.leading = re.compile(meta.leading_digits) if meta.leading_digits else None
        rule = meta.national_prefix_for_parsing
        self.prefix = re.compile(rule) if rule else None

    def type_of(self, nsn: str) -> str:
        """The number's type in this region, ``unknown`` when it is not a number here."""
        if not _matches(nsn, self.general):
            return UNKNOWN
        for name, desc in self.types:
            if _matches(nsn, desc):
                return name
        if _matches(nsn, self.fixed):
            if self.same or _matches(nsn, self.mobile):
                return "fixed_line_or_mobile"
            return "fixed_line"
        if not self.same and _matches(nsn, self.mobile):
            return "mobile"
        return UNKNOWN


class NumberPlan:
    """Validity and type of ``+``-numbers from libphonenumber's metadata, compiled per
    calling code on first use."""

    def __init__(self) -> None:
        self._regions: dict[int, list[tuple[str, _Region]] | None] = {}
        self._possible: dict[tuple[int, int], bool] = {}

    def describe(self, text: str) -> NumberFacts | None:
        """What libphonenumber says of ``text`` (``+`` and digits), or None when this
        module does not decide it (see the module docstring)."""
        digits = text[1:]
        if text[:1] != "+" or not digits.isascii() or not digits.isdigit() or digits[0] == "0":
            return None
        if len(digits) <= _MIN_NSN:
            return None
        for size in (1, 2, 3):
            code = int(digits[:size])
            if code in COUNTRY_CODE_TO_REGION_CODE:
                break
        else:
            return None
        nsn = digits[size:]
        regions = self._compiled(code)
        if regions is None or not _MIN_NSN <= len(nsn) <= _MAX_NSN or nsn[0] == "0":
            return None
        main = regions[0][1]
        if main.prefix is not None and main.prefix.match(nsn):
            return None  # the parser might strip a national prefix: let it decide
        region, kind = self._region_of(regions, nsn)
        return NumberFacts(
            e164=f"+{code}{nsn}",
            region=region,
            calling_code=code,
            type=kind,
            valid=kind != UNKNOWN,
            possible=self._is_possible(code, nsn),
        )

    def _compiled(self, code: int) -> list[tuple[str, _Region]] | None:
        if code not in self._regions:
            names = COUNTRY_CODE_TO_REGION_CODE[code]
            metas = [(n, PhoneMetadata.metadata_for_region(n, None)) for n in names]
            geographic = names[0] != phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY
            self._regions[code] = (
                [(n, _Region(m)) for n, m in metas if m is not None] or None if geographic else None
            )
        return self._regions[code]

    @staticmethod
    def _region_of(regions: list[tuple[str, _Region]], nsn: str) -> tuple[str | None, str]:
        """libphonenumber's ``region_code_for_number`` (the first region whose leading
        digits or patterns claim the number), and the number's type there."""
        if len(regions) == 1:
            name, region = regions[0]
            return name, region.type_of(nsn)
        for name, region in regions:
            if region.leading is not None:
                if region.leading.match(nsn):
                    return name, region.type_of(nsn)
                continue
            kind = region.type_of(nsn)
            if kind != UNKNOWN:
                return name, kind
        return None, UNKNOWN

    def _is_possible(self, code: int, nsn: str) -> bool:
        """``is_possible_number``: it depends only on the calling code and the length."""
        key = (code, len(nsn))
        known = self._possible.get(key)
        if known is None:
            number = phonenumbers.PhoneNumber(country_code=code, national_number=int(nsn))
            known = self._possible[key] = phonenumbers.is_possible_number(number)
        return known


__all__ = ["UNKNOWN", "NumberFacts", "NumberPlan"]
