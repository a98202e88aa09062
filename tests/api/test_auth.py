"""Keys, roles and rate limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from calltrace.api import auth
from calltrace.api.auth import TokenBucket
from calltrace.store.db import open_engine
from calltrace.store.keys import hash_key, list_keys, revoke_key
from tests.api.conftest import Api, start_api

CALL = {"a_number": "+15550100", "b_number": "+15550999", "timestamp": 1767603600.0}


def test_key_in_either_header_is_accepted(sqlite_api: Api) -> None:
    """``Authorization: Bearer`` and ``X-API-Key`` carry the same key."""
    key = sqlite_api.keys["viewer"]
    client = sqlite_api.client
    assert client.get("/acm/stats", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert client.get("/acm/stats", headers={"X-API-Key": key}).status_code == 200


def test_missing_or_unknown_key_is_401(sqlite_api: Api) -> None:
    """No key, a wrong key or another scheme is refused with 401 and WWW-Authenticate."""
    client = sqlite_api.client
    for headers in ({}, {"X-API-Key": "ct_wrong"}, {"Authorization": "Basic abc"}):
        answer = client.get("/acm/stats", headers=headers)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"


def test_roles_are_ordered(sqlite_api: Api) -> None:
    """A viewer reads but may not post events; an analyst posts but may not configure."""
    assert sqlite_api.post("/acm/call", CALL, role="viewer").status_code == 403
    assert sqlite_api.post("/acm/call", CALL, role="analyst").status_code == 200
    assert sqlite_api.post("/acm/config", {"threshold": 4}, role="analyst").status_code == 403
    assert sqlite_api.post("/acm/config", {"threshold": 4}, role="admin").status_code == 200
    assert sqlite_api.get("/acm/config", role="viewer").status_code == 200


def test_revoked_key_stops_working(sqlite_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once revoked (and the 5 s cache past), a key is refused."""
    monkeypatch.setattr(auth, "KEY_CACHE_SECONDS", 0.0)
    assert sqlite_api.get("/acm/stats").status_code == 200
    with open_engine(sqlite_api.db).begin() as conn:
        assert revoke_key(conn, "viewer", at=2.0) == 1
    assert sqlite_api.get("/acm/stats").status_code == 401


def test_keys_are_stored_hashed(sqlite_api: Api) -> None:
    """The database holds the key's SHA-256 and a 10-character prefix, never the key."""
    key = sqlite_api.keys["admin"]
    with open_engine(sqlite_api.db).connect() as conn:
        stored = conn.exec_driver_sql("SELECT key_hash, prefix FROM api_keys WHERE role='admin'")
        digest, prefix = stored.one()
        listed = list_keys(conn)
    assert (digest, prefix) == (hash_key(key), key[:10])
    assert all("key_hash" not in row for row in listed)


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    """With 1 request/s and a burst of 2, the third request at once is refused for 1 s."""
    for api in start_api(str(tmp_path / "r.db"), rate_limit=1.0, rate_burst=2):
        codes = [api.get("/acm/stats").status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        refused = api.get("/acm/stats")
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["error"]["code"] == "rate_limited"
        assert api.get("/acm/stats", role="admin").status_code == 200  # its own bucket


def test_token_bucket_refills_at_its_rate() -> None:
    """Tokens come back at ``rate`` a second up to ``burst``; the wait is what is missing."""
    bucket = TokenBucket(rate=2.0, burst=1, now=0.0)
    assert bucket.take(0.0) == 0.0
    assert bucket.take(0.1) == pytest.approx(0.4)  # 0.2 tokens there, 0.8 missing at 2/s
    assert bucket.take(0.5) == 0.0
    assert bucket.take(10.0) == 0.0
    assert bucket.take(10.0) == pytest.approx(0.5)


def test_health_needs_no_key_but_metrics_does(sqlite_api: Api) -> None:
    """/health is open (probes); /metrics needs a key unless public_metrics is set."""
    assert sqlite_api.client.get("/health").status_code == 200
    assert sqlite_api.client.get("/metrics").status_code == 401
    assert sqlite_api.get("/metrics").status_code == 200


def test_public_metrics_setting(tmp_path: Path) -> None:
    """``[serve] public_metrics = true`` opens /metrics to a scraper without a key."""
    for api in start_api(str(tmp_path / "m.db"), public_metrics=True):
        assert api.client.get("/metrics").status_code == 200
        assert api.client.get("/acm/stats").status_code == 401


def test_key_lookups_are_cached(sqlite_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Within the cache time a request costs no lookup in the database."""
    calls = []
    store = sqlite_api.app.state.store
    real = store.read
    monkeypatch.setattr(store, "read", lambda q: calls.append(1) or real(q))
    sqlite_api.get("/acm/config")
    sqlite_api.get("/acm/config")
    assert len(calls) == 1
