"""The /acm routes in-process, on SQLite and PostgreSQL: figures computed by hand."""

from __future__ import annotations

from typing import Any

import pytest

from calltrace.model import alert_id
from calltrace.store.acm import audit_records
from calltrace.store.db import open_engine
from tests.api.conftest import Api

T0 = 1767603600.0  # 2026-01-05T09:00:00Z
B = "+442071234567"


def _call(i: int, *, b: str = B, ts: float | None = None, **extra: Any) -> dict[str, Any]:
    body = {"a_number": f"+1555010{i:04d}", "b_number": b, "call_id": f"c{i}-{b}"} | extra
    if ts is not None:
        body["timestamp"] = ts
    return body


def _burst(api: Api, n: int, *, b: str = B, t0: float = T0) -> list[dict[str, Any]]:
    return [api.post("/acm/call", _call(i, b=b, ts=t0 + i * 0.5)).json() for i in range(n)]


def test_fifth_caller_within_window_is_detected(api: Api) -> None:
    """Five distinct A-numbers to one B-number within 5 s: the fifth answers detected,
    with the alert id of rule, B-number and the first call's time."""
    results = _burst(api, 5)
    assert [r["detected"] for r in results] == [False, False, False, False, True]
    assert [r["distinct_a_count"] for r in results] == [1, 2, 3, 4, 5]
    last = results[-1]
    assert last == {
        "detected": True,
        "b_number": B,
        "call_count": 5,
        "distinct_a_count": 5,
        "window_seconds": 5.0,
        "threshold": 5,
        "alert_id": alert_id("multicall_masking", B, T0, "high"),
    }
    assert "alert_id" not in results[0]


def test_calls_during_cooldown_refer_to_the_open_alert(api: Api) -> None:
    """A sixth caller 0.5 s later raises no new alert but answers detected with the same id."""
    results = _burst(api, 6)
    assert results[5]["detected"] is True
    assert results[5]["alert_id"] == results[4]["alert_id"]
    with open_engine(api.db).connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM alerts").scalar() == 1


def test_same_a_number_repeated_is_one_caller(api: Api) -> None:
    """Five calls from one A-number are five calls but one distinct caller: no detection."""
    results = [api.post("/acm/call", _call(0, ts=T0 + i, call_id=f"r{i}")).json() for i in range(5)]
    assert [(r["call_count"], r["distinct_a_count"]) for r in results][-1] == (5, 1)
    assert not any(r["detected"] for r in results)


def test_window_slides(api: Api) -> None:
    """Calls more than 5 s before the newest one leave the window."""
    api.post("/acm/call", _call(0, ts=T0))
    api.post("/acm/call", _call(1, ts=T0 + 3))
    result = api.post("/acm/call", _call(2, ts=T0 + 5.5)).json()
    assert (result["call_count"], result["distinct_a_count"]) == (2, 2)


def test_batch_answers_each_event_in_order(api: Api) -> None:
    """A batch gives one result per event, in the order posted, across B-numbers."""
    events = [_call(i, b=B if i % 2 == 0 else "+15550999", ts=T0 + i * 0.1) for i in range(10)]
    results = api.post("/acm/calls/batch", {"events": events}).json()["results"]
    assert [r["b_number"] for r in results] == [e["b_number"] for e in events]
    assert [r["distinct_a_count"] for r in results] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert [r["detected"] for r in results] == [False] * 8 + [True, True]


def test_retried_event_is_not_counted_twice(api: Api) -> None:
    """The same call_id posted again is a duplicate: answered, not counted, stored once."""
    first = _burst(api, 3)[-1]
    again = api.post("/acm/call", _call(2, ts=T0 + 1.0)).json()
    assert again["duplicate"] is True
    assert (again["call_count"], again["distinct_a_count"]) == (3, 3)
    assert first["call_count"] == 3
    stats = api.get("/acm/stats").json()
    assert (stats["total_calls"], stats["duplicates"]) == (3, 1)


def test_event_without_timestamp_takes_arrival_time(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no timestamp the arrival time (the API edge's clock) is the event time."""
    import calltrace.api.routes.acm as routes

    monkeypatch.setattr(routes.time, "time", lambda: T0 + 100.0)
    result = api.post("/acm/call", {"a_number": "+1", "b_number": B, "call_id": "x"}).json()
    assert result["call_count"] == 1
    engine = open_engine(api.db)
    with engine.connect() as conn:
        ts = conn.exec_driver_sql("SELECT ts, received_at FROM api_events").one()
    assert tuple(ts) == (T0 + 100.0, T0 + 100.0)


def test_alert_is_listed_read_and_triaged_with_history(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The alert shows in the last N minutes, reads back by id, and a PATCH keeps status,
    notes, who and when, in the alert, its history and the audit log."""
    import calltrace.api.routes.acm as routes

    monkeypatch.setattr(routes.time, "time", lambda: T0 + 60.0)
    _burst(api, 5)
    listed = api.get("/acm/alerts", params={"minutes": 2}).json()
    assert listed["count"] == 1
    ident = alert_id("multicall_masking", B, T0, "high")
    alert = listed["alerts"][0]
    assert (alert["id"], alert["status"], alert["entity"]) == (ident, "new", B)
    assert alert["first_seen"] == "2026-01-05T09:00:00.000000Z"
    assert api.get("/acm/alerts", params={"minutes": 0.5}).json()["count"] == 0
    changed = api.patch(f"/acm/alerts/{ident}", {"status": "confirmed", "notes": "SIM box"})
    assert changed.status_code == 200
    body = api.get(f"/acm/alerts/{ident}").json()
    assert (body["status"], body["notes"], body["updated_by"]) == (
        "confirmed",
        "SIM box",
        "key:2:analyst",
    )
    assert body["updated_at"] == "2026-01-05T09:01:00.000000Z"
    assert body["history"] == [
        {"at": "2026-01-05T09:01:00.000000Z", "by": "key:2:analyst", "status": "confirmed",
         "notes": "SIM box"}
    ]  # fmt: skip
    with open_engine(api.db).connect() as conn:
        records = audit_records(conn, target=f"alert:{ident}")
    assert [(r["action"], r["detail"]["previous"]["status"]) for r in records] == [
        ("alert.triage", "new")
    ]


def test_triage_of_unknown_alert_is_404_and_bad_status_422(api: Api) -> None:
    """An unknown id is not found; a status outside the five is rejected by name."""
    assert api.patch("/acm/alerts/nope", {"status": "resolved"}).status_code == 404
    assert api.get("/acm/alerts/nope").status_code == 404
    bad = api.patch("/acm/alerts/nope", {"status": "done"})
    assert bad.status_code == 422
    assert bad.json()["error"]["detail"][0]["loc"] == ["body", "status"]
    assert api.patch("/acm/alerts/nope", {}).status_code == 404  # an empty change reads


def test_threat_levels_follow_the_window_and_the_alerts(api: Api) -> None:
    """Two callers of five is low, three medium; after the alert the number is high."""
    _burst(api, 2)
    assert api.get("/acm/threat", params={"b_number": B}).json()["level"] == "low"
    api.post("/acm/call", _call(2, ts=T0 + 1.0))
    assert api.get("/acm/threat", params={"b_number": B}).json()["level"] == "medium"
    api.post("/acm/call", _call(3, ts=T0 + 1.5))
    api.post("/acm/call", _call(4, ts=T0 + 2.0))
    threat = api.get("/acm/threat", params={"b_number": B}).json()
    assert (threat["level"], threat["risk_score"], threat["distinct_a_count"]) == ("high", 60, 5)
    quiet = api.get("/acm/threat", params={"b_number": "+999"}).json()
    assert (quiet["level"], quiet["call_count"]) == ("none", 0)
    listed = api.get("/acm/threats").json()
    assert [t["b_number"] for t in listed["threats"]] == [B]


def test_stats_count_calls_alerts_and_rate(api: Api) -> None:
    """Ten calls with one alert: a detection rate of 0.1."""
    _burst(api, 5)
    _burst(api, 5, b="+15550999", t0=T0 + 100)
    stats = api.get("/acm/stats").json()
    assert (stats["total_calls"], stats["total_alerts"]) == (10, 2)
    assert stats["detection_rate"] == pytest.approx(0.2)
    assert stats["avg_latency_ms"] > 0


def test_config_change_applies_to_the_next_event(api: Api) -> None:
    """Lowering the threshold to 3 makes the third caller detected; the window is kept."""
    _burst(api, 2)
    changed = api.post("/acm/config", {"threshold": 3}, role="admin")
    assert changed.status_code == 200
    assert changed.json()["threshold"] == 3
    result = api.post("/acm/call", _call(2, ts=T0 + 1.0)).json()
    assert (result["detected"], result["threshold"], result["distinct_a_count"]) == (True, 3, 3)
    config = api.get("/acm/config").json()
    assert config == {
        "window_seconds": 5.0,
        "threshold": 3,
        "cooldown_seconds": 30.0,
        "auto_disconnect": False,
        "auto_block": False,
        "rules": ["multicall_masking"],
    }
    with open_engine(api.db).connect() as conn:
        records = audit_records(conn, target="config:acm")
    assert records[0]["detail"]["changes"] == {"threshold": 3}
    assert records[0]["actor"] == "key:3:admin"


def test_config_values_are_validated(api: Api) -> None:
    """A zero window, a threshold of 1 or an unknown setting is a 422 naming the field."""
    for body, field in [({"window_seconds": 0}, "window_seconds"), ({"threshold": 1},
                        "threshold"), ({"treshold": 3}, "treshold")]:  # fmt: skip
        answer = api.post("/acm/config", body, role="admin")
        assert answer.status_code == 422
        assert answer.json()["error"]["detail"][0]["loc"][-1] == field


def test_health_names_version_and_database(api: Api) -> None:
    """/health needs no key and reports the database."""
    body = api.client.get("/health").json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["database"]["dialect"] in ("sqlite", "postgresql")


def test_metrics_count_calls_alerts_and_drops(api: Api) -> None:
    """The seed's metric names are there with the counts of what was posted."""
    _burst(api, 5)
    api.post("/acm/call", _call(1, ts=T0 + 0.5))  # a duplicate
    text = api.get("/metrics").text
    assert "acm_calls_processed_total 5.0" in text
    assert 'acm_alerts_generated_total{rule="multicall_masking"} 1.0' in text
    assert "acm_detection_latency_seconds_count 6.0" in text
    assert 'calltrace_ingest_events_total{source="api"} 6.0' in text
    assert 'calltrace_dropped_events_total{reason="duplicate",source="api"} 1.0' in text
