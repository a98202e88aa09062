"""`calltrace keys` and `calltrace serve` options, in-process."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from calltrace.cli import app
from calltrace.store.db import open_engine
from calltrace.store.keys import find_key, hash_key

runner = CliRunner()


def test_create_prints_the_key_alone_on_its_last_line(tmp_path: Path) -> None:
    """The last stdout line is the key, and the database knows it by its hash."""
    db = str(tmp_path / "k.db")
    result = runner.invoke(app, ["keys", "create", "--role", "analyst", "--name", "sw-1",
                                 "--db", db])  # fmt: skip
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("ct_") and " " not in key
    with open_engine(db).connect() as conn:
        found = find_key(conn, hash_key(key))
    assert found is not None and (found["name"], found["role"]) == ("sw-1", "analyst")


def test_list_shows_keys_without_secrets_and_revoke_ends_them(tmp_path: Path) -> None:
    """list names each key by prefix; revoke by name marks it; a second revoke finds none."""
    db = str(tmp_path / "k.db")
    created = runner.invoke(app, ["keys", "create", "--role", "viewer", "--name", "ro",
                                  "--db", db])  # fmt: skip
    key = created.stdout.strip().splitlines()[-1]
    listed = runner.invoke(app, ["keys", "list", "--db", db])
    assert key[:10] in listed.stdout and key not in listed.stdout
    assert runner.invoke(app, ["keys", "revoke", "ro", "--db", db]).exit_code == 0
    assert runner.invoke(app, ["keys", "revoke", "ro", "--db", db]).exit_code == 1
    with open_engine(db).connect() as conn:
        assert find_key(conn, hash_key(key)) is None


def test_unknown_role_is_refused(tmp_path: Path) -> None:
    """A role outside viewer/analyst/admin exits 2 and stores nothing."""
    result = runner.invoke(app, ["keys", "create", "--role", "root", "--name", "x",
                                 "--db", str(tmp_path / "k.db")])  # fmt: skip
    assert result.exit_code == 2


def test_serve_rejects_a_bad_config_before_starting(tmp_path: Path) -> None:
    """An unknown [serve] key stops `serve` with exit 2 and the key named."""
    config = tmp_path / "bad.toml"
    config.write_text("[serve]\nprot = 5001\n")
    result = runner.invoke(app, ["serve", "--config", str(config)])
    assert result.exit_code == 2
    assert "prot" in result.output


def test_every_service_command_has_help() -> None:
    """serve and each keys subcommand explain themselves."""
    for args in (["serve"], ["keys"], ["keys", "create"], ["keys", "list"], ["keys", "revoke"]):
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output
