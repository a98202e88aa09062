"""Settings precedence: defaults < config file < environment < command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from calltrace.api.settings import AcmSettings, Settings, env_bool, load_settings
from calltrace.errors import UsageError

FILE = """
[serve]
port = 6000
db = "file.db"
auto_block = true
rate_limit = 50

[rules.multicall_masking]
min_callers = 7
window = 10.0
cooldown = 90
"""


def _config(tmp_path: Path, text: str = FILE) -> Path:
    path = tmp_path / "calltrace.toml"
    path.write_text(text)
    return path


def test_defaults_are_the_seed_services() -> None:
    """With nothing given: 5 callers in 5 s, 30 s cooldown, port 5001, no auto actions."""
    settings = load_settings(None, env={})
    assert settings.acm == AcmSettings(window_seconds=5.0, threshold=5, cooldown_seconds=30.0)
    assert (settings.port, settings.db, settings.auto_block) == (5001, "calltrace.db", False)


def test_file_sets_serve_and_the_masking_rule(tmp_path: Path) -> None:
    """[serve] and [rules.multicall_masking] of the file are read; an int rate is a float."""
    settings = load_settings(_config(tmp_path), env={})
    assert settings.acm == AcmSettings(window_seconds=10.0, threshold=7, cooldown_seconds=90.0)
    assert (settings.port, settings.db, settings.auto_block, settings.rate_limit) == (
        6000,
        "file.db",
        True,
        50.0,
    )


def test_environment_beats_the_file_and_options_beat_both(tmp_path: Path) -> None:
    """ACM_* and CALLTRACE_DB override the file; --port/--db override everything."""
    env = {"ACM_THRESHOLD": "9", "ACM_WINDOW_SECONDS": "2.5", "ACM_COOLDOWN_SECONDS": "0",
           "ACM_AUTO_BLOCK": "off", "ACM_AUTO_DISCONNECT": "YES",
           "CALLTRACE_DB": "env.db"}  # fmt: skip
    settings = load_settings(_config(tmp_path), env=env)
    assert settings.acm == AcmSettings(window_seconds=2.5, threshold=9, cooldown_seconds=0.0)
    assert (settings.auto_block, settings.auto_disconnect, settings.db) == (False, True, "env.db")
    cli = load_settings(_config(tmp_path), env=env, overrides={"db": "cli.db", "port": None})
    assert (cli.db, cli.port) == ("cli.db", 6000)


def test_settings_reach_the_detection_config(tmp_path: Path) -> None:
    """The ACM numbers become the masking rule's parameters and cooldown for the engine."""
    rule = load_settings(None, env={"ACM_THRESHOLD": "8"}).detect.rule("multicall_masking")
    assert (rule.params["min_callers"], rule.params["window"], rule.cooldown) == (8, 5.0, 30.0)


@pytest.mark.parametrize(
    ("env", "text"),
    [
        ({"ACM_THRESHOLD": "many"}, ""),
        ({"ACM_AUTO_BLOCK": "maybe"}, ""),
        ({"ACM_THRESHOLD": "1"}, ""),
        ({}, "[serve]\nprot = 1\n"),
        ({}, '[serve]\nport = "5001"\n'),
        ({}, "[serve]\nrate_limit = true\n"),
    ],
)
def test_bad_values_are_errors_naming_them(tmp_path: Path, env: dict[str, str], text: str) -> None:
    """A value that is not a number, a flag that is not a flag, an unknown or mistyped
    [serve] key, a threshold below 2: UsageError, not a silent default."""
    with pytest.raises(UsageError):
        load_settings(_config(tmp_path, text) if text else None, env=env)


def test_env_bool_words() -> None:
    """The usual words for true and false, in any case."""
    assert [env_bool("X", v) for v in ("1", "True", "yes", "ON")] == [True] * 4
    assert [env_bool("X", v) for v in ("0", "false", "No", "off", "")] == [False] * 5


def test_analyze_accepts_a_file_with_a_serve_table(tmp_path: Path) -> None:
    """The same file configures `calltrace analyze` (its [serve] table is left to serve)."""
    from calltrace.config import load_config

    config = load_config(_config(tmp_path))
    assert config.serve["port"] == 6000
    assert config.rule("multicall_masking").params["min_callers"] == 7


def test_with_acm_checks_values() -> None:
    """A run-time change to a zero window is refused."""
    with pytest.raises(UsageError):
        Settings().with_acm(AcmSettings(window_seconds=0.0))
