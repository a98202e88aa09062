"""The SQLite store: migrations, the writer sink and the query layer."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from calltrace.model import Call, DecodeErrorRecord, Packet, Registration, SipMessage
from calltrace.pipeline import FileResult, analyze_chunks
from calltrace.sources.pcapfile import read_chunks
from calltrace.store import schema
from calltrace.store.db import current_revision, database_url, head_revision, open_engine
from calltrace.store.queries import call_messages, count_rows, find_calls, get_call
from calltrace.store.writer import MESSAGE_COLUMNS, StoreSink

T0 = 1767603600.0  # 2026-01-05T09:00:00Z
SAMPLE = Path(__file__).resolve().parents[2] / "src" / "calltrace" / "data" / "sample.pcap"


def _call(call_id: str, start: float, caller: str, callee: str, src_ip: str) -> Call:
    return Call(
        call_id=call_id,
        state="completed",
        start=start,
        answered=start + 2,
        end=start + 62,
        duration=60.0,
        caller=caller,
        callee=callee,
        src_ip=src_ip,
        src_port=5060,
        dst_ip="192.0.2.10",
        dst_port=5060,
        via=("SIP/2.0/UDP 198.51.100.7;branch=z9hG4bK1",),
        codecs=("PCMU/8000",),
        methods={"INVITE": 1, "ACK": 1, "BYE": 1},
        messages=5,
    )


def _message(call_id: str, ts: float, method: str, status: int | None) -> SipMessage:
    packet = Packet(
        number=int(ts - T0) + 1,
        ts=ts,
        src_ip="198.51.100.7",
        src_port=5060,
        dst_ip="192.0.2.10",
        dst_port=5060,
        transport="udp",
        payload=b"x",
    )
    return SipMessage(
        packet=packet,
        is_request=status is None,
        method=method,
        request_uri="sip:1@x" if status is None else None,
        status=status,
        reason="OK" if status else None,
        call_id=call_id,
        cseq=1,
        cseq_method=method,
        from_tag="a",
        to_tag=None,
        branch="z9hG4bK1",
        headers=(),
        body=b"",
        raw=b"raw bytes",
    )


def _store(engine: sa.Engine, sha: str, calls: list[Call]) -> None:
    sink = StoreSink(engine)
    sink.begin_file("test.pcap")
    sink.add_messages([_message(c.call_id, c.start, "INVITE", None) for c in calls])
    sink.add_records(
        [
            *calls,
            Registration(
                call_id="reg1",
                user="100",
                domain="example.com",
                realm="example.com",
                outcome="registered",
                start=T0,
                end=T0 + 1,
                attempts=2,
                challenged=True,
                final_status=200,
                packets=(1, 2, 3, 4),
            ),
        ]
    )
    sink.add_errors([DecodeErrorRecord(packet=9, ts=T0, layer="sip", kind="malformed", detail="x")])
    sink.end_file(FileResult(path="test.pcap", sha256=sha, bytes=10, packets=4, sip_messages=4))
    sink.close()


def test_migrations_build_exactly_the_schema(db_url: str) -> None:
    """Running the migrations yields the tables schema.py declares, nothing more or less."""
    engine = open_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
        assert diff == []
        assert current_revision(conn) == head_revision()


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    """The default database journals with WAL so readers never block the writer."""
    engine = open_engine(tmp_path / "a.db")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_database_url_accepts_paths_and_urls() -> None:
    """A path means SQLite; anything with a scheme is passed through."""
    assert database_url("x.db") == "sqlite:///x.db"
    assert database_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"


def test_same_capture_twice_is_stored_once(db_url: str) -> None:
    """Storing a capture with an already-known sha256 replaces the earlier rows."""
    engine = open_engine(db_url)
    calls = [_call("c1", T0, "+442079460001", "+12125550100", "198.51.100.7")]
    _store(engine, "ab" * 32, calls)
    first = count_rows(engine)
    _store(engine, "ab" * 32, calls)
    assert count_rows(engine) == first
    assert first["captures"] == 1 and first["calls"] == 1 and first["decode_errors"] == 1


def test_message_fast_path_covers_every_column() -> None:
    """The tuple insert names every column of sip_messages but the key, in table order."""
    names = tuple(c.name for c in schema.sip_messages.columns if c.name != "id")
    assert names == MESSAGE_COLUMNS


def test_fast_and_portable_inserts_store_the_same_rows(tmp_path: Path) -> None:
    """The SQLite tuple path and the portable Core path give identical message rows."""
    stored = []
    for fast in (True, False):
        engine = open_engine(tmp_path / f"{fast}.db")
        sink = StoreSink(engine, driver_fast_path=fast)
        sink.begin_file("x.pcap")
        first = _message("c1", T0, "INVITE", None)
        defective = dataclasses.replace(first, defects=("bad_version", "missing_from"))
        sink.add_messages([first, _message("c1", T0 + 1, "INVITE", 200), defective])
        sink.end_file(FileResult(path="x.pcap", sha256="f" * 64))
        sink.close()
        with engine.connect() as conn:
            rows = conn.execute(sa.select(schema.sip_messages).order_by("id")).all()
        stored.append([row._mapping for row in rows])
    assert stored[0] == stored[1]
    assert stored[0][2]["defects"] == ["bad_version", "missing_from"]
    assert stored[0][1]["is_request"] is False and stored[0][0]["raw"] == b"raw bytes"


def test_find_calls_filters(db_url: str) -> None:
    """Caller/callee match substrings, ip matches either end, since bounds the start."""
    engine = open_engine(db_url)
    _store(
        engine,
        "cd" * 32,
        [
            _call("c1", T0, "+442079460001", "+12125550100", "198.51.100.7"),
            _call("c2", T0 + 100, "+4930123456", "+12125550199", "203.0.113.9"),
        ],
    )
    assert [c["call_id"] for c in find_calls(engine, caller="4420")] == ["c1"]
    assert [c["call_id"] for c in find_calls(engine, callee="555")] == ["c1", "c2"]
    assert [c["call_id"] for c in find_calls(engine, ip="203.0.113.9")] == ["c2"]
    assert [c["call_id"] for c in find_calls(engine, since=T0 + 50)] == ["c2"]
    call = find_calls(engine, caller="4930")[0]
    assert call["codecs"] == ["PCMU/8000"] and call["methods"]["BYE"] == 1


def test_get_call_by_prefix_and_messages(db_url: str) -> None:
    """A unique Call-ID prefix finds the call; its messages come back with raw bytes."""
    engine = open_engine(db_url)
    _store(engine, "ef" * 32, [_call("abc123@host", T0, "1", "2", "198.51.100.7")])
    call = get_call(engine, "abc1")
    assert call is not None and call["call_id"] == "abc123@host"
    assert get_call(engine, "zzz") is None
    messages = call_messages(engine, "abc123@host")
    assert [m["raw"] for m in messages] == [b"raw bytes"]


def test_analyzing_the_sample_twice_keeps_one_copy(db_url: str) -> None:
    """The real pipeline stores the bundled sample, and a second run leaves the same rows."""
    engine = open_engine(db_url)
    counts = []
    for _ in range(2):
        sink = StoreSink(engine)
        analysis = analyze_chunks([(str(SAMPLE), read_chunks(SAMPLE))], sink)
        sink.close()
        counts.append(count_rows(engine))
    assert counts[0] == counts[1]
    assert counts[0]["captures"] == 1
    assert counts[0]["sip_messages"] == analysis.stats.sip_messages
    assert counts[0]["calls"] == len(analysis.calls) > 0
    assert counts[0]["registrations"] == len(analysis.registrations) > 0
    stored = find_calls(engine, limit=None)
    assert sorted(c["call_id"] for c in stored) == sorted(c.call_id for c in analysis.calls)


def test_one_call_id_can_make_two_calls(db_url: str) -> None:
    """A Call-ID reused after its first call ended is stored as two calls, not an error."""
    engine = open_engine(db_url)
    _store(
        engine,
        "12" * 32,
        [_call("same", T0, "1", "2", "198.51.100.7"), _call("same", T0 + 600, "1", "2", "x")],
    )
    assert [c["start"] for c in find_calls(engine)] == [T0, T0 + 600]


def test_driver_fast_path_stores_what_core_stores(tmp_path: Path) -> None:
    """Every table holds the same rows whether SQLite gets driver tuples or Core's insert."""
    sample = Path(__file__).resolve().parents[2] / "src" / "calltrace" / "data" / "sample.pcap"
    tables = (schema.calls, schema.registrations, schema.decode_errors, schema.rtp_streams)
    stored = []
    for fast in (True, False):
        engine = open_engine(tmp_path / f"{fast}.db")
        sink = StoreSink(engine, driver_fast_path=fast)
        analyze_chunks([(str(sample), read_chunks(sample))], sink)
        sink.close()
        with engine.connect() as conn:
            stored.append(
                {
                    t.name: [r._mapping for r in conn.execute(sa.select(t).order_by("id"))]
                    for t in tables
                }
            )
    assert all(stored[0][t.name] for t in (schema.calls, schema.registrations, schema.rtp_streams))
    assert stored[0] == stored[1]
