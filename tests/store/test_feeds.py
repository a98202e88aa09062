"""Blocklist and IOC queries over stored alerts, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from calltrace.model import Alert, alert_id
from calltrace.pipeline import FileResult
from calltrace.store import schema
from calltrace.store.db import open_engine
from calltrace.store.feeds import blocklist, iocs
from calltrace.store.writer import StoreSink

T0 = 1767603600.0


def _alert(rule: str, entity_type: str, entity: str, last: float, **evidence: object) -> Alert:
    return Alert(id=alert_id(rule, entity, last - 5), rule=rule, severity="high", score=70,
                 title="t", entity_type=entity_type, entity=entity, first_seen=last - 5,
                 last_seen=last, evidence=evidence)  # fmt: skip


def _engine(db_url: str) -> sa.Engine:
    engine = open_engine(db_url)
    sink = StoreSink(engine)
    sink.begin_file("alerts.jsonl")
    sink.add_alerts([
        _alert("scan", "source_ip", "192.0.2.7", T0, user_agent="friendly-scanner"),
        _alert("scan", "source_ip", "192.0.2.8", T0 - 7200),
        _alert("scan", "source_ip", "192.0.2.9", T0),
        _alert("multicall_masking", "b_number", "+15550100", T0, a_numbers=["+15550201"]),
    ])  # fmt: skip
    sink.end_file(FileResult(path="alerts.jsonl", sha256="c" * 64))
    sink.close()
    with engine.begin() as conn:  # an analyst's triage
        conn.execute(sa.update(schema.alerts).where(schema.alerts.c.entity == "192.0.2.9")
                     .values(status="false_positive"))  # fmt: skip
    return engine


def test_blocklist_holds_recent_attackers_only(db_url: str) -> None:
    """Within an hour's ttl: 192.0.2.7; 192.0.2.8 expired, 192.0.2.9 a false positive."""
    engine = _engine(db_url)
    entries = blocklist(engine, now=T0 + 60, ttl=3600)
    assert [(e.ip, e.expires) for e in entries] == [("192.0.2.7", T0 + 3600)]
    assert [e.ip for e in blocklist(engine, now=T0, ttl=3 * 3600)] == ["192.0.2.7", "192.0.2.8"]
    assert blocklist(engine, now=T0, ttl=3600, rules=["multicall_masking"]) == []


def test_iocs_query_filters_by_time_and_rule(db_url: str) -> None:
    """All IOCs unbounded; since drops the old scan; a rule filter keeps its indicators."""
    engine = _engine(db_url)
    assert [(i.type, i.value) for i in iocs(engine)] == [
        ("ip", "192.0.2.7"), ("ip", "192.0.2.8"), ("number", "+15550100"),
        ("number", "+15550201"), ("user_agent", "friendly-scanner"),
    ]  # fmt: skip
    assert "192.0.2.8" not in [i.value for i in iocs(engine, since=T0 - 60)]
    masking = iocs(engine, rules=["multicall_masking"])
    assert [i.value for i in masking] == ["+15550100", "+15550201"]
