"""Opening the database: engine, pragmas and migrations. The only place that connects.

A plain path (or nothing) means SQLite, set up with no questions: WAL journal (readers
never block the single writer), ``synchronous=NORMAL`` (safe with WAL, much faster) and
foreign keys on. Anything with ``://`` is a SQLAlchemy URL (``postgresql+psycopg://...``).
The schema is brought to the newest migration every time a database is opened, so an
old file just works with a new CallTrace.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).with_name("migrations")
DEFAULT_DB = "calltrace.db"


def database_url(target: str | Path | None) -> str:
    """Turn ``--db`` into a SQLAlchemy URL: a file path means SQLite."""
    text = str(target) if target is not None else DEFAULT_DB
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser()}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def alembic_config() -> Config:
    """An alembic Config pointing at the packaged migrations (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def open_engine(target: str | Path | None = None, *, migrate: bool = True) -> sa.Engine:
    """Create the engine for ``target`` and bring its schema up to date."""
    url = database_url(target)
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    if migrate:
        upgrade(engine)
    return engine


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Run every pending migration (idempotent: a current database is left untouched)."""
    cfg = alembic_config()
    with engine.begin() as conn:
        if current_revision(conn) == head_revision():
            return
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(conn: sa.Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
