"""Writing analysis results: the pipeline's sink for the database.

One writer, batched inserts inside one transaction per capture file (SQLite is fastest
with few large transactions and WAL; PostgreSQL does not mind).

Re-analysing a capture replaces it instead of duplicating it. The file's sha256 is only
known once it has been read, so the capture row is created under a provisional key and,
at the end, any earlier row with the same sha256 is deleted (its messages, calls and
errors go with it) before the provisional key becomes the real one.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from typing import Any

import sqlalchemy as sa

from calltrace import __version__
from calltrace.model import Call, DecodeErrorRecord, Registration, SipMessage
from calltrace.pipeline import FileResult
from calltrace.store import schema


def call_row(call: Call) -> dict[str, Any]:
    """Split a Call into its indexed columns and the JSON ``detail`` column."""
    data = dataclasses.asdict(call)
    row = {col.name: data.pop(col.name) for col in schema.calls.columns if col.name in data}
    row["detail"] = data
    return row


def registration_row(reg: Registration) -> dict[str, Any]:
    row = dataclasses.asdict(reg)
    row["packets"] = list(reg.packets)
    return row


class StoreSink:
    """Receives batches from :class:`calltrace.pipeline.Analyzer` and inserts them."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
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
        capture_id = self._capture()
        rows = [
            {
                "capture_id": capture_id,
                "packet": m.packet.number,
                "ts": m.packet.ts,
                "src_ip": m.packet.src_ip,
                "src_port": m.packet.src_port,
                "dst_ip": m.packet.dst_ip,
                "dst_port": m.packet.dst_port,
                "transport": m.packet.transport,
                "is_request": m.is_request,
                "method": m.method,
                "request_uri": m.request_uri,
                "status": m.status,
                "reason": m.reason,
                "call_id": m.call_id,
                "cseq": m.cseq,
                "from_tag": m.from_tag,
                "to_tag": m.to_tag,
                "branch": m.branch,
                "defects": list(m.defects) if m.defects else None,
                "raw": m.raw,
            }
            for m in messages
        ]
        self._connection().execute(schema.sip_messages.insert(), rows)

    def add_records(self, records: list[Call | Registration]) -> None:
        capture_id = self._capture()
        calls = [{**call_row(r), "capture_id": capture_id} for r in records if isinstance(r, Call)]
        regs = [
            {**registration_row(r), "capture_id": capture_id}
            for r in records
            if isinstance(r, Registration)
        ]
        conn = self._connection()
        if calls:
            conn.execute(schema.calls.insert(), calls)
        if regs:
            conn.execute(schema.registrations.insert(), regs)

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
        self._connection().execute(schema.decode_errors.insert(), rows)

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

    def _connection(self) -> sa.Connection:
        if self._conn is None:
            self._conn = self.engine.connect()
        return self._conn

    def _capture(self) -> int:
        if self.capture_id is None:
            raise RuntimeError("StoreSink used before begin_file()")
        return self.capture_id
