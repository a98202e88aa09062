"""Number intelligence: what a SIP user part or a CDR number is, from libphonenumber.

Detectors ask "is this B-number premium rate, satellite, abroad?" (toll_fraud, irsf) and
"is this A-number a number at all?" (cli_spoofing). Google's libphonenumber (the
``phonenumbers`` port) holds the numbering plans of every country, kept up to date from
the regulators' allocations, so nothing here is a hand-written range table except the
short high-risk destination list in ``data/high_risk.toml`` (each entry with its source).

Normalisation (what a number may look like on the wire):

- ``tel:`` URIs and ``sip:``/``sips:`` URIs (the user part is taken, RFC 3261 §19.1.1);
- RFC 3966 visual separators ``-``, ``.``, ``(``, ``)`` and spaces are dropped;
- ``;phone-context=+44`` makes a local number global (RFC 3966 §5.1.5);
- ``+4420...`` is E.164; ``0044...``/``011 44...`` are international dialling: with a
  ``default_region`` that region's own international prefix is recognised (libphonenumber
  knows ``00`` for GB, ``011`` for US, ``0011`` for AU), ``international_prefixes`` adds
  more; without a region ``00`` and ``011`` are taken. (``011`` is not stripped by default
  under a region: in GB ``0113...`` is Leeds, not an international call.)
- national numbers (``020 7946 0000``) need ``default_region``;
- trunks often send E.164 without the ``+`` (``442079460000``): when the number does not
  parse as dialled, the same digits with a ``+`` are tried, and taken only if valid.

libphonenumber has no satellite type: numbers under the ITU-T E.164 codes of the Global
Mobile Satellite System (+881), Inmarsat (+870) and Thuraya (+882 16) are typed
``satellite``; the rest of +882/+883 (international networks) ``international_network``.
phonenumbers costs ~90-150 µs of CPU a number; for ``+`` numbers (and E.164 without its
``+``) the same metadata is asked through a compiled plan (:mod:`.numberplan`, ~20-40 µs,
equal answers held by a test), and every lookup is cached (a bounded LRU per instance): a
repeated number costs well under a microsecond (docs/enrichment.md has the figures).

>>> intel = NumberIntel(NumberConfig(default_region="GB"))
>>> info = intel.lookup("sip:09098790000@pbx.example.com")
>>> (info.e164, info.country, info.type, info.risk)
('+449098790000', 'GB', 'premium_rate', ('premium_rate',))
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberType

from calltrace.enrich._common import CachedLookup, read_data
from calltrace.enrich.numberplan import UNKNOWN, NumberFacts, NumberPlan

#: libphonenumber's types under the names CallTrace uses in JSON and rules.
TYPE_NAMES: dict[int, str] = {
    PhoneNumberType.FIXED_LINE: "fixed_line",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal_number",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
}
#: E.164 prefixes (digits) of satellite services (ITU-T E.164 assigned codes).
SATELLITE_PREFIXES = ("870", "881", "88216")
#: ITU "international networks" codes: shared by many carriers, IRSF favourites.
INTERNATIONAL_NETWORK_CODES = frozenset({882, 883})
#: Number types that are a toll-fraud risk wherever they are.
DEFAULT_RISKY_TYPES = frozenset(
    {"premium_rate", "shared_cost", "satellite", "international_network"}
)
#: What a withheld caller ID looks like in From user parts (RFC 3323 and common practice).
ANONYMOUS = frozenset({"anonymous", "restricted", "unavailable", "unknown", "private", "withheld"})
#: Longest user part still taken for an internal extension rather than a public number.
EXTENSION_MAX_DIGITS = 6

_SEPARATORS = str.maketrans("", "", " -.()\t")
_DIALLABLE = frozenset("+0123456789*#")


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskEntry:
    """One high-risk destination: an E.164 prefix, why, and where that is known from."""

    prefix: str
    reason: str
    note: str = ""
    source: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class NumberConfig:
    """How numbers are read and judged; ``home_region`` defaults to ``default_region``."""

    default_region: str | None = None
    home_region: str | None = None
    international_prefixes: tuple[str, ...] | None = None
    risky_types: frozenset[str] = DEFAULT_RISKY_TYPES
    risk_file: str | None = None  # None: the list shipped in calltrace/enrich/data
    cache_size: int = 65536

    @property
    def home(self) -> str | None:
        return self.home_region or self.default_region


@dataclass(frozen=True, slots=True, kw_only=True)
class NumberInfo:
    """What a number is. ``country`` is an ISO 3166-1 region (None for non-geographic
    numbers such as +881); ``international`` compares it with the home region (None when
    there is no home region or the number did not parse); ``risk`` lists the reasons it
    is a toll-fraud risk (empty when it is not)."""

    raw: str
    digits: str  # the dialled digits after normalisation, without separators
    e164: str | None = None
    country: str | None = None
    calling_code: int | None = None
    type: str = "unknown"
    valid: bool = False
    possible: bool = False
    international: bool | None = None
    risk: tuple[str, ...] = ()
    risk_note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (the ``enrichment`` of a call, docs/json.md)."""
        return {
            "e164": self.e164,
            "country": self.country,
            "calling_code": self.calling_code,
            "type": self.type,
            "valid": self.valid,
            "possible": self.possible,
            "international": self.international,
            "risk": list(self.risk),
        }


def split_user(raw: str) -> tuple[str, str | None]:
    """The dialled string of a number, URI or user part, and its ``phone-context``.

    >>> split_user("tel:+1-201-555-0123")
    ('+12015550123', None)
    >>> split_user("sip:7042;phone-context=+4930@example.com;user=phone")
    ('7042', '+4930')
    """
    text = raw.strip()
    lowered = text[:5].lower()
    if lowered.startswith(("sip:", "sips:")):
        text = text.split(":", 1)[1].split("@", 1)[0]
    elif lowered.startswith("tel:"):
        text = text[4:]
    number, _, params = text.partition(";")
    context = None
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "phone-context" and value:
            context = value.strip().translate(_SEPARATORS)
    return number.translate(_SEPARATORS), context


@lru_cache(maxsize=8)
def load_risk_list(path: str | None = None) -> tuple[RiskEntry, ...]:
    """Read a high-risk destination file (TOML ``[[destination]]`` tables); once per path."""
    entries = tomllib.loads(read_data("high_risk.toml", path)).get("destination", [])
    return tuple(
        RiskEntry(
            prefix=str(e["prefix"]).lstrip("+"),
            reason=str(e.get("reason", "high_risk_destination")),
            note=str(e.get("note", "")),
            source=str(e.get("source", "")),
        )
        for e in entries
    )


class NumberIntel(CachedLookup[NumberInfo]):
    """Parses and judges numbers, with a bounded cache (one per instance).

    >>> NumberIntel().lookup("+881631412345").type
    'satellite'
    """

    def __init__(self, config: NumberConfig | None = None) -> None:
        self.config = config or NumberConfig()
        region = self.config.default_region
        self._region = region.upper() if region else None
        prefixes = self.config.international_prefixes
        if prefixes is None:
            prefixes = () if self._region else ("00", "011")
        # longest first, so "0011" wins over "00"
        self._prefixes = tuple(sorted(prefixes, key=len, reverse=True))
        self._risks = {e.prefix: e for e in load_risk_list(self.config.risk_file)}
        self._risk_lengths = sorted({len(p) for p in self._risks}, reverse=True)
        self._plan = NumberPlan()
        self._init_cache(self.config.cache_size, self.config)

    def lookup(self, raw: str | None) -> NumberInfo | None:
        """What ``raw`` is (None for no number); cached by the exact input string."""
        return self._get(raw)

    # -- parsing ---------------------------------------------------------------------
    def _lookup(self, raw: str) -> NumberInfo:
        text, context = split_user(raw)
        if not text or not set(text) <= _DIALLABLE or "+" in text[1:]:
            return NumberInfo(raw=raw, digits=text)
        digits = text.lstrip("+")
        facts = self._fast(text, context)
        if facts is None:
            parsed = self._parse(text, context)
            facts = _NOT_A_NUMBER if parsed is None else _facts(parsed)
        if facts is _NOT_A_NUMBER:
            return NumberInfo(raw=raw, digits=digits)
        return self._describe(raw, digits, facts)

    def _fast(self, text: str, context: str | None) -> NumberFacts | None:
        """The compiled plan's answer (enrich/numberplan.py) where it decides exactly as
        :meth:`_parse` and phonenumbers would; ``_NOT_A_NUMBER`` where they would not
        parse the number; None where phonenumbers must be asked."""
        if context is not None:
            return None
        if text.startswith("+"):
            return self._plan.describe(text)
        if self._region is not None:
            return None
        for prefix in self._prefixes:
            if text.startswith(prefix) and len(text) > len(prefix) + 3:
                return self._plan.describe("+" + text[len(prefix) :])
        # no region and no "+": phonenumbers cannot parse it as dialled; the same
        # digits with a "+" are taken only when valid (E.164 written without its "+")
        if len(text) < 8:
            return _NOT_A_NUMBER
        facts = self._plan.describe("+" + text)
        if facts is None or facts.valid:
            return facts
        return _NOT_A_NUMBER

    def _parse(self, text: str, context: str | None) -> PhoneNumber | None:
        region = self._region
        if text.startswith("+"):
            candidate = text
        elif context and context.startswith("+"):
            candidate = context + text
        else:
            candidate = text
            for prefix in self._prefixes:
                if text.startswith(prefix) and len(text) > len(prefix) + 3:
                    candidate = "+" + text[len(prefix) :]
                    break
        number = _parse_or_none(candidate, region)
        if candidate is text and len(text) >= 8 and not _valid(number):
            # E.164 without its "+", as many trunks and CDRs write it
            plus = _parse_or_none("+" + text, None)
            if _valid(plus):
                return plus
        return number

    def _describe(self, raw: str, digits: str, facts: NumberFacts) -> NumberInfo:
        e164 = facts.e164
        region = facts.region
        if region is None and facts.calling_code:
            # an invalid number still has the country of its calling code
            region = phonenumbers.region_code_for_country_code(facts.calling_code)
        country = None if region in (None, "001", "ZZ") else region
        kind = _number_type(e164, facts)
        home = self.config.home
        international: bool | None = None
        if home and (country or facts.valid):
            international = country != home.upper()
        risk: list[str] = [kind] if kind in self.config.risky_types else []
        note = None
        entry = self._risk_entry(e164[1:])
        if entry is not None and international is not False:
            if entry.reason not in risk:
                risk.append(entry.reason)
            note = entry.note
        return NumberInfo(
            raw=raw,
            digits=digits,
            e164=e164,
            country=country,
            calling_code=facts.calling_code,
            type=kind,
            valid=facts.valid,
            possible=facts.possible,
            international=international,
            risk=tuple(risk),
            risk_note=note,
        )

    def _risk_entry(self, digits: str) -> RiskEntry | None:
        for length in self._risk_lengths:
            entry = self._risks.get(digits[:length])
            if entry is not None:
                return entry
        return None

    # -- helpers for rules -----------------------------------------------------------
    def cli_status(self, raw: str | None) -> str:
        """What a caller ID (A-number) is: ``valid``, ``extension`` (a short internal
        number), ``anonymous`` (withheld, RFC 3323), ``invalid`` (a number libphonenumber
        says is unallocated or impossible), ``unparseable`` (not a number) or ``missing``.

        >>> intel = NumberIntel(NumberConfig(default_region="GB"))
        >>> [intel.cli_status(n) for n in ("+442079460000", "201", "anonymous", "+4400", "bob")]
        ['valid', 'extension', 'anonymous', 'invalid', 'unparseable']
        """
        if not raw:
            return "missing"
        text, _ = split_user(raw)
        if text.lower() in ANONYMOUS:
            return "anonymous"
        info = self.lookup(raw)
        assert info is not None
        if info.valid:
            return "valid"
        local = not text.startswith("+")
        if local and info.digits.isdigit() and len(info.digits) <= EXTENSION_MAX_DIGITS:
            return "extension"
        return "invalid" if info.digits.isdigit() else "unparseable"

    def is_valid_cli(self, raw: str | None, *, allow_extensions: bool = True) -> bool:
        """Whether an A-number could really be a caller's number (cli_spoofing)."""
        status = self.cli_status(raw)
        return status == "valid" or (allow_extensions and status == "extension")


def _parse_or_none(text: str, region: str | None) -> PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except NumberParseException:
        return None


def _valid(number: PhoneNumber | None) -> bool:
    return number is not None and phonenumbers.is_valid_number(number)


def _facts(number: PhoneNumber) -> NumberFacts:
    """phonenumbers' own answer for a parsed number (the path for what NumberPlan leaves)."""
    valid = phonenumbers.is_valid_number(number)
    kind = TYPE_NAMES.get(phonenumbers.number_type(number), UNKNOWN) if valid else UNKNOWN
    return NumberFacts(
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        region=phonenumbers.region_code_for_number(number),
        calling_code=number.country_code or 0,
        type=kind,
        valid=valid,
        possible=phonenumbers.is_possible_number(number),
    )


#: What :meth:`NumberIntel._fast` answers for input phonenumbers would not parse.
_NOT_A_NUMBER = NumberFacts(
    e164="", region=None, calling_code=0, type=UNKNOWN, valid=False, possible=False
)


def _number_type(e164: str, facts: NumberFacts) -> str:
    """The type under CallTrace's names: satellite and international networks first
    (libphonenumber has neither), then libphonenumber's type of a valid number."""
    if e164[1:].startswith(SATELLITE_PREFIXES):
        return "satellite"
    if facts.calling_code in INTERNATIONAL_NETWORK_CODES:
        return "international_network"
    return facts.type if facts.valid else UNKNOWN


def _digits_of(number: str | NumberInfo) -> str:
    if isinstance(number, NumberInfo):
        return number.e164[1:] if number.e164 else number.digits
    text, _ = split_user(number)
    return text.lstrip("+")


def number_distance(a: str | NumberInfo, b: str | NumberInfo) -> int | None:
    """How far apart two numbers are when read as integers of the same length
    (``+44 20 7946 0001`` and ``...0009`` are 8 apart), None when they cannot be compared
    (different lengths or not all digits). Used for "sequential or near B-numbers".

    >>> number_distance("+442079460001", "tel:+44-20-7946-0009")
    8
    """
    da, db = _digits_of(a), _digits_of(b)
    if len(da) != len(db) or not (da.isdigit() and db.isdigit()):
        return None
    return abs(int(da) - int(db))


def same_range(a: str | NumberInfo, b: str | NumberInfo, digits: int = 2) -> bool:
    """Whether two numbers differ only in their last ``digits`` digits (one number range,
    as IRSF pumps one advertised range).

    >>> same_range("+37167000012", "+37167000099", 2), same_range("+37167000012", "+37167000112", 2)
    (True, False)
    """
    da, db = _digits_of(a), _digits_of(b)
    if len(da) != len(db) or not (da.isdigit() and db.isdigit()) or digits < 0:
        return False
    cut = max(len(da) - digits, 0)
    return da[:cut] == db[:cut]


__all__ = [
    "DEFAULT_RISKY_TYPES",
    "NumberConfig",
    "NumberInfo",
    "NumberIntel",
    "RiskEntry",
    "load_risk_list",
    "number_distance",
    "same_range",
    "split_user",
]
