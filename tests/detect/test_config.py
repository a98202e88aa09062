"""Configuration: TOML in, checked against the registry; mistakes are UsageErrors."""

from __future__ import annotations

from pathlib import Path

import pytest

from calltrace.config import Config, load_config, parse_config
from calltrace.errors import UsageError


def test_no_file_means_defaults() -> None:
    """Without a file every rule runs with its defaults and 1 s of lateness."""
    config = load_config(None)
    assert config == Config() and config.allowed_lateness == 1.0
    assert config.rule("multicall_masking").enabled is True


def test_file_is_read(tmp_path: Path) -> None:
    """A TOML file sets lateness, thresholds, cooldown and allowlist."""
    path = tmp_path / "c.toml"
    path.write_text(
        "[detect]\nallowed_lateness = 0.5\n[rules.multicall_masking]\nwindow = 3\n"
        'cooldown = 10\nallowlist = ["+1555"]\n'
    )
    config = load_config(path)
    rule = config.rule("multicall_masking")
    assert config.allowed_lateness == 0.5
    assert rule.params == {"window": 3.0} and rule.cooldown == 10.0
    assert rule.allowlist == frozenset({"+1555"})


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"rules": {"masking": {}}}, ["unknown rule 'masking'", "multicall_masking"]),
        ({"rules": {"multicall_masking": {"min_caller": 3}}}, ["unknown key 'min_caller'"]),
        ({"rules": {"multicall_masking": {"window": "5s"}}}, ["window must be float"]),
        ({"rules": {"multicall_masking": {"enabled": 1}}}, ["enabled must be bool"]),
        ({"rules": {"multicall_masking": {"allowlist": "x"}}}, ["allowlist must be a list"]),
        ({"detetc": {}}, ["unknown key 'detetc'"]),
        ({"detect": {"lateness": 1}}, ["unknown key 'lateness'", "allowed_lateness"]),
    ],
)
def test_mistakes_name_what_is_wrong(data: dict[str, object], words: list[str]) -> None:
    """A typo or a wrong type is refused with a message naming the key and what is allowed."""
    with pytest.raises(UsageError) as info:
        parse_config(data)
    assert all(word in str(info.value) for word in words), str(info.value)


def test_bad_toml_is_a_usage_error(tmp_path: Path) -> None:
    """A file that is not TOML is refused with its path in the message."""
    path = tmp_path / "bad.toml"
    path.write_text("[rules\n")
    with pytest.raises(UsageError, match="not valid TOML"):
        load_config(path)
