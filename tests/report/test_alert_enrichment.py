"""Alerts in the JSON document carry the enrichment of their entity (issue 4)."""

from __future__ import annotations

from typing import Any

from calltrace.enrich.enricher import EnrichConfig, Enricher
from calltrace.enrich.geo import GeoConfig
from calltrace.model import Alert, alert_id
from calltrace.pipeline import Analysis, Stats
from calltrace.report.jsondoc import alert_json, document
from tests.report.test_jsondoc import _documented_keys

ENRICHER = Enricher(EnrichConfig(geo=GeoConfig(bundled=False)))  # no IP database: fast


def _alert(entity_type: str, entity: str, **evidence: Any) -> Alert:
    return Alert(id=alert_id("r", entity, 1.0), rule="r", severity="high", score=70,
                 title="t", entity_type=entity_type, entity=entity, first_seen=1.0,
                 last_seen=2.0, evidence=evidence)  # fmt: skip


def test_a_source_ip_alert_carries_address_and_device_facts() -> None:
    """A source-IP alert gets its address scope; a user agent in the evidence its device."""
    alert = _alert("source_ip", "192.168.7.9", user_agent="friendly-scanner")
    enrichment = alert_json(alert, ENRICHER)["enrichment"]
    assert enrichment["ip"]["scope"] == "private" and enrichment["number"] is None
    assert enrichment["user_agent"]["scanner"] == "sipvicious"
    assert enrichment["user_agent"]["stack"] == "scanner"


def test_a_number_alert_carries_number_facts() -> None:
    """A B-number alert gets country and type from libphonenumber (+44 20: a London line)."""
    enrichment = alert_json(_alert("b_number", "+442079460000"), ENRICHER)["enrichment"]
    assert enrichment["number"]["country"] == "GB"
    assert enrichment["number"]["type"] == "fixed_line"
    assert enrichment["ip"] is None and enrichment["user_agent"] is None


def test_other_entities_have_null_facts() -> None:
    """An account is neither address nor number: every key is null."""
    enrichment = alert_json(_alert("account", "acct-7"), ENRICHER)["enrichment"]
    assert enrichment == {"ip": None, "number": None, "user_agent": None}


def test_alert_enrichment_keys_are_documented() -> None:
    """The document's alerts carry `enrichment`, whose keys docs/json.md lists."""
    analysis = Analysis(files=[], stats=Stats(), calls=[], registrations=[], errors=[],
                        out_of_dialog={}, alerts=[_alert("source_ip", "10.0.0.1")])  # fmt: skip
    (alert,) = document(analysis, ENRICHER)["alerts"]
    assert "enrichment" in _documented_keys("alerts[]")
    assert set(alert["enrichment"]) == _documented_keys("alerts[].enrichment")
