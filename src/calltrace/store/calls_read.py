"""Reading calls for the REST API (``/api/v1``): filtered pages, one call with its
messages, media and alerts, an address's activity, the search by caller.

Every function takes a connection (the API runs them with ``store.read`` in a worker
thread) and returns plain dicts; the SQL is portable Core, so SQLite and PostgreSQL
answer the same.

Paging is by key, not by offset: a page asks for the rows after (or, newest first,
before) the last row of the previous page, given as its sort key. A row added between
two pages neither shifts nor repeats the rows that follow, and a page costs the same
wherever it is (an offset makes the database count past every skipped row).

Decisions:

- **Numbers** match as substrings, after the query is normalised
  (:func:`normalise_number`): ``+44 20 7946`` finds ``+442079460000`` and
  ``00442079460000``; a query with letters (a SIP user name) is matched as typed.
  Matching ignores case. A substring cannot use an index: it scans the calls matching
  the other filters.
- **An address** matches a call when its first INVITE came from or went to it, or any
  message stored with the call's Call-ID in its capture did.
- **A rule** matches the calls an alert of that rule names (``alerts.call_ids``): in the
  alert's capture, or in any capture for an alert of the service (it has none).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args

import phonenumbers
import sqlalchemy as sa

from calltrace.report.feeds import source_ips
from calltrace.report.jsondoc import IP_ENTITIES
from calltrace.store import schema
from calltrace.store.queries import merge_detail

#: A call's states (model.Call, docs/call-states.md).
CallState = Literal["completed", "answered", "cancelled", "rejected", "failed", "in_progress"]
CALL_STATES: Final = get_args(CallState)

#: Sort key of a call page: (start, row id); of a search page: (time, kind, row id).
CallKey = tuple[float, int]
SearchKey = tuple[float, str, int]


def normalise_number(text: str) -> str:
    """What a number query matches: without the visual separators of RFC 3966 (space,
    ``-``, ``.``, ``(``, ``)``) and a leading ``+`` (phonenumbers keeps the diallable
    characters, full-width digits made ASCII); text with letters is kept as typed.

    >>> normalise_number("+44 (20) 7946-0000")
    '442079460000'
    >>> normalise_number(" alice ")
    'alice'
    """
    text = text.strip()
    if any(c.isalpha() for c in text):
        return text
    return phonenumbers.normalize_diallable_chars_only(text).lstrip("+")


@dataclass(frozen=True, slots=True, kw_only=True)
class CallFilter:
    """The filters of ``GET /api/v1/calls``; each None is "any"."""

    number: str | None = None
    ip: str | None = None
    since: float | None = None
    until: float | None = None
    state: str | None = None
    rule: str | None = None
    capture: int | None = None


def _messages_of_ip(ip: str) -> sa.Select[Any]:
    """(capture, Call-ID) of every message from or to ``ip`` (two index lookups)."""
    msgs = schema.sip_messages
    sent = sa.select(msgs.c.capture_id, msgs.c.call_id).where(msgs.c.src_ip == ip)
    received = sa.select(msgs.c.capture_id, msgs.c.call_id).where(msgs.c.dst_ip == ip)
    return sa.union(sent, received)  # type: ignore[return-value]


def ip_condition(ip: str) -> sa.ColumnElement[bool]:
    calls = schema.calls
    pairs = _messages_of_ip(ip).subquery()
    return sa.or_(
        calls.c.src_ip == ip,
        calls.c.dst_ip == ip,
        sa.tuple_(calls.c.capture_id, calls.c.call_id).in_(
            sa.select(pairs.c.capture_id, pairs.c.call_id)
        ),
    )


def rule_condition(conn: sa.Connection, rule: str) -> sa.ColumnElement[bool]:
    """Calls named by the alerts of ``rule`` (their Call-IDs, read first: a JSON list
    cannot be searched the same way on both engines)."""
    alerts, calls = schema.alerts, schema.calls
    named: dict[int | None, set[str]] = {}
    rows = conn.execute(
        sa.select(alerts.c.capture_id, alerts.c.call_ids).where(alerts.c.rule == rule)
    )
    for capture_id, call_ids in rows:
        named.setdefault(capture_id, set()).update(call_ids or ())
    terms = [
        calls.c.call_id.in_(sorted(ids))
        if capture_id is None
        else sa.and_(calls.c.capture_id == capture_id, calls.c.call_id.in_(sorted(ids)))
        for capture_id, ids in named.items()
        if ids
    ]
    return sa.or_(*terms) if terms else sa.false()


def call_conditions(conn: sa.Connection, where: CallFilter) -> list[sa.ColumnElement[bool]]:
    calls = schema.calls
    terms: list[sa.ColumnElement[bool]] = []
    if where.number:
        number = normalise_number(where.number)
        terms.append(
            sa.or_(
                calls.c.caller.icontains(number, autoescape=True),
                calls.c.callee.icontains(number, autoescape=True),
            )
        )
    if where.ip:
        terms.append(ip_condition(where.ip))
    if where.since is not None:
        terms.append(calls.c.start >= where.since)
    if where.until is not None:
        terms.append(calls.c.start < where.until)
    if where.state:
        terms.append(calls.c.state == where.state)
    if where.capture is not None:
        terms.append(calls.c.capture_id == where.capture)
    if where.rule:
        terms.append(rule_condition(conn, where.rule))
    return terms


def plain(mapping: Mapping[Any, Any], *drop: str) -> dict[str, Any]:
    """A row as a dict with plain ``str`` keys (SQLAlchemy's are a ``str`` subclass
    that orjson refuses), without the columns in ``drop``."""
    return {str(k): v for k, v in mapping.items() if k not in drop}


def call_row(row: sa.Row[Any]) -> dict[str, Any]:
    """A calls row as the record's fields (detail merged) with its sort key as ``_key``."""
    data = plain(merge_detail(row))
    data["_key"] = (row.start, row.id)
    return data


def list_calls(
    conn: sa.Connection, where: CallFilter, *, after: CallKey | None, limit: int
) -> list[dict[str, Any]]:
    """Up to ``limit`` calls matching ``where``, by start time then row id, after ``after``."""
    calls = schema.calls
    query = sa.select(calls).where(*call_conditions(conn, where))
    if after is not None:
        start, row_id = after
        query = query.where(
            sa.or_(calls.c.start > start, sa.and_(calls.c.start == start, calls.c.id > row_id))
        )
    query = query.order_by(calls.c.start, calls.c.id).limit(limit)
    return [call_row(row) for row in conn.execute(query)]


# -- one call ----------------------------------------------------------------------
def find_call(conn: sa.Connection, call_id: str, capture: int | None) -> dict[str, Any] | None:
    """The call of this exact Call-ID: in ``capture`` if given, else the newest (latest
    start, then the latest capture); within a capture, its first call of that Call-ID."""
    calls = schema.calls
    query = sa.select(calls).where(calls.c.call_id == call_id)
    if capture is not None:
        query = query.where(calls.c.capture_id == capture).order_by(calls.c.start, calls.c.id)
    else:
        query = query.order_by(calls.c.start.desc(), calls.c.capture_id.desc(), calls.c.id)
    row = conn.execute(query.limit(1)).first()
    return None if row is None else call_row(row)


def occurrences(conn: sa.Connection, call_id: str) -> list[dict[str, Any]]:
    """Every stored call of this Call-ID: capture and start, oldest first."""
    calls = schema.calls
    query = (
        sa.select(calls.c.capture_id, calls.c.start)
        .where(calls.c.call_id == call_id)
        .order_by(calls.c.start, calls.c.capture_id, calls.c.id)
    )
    return [plain(row._mapping) for row in conn.execute(query)]


def messages_of(conn: sa.Connection, call: dict[str, Any]) -> list[dict[str, Any]]:
    """The call's SIP messages in capture order: those of its Call-ID in its capture,
    kept to its own frames (``packets``) when a Call-ID made more than one call there."""
    msgs = schema.sip_messages
    query = (
        sa.select(msgs)
        .where(msgs.c.capture_id == call["capture_id"], msgs.c.call_id == call["call_id"])
        .order_by(msgs.c.ts, msgs.c.packet, msgs.c.id)
    )
    rows = [plain(row._mapping) for row in conn.execute(query)]
    frames = set(call.get("packets") or ())
    if frames and any(row["packet"] not in frames for row in rows):
        rows = [row for row in rows if row["packet"] in frames]
    return rows


def media_of(conn: sa.Connection, call: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """The RTP streams and RTCP reports its SDP announced, in time order."""
    streams, rtcp = schema.rtp_streams, schema.rtcp_reports
    mine = (call["capture_id"], call["call_id"])
    found = conn.execute(
        sa.select(streams)
        .where(streams.c.capture_id == mine[0], streams.c.call_id == mine[1])
        .order_by(streams.c.start, streams.c.id)
    )
    reports = conn.execute(
        sa.select(rtcp)
        .where(rtcp.c.capture_id == mine[0], rtcp.c.call_id == mine[1])
        .order_by(rtcp.c.ts, rtcp.c.id)
    )
    return (
        [plain(merge_detail(row)) for row in found],
        [plain(row._mapping, "id") for row in reports],
    )


def alerts_of(conn: sa.Connection, call: dict[str, Any]) -> list[dict[str, Any]]:
    """The alerts of the call's capture that name its Call-ID, oldest first."""
    alerts = schema.alerts
    query = (
        sa.select(alerts)
        .where(alerts.c.capture_id == call["capture_id"])
        .order_by(alerts.c.first_seen, alerts.c.rule, alerts.c.id)
    )
    rows = (plain(row._mapping) for row in conn.execute(query))
    return [row for row in rows if call["call_id"] in (row["call_ids"] or ())]


# -- an address --------------------------------------------------------------------
def _count(conn: sa.Connection, table: sa.Table, condition: sa.ColumnElement[bool]) -> int:
    query = sa.select(sa.func.count()).select_from(table).where(condition)
    return int(conn.execute(query).scalar_one())


def message_counts(conn: sa.Connection, ip: str) -> dict[str, Any]:
    """Messages sent from and received by ``ip``: totals, requests by method, responses
    by status, and the first and last time (epoch seconds) any was seen."""
    msgs = schema.sip_messages
    out: dict[str, Any] = {"first_seen": None, "last_seen": None}
    for direction, column in (("sent", msgs.c.src_ip), ("received", msgs.c.dst_ip)):
        query = (
            sa.select(
                msgs.c.is_request,
                msgs.c.method,
                msgs.c.status,
                sa.func.count(),
                sa.func.min(msgs.c.ts),
                sa.func.max(msgs.c.ts),
            )
            .where(column == ip)
            .group_by(msgs.c.is_request, msgs.c.method, msgs.c.status)
        )
        side: dict[str, Any] = {"total": 0, "requests": {}, "responses": {}}
        for is_request, method, status, count, first, last in conn.execute(query):
            side["total"] += count
            if is_request:
                side["requests"][method] = side["requests"].get(method, 0) + count
            else:
                key = str(status)
                side["responses"][key] = side["responses"].get(key, 0) + count
            out["first_seen"] = earliest(out["first_seen"], first)
            out["last_seen"] = latest(out["last_seen"], last)
        out[direction] = side
    return out


def earliest(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def latest(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


def api_event_counts(conn: sa.Connection, ip: str) -> dict[str, Any]:
    """Call events posted to the service from ``ip`` (``source_ip``): count, first, last."""
    events = schema.api_events
    count, first, last = conn.execute(
        sa.select(sa.func.count(), sa.func.min(events.c.ts), sa.func.max(events.c.ts)).where(
            events.c.source_ip == ip
        )
    ).one()
    return {"count": int(count), "first_seen": first, "last_seen": last}


def newest_calls(conn: sa.Connection, ip: str, limit: int) -> tuple[int, list[dict[str, Any]]]:
    """How many calls involve ``ip``, and the newest ``limit`` of them."""
    calls = schema.calls
    condition = ip_condition(ip)
    rows = conn.execute(
        sa.select(calls).where(condition).order_by(calls.c.start.desc(), calls.c.id.desc())
    ).fetchmany(limit)
    return _count(conn, calls, condition), [call_row(row) for row in rows]


def newest_registrations(
    conn: sa.Connection, ip: str, limit: int
) -> tuple[int, list[dict[str, Any]]]:
    """How many REGISTER flows came from or went to ``ip``, and the newest ``limit``."""
    regs = schema.registrations
    condition = sa.or_(regs.c.src_ip == ip, regs.c.dst_ip == ip)
    query = sa.select(regs).where(condition).order_by(regs.c.start.desc(), regs.c.id.desc())
    rows = conn.execute(query.limit(limit))
    found = [plain(row._mapping, "id", "packets") for row in rows]
    return _count(conn, regs, condition), found


def alerts_naming(conn: sa.Connection, ip: str) -> list[dict[str, Any]]:
    """Alerts whose entity is the address, or whose evidence names it as a source (as
    the blocklist reads them: report/feeds.py), oldest first. The evidence is searched
    as text first, then each candidate is checked, so ``10.0.0.1`` does not match
    ``10.0.0.10``."""
    alerts = schema.alerts
    query = (
        sa.select(alerts)
        .where(
            sa.or_(
                alerts.c.entity == ip,
                sa.cast(alerts.c.evidence, sa.Text).contains(ip, autoescape=True),
            )
        )
        .order_by(alerts.c.first_seen, alerts.c.rule, alerts.c.id)
    )
    address = ipaddress.ip_address(ip)
    rows = (plain(row._mapping) for row in conn.execute(query))
    return [row for row in rows if _names(row, ip, address)]


def _names(alert: dict[str, Any], ip: str, address: Any) -> bool:
    if alert["entity"] == ip and alert["entity_type"] in IP_ENTITIES:
        return True
    return address in source_ips(alert)


# -- search by caller --------------------------------------------------------------
def _before(
    time: sa.ColumnElement[Any], row_id: sa.ColumnElement[Any], kind: str, key: SearchKey
) -> sa.ColumnElement[bool]:
    """Rows of ``kind`` that sort after ``key`` newest first: (time, kind, id) descending."""
    ts, key_kind, key_id = key
    if kind < key_kind:
        return time <= ts
    if kind > key_kind:
        return time < ts
    return sa.or_(time < ts, sa.and_(time == ts, row_id < key_id))


def search_caller(
    conn: sa.Connection, caller: str, *, before: SearchKey | None, limit: int
) -> list[dict[str, Any]]:
    """Calls whose caller and posted events whose A-number contain ``caller``
    (normalised), newest first: ``{"kind": "call" | "api_event", "ts", "_key", ...}``."""
    number = normalise_number(caller)
    calls, events = schema.calls, schema.api_events
    call_query = sa.select(calls).where(calls.c.caller.icontains(number, autoescape=True))
    event_query = sa.select(events).where(events.c.a_number.icontains(number, autoescape=True))
    if before is not None:
        call_query = call_query.where(_before(calls.c.start, calls.c.id, "call", before))
        event_query = event_query.where(_before(events.c.ts, events.c.id, "api_event", before))
    found = [
        {"kind": "call", **call_row(row)} | {"_key": (row.start, "call", row.id)}
        for row in conn.execute(
            call_query.order_by(calls.c.start.desc(), calls.c.id.desc()).limit(limit)
        )
    ]
    found += [
        {"kind": "api_event", **plain(row._mapping, "id")} | {"_key": (row.ts, "api_event", row.id)}
        for row in conn.execute(
            event_query.order_by(events.c.ts.desc(), events.c.id.desc()).limit(limit)
        )
    ]
    return newest_first(found)[:limit]


def newest_first(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda row: row["_key"], reverse=True)
