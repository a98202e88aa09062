"""The [[notify]] configuration: what it accepts, what it refuses, what a target wants."""

from __future__ import annotations

import tomllib

import pytest

from calltrace.config import parse_config
from calltrace.errors import UsageError
from calltrace.notify.config import parse_notify, parse_target
from calltrace.notify.targets import email_url
from tests.notify.conftest import make_alert

TOML = """
[[notify]]
kind = "slack"
url = "https://hooks.slack.com/services/T0/B0/X"
min_severity = "critical"

[[notify]]
kind = "email"
name = "soc"
address = "soc@example.org"
smtp = "mail.example.org:587"
username = "ct"
password = "p@ss:word"
rules = ["multicall_masking"]
"""


def test_the_toml_array_builds_targets_through_the_main_config() -> None:
    """calltrace's config file takes [[notify]] tables; defaults fill what they leave out."""
    slack, email = parse_config(tomllib.loads(TOML)).notify
    assert (slack.kind, slack.name, slack.min_severity, slack.retries) == (
        "slack", "slack-0", "critical", 4)  # fmt: skip
    assert (email.name, email.addresses, email.security) == (
        "soc",
        ("soc@example.org",),
        "starttls",
    )
    assert email.rules == frozenset({"multicall_masking"})


def test_email_url_quotes_credentials() -> None:
    """User and password are percent-encoded into apprise's mailto URL (':' and '@' too)."""
    email = parse_config(tomllib.loads(TOML)).notify[1]
    assert email_url(email).startswith("mailto://ct:p%40ss%3Aword@mail.example.org:587?")
    assert "mode=starttls" in email_url(email)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"kind": "pager", "url": "x"}, "kind must be one of"),
        ({"kind": "webhook"}, "webhook needs url"),
        ({"kind": "webhook", "url": "x", "address": "a@b"}, "unknown key 'address'"),
        ({"kind": "email"}, "email needs address"),
        ({"kind": "email", "address": "a@b", "security": "tls"}, "security must be one of"),
        ({"kind": "webhook", "url": "x", "min_severity": "urgent"}, "min_severity must be"),
        ({"kind": "webhook", "url": "x", "retries": -1}, "retries must be a number >= 0"),
        ({"kind": "webhook", "url": "x", "retries": 1.5}, "retries must be an integer"),
        ({"kind": "webhook", "url": "x", "rules": "r"}, None),
    ],
)
def test_bad_tables_are_refused_with_their_reason(table: dict[str, object], message: str) -> None:
    """A typo or a wrong value stops with a message naming it (a lone string rule is a list)."""
    if message is None:
        assert parse_target(table, 0).rules == frozenset({"r"})
        return
    with pytest.raises(UsageError, match=message):
        parse_target(table, 0)


def test_names_must_be_unique() -> None:
    """Two targets of one name would share counters: refused."""
    twice = [{"kind": "webhook", "url": "x", "name": "a"}] * 2
    with pytest.raises(UsageError, match="unique"):
        parse_notify(twice)


def test_severity_threshold_follows_the_severity_order() -> None:
    """min_severity medium takes critical, high and medium, not low or an unknown severity."""
    target = parse_target({"kind": "webhook", "url": "x", "min_severity": "medium"}, 0)
    wanted = [
        s for s in ("critical", "high", "medium", "low", "bogus") if target.wants(make_alert(s))
    ]
    assert wanted == ["critical", "high", "medium"]
