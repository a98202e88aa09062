"""Alembic environment: always run programmatically by calltrace.store.db.migrate().

The connection comes from ``config.attributes`` so migrations run inside the caller's
engine (SQLite file, PostgreSQL URL) with no alembic.ini on disk.
"""

from alembic import context

from calltrace.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
