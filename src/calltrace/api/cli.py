"""``calltrace serve`` and ``calltrace keys``: registered on the main command by
:func:`register` (FastAPI and uvicorn are imported only when these commands run, so
``calltrace analyze`` starts as fast as before)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from calltrace.errors import UsageError

out = Console()
err = Console(stderr=True)

keys_app = typer.Typer(
    help="API keys of `calltrace serve`: create, list, revoke.", no_args_is_help=True
)

ServeDb = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="SQLite file or SQLAlchemy URL (else CALLTRACE_DB, else [serve] db, "
        "else calltrace.db).",
    ),
]
ServeConfig = Annotated[
    Path | None,
    typer.Option(
        "--config",
        exists=True,
        dir_okay=False,
        readable=True,
        help="TOML file: [serve] and the detection rules (docs/api.md, docs/rules.md).",
    ),
]


def _settings(config: Path | None, **overrides: Any) -> Any:
    from calltrace.api.settings import load_settings

    try:
        return load_settings(config, overrides=overrides)
    except UsageError as exc:
        err.print(f"[red]config error:[/] {exc.detail}", highlight=False)
        raise typer.Exit(2) from None


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (5001).")] = None,
    db: ServeDb = None,
    config: ServeConfig = None,
    workers_log: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "warning",
) -> None:
    """Run the service: the /acm call-masking API, /health and /metrics (docs/api.md)."""
    import uvicorn

    from calltrace.api.app import create_app

    settings = _settings(config, host=host, port=port, db=db)
    app = create_app(settings)
    err.print(f"calltrace serve on http://{settings.host}:{settings.port} (db {settings.db})")
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=workers_log,
        loop="auto",
        http="auto",
        access_log=False,
    )


def _engine(db: str | None, config: Path | None) -> Any:
    from calltrace.store.db import open_engine

    return open_engine(_settings(config, db=db).db)


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="viewer, analyst or admin.")],
    name: Annotated[str, typer.Option(help="Who or what the key is for.")],
    db: ServeDb = None,
    config: ServeConfig = None,
) -> None:
    """Make a key; it is printed once, alone on the last line (only its hash is stored)."""
    from calltrace.store.keys import ROLES, create_key

    if role not in ROLES:
        err.print(f"role must be one of {', '.join(ROLES)}")
        raise typer.Exit(2)
    with _engine(db, config).begin() as conn:
        key, row = create_key(conn, name=name, role=role, at=time.time())
    err.print(f"key {row['id']} ({row['prefix']}…) for {name!r}, role {role}:")
    typer.echo(key)


@keys_app.command("list")
def keys_list(db: ServeDb = None, config: ServeConfig = None) -> None:
    """List keys (id, name, role, prefix, created, revoked); never the keys themselves."""
    from calltrace.report.jsondoc import iso
    from calltrace.store.keys import list_keys

    with _engine(db, config).connect() as conn:
        rows = list_keys(conn)
    table = Table("id", "name", "role", "prefix", "created", "revoked", title=f"{len(rows)} keys")
    for r in rows:
        table.add_row(str(r["id"]), r["name"], r["role"], r["prefix"], iso(r["created_at"]),
                      iso(r["revoked_at"]) or "")  # fmt: skip
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(
    ident: Annotated[str, typer.Argument(help="The key's id, name or prefix.")],
    db: ServeDb = None,
    config: ServeConfig = None,
) -> None:
    """Revoke keys by id, name or prefix (the server stops taking them within 5 s)."""
    from calltrace.store.keys import revoke_key

    with _engine(db, config).begin() as conn:
        count = revoke_key(conn, ident, at=time.time())
    if not count:
        err.print(f"no live key matches {ident!r}")
        raise typer.Exit(1)
    err.print(f"revoked {count} key{'s' if count > 1 else ''}")


def register(app: typer.Typer) -> None:
    """Add ``serve`` and ``keys`` to the main command."""
    app.command()(serve)
    app.add_typer(keys_app, name="keys")
