"""The Enricher: calls and events in, number/IP/device facts out; the JSON and show views."""

from __future__ import annotations

import pickle
from pathlib import Path

from calltrace.enrich.enricher import EnrichConfig, Enricher
from calltrace.enrich.geo import GeoConfig
from calltrace.enrich.numbers import NumberConfig
from calltrace.model import Call, CallEvent, CallEventType
from calltrace.pipeline import Analysis, Stats
from calltrace.report.jsondoc import document
from tests.report.test_jsondoc import _documented_keys

ENRICHER = Enricher(
    EnrichConfig(numbers=NumberConfig(default_region="GB"), geo=GeoConfig(bundled=False))
)
DOC = Path(__file__).resolve().parents[2] / "docs" / "json.md"


def test_call_enrichment_dict() -> None:
    """A call's caller, callee, source address and device are described in one dict."""
    call = Call(
        call_id="c1",
        state="completed",
        start=0.0,
        caller="02079460000",
        callee="+881631412345",
        src_ip="100.64.3.4",
        user_agent="friendly-scanner",
    )
    facts = ENRICHER.call_dict(call)
    assert facts["caller"]["e164"] == "+442079460000" and facts["caller"]["international"] is False
    assert facts["callee"]["type"] == "satellite" and facts["callee"]["risk"] == ["satellite"]
    assert facts["src_ip"]["scope"] == "cgnat"
    assert facts["user_agent"]["scanner"] == "sipvicious"


def test_stored_row_and_missing_values() -> None:
    """A stored call row enriches like a Call; absent values give null entries."""
    facts = ENRICHER.call_dict({"caller": "+4930123456", "src_ip": None})
    assert facts["caller"]["country"] == "DE"
    assert facts["callee"] is None and facts["src_ip"] is None and facts["user_agent"] is None


def test_event_enrichment_uses_event_vocabulary() -> None:
    """A call event's A-number, B-number and source IP are enriched as records."""
    event = CallEvent(
        type=CallEventType.ATTEMPT,
        ts=0.0,
        a_number="anonymous",
        b_number="09098790000",
        source_ip="10.0.0.8",
        user_agent="Asterisk PBX 18.9.0",
    )
    facts = ENRICHER.event(event)
    assert facts.b_number is not None and facts.b_number.type == "premium_rate"
    assert facts.a_number is not None and facts.a_number.e164 is None
    assert facts.source_ip is not None and facts.source_ip.scope == "private"
    assert facts.user_agent is not None and facts.user_agent.stack == "asterisk"


def test_config_from_mapping() -> None:
    """An [enrich] TOML table sets the regions, prefixes and database files."""
    config = EnrichConfig.from_mapping(
        {"default_region": "US", "home_region": "CA", "international_prefixes": ["011"]}
    )
    assert config.numbers.default_region == "US" and config.numbers.home == "CA"
    assert config.numbers.international_prefixes == ("011",)
    assert EnrichConfig.from_env({"CALLTRACE_ASN_DB": "/x.mmdb"}).geo.asn_db == "/x.mmdb"


def test_pickle() -> None:
    """An enricher pickles with its configuration."""
    assert pickle.loads(pickle.dumps(ENRICHER)).config == ENRICHER.config


def test_every_enrichment_key_is_documented() -> None:
    """Each call in the JSON document has an enrichment whose keys docs/json.md lists."""
    call = Call(call_id="c1", state="completed", start=0.0, caller="+4930123456")
    analysis = Analysis(
        files=[], stats=Stats(), calls=[call], registrations=[], errors=[], out_of_dialog={}
    )
    enrichment = document(analysis, ENRICHER)["calls"][0]["enrichment"]
    assert set(enrichment) <= _documented_keys("calls[].enrichment")
    described = DOC.read_text().split("## `calls[].enrichment`", 1)[1].split("\n## ", 1)[0]
    full = ENRICHER.call_dict(
        {"caller": "1", "callee": "2", "src_ip": "10.0.0.1", "user_agent": "x"}
    )
    for facts in full.values():
        for key in facts:
            assert f"`{key}`" in described, key
