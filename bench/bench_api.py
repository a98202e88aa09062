"""Benchmark of ``calltrace serve`` on loopback (prints figures; not a test).

    .venv/bin/python bench/bench_api.py [--db sqlite|postgresql|both] [--batches 200]
                                        [--rate 2000] [--seconds 5]

Starts a real server (uvicorn, uvloop and httptools when installed) on a fresh database
and drives it with an asyncio + httpx client in this process:

1. ``/acm/calls/batch`` throughput: ``--batches`` batches of 1,000 events (distinct
   call ids; 99 % to B-numbers called once, 1 % a masking attack on 5 B-numbers, which
   alert; event times increasing), 4 in flight; events/s is events
   over wall time from the first send to the last acknowledgement (each acknowledgement
   means committed).
2. ``/acm/call`` latency at a fixed offered rate (open loop: request i is due at
   ``i / rate`` whatever the earlier ones did, so a slow server cannot hide its queue),
   over 64 kept-alive connections; p50/p99/max from due time to answer.

PostgreSQL needs ``CALLTRACE_TEST_POSTGRES_URL`` (a role that may create databases). The
client shares the machine with the server: on a 2-core box the figures are the pair's,
and the server's CPU time is printed next to them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import orjson
import sqlalchemy as sa

from calltrace.store.db import open_engine
from calltrace.store.keys import create_key

T0 = 1767603600.0
BATCH = 1000


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def batch_bodies(count: int) -> list[bytes]:
    bodies = []
    for b in range(count):
        events = [
            {"a_number": f"+1555{(b * BATCH + i) % 100_000:06d}",
             "b_number": f"+4420{i % 5:06d}" if i % 100 == 0 else f"+4421{b * BATCH + i:08d}",
             "call_id": f"b{b}-{i}",
             "timestamp": T0 + b * 0.5 + i * 0.0005, "switch_id": "sw-1"}
            for i in range(BATCH)
        ]  # fmt: skip
        bodies.append(orjson.dumps({"events": events}))
    return bodies


async def throughput(url: str, headers: dict[str, str], bodies: list[bytes]) -> float:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            answer = await client.post(url + "/acm/calls/batch", content=body, headers=headers)
            answer.raise_for_status()

    async with httpx.AsyncClient(timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(4)))
        return len(bodies) * BATCH / (time.perf_counter() - started)


async def _http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """One HTTP/1.1 exchange on a kept-alive connection; returns the status. A minimal
    client: httpx's pool slows down badly with thousands of waiting requests, and the
    load generator must not be what is measured."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return status


async def latency(
    port: int, key: str, rate: float, seconds: float, connections: int = 64
) -> tuple[list[float], int]:
    """Open loop: request i is due at ``i / rate``; its latency runs from when it was
    due (so time queued behind a slow answer counts: no coordinated omission)."""
    count = int(rate * seconds)
    requests = []
    for i in range(count):
        body = orjson.dumps({"a_number": f"+1666{i % 50_000:06d}",
                             "b_number": f"+4430{i % 500:06d}", "call_id": f"l{i}",
                             "timestamp": T0 + 10_000 + i / rate})  # fmt: skip
        requests.append(
            b"POST /acm/call HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: " + key.encode()
            + b"\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n\r\n" + body
        )  # fmt: skip
    times: list[float] = []
    errors = 0
    next_index = 0
    start = time.perf_counter() + 0.5

    async def worker() -> None:
        nonlocal errors, next_index
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while next_index < count:
            i = next_index
            next_index += 1
            due = start + i / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            if await _http(reader, writer, requests[i]) != 200:
                errors += 1
            times.append(time.perf_counter() - due)
        writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return times, errors


def prepare(kind: str, workdir: Path) -> tuple[str, str]:
    """A fresh database of ``kind`` and an analyst key in it."""
    if kind == "sqlite":
        db = str(workdir / "bench.db")
    else:
        base = os.environ.get("CALLTRACE_TEST_POSTGRES_URL")
        if not base:
            raise SystemExit("set CALLTRACE_TEST_POSTGRES_URL for the PostgreSQL run")
        name = f"ct_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        db = sa.make_url(base).set(database=name).render_as_string(hide_password=False)
    engine = open_engine(db)
    with engine.begin() as conn:
        key = create_key(conn, name="bench", role="analyst", at=time.time())[0]
    engine.dispose()
    return db, key


def drop_database(db: str) -> None:
    """Remove the benchmark's PostgreSQL database."""
    base = os.environ["CALLTRACE_TEST_POSTGRES_URL"]
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        name = sa.make_url(db).database
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def serve(db: str, port: int, workdir: Path) -> subprocess.Popen[bytes]:
    config = workdir / "bench.toml"
    config.write_text("[serve]\nrate_limit = 0.0\nmax_batch_events = 1000\n")
    binary = str(Path(sys.executable).with_name("calltrace"))
    process = subprocess.Popen(
        [binary, "serve", "--port", str(port), "--db", db, "--config", str(config)]
    )
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def run(kind: str, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        db, key = prepare(kind, workdir)
        port = 20000 + os.getpid() % 20000
        process = serve(db, port, workdir)
        url, headers = (
            f"http://127.0.0.1:{port}",
            {"X-API-Key": key, "Content-Type": "application/json"},
        )
        try:
            bodies = batch_bodies(args.batches)
            cpu0 = cpu_seconds(process.pid)
            rate = asyncio.run(throughput(url, headers, bodies))
            server_cpu = cpu_seconds(process.pid) - cpu0
            per_event_us = 1e6 * server_cpu / (args.batches * BATCH)
            print(f"{kind:10} batch: {rate:,.0f} events/s  ({args.batches} x {BATCH}; "
                  f"server CPU {per_event_us:.1f} µs/event)")  # fmt: skip
            times, errors = asyncio.run(latency(port, key, args.rate, args.seconds))
            times.sort()
            p50 = 1000 * statistics.median(times)
            p99 = 1000 * times[int(0.99 * (len(times) - 1))]
            print(
                f"{kind:10} call @ {args.rate:,.0f}/s for {args.seconds:g} s: p50 {p50:.2f} ms"
                f"  p99 {p99:.2f} ms  max {1000 * times[-1]:.1f} ms  errors {errors}"
            )
        finally:
            process.terminate()
            process.wait()
            if kind == "postgresql":
                drop_database(db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--rate", type=float, default=2000.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    for kind in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
        run(kind, args)


if __name__ == "__main__":
    main()
