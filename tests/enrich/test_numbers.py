"""Number intelligence: normalisation, types per country, risk, range helpers."""

from __future__ import annotations

import pickle

import pytest

from calltrace.enrich.numbers import (
    NumberConfig,
    NumberIntel,
    load_risk_list,
    number_distance,
    same_range,
    split_user,
)

GB = NumberIntel(NumberConfig(default_region="GB"))
US = NumberIntel(NumberConfig(default_region="US"))
NONE = NumberIntel()


@pytest.mark.parametrize(
    ("raw", "e164", "country", "kind"),
    [
        ("+44 20 7946 0000", "+442079460000", "GB", "fixed_line"),  # London 020
        ("09098790000", "+449098790000", "GB", "premium_rate"),  # Ofcom 09 premium
        ("0808 157 0000", "+448081570000", "GB", "toll_free"),  # Ofcom 080 freephone
        ("07400 123456", "+447400123456", "GB", "mobile"),  # Ofcom 074 mobile
        ("+1 800 555 1234", "+18005551234", "US", "toll_free"),  # NANP 800
        ("+49 170 1234567", "+491701234567", "DE", "mobile"),  # DE 0170 mobile
        ("+49 30 123456", "+4930123456", "DE", "fixed_line"),  # Berlin 030
        ("+33 6 12 34 56 78", "+33612345678", "FR", "mobile"),  # FR 06 mobile
        ("+881631412345", "+881631412345", None, "satellite"),  # Iridium +8816
        ("+870772001799", "+870772001799", None, "satellite"),  # Inmarsat
        ("+8821612345678", "+8821612345678", None, "satellite"),  # Thuraya +88216
        ("+883510012345", "+883510012345", None, "international_network"),
    ],
)
def test_types_per_country(raw: str, e164: str, country: str | None, kind: str) -> None:
    """Numbers of known ranges get the country and type of their national plan."""
    info = GB.lookup(raw)
    assert info is not None
    assert (info.e164, info.country, info.type) == (e164, country, kind)


@pytest.mark.parametrize(
    ("intel", "raw"),
    [
        (GB, "0044 20 7946 0000"),
        (GB, "020-7946-0000"),
        (GB, "(020) 7946.0000"),
        (GB, "tel:+44-20-7946-0000"),
        (GB, "sip:+442079460000@gw.example.com;user=phone"),
        (GB, "sips:02079460000@pbx.example.com"),
        (GB, "7946 0000;phone-context=+4420"),
        (US, "011 44 20 7946 0000"),
        (NONE, "00442079460000"),
        (NONE, "011442079460000"),
        (NONE, "442079460000"),  # E.164 without the "+"
    ],
)
def test_prefixes_and_forms_normalise_to_e164(intel: NumberIntel, raw: str) -> None:
    """Every written form of the same London number normalises to one E.164."""
    info = intel.lookup(raw)
    assert info is not None and info.e164 == "+442079460000" and info.valid


def test_configured_international_prefix() -> None:
    """An operator's own international prefix (here AU's 0011) is stripped when configured."""
    intel = NumberIntel(NumberConfig(default_region="GB", international_prefixes=("0011",)))
    info = intel.lookup("0011 49 30 123456")
    assert info is not None and info.e164 == "+4930123456"


def test_011_is_not_international_in_gb() -> None:
    """Under GB, 0113 is Leeds (a national number), not the US international prefix."""
    info = GB.lookup("0113 496 0000")
    assert info is not None and info.e164 == "+441134960000" and info.country == "GB"


def test_invalid_and_unparseable() -> None:
    """Unallocated numbers are invalid; letters give no E.164; no input gives None."""
    short = GB.lookup("+4400")
    assert short is not None and not short.valid and not short.possible
    assert short.country == "GB" and short.type == "unknown"
    word = GB.lookup("alice")
    assert word is not None and word.e164 is None and not word.valid
    assert GB.lookup(None) is None and GB.lookup("") is None


def test_international_against_home_region() -> None:
    """International is judged against the home region; without one it is unknown."""
    assert GB.lookup("+4930123456").international is True  # type: ignore[union-attr]
    assert GB.lookup("02079460000").international is False  # type: ignore[union-attr]
    assert NONE.lookup("+4930123456").international is None  # type: ignore[union-attr]


def test_risk_from_type_and_destination_list() -> None:
    """Premium and satellite numbers are risky by type; Cuba by the destination list."""
    assert GB.lookup("09098790000").risk == ("premium_rate",)  # type: ignore[union-attr]
    assert GB.lookup("+881631412345").risk == ("satellite",)  # type: ignore[union-attr]
    cuba = GB.lookup("+53 7 8301234")
    assert cuba is not None and cuba.risk == ("irsf_destination",) and cuba.risk_note == "Cuba"
    jamaica = GB.lookup("+1 876 555 1234")
    assert jamaica is not None and "wangiri_destination" in jamaica.risk
    assert GB.lookup("02079460000").risk == ()  # type: ignore[union-attr]


def test_home_country_is_not_a_risky_destination() -> None:
    """A Cuban operator's domestic calls are not flagged by the destination list."""
    intel = NumberIntel(NumberConfig(default_region="CU"))
    assert intel.lookup("+53 7 8301234").risk == ()  # type: ignore[union-attr]


def test_every_risk_entry_has_a_source() -> None:
    """Each shipped high-risk entry names its reason and the source it is known from."""
    entries = load_risk_list()
    assert len(entries) >= 20
    assert all(e.prefix.isdigit() and e.reason and e.source for e in entries)


def test_custom_risk_file(tmp_path: object) -> None:
    """A user's own risk file replaces the shipped list."""
    from pathlib import Path

    path = Path(str(tmp_path)) / "risk.toml"
    path.write_text('[[destination]]\nprefix = "+4930"\nreason = "watchlist"\n')
    intel = NumberIntel(NumberConfig(default_region="GB", risk_file=str(path)))
    assert intel.lookup("+4930123456").risk == ("watchlist",)  # type: ignore[union-attr]
    assert intel.lookup("+53 7 8301234").risk == ()  # type: ignore[union-attr]


def test_cli_status() -> None:
    """Caller IDs are valid, extensions, withheld, unallocated or not numbers at all."""
    assert GB.cli_status("+442079460000") == "valid"
    assert GB.cli_status("2001") == "extension"
    assert GB.cli_status("Anonymous") == "anonymous"
    assert GB.cli_status("+4400") == "invalid"
    assert GB.cli_status("x-attacker") == "unparseable"
    assert GB.cli_status(None) == "missing"
    assert GB.is_valid_cli("2001") and not GB.is_valid_cli("2001", allow_extensions=False)
    assert not GB.is_valid_cli("+4400")


def test_same_range_and_distance() -> None:
    """Numbers differing in the last digits share a range; distance is their difference."""
    assert same_range("+37167000012", "+37167000099", 2)
    assert not same_range("+37167000012", "+37167000112", 2)
    assert not same_range("+3716700001", "+37167000012", 2)
    assert number_distance("+442079460001", "+442079460009") == 8
    assert number_distance(GB.lookup("02079460000"), "+442079460010") == 10  # type: ignore[arg-type]
    assert number_distance("+4420", "+442079460009") is None


def test_split_user() -> None:
    """URIs give their user part; the phone-context parameter is returned apart."""
    assert split_user("sip:+1-201-555-0123@x;user=phone") == ("+12015550123", None)
    assert split_user("tel:7042;phone-context=+1-201") == ("7042", "+1201")


def test_cache_and_pickle() -> None:
    """Repeated lookups hit the cache; an instance pickles with its config, cache emptied."""
    intel = NumberIntel(NumberConfig(default_region="GB", cache_size=4))
    intel.lookup("02079460000")
    intel.lookup("02079460000")
    assert intel.cache_info().hits == 1
    clone = pickle.loads(pickle.dumps(intel))
    assert clone.config == intel.config and clone.cache_info().currsize == 0
