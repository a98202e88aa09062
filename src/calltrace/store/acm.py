"""The service's rows: posted events, the service's alerts and their triage, the audit log.

Every write here is a *job* for :class:`calltrace.store.service.ServiceStore` (a
function of a connection, run by the one writer thread); every read takes a connection.
Times are float epoch seconds: event time for events and alerts, wall-clock time for
``received_at``, ``created_at``, ``updated_at`` and audit records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from calltrace.model import Alert, CallEvent, CallEventType
from calltrace.store import schema
from calltrace.store.writer import alert_row, insert_ignore

#: Triage states of an alert (the issue's list; ``new`` is where every alert starts).
STATUSES = ("new", "investigating", "confirmed", "false_positive", "resolved")


def event_row(event: CallEvent, key: str, received_at: float) -> dict[str, Any]:
    """The ``api_events`` row of one posted event under its idempotency key."""
    return {
        "event_key": key,
        "ts": event.ts,
        "received_at": received_at,
        "type": event.type.value,
        "call_id": event.call_id,
        "a_number": event.a_number,
        "b_number": event.b_number,
        "source_ip": event.source_ip,
        "switch_id": event.switch_id,
        "source": event.source,
    }


def service_alert_row(alert: Alert, created_at: float, source: str = "api") -> dict[str, Any]:
    """The ``alerts`` row of an alert the service raised (it has no capture)."""
    return alert_row(alert) | {"capture_id": None, "created_at": created_at, "source": source}


def ingest_job(
    events: list[dict[str, Any]], alerts: list[dict[str, Any]]
) -> Any:  # returns a Job; typed loosely to keep the call sites short
    """A write job storing posted events and the alerts they raised, both idempotently."""

    def job(conn: sa.Connection) -> int:
        insert_ignore(conn, schema.api_events, events)
        insert_ignore(conn, schema.alerts, alerts)
        return len(events)

    return job


def audit(
    conn: sa.Connection, *, at: float, actor: str, action: str, target: str, detail: Any
) -> None:
    """One audit record (call it inside the job that makes the change)."""
    conn.execute(
        schema.audit_log.insert().values(
            at=at, actor=actor, action=action, target=target, detail=detail
        )
    )


def triage_job(
    alert_id: str, changes: dict[str, Any], *, actor: str, at: float
) -> Any:  # returns a Job
    """A write job changing an alert's status and/or notes, with its audit record;
    the job returns the alert's new row as a dict, or None when there is no such alert."""

    def job(conn: sa.Connection) -> dict[str, Any] | None:
        alerts = schema.alerts
        before = conn.execute(
            sa.select(alerts.c.status, alerts.c.notes).where(alerts.c.id == alert_id)
        ).first()
        if before is None:
            return None
        values = changes | {"updated_at": at, "updated_by": actor}
        conn.execute(alerts.update().where(alerts.c.id == alert_id).values(**values))
        detail = changes | {"previous": {"status": before.status, "notes": before.notes}}
        audit(conn, at=at, actor=actor, action="alert.triage", target=f"alert:{alert_id}",
              detail=detail)  # fmt: skip
        return get_alert(conn, alert_id)

    return job


def get_alert(conn: sa.Connection, alert_id: str) -> dict[str, Any] | None:
    """One alert with its triage history (oldest first), or None."""
    alerts = schema.alerts
    row = conn.execute(sa.select(alerts).where(alerts.c.id == alert_id)).mappings().first()
    if row is None:
        return None
    log = schema.audit_log
    history = conn.execute(
        sa.select(log.c.at, log.c.actor, log.c.detail)
        .where(log.c.target == f"alert:{alert_id}", log.c.action == "alert.triage")
        .order_by(log.c.id)
    ).all()
    out = dict(row)
    out["history"] = [
        {"at": at, "by": actor, "status": d.get("status"), "notes": d.get("notes")}
        for at, actor, d in history
    ]
    return out


def find_alerts(
    conn: sa.Connection,
    *,
    since: float,
    status: str | None = None,
    rule: str | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """Alerts whose evidence reaches ``since`` or later (event time), newest first."""
    alerts = schema.alerts
    query = sa.select(alerts).where(alerts.c.last_seen >= since)
    if status is not None:
        query = query.where(alerts.c.status == status)
    if rule is not None:
        query = query.where(alerts.c.rule == rule)
    query = query.order_by(alerts.c.last_seen.desc(), alerts.c.id).limit(limit)
    return [dict(row) for row in conn.execute(query).mappings()]


def alerts_of_entity(conn: sa.Connection, entity: str, since: float) -> list[dict[str, Any]]:
    """An entity's alerts whose evidence reaches ``since`` or later, newest first."""
    alerts = schema.alerts
    query = (
        sa.select(alerts)
        .where(alerts.c.entity == entity, alerts.c.last_seen >= since)
        .order_by(alerts.c.last_seen.desc())
    )
    return [dict(row) for row in conn.execute(query).mappings()]


def recent_alert_counts(
    conn: sa.Connection, *, since: float, entity: str | None = None
) -> dict[str, tuple[int, str | None]]:
    """Per B-number with alerts whose evidence reaches ``since``: how many, newest id."""
    alerts = schema.alerts
    query = (
        sa.select(alerts.c.entity, alerts.c.id)
        .where(alerts.c.entity_type == "b_number", alerts.c.last_seen >= since)
        .order_by(alerts.c.last_seen)
    )
    if entity is not None:
        query = query.where(alerts.c.entity == entity)
    out: dict[str, tuple[int, str | None]] = {}
    for name, alert_id in conn.execute(query):
        out[name] = (out.get(name, (0, None))[0] + 1, alert_id)
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class RecentState:
    """What a (re)started service needs to carry on where it stopped."""

    events: list[CallEvent]  # posted events of the last detection window, in time order
    alerts: list[Alert]  # alerts still cooling down
    keys: list[tuple[str, float, float]]  # (event_key, received_at, ts): dedup memory
    total_events: int
    total_alerts: int


def recent_state(
    conn: sa.Connection, *, window: float, cooldown: float, dedup_since: float
) -> RecentState:
    """The tail of the store, measured back from its newest event (event time)."""
    events_t, alerts_t = schema.api_events, schema.alerts
    newest = conn.execute(sa.select(sa.func.max(events_t.c.ts))).scalar()
    events: list[CallEvent] = []
    stored_alerts: list[Alert] = []
    if newest is not None:
        rows = conn.execute(
            sa.select(events_t).where(events_t.c.ts >= newest - window)
            .order_by(events_t.c.ts, events_t.c.id)
        ).mappings()  # fmt: skip
        events = [_event(row) for row in rows]
        rows = conn.execute(
            sa.select(alerts_t).where(alerts_t.c.last_seen >= newest - cooldown)
        ).mappings()
        stored_alerts = [alert_from_row(row) for row in rows]
    keys = conn.execute(
        sa.select(events_t.c.event_key, events_t.c.received_at, events_t.c.ts).where(
            events_t.c.received_at >= dedup_since
        )
    ).all()
    return RecentState(
        events=events,
        alerts=stored_alerts,
        keys=[(k, float(r), float(t)) for k, r, t in keys],
        total_events=conn.execute(sa.select(sa.func.count()).select_from(events_t)).scalar() or 0,
        total_alerts=conn.execute(sa.select(sa.func.count()).select_from(alerts_t)).scalar() or 0,
    )


def alert_from_row(row: Any) -> Alert:
    """An ``alerts`` row back as the detectors' :class:`~calltrace.model.Alert`."""
    return Alert(
        id=row["id"],
        rule=row["rule"],
        severity=row["severity"],
        score=row["score"],
        title=row["title"],
        entity_type=row["entity_type"],
        entity=row["entity"],
        first_seen=row["first_seen"],
        last_seen=row["last_seen"],
        call_ids=tuple(row["call_ids"]),
        evidence=dict(row["evidence"]),
    )


def _event(row: Any) -> CallEvent:
    return CallEvent(
        type=CallEventType(row["type"]),
        ts=row["ts"],
        call_id=row["call_id"],
        a_number=row["a_number"],
        b_number=row["b_number"],
        source_ip=row["source_ip"],
        switch_id=row["switch_id"],
        source=row["source"],
    )


def audit_records(conn: sa.Connection, *, target: str | None = None) -> list[dict[str, Any]]:
    """Audit records, oldest first (optionally of one target)."""
    log = schema.audit_log
    query = sa.select(log).order_by(log.c.id)
    if target is not None:
        query = query.where(log.c.target == target)
    return [dict(row) for row in conn.execute(query).mappings()]
