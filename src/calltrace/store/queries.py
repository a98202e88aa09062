"""Reading the database: the one query layer the CLI (and later the API) use.

Every function takes an engine and plain filter values and returns plain dicts, so the
callers never build SQL themselves and SQLite and PostgreSQL answer the same way.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from calltrace.store import schema


def merge_detail(row: sa.Row[Any]) -> dict[str, Any]:
    """A calls or rtp_streams row with its JSON ``detail`` merged back into its columns
    (the inverse of writer.split_detail)."""
    data = dict(row._mapping)
    detail = data.pop("detail") or {}
    data.pop("id", None)
    data.update({k: v for k, v in detail.items() if k not in data})
    return data


def find_calls(
    engine: sa.Engine,
    *,
    caller: str | None = None,
    callee: str | None = None,
    ip: str | None = None,
    since: float | None = None,
    until: float | None = None,
    state: str | None = None,
    capture_ids: list[int] | None = None,
    limit: int | None = 1000,
) -> list[dict[str, Any]]:
    """Calls matching every given filter, oldest first.

    ``caller``/``callee`` match a substring of the number (so ``4420`` finds
    ``+442079460000``); ``ip`` matches the signalling source or destination.
    """
    calls = schema.calls
    query = sa.select(calls).order_by(calls.c.start, calls.c.id)
    if caller:
        query = query.where(calls.c.caller.contains(caller, autoescape=True))
    if callee:
        query = query.where(calls.c.callee.contains(callee, autoescape=True))
    if ip:
        query = query.where(sa.or_(calls.c.src_ip == ip, calls.c.dst_ip == ip))
    if since is not None:
        query = query.where(calls.c.start >= since)
    if until is not None:
        query = query.where(calls.c.start < until)
    if state:
        query = query.where(calls.c.state == state)
    if capture_ids is not None:
        query = query.where(calls.c.capture_id.in_(capture_ids))
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        return [merge_detail(row) for row in conn.execute(query)]


def find_streams(
    engine: sa.Engine, *, call_id: str | None = None, limit: int | None = 1000
) -> list[dict[str, Any]]:
    """RTP streams, oldest first; ``call_id`` keeps those its SDP announced."""
    streams = schema.rtp_streams
    return [merge_detail(row) for row in _of_call(engine, streams, streams.c.start, call_id, limit)]


def find_rtcp(
    engine: sa.Engine, *, call_id: str | None = None, limit: int | None = 1000
) -> list[dict[str, Any]]:
    """RTCP reports (one per report block, SR or XR VoIP block) in time order;
    ``call_id`` keeps those on the media its SDP announced."""
    rows = _of_call(engine, schema.rtcp_reports, schema.rtcp_reports.c.ts, call_id, limit)
    return [{k: v for k, v in row._mapping.items() if k != "id"} for row in rows]


def _of_call(
    engine: sa.Engine,
    table: sa.Table,
    time: sa.ColumnElement[Any],
    call_id: str | None,
    limit: int | None,
) -> list[sa.Row[Any]]:
    """Rows of a media table in time order, optionally of one Call-ID, at most ``limit``."""
    query = sa.select(table).order_by(time, table.c.id)
    if call_id is not None:
        query = query.where(table.c.call_id == call_id)
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        return list(conn.execute(query))


def find_alerts(
    engine: sa.Engine,
    *,
    rule: str | None = None,
    entity: str | None = None,
    capture_ids: list[int] | None = None,
    limit: int | None = 1000,
) -> list[dict[str, Any]]:
    """Stored alerts, oldest first."""
    alerts = schema.alerts
    query = sa.select(alerts).order_by(alerts.c.first_seen, alerts.c.rule, alerts.c.id)
    if rule is not None:
        query = query.where(alerts.c.rule == rule)
    if entity is not None:
        query = query.where(alerts.c.entity == entity)
    if capture_ids is not None:
        query = query.where(alerts.c.capture_id.in_(capture_ids))
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def get_call(engine: sa.Engine, call_id: str) -> dict[str, Any] | None:
    """One call by its exact Call-ID, or by a unique prefix of it."""
    calls = schema.calls
    with engine.connect() as conn:
        row = conn.execute(sa.select(calls).where(calls.c.call_id == call_id)).first()
        if row is None:
            rows = conn.execute(
                sa.select(calls)
                .where(calls.c.call_id.startswith(call_id, autoescape=True))
                .limit(2)
            ).all()
            row = rows[0] if len(rows) == 1 else None
    return merge_detail(row) if row is not None else None


def call_messages(engine: sa.Engine, call_id: str) -> list[dict[str, Any]]:
    """Every SIP message of a call, in capture order, raw bytes included."""
    msgs = schema.sip_messages
    query = (
        sa.select(msgs)
        .where(msgs.c.call_id == call_id)
        .order_by(msgs.c.ts, msgs.c.capture_id, msgs.c.packet, msgs.c.id)
    )
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def list_captures(engine: sa.Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(schema.captures).order_by(schema.captures.c.id))
        return [dict(row._mapping) for row in rows]


def count_rows(engine: sa.Engine) -> dict[str, int]:
    """Row count of every table (used by tests and ``calltrace db``)."""
    with engine.connect() as conn:
        return {
            table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in schema.metadata.sorted_tables
        }
