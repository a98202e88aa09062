"""Shared fixtures: where the corpus is, and whether tshark is here."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("CALLTRACE_CORPUS", REPO.parent / "shared" / "corpus")).resolve()


def corpus_dir() -> Path:
    """The shared corpus, or a skip with the reason when it is not on this machine."""
    if not (CORPUS / "MANIFEST.txt").exists():
        pytest.skip(f"corpus not found at {CORPUS} (set CALLTRACE_CORPUS)")
    return CORPUS


@pytest.fixture
def corpus() -> Path:
    return corpus_dir()


@pytest.fixture
def tshark() -> str:
    path = shutil.which("tshark")
    if path is None:
        pytest.skip("tshark is not installed (Debian package tshark)")
    return path


#: A PostgreSQL server for the storage tests: ``postgresql+psycopg://user:pw@host/db`` of a
#: role allowed to create databases. .ci/run starts one and sets it; unset, those tests skip.
POSTGRES_URL = os.environ.get("CALLTRACE_TEST_POSTGRES_URL")


@contextmanager
def postgres_database(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database (its URL), dropped afterwards; a skip when no
    server is configured."""
    if not POSTGRES_URL:
        pytest.skip("CALLTRACE_TEST_POSTGRES_URL is not set (.ci/run starts PostgreSQL)")
    import sqlalchemy as sa

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: a SQLite file, then a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'calltrace.db'}"
        return
    with postgres_database("ct_test") as url:
        yield url
