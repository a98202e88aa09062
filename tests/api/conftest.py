"""Fixtures of the API tests: an app on a fresh database (SQLite and PostgreSQL) with one
key per role, in-process through Starlette's TestClient, or a real server subprocess."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from calltrace.api.app import create_app
from calltrace.api.settings import MASKING, Settings
from calltrace.config import Config, parse_config
from calltrace.detect.registry import registered
from calltrace.store import schema
from calltrace.store.db import open_engine
from calltrace.store.keys import ROLES, create_key
from tests.conftest import postgres_database

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient


def make_keys(db: str) -> dict[str, str]:
    """One key per role in ``db`` (migrating it first)."""
    engine = open_engine(db)
    with engine.begin() as conn:
        keys = {role: create_key(conn, name=role, role=role, at=1.0)[0] for role in ROLES}
    engine.dispose()
    return keys


@dataclass
class Api:
    """A client of an app, with the keys of each role."""

    client: Any
    keys: dict[str, str]
    db: str
    settings: Settings = field(default_factory=Settings)

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def get(self, path: str, role: str = "viewer", **kw: Any) -> Any:
        return self.client.get(path, headers=self.headers(role), **kw)

    def post(self, path: str, body: Any, role: str = "analyst") -> Any:
        return self.client.post(path, json=body, headers=self.headers(role))

    def patch(self, path: str, body: Any, role: str = "analyst") -> Any:
        return self.client.patch(path, json=body, headers=self.headers(role))

    @property
    def app(self) -> Any:
        return self.client.app


def masking_only() -> Config:
    """A detection config with every rule but multicall_masking off: the /acm tests pin
    the call-masking contract (counts, ids, alert lists); the other rules are tested in
    tests/detect and would add their own alerts on these made-up numbers."""
    return parse_config(
        {"rules": {rule: {"enabled": False} for rule in registered() if rule != MASKING}}
    )


def start_api(db: str, **settings: Any) -> Iterator[Api]:
    keys = make_keys(db)
    settings.setdefault("detect", masking_only())
    config = Settings(db=db, **settings)
    with TestClient(create_app(config)) as client:
        yield Api(client=client, keys=keys, db=db, settings=config)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating each time costs ~0.3 s)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    open_engine(path).dispose()
    return path


@pytest.fixture(scope="session")
def _postgres_database() -> Iterator[str]:
    """One migrated PostgreSQL database per test process, emptied before each test
    (creating and migrating one per test costs ~2 s)."""
    with postgres_database("ct_api") as url:
        open_engine(url).dispose()
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def api_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path / "api.db"
        shutil.copy(request.getfixturevalue("_sqlite_template"), path)
        return str(path)
    url: str = request.getfixturevalue("_postgres_database")
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # DELETE: TRUNCATE of every table takes ~0.7 s
        for table in reversed(schema.metadata.sorted_tables):
            conn.execute(table.delete())
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), 1, false)"
            )
    engine.dispose()
    return url


@pytest.fixture
def api(api_db: str) -> Iterator[Api]:
    """The app on an empty SQLite file, then on an empty PostgreSQL database."""
    yield from start_api(api_db, rate_limit=0.0)


@pytest.fixture
def sqlite_api(tmp_path: Path, _sqlite_template: Path) -> Iterator[Api]:
    """The app on an empty SQLite file only (tests of HTTP behaviour, not of storage)."""
    shutil.copy(_sqlite_template, tmp_path / "api.db")
    yield from start_api(str(tmp_path / "api.db"), rate_limit=0.0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """A ``calltrace serve`` subprocess on loopback."""

    db: str
    port: int
    keys: dict[str, str]
    env: dict[str, str]
    config: str | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = str(Path(sys.executable).with_name("calltrace"))
        command = [binary, "serve", "--port", str(self.port)]
        if self.config is not None:
            command += ["--config", self.config]
        self.process = subprocess.Popen(
            [*command, "--db", self.db], env=self.env, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError("calltrace serve exited")
            time.sleep(0.1)
        raise RuntimeError("calltrace serve did not come up")

    def kill(self) -> None:
        """kill -9: no shutdown, no flush."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A running server on a fresh SQLite file, with a key per role."""
    db = str(tmp_path / "serve.db")
    env = dict(os.environ, ACM_THRESHOLD="5", ACM_WINDOW_SECONDS="5")
    config = tmp_path / "masking-only.toml"  # as masking_only(), for the subprocess
    config.write_text(
        "".join(f"[rules.{rule}]\nenabled = false\n" for rule in registered() if rule != MASKING)
    )
    srv = Server(db=db, port=free_port(), keys=make_keys(db), env=env, config=str(config))
    srv.start()
    yield srv
    srv.stop()
