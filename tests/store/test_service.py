"""The service's store: one writer thread, group commits, idempotent inserts, keys, audit."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from calltrace.model import Alert, CallEvent, CallEventType, alert_id
from calltrace.store import schema
from calltrace.store.acm import (
    event_row,
    get_alert,
    ingest_job,
    recent_state,
    service_alert_row,
    triage_job,
)
from calltrace.store.keys import create_key, find_key, hash_key, revoke_key
from calltrace.store.service import ServiceStore

T0 = 1767603600.0


def _event(i: int, ts: float) -> CallEvent:
    return CallEvent(type=CallEventType.ATTEMPT, ts=ts, a_number=f"a{i}", b_number="b",
                     call_id=f"c{i}", source="api")  # fmt: skip


def _alert(first: float) -> Alert:
    return Alert(id=alert_id("multicall_masking", "b", first), rule="multicall_masking",
                 severity="high", score=60, title="t", entity_type="b_number", entity="b",
                 first_seen=first, last_seen=first + 1, call_ids=("c1",),
                 evidence={"distinct_callers": 5})  # fmt: skip


def test_events_and_alerts_are_stored_once_however_often_sent(db_url: str) -> None:
    """The same event keys and alert id sent twice leave one row each."""
    store = ServiceStore(db_url)
    rows = [event_row(_event(i, T0 + i), f"c:attempt:c{i}", T0 + 10) for i in range(3)]
    alerts = [service_alert_row(_alert(T0), T0 + 10)]
    store.submit(ingest_job(rows, alerts)).result()
    store.submit(ingest_job(rows, alerts)).result()
    counts = store.read(
        lambda conn: (
            conn.execute(sa.select(sa.func.count()).select_from(schema.api_events)).scalar(),
            conn.execute(sa.select(sa.func.count()).select_from(schema.alerts)).scalar(),
        )
    )
    store.close()
    assert counts == (3, 1)


def test_a_failing_job_fails_alone(db_url: str) -> None:
    """Jobs that share a commit with a failing one are still committed; the failing one
    raises its own exception through its future."""
    store = ServiceStore(db_url)
    gate = threading.Event()
    store.submit(lambda conn: gate.wait(5))  # holds the writer so the next three batch up
    good = store.submit(ingest_job([event_row(_event(1, T0), "k1", T0)], []))
    bad = store.submit(lambda conn: conn.exec_driver_sql("SELECT * FROM no_such_table").all())
    good2 = store.submit(ingest_job([event_row(_event(2, T0), "k2", T0)], []))
    gate.set()
    assert good.result() == 1 and good2.result() == 1
    with pytest.raises(sa.exc.SQLAlchemyError):
        bad.result()
    keys = store.read(lambda conn: conn.execute(sa.select(schema.api_events.c.event_key)).all())
    store.close()
    assert sorted(k for (k,) in keys) == ["k1", "k2"]


def test_close_finishes_queued_jobs(tmp_path: object) -> None:
    """Jobs queued before close are committed; after close a job fails at once."""
    store = ServiceStore(f"sqlite:///{tmp_path}/c.db")
    futures = [store.submit(ingest_job([event_row(_event(i, T0), f"k{i}", T0)], []))
               for i in range(50)]  # fmt: skip
    store.close()
    assert all(f.result() == 1 for f in futures)
    with pytest.raises(RuntimeError):
        store.submit(lambda conn: None).result()


def test_recent_state_is_the_tail_by_event_time(db_url: str) -> None:
    """Events within the window of the newest, alerts within the cooldown, recent keys."""
    store = ServiceStore(db_url)
    rows = [event_row(_event(i, T0 + i), f"k{i}", 100.0 + i) for i in range(10)]
    store.submit(ingest_job(rows, [service_alert_row(_alert(T0), 0.0),
                                   service_alert_row(_alert(T0 - 100), 0.0)])).result()  # fmt: skip
    state = store.read(lambda conn: recent_state(conn, window=3.0, cooldown=20.0,
                                                 dedup_since=107.0))  # fmt: skip
    store.close()
    assert [e.call_id for e in state.events] == ["c6", "c7", "c8", "c9"]
    assert state.events[0] == _event(6, T0 + 6)
    assert [a.first_seen for a in state.alerts] == [T0]
    assert sorted(k for k, _, _ in state.keys) == ["k7", "k8", "k9"]
    assert (state.total_events, state.total_alerts) == (10, 2)


def test_triage_keeps_who_when_and_history(db_url: str) -> None:
    """Two changes: the alert holds the last; the history and audit hold both, in order."""
    store = ServiceStore(db_url)
    store.submit(ingest_job([], [service_alert_row(_alert(T0), 5.0)])).result()
    ident = _alert(T0).id
    store.submit(triage_job(ident, {"status": "investigating"}, actor="ann", at=10.0)).result()
    row = store.submit(triage_job(ident, {"notes": "fine"}, actor="bob", at=20.0)).result()
    missing = store.submit(triage_job("nope", {"notes": "x"}, actor="bob", at=20.0)).result()
    again = store.read(lambda conn: get_alert(conn, ident))
    store.close()
    assert missing is None
    assert row is not None and again == row
    assert (row["status"], row["notes"], row["updated_by"], row["updated_at"]) == (
        "investigating", "fine", "bob", 20.0)  # fmt: skip
    assert row["history"] == [
        {"at": 10.0, "by": "ann", "status": "investigating", "notes": None},
        {"at": 20.0, "by": "bob", "status": None, "notes": "fine"},
    ]


def test_keys_create_find_revoke(db_url: str) -> None:
    """A created key is found by its hash until revoked; revoking is audited."""
    store = ServiceStore(db_url)
    key, row = store.submit(lambda c: create_key(c, name="sw", role="analyst", at=1.0)).result()
    assert key.startswith("ct_") and len(key) == 46
    found = store.read(lambda conn: find_key(conn, hash_key(key)))
    assert found == {"id": row["id"], "name": "sw", "role": "analyst", "prefix": key[:10]}
    assert store.submit(lambda conn: revoke_key(conn, "sw", at=2.0)).result() == 1
    assert store.read(lambda conn: find_key(conn, hash_key(key))) is None
    actions = store.read(
        lambda conn: [r.action for r in conn.execute(sa.select(schema.audit_log.c.action))]
    )
    store.close()
    assert actions == ["key.create", "key.revoke"]
    with pytest.raises(ValueError):
        create_key(None, name="x", role="root", at=0.0)  # type: ignore[arg-type]
