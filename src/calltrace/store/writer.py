"""Writing analysis results: the pipeline's sink for the database.

One writer, batched inserts inside one transaction per capture file (SQLite is fastest
with few large transactions and WAL; PostgreSQL does not mind).

Re-analysing a capture replaces it instead of duplicating it. The file's sha256 is only
known once it has been read, so the capture row is created under a provisional key and,
at the end, any earlier row with the same sha256 is deleted (its messages, calls and
errors go with it) before the provisional key becomes the real one.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import sqlalchemy as sa

from calltrace import __version__
from calltrace.model import (
    Alert,
    Call,
    DecodeErrorRecord,
    Registration,
    RtcpRecord,
    RtpStream,
    SipMessage,
    record_dict,
)
from calltrace.pipeline import FileResult
from calltrace.store import schema


def split_detail(record: Call | RtpStream, table: sa.Table) -> dict[str, Any]:
    """A record as a row of ``table``: the fields that are columns, the rest in the JSON
    ``detail`` column (queries.merge_detail puts them back together)."""
    data = record_dict(record)
    row = {col.name: data.pop(col.name) for col in table.columns if col.name in data}
    row["detail"] = data
    return row


def registration_row(reg: Registration) -> dict[str, Any]:
    row = record_dict(reg)
    row["packets"] = list(reg.packets)
    return row


def alert_row(alert: Alert) -> dict[str, Any]:
    row = record_dict(alert)
    row["call_ids"] = list(alert.call_ids)
    row["evidence"] = dict(alert.evidence)
    return row


#: Columns of ``sip_messages`` in the order ``add_messages`` builds its tuples.
MESSAGE_COLUMNS = (
    "capture_id",
    "packet",
    "ts",
    "src_ip",
    "src_port",
    "dst_ip",
    "dst_port",
    "transport",
    "is_request",
    "method",
    "request_uri",
    "status",
    "reason",
    "call_id",
    "cseq",
    "from_tag",
    "to_tag",
    "branch",
    "defects",
    "raw",
)
MESSAGE_INSERT = (
    f"INSERT INTO sip_messages ({', '.join(MESSAGE_COLUMNS)})"
    f" VALUES ({', '.join('?' * len(MESSAGE_COLUMNS))})"
)


_DriverInsert = tuple[str, tuple[str, ...], frozenset[str]]
_DRIVER_INSERTS: dict[tuple[str, frozenset[str], str], _DriverInsert] = {}


def _driver_insert(table: sa.Table, keys: frozenset[str], verb: str = "INSERT") -> _DriverInsert:
    """The plain INSERT of ``table`` for the driver, for rows with these keys: SQL,
    column order, JSON columns. Columns a row leaves out keep their defaults."""
    cached = _DRIVER_INSERTS.get((table.name, keys, verb))
    if cached is None:
        names = tuple(c.name for c in table.columns if c.name in keys)
        quoted = ", ".join(f'"{name}"' for name in names)
        sql = f"{verb} INTO {table.name} ({quoted}) VALUES ({', '.join('?' * len(names))})"
        json_columns = frozenset(c.name for c in table.columns if isinstance(c.type, sa.JSON))
        cached = _DRIVER_INSERTS[(table.name, keys, verb)] = (sql, names, json_columns)
    return cached


def _driver_rows(
    names: tuple[str, ...], json_columns: frozenset[str], rows: list[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    """Rows as the driver's tuples, JSON columns dumped as Core would dump them."""
    dumps = json.dumps
    return [
        tuple(
            dumps(row[name]) if name in json_columns and row[name] is not None else row[name]
            for name in names
        )
        for row in rows
    ]


def insert_ignore(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows, skipping any whose primary or unique key is already stored: how a
    retried post stays idempotent (SQLite ``INSERT OR IGNORE`` through the driver, fast;
    PostgreSQL ``ON CONFLICT DO NOTHING``)."""
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        sql, names, json_columns = _driver_insert(table, frozenset(rows[0]), "INSERT OR IGNORE")
        conn.exec_driver_sql(sql, _driver_rows(names, json_columns, rows))
        return
    from sqlalchemy.dialects import postgresql

    conn.execute(postgresql.insert(table).on_conflict_do_nothing(), rows)


class StoreSink:
    """Receives batches from :class:`calltrace.pipeline.Analyzer` and inserts them."""

    def __init__(self, engine: sa.Engine, *, driver_fast_path: bool = True) -> None:
        self.engine = engine
        self.driver_fast_path = driver_fast_path
        self.capture_id: int | None = None
        self.capture_ids: list[int] = []
        self._conn: sa.Connection | None = None

    def begin_file(self, path: str) -> None:
        conn = self._connection()
        pending = f"pending:{uuid.uuid4().hex}"[:64]
        self.capture_id = conn.execute(
            schema.captures.insert().returning(schema.captures.c.id),
            {
                "sha256": pending,
                "path": path,
                "bytes": 0,
                "link_types": [],
                "packets": 0,
                "sip_messages": 0,
                "analyzed_at": time.time(),
                "calltrace_version": __version__,
            },
        ).scalar_one()
        self.capture_ids.append(self.capture_id)

    def add_messages(self, messages: list[SipMessage]) -> None:
        """Insert a batch of messages: the hot path of ``analyze`` (one row per message).

        SQLAlchemy Core's executemany turns every row into a dict and back (about 29 µs a
        row here); on SQLite the rows go to the driver's executemany as plain tuples
        instead (about 9 µs, most of it sqlite3's own binding and B-tree work). Other
        engines keep the portable Core path.
        """
        capture_id = self._capture()
        dumps = json.dumps
        rows = [
            (
                capture_id,
                p.number,
                p.ts,
                p.src_ip,
                p.src_port,
                p.dst_ip,
                p.dst_port,
                p.transport,
                m.is_request,
                m.method,
                m.request_uri,
                m.status,
                m.reason,
                m.call_id,
                m.cseq,
                m.from_tag,
                m.to_tag,
                m.branch,
                dumps(m.defects) if m.defects else None,
                m.raw,
            )
            for m in messages
            for p in (m.packet,)
        ]
        conn = self._connection()
        if self.driver_fast_path and conn.dialect.name == "sqlite":
            conn.exec_driver_sql(MESSAGE_INSERT, rows)
        else:
            table = schema.sip_messages
            conn.execute(
                table.insert(),
                [
                    dict(zip(MESSAGE_COLUMNS, (*row[:-2], m.defects or None, row[-1]), strict=True))
                    for row, m in zip(rows, messages, strict=True)
                ],
            )

    def add_records(self, records: list[Call | Registration]) -> None:
        capture_id = self._capture()
        calls = [
            {**split_detail(r, schema.calls), "capture_id": capture_id}
            for r in records
            if isinstance(r, Call)
        ]
        regs = [
            {**registration_row(r), "capture_id": capture_id}
            for r in records
            if isinstance(r, Registration)
        ]
        if calls:
            self._insert(schema.calls, calls)
        if regs:
            self._insert(schema.registrations, regs)

    def add_errors(self, errors: list[DecodeErrorRecord]) -> None:
        capture_id = self._capture()
        rows = [
            {
                "capture_id": capture_id,
                "packet": e.packet,
                "ts": e.ts,
                "layer": e.layer,
                "kind": e.kind,
                "detail": e.detail,
                "call_id": e.call_id,
                "defects": list(e.defects) if e.defects else None,
            }
            for e in errors
        ]
        self._insert(schema.decode_errors, rows)

    def add_streams(self, streams: list[RtpStream]) -> None:
        capture_id = self._capture()
        rows = [{**split_detail(s, schema.rtp_streams), "capture_id": capture_id} for s in streams]
        self._insert(schema.rtp_streams, rows)

    def add_alerts(self, alerts: list[Alert]) -> None:
        """Insert alerts; an alert id already stored (the same evidence from another file)
        is replaced, so its row names the newest capture."""
        capture_id = self._capture()
        # one row per id, the last one winning (ids are deterministic: the same alert
        # made twice, e.g. by two runs of a rule over overlapping input, is one alert)
        by_id = {a.id: a for a in alerts}
        rows = [alert_row(a) | {"capture_id": capture_id} for a in by_id.values()]
        table = schema.alerts
        conn = self._connection()
        conn.execute(table.delete().where(table.c.id.in_([row["id"] for row in rows])))
        conn.execute(table.insert(), rows)

    def add_rtcp(self, reports: list[RtcpRecord]) -> None:
        """One row per RTCP report (model.RtcpRecord's fields are the table's columns)."""
        capture_id = self._capture()
        rows = [record_dict(r) | {"capture_id": capture_id} for r in reports]
        self._connection().execute(schema.rtcp_reports.insert(), rows)

    def end_file(self, result: FileResult) -> None:
        conn = self._connection()
        captures = schema.captures
        capture_id = self._capture()
        conn.execute(
            captures.delete().where(captures.c.sha256 == result.sha256, captures.c.id != capture_id)
        )
        conn.execute(
            captures.update()
            .where(captures.c.id == capture_id)
            .values(
                sha256=result.sha256,
                path=result.path,
                bytes=result.bytes,
                format=result.format,
                link_types=result.link_types,
                packets=result.packets,
                sip_messages=result.sip_messages,
                first_ts=result.first_ts,
                last_ts=result.last_ts,
            )
        )

    def close(self) -> None:
        """Commit everything written (records flushed after the last file included)."""
        if self._conn is not None:
            self._conn.commit()
            self._conn.close()
            self._conn = None

    def _insert(self, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        """Insert rows of ``table`` (dicts keyed by column name).

        Core's executemany costs ~100 µs a call row (it converts every value through the
        column types, JSON included); on SQLite the rows go to the driver as tuples, JSON
        columns dumped here with the same ``json.dumps`` Core would use (read back
        through Core they are equal). Other engines keep the portable Core path.
        """
        conn = self._connection()
        if not (self.driver_fast_path and conn.dialect.name == "sqlite"):
            conn.execute(table.insert(), rows)
            return
        if not rows:
            return
        sql, names, json_columns = _driver_insert(table, frozenset(rows[0]))
        conn.exec_driver_sql(sql, _driver_rows(names, json_columns, rows))

    def _connection(self) -> sa.Connection:
        if self._conn is None:
            self._conn = self.engine.connect()
        return self._conn

    def _capture(self) -> int:
        if self.capture_id is None:
            raise RuntimeError("StoreSink used before begin_file()")
        return self.capture_id
