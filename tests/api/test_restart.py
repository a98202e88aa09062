"""Restart safety: kill -9 the server during a batch load, restart, resend what was not
acknowledged; nothing acknowledged is missing and nothing is stored twice."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

import httpx
import sqlalchemy as sa

from calltrace.model import alert_id
from tests.api.conftest import Server

T0 = 1767603600.0
NUMBERS = 600  # B-numbers, each called by 6 distinct A-numbers within 1 s
BATCH = 300


def _events() -> list[dict[str, Any]]:
    """Burst k: six callers of B-number k at T0 + 10 k + 0.2 i (bursts 10 s apart)."""
    return [
        {"a_number": f"+1555{k:04d}{i}", "b_number": f"+4420{k:06d}",
         "call_id": f"call-{k}-{i}", "timestamp": T0 + 10 * k + 0.2 * i}
        for k in range(NUMBERS)
        for i in range(6)
    ]  # fmt: skip


def _post(client: httpx.Client, server: Server, batch: list[dict[str, Any]]) -> Any:
    answer = client.post(
        f"{server.url}/acm/calls/batch",
        json={"events": batch},
        headers={"X-API-Key": server.keys["analyst"]},
        timeout=30,
    )
    answer.raise_for_status()
    return answer.json()["results"]


def test_kill_during_batch_load_loses_and_duplicates_nothing(server: Server) -> None:
    """After kill -9 mid-batch and a restart, every event is stored once, every
    acknowledged alert is there, and each B-number has exactly its one alert."""
    events = _events()
    batches = [events[i : i + BATCH] for i in range(0, len(events), BATCH)]
    acked: dict[int, list[dict[str, Any]]] = {}
    with httpx.Client() as client:
        for index in range(4):
            acked[index] = _post(client, server, batches[index])

        def in_flight() -> None:
            with contextlib.suppress(httpx.HTTPError):  # killed before it was answered
                acked[4] = _post(client, server, batches[4])

        sender = threading.Thread(target=in_flight)
        sender.start()
        time.sleep(0.01)
        server.kill()
        sender.join()
        server.start()
        for index in range(len(batches)):
            if index not in acked:
                acked[index] = _post(client, server, batches[index])
    acknowledged_alerts = {r["alert_id"] for rs in acked.values() for r in rs if r["detected"]}

    engine = sa.create_engine(f"sqlite:///{server.db}")
    with engine.connect() as conn:
        stored, distinct = conn.exec_driver_sql(
            "SELECT count(*), count(DISTINCT event_key) FROM api_events"
        ).one()
        alerts = {row[0] for row in conn.exec_driver_sql("SELECT id FROM alerts")}
    engine.dispose()
    assert (stored, distinct) == (len(events), len(events))
    expected = {
        alert_id("multicall_masking", f"+4420{k:06d}", T0 + 10 * k, "high") for k in range(NUMBERS)
    }
    assert alerts == expected
    assert acknowledged_alerts <= alerts
