"""Alerts in the store (migration 0003), on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa

from calltrace.model import Alert, alert_id
from calltrace.pipeline import FileResult
from calltrace.store import schema
from calltrace.store.db import open_engine
from calltrace.store.queries import find_alerts
from calltrace.store.writer import StoreSink

T0 = 1767603600.0


def _alert(entity: str, first: float) -> Alert:
    return Alert(
        id=alert_id("multicall_masking", entity, first), rule="multicall_masking",
        severity="high", score=60, title="5 callers", entity_type="b_number", entity=entity,
        first_seen=first, last_seen=first + 2, call_ids=("c1", "c2"),
        evidence={"a_numbers": ["a1", "a2"], "distinct_callers": 2},
    )  # fmt: skip


def _store(engine: sa.Engine, sha: str, alerts: list[Alert]) -> None:
    sink = StoreSink(engine)
    sink.begin_file(f"{sha}.jsonl")
    sink.add_alerts(alerts)
    sink.end_file(FileResult(path=f"{sha}.jsonl", sha256=sha))
    sink.close()


def test_alerts_round_trip(db_url: str) -> None:
    """Every field of an alert comes back, JSON columns as lists and objects, status new."""
    engine = open_engine(db_url)
    _store(engine, "a" * 64, [_alert("+1555", T0), _alert("+1666", T0 - 5)])
    rows = find_alerts(engine)
    assert [r["entity"] for r in rows] == ["+1666", "+1555"]  # oldest first
    row = rows[1]
    assert row["id"] == alert_id("multicall_masking", "+1555", T0)
    assert row["evidence"] == {"a_numbers": ["a1", "a2"], "distinct_callers": 2}
    assert row["call_ids"] == ["c1", "c2"] and row["status"] == "new"
    assert (row["first_seen"], row["last_seen"], row["score"]) == (T0, T0 + 2, 60)
    assert [r["entity"] for r in find_alerts(engine, entity="+1555")] == ["+1555"]


def test_same_alert_from_another_file_replaces_its_row(db_url: str) -> None:
    """An alert id seen again (same evidence in another file) is one row, naming the newest."""
    engine = open_engine(db_url)
    _store(engine, "a" * 64, [_alert("+1555", T0)])
    _store(engine, "b" * 64, [_alert("+1555", T0)])
    with engine.connect() as conn:
        rows = conn.execute(sa.select(schema.alerts.c.capture_id)).all()
        newest = conn.execute(
            sa.select(schema.captures.c.id).where(schema.captures.c.sha256 == "b" * 64)
        ).scalar_one()
    assert [r.capture_id for r in rows] == [newest]


def test_reanalysis_replaces_a_captures_alerts(db_url: str) -> None:
    """Analysing the same file again leaves its alerts once (the capture cascade)."""
    engine = open_engine(db_url)
    _store(engine, "a" * 64, [_alert("+1555", T0), _alert("+1777", T0)])
    _store(engine, "a" * 64, [_alert("+1555", T0)])
    assert [r["entity"] for r in find_alerts(engine)] == ["+1555"]


def test_escalation_is_its_own_row_and_a_repeated_id_one_row(db_url: str) -> None:
    """A critical escalation of a burst is stored beside its high alert; a repeat, once."""
    engine = open_engine(db_url)
    high = _alert("+1777", T0)
    critical = dataclasses.replace(
        high, severity="critical", id=alert_id("multicall_masking", "+1777", T0, "critical")
    )
    _store(engine, "e" * 64, [high, critical, high])
    rows = find_alerts(engine, entity="+1777")
    assert sorted(r["severity"] for r in rows) == ["critical", "high"]
