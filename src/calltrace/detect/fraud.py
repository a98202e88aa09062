"""What the call-fraud rules share: who placed a call, and a fast "is this destination a
toll-fraud risk?" for B-numbers at event rate.

Who: toll fraud, mass dialing and concurrency are counted per *source* of calls: the
authenticated account when the event carries one (CDRs, event files, PBX logs), else the
source IP (SIP from a trunk or a compromised PBX), else the A-number. :func:`source_of`
makes that choice; alerts name the value and say which kind it is in their evidence.

Destinations: :class:`DestinationRisk` answers ``risk(b_number)`` with the reasons of
``enrich.numbers.NumberIntel`` (premium rate, shared cost, satellite, international
networks, the high-risk list), but a full libphonenumber parse costs ~130 µs and a carrier
sees a million distinct B-numbers an hour, more than any cache holds. So E.164 numbers
(``+`` and digits, what trunks send) are first screened with libphonenumber's own
metadata: the calling code, then one regular expression per calling code made of the
national-number patterns of the risky types of every region sharing the code (the
patterns ``phonenumbers.number_type`` itself tests), and the risky prefixes (satellite,
international networks, the high-risk list). A number that matches none of them cannot be
risky and costs ~1 µs; one that matches, and every number not in E.164 form, goes to the
cached ``NumberIntel`` for the exact answer. The screen only ever lets through more
numbers than are risky, never fewer.

>>> risk = DestinationRisk()
>>> risk.risk("+447700900123"), risk.risk("+881631412345"), risk.risk("+449098790000")
((), ('satellite',), ('premium_rate',))
>>> source_of(CallEvent(type=CallEventType.ATTEMPT, ts=0.0, source_ip="203.0.113.9"))
('source_ip', '203.0.113.9')
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneMetadata

from calltrace.enrich.numbers import (
    DEFAULT_RISKY_TYPES,
    SATELLITE_PREFIXES,
    TYPE_NAMES,
    NumberConfig,
    NumberIntel,
    load_risk_list,
)
from calltrace.model import CallEvent, CallEventType

__all__ = [
    "CallEventType",
    "DestinationRisk",
    "attempt_source",
    "destinations",
    "number_value",
    "source_of",
]

#: libphonenumber's PhoneMetadata attribute of each type name CallTrace uses.
_DESC_OF = {
    "premium_rate": "premium_rate",
    "toll_free": "toll_free",
    "shared_cost": "shared_cost",
    "voip": "voip",
    "personal_number": "personal_number",
    "pager": "pager",
    "uan": "uan",
    "voicemail": "voicemail",
    "mobile": "mobile",
    "fixed_line": "fixed_line",
}
_PREFIX_TYPES = {"satellite", "international_network"}
#: ITU calling codes as strings (E.164 codes are prefix-free: at most one matches).
_CALLING_CODES = frozenset(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


def source_of(event: CallEvent) -> tuple[str, str] | None:
    """``(kind, value)`` of who placed a call: account, else source IP, else A-number."""
    if event.account:
        return "account", event.account
    if event.source_ip:
        return "source_ip", event.source_ip
    if event.a_number:
        return "a_number", event.a_number
    return None


def attempt_source(item: object) -> str | None:
    """The partition key of rules that count attempts per source (None: not an attempt)."""
    if type(item) is CallEvent and item.type is CallEventType.ATTEMPT:
        source = source_of(item)
        return None if source is None else source[1]
    return None


def destinations(
    default_region: str, home_region: str, risk_file: str, risky_types: tuple[str, ...] = ()
) -> DestinationRisk:
    """The shared :class:`DestinationRisk` of a rule's number parameters ("" = unset;
    no ``risky_types``: the enrichment defaults)."""
    return DestinationRisk.shared(
        NumberConfig(
            default_region=default_region or None,
            home_region=home_region or None,
            risky_types=frozenset(risky_types) if risky_types else DEFAULT_RISKY_TYPES,
            risk_file=risk_file or None,
        )
    )


def number_value(raw: str | None) -> int | None:
    """A number's digits as an integer (``+``, ``tel:``/``sip:`` and separators dropped),
    None when it is not all digits: the "distance" of sequential-number rules.

    >>> number_value("sip:+44-20-7946-0001@x"), number_value("anonymous")
    (442079460001, None)
    """
    if not raw:
        return None
    if raw[0] == "+" and raw[1:].isdigit() and len(raw) <= 19:  # E.164: the common case
        return int(raw[1:])
    text = raw
    if text[:4].lower() in ("sip:", "tel:") or text[:5].lower() == "sips:":
        text = text.split(":", 1)[1].split("@", 1)[0].split(";", 1)[0]
    text = text.lstrip("+").replace("-", "").replace(" ", "").replace(".", "")
    return int(text) if text.isdigit() and len(text) <= 18 else None


class DestinationRisk:
    """Why a B-number is a toll-fraud risk, screened fast (see the module docstring).

    Holds a ``NumberIntel`` (bounded LRU) and the compiled screens, both made on first
    use; pickles as its ``NumberConfig``.
    """

    def __init__(self, config: NumberConfig | None = None) -> None:
        self.config = config or NumberConfig()
        self._intel: NumberIntel | None = None
        self._screens: dict[str, re.Pattern[str] | None] = {}
        self._prefixes: re.Pattern[str] | None = None
        self._screening = set(self.config.risky_types) <= set(_DESC_OF) | _PREFIX_TYPES

    def __reduce__(self) -> tuple[object, ...]:
        return (DestinationRisk.shared, (self.config,))

    @staticmethod
    @lru_cache(maxsize=8)
    def shared(config: NumberConfig) -> DestinationRisk:
        """One instance per configuration, so rules with the same number settings
        (toll_fraud, irsf) share its cache and pay each cold look-up once."""
        return DestinationRisk(config)

    @property
    def intel(self) -> NumberIntel:
        if self._intel is None:
            self._intel = NumberIntel(self.config)
        return self._intel

    def risk(self, raw: str | None) -> tuple[str, ...]:
        """The reasons ``raw`` is a risky destination (empty: it is not)."""
        if not raw:
            return ()
        if self._screening and raw[0] == "+" and raw[1:].isdigit() and not self._maybe(raw[1:]):
            return ()
        info = self.intel.lookup(raw)
        return () if info is None else info.risk

    def calling_code(self, digits: str) -> str | None:
        """The ITU calling code that ``digits`` (E.164 without ``+``) starts with."""
        for size in (1, 2, 3):
            if digits[:size] in _CALLING_CODES:
                return digits[:size]
        return None

    def _maybe(self, digits: str) -> bool:
        """False only when no risky type or prefix can match ``digits``."""
        prefixes = self._prefixes
        if prefixes is None:
            prefixes = self._prefixes = self._prefix_screen()
        if prefixes.match(digits):
            return True
        code = self.calling_code(digits)
        if code is None:
            return True  # not a known calling code: let libphonenumber say
        if code in self._screens:
            screen = self._screens[code]
        else:
            screen = self._screens[code] = self._code_screen(int(code))
        return screen is not None and screen.fullmatch(digits, len(code)) is not None

    def _prefix_screen(self) -> re.Pattern[str]:
        prefixes = [e.prefix for e in load_risk_list(self.config.risk_file)]
        risky = self.config.risky_types
        if "satellite" in risky:
            prefixes += SATELLITE_PREFIXES
        if "international_network" in risky:
            prefixes += ["882", "883"]
        alternatives = "|".join(sorted({re.escape(p) for p in prefixes}, key=len, reverse=True))
        return re.compile(f"(?:{alternatives})" if alternatives else "(?!)")

    def _code_screen(self, code: int) -> re.Pattern[str] | None:
        """One pattern: the risky types' national-number patterns of the code's regions."""
        regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code, ())
        patterns = []
        for region in regions:
            if region == "001":
                metadata = PhoneMetadata.metadata_for_nongeo_region(code)
            else:
                metadata = PhoneMetadata.metadata_for_region(region)
            if metadata is None:
                continue
            for kind in self.config.risky_types & set(_DESC_OF):
                desc = getattr(metadata, _DESC_OF[kind], None)
                if desc is not None and desc.national_number_pattern:
                    patterns.append(desc.national_number_pattern)
        if not patterns:
            return None
        return re.compile("|".join(f"(?:{p})" for p in sorted(set(patterns))))


assert set(_DESC_OF) <= set(TYPE_NAMES.values())
