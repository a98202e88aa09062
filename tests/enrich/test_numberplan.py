"""The compiled number plan answers exactly as phonenumbers does, where it answers."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from calltrace.enrich.numberplan import NumberPlan
from calltrace.enrich.numbers import NumberConfig, NumberInfo, NumberIntel

CODES = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
TYPES = [
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.MOBILE,
    PhoneNumberType.TOLL_FREE,
    PhoneNumberType.PREMIUM_RATE,
    PhoneNumberType.SHARED_COST,
    PhoneNumberType.VOIP,
    PhoneNumberType.PERSONAL_NUMBER,
    PhoneNumberType.PAGER,
    PhoneNumberType.UAN,
    PhoneNumberType.VOICEMAIL,
]


def _examples() -> list[str]:
    """Every region's example number of every type, in E.164, and neighbours of each:
    the last two digits changed, one digit more, one digit fewer."""
    rng = random.Random(7)
    out: list[str] = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in TYPES:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, PhoneNumberFormat.E164)
            out += [e164, e164[:-2] + f"{rng.randrange(100):02d}", e164 + "5", e164[:-1]]
    return out


EXAMPLES = _examples()


def _slow(raw: str, config: NumberConfig | None = None) -> NumberInfo | None:
    """What NumberIntel answers with the compiled plan switched off."""
    intel = NumberIntel(config)
    intel._fast = lambda text, context: None  # type: ignore[method-assign]
    return intel._lookup(raw)


def test_examples_of_every_region_and_type_answer_as_phonenumbers() -> None:
    """On all regions' example numbers and their neighbours, lookup equals phonenumbers'."""
    fast = NumberIntel()
    decided = 0
    for raw in EXAMPLES:
        decided += fast._plan.describe(raw) is not None
        assert fast._lookup(raw) == _slow(raw), raw
    # the plan must decide most of them, or it saves nothing
    assert decided > 0.8 * len(EXAMPLES)


def test_plus_less_and_international_prefix_forms_answer_as_phonenumbers() -> None:
    """E.164 written without "+", or after 00/011, gives phonenumbers' answer."""
    fast = NumberIntel()
    for e164 in EXAMPLES[::3]:
        for raw in (e164[1:], "00" + e164[1:], "011" + e164[1:], e164[1:5]):
            assert fast._lookup(raw) == _slow(raw), raw


@pytest.mark.parametrize("region", ["GB", "US", "IT", "DE"])
def test_a_default_region_changes_nothing_for_plus_numbers(region: str) -> None:
    """With a default region, "+" numbers still answer as phonenumbers does."""
    config = NumberConfig(default_region=region)
    fast = NumberIntel(config)
    for raw in EXAMPLES[::7]:
        assert fast._lookup(raw) == _slow(raw, config), raw


@settings(max_examples=400, deadline=None)
@given(
    code=st.sampled_from(CODES),
    rest=st.text(alphabet="0123456789", min_size=0, max_size=18),
)
def test_random_numbers_answer_as_phonenumbers(code: int, rest: str) -> None:
    """A random digit string after any calling code answers as phonenumbers does."""
    raw = f"+{code}{rest}"
    assert NumberIntel()._lookup(raw) == _slow(raw)


def test_the_plan_leaves_what_the_parser_might_rewrite() -> None:
    """Leading zeros, national prefixes and non-geographic codes go to phonenumbers."""
    plan = NumberPlan()
    assert plan.describe("+390612345678") is None  # Italian leading zero
    assert plan.describe("+12015550123") is not None
    assert plan.describe("+112015550123") is None  # US national prefix "1" after +1
    assert plan.describe("+881631412345") is None  # +881: non-geographic
    assert plan.describe("12015550123") is None  # no "+"
    facts = plan.describe("+12015550123")
    assert facts is not None
    assert (facts.region, facts.type, facts.valid) == ("US", "fixed_line_or_mobile", True)
