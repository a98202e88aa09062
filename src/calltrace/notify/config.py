"""Notification targets as configured: the ``[[notify]]`` array of the TOML file.

::

    [[notify]]
    kind = "slack"                      # webhook | slack | teams | webex | email | apprise
    url = "https://hooks.slack.com/services/T000/B000/XXXX"
    min_severity = "high"               # this severity and more urgent ones (default: low)
    rules = ["multicall_masking"]       # only these rules (default: every rule)

    [[notify]]
    kind = "email"
    address = ["soc@example.org"]       # one address or a list
    smtp = "mail.example.org:587"       # host[:port] of the submission server
    sender = "calltrace@example.org"
    security = "starttls"               # starttls (default) | ssl | insecure
    username = "calltrace"              # optional SMTP authentication
    password = "..."

Pure: parsing and matching only, nothing is sent from here. A key that a kind does not
take is an error naming it, like the rest of the configuration (config.py): a typo must
not silently send alerts nowhere.

>>> target = parse_target({"kind": "webhook", "url": "http://127.0.0.1:9/hook",
...                        "min_severity": "high"}, 0)
>>> target.name, target.wants_severity("critical"), target.wants_severity("medium")
('webhook-0', True, False)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from calltrace.errors import UsageError
from calltrace.model import SEVERITIES, Alert

#: Kinds that POST JSON to a URL, and the kinds that go through apprise.
HTTP_KINDS = ("webhook", "slack", "teams", "webex")
KINDS = (*HTTP_KINDS, "email", "apprise")
SECURITY = ("starttls", "ssl", "insecure")
_COMMON = ("kind", "name", "min_severity", "rules", "retries", "timeout")
_KEYS: dict[str, tuple[str, ...]] = {
    **{kind: (*_COMMON, "url") for kind in HTTP_KINDS},
    "apprise": (*_COMMON, "url"),
    "email": (*_COMMON, "address", "smtp", "sender", "security", "username", "password"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetConfig:
    """One notification target: where, how, and which alerts it wants."""

    kind: str
    name: str
    url: str | None = None
    addresses: tuple[str, ...] = ()
    smtp: str = "localhost:25"
    sender: str = "calltrace@localhost"
    security: str = "starttls"
    username: str | None = None
    password: str | None = None
    min_severity: str = "low"
    rules: frozenset[str] = frozenset()  # empty: every rule
    retries: int = 4  # attempts after the first, with exponential backoff
    timeout: float = 10.0  # seconds for one attempt

    def wants_severity(self, severity: str) -> bool:
        """Whether ``severity`` is at least ``min_severity`` (SEVERITIES is most urgent
        first; an unknown severity counts as the least urgent)."""
        rank = SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)
        return rank <= SEVERITIES.index(self.min_severity)

    def wants(self, alert: Alert) -> bool:
        """Whether this target is sent ``alert``: severity high enough, rule listed."""
        return self.wants_severity(alert.severity) and (not self.rules or alert.rule in self.rules)


def parse_notify(value: Any) -> tuple[TargetConfig, ...]:
    """The ``notify`` value of a parsed TOML document (an array of tables)."""
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        raise UsageError("notify must be an array of tables ([[notify]])", layer="config")
    targets = tuple(parse_target(table, i) for i, table in enumerate(value))
    names = [t.name for t in targets]
    if len(set(names)) != len(names):
        raise UsageError(f"[[notify]] names must be unique: {names}", layer="config")
    return targets


def parse_target(table: Any, index: int) -> TargetConfig:
    """One ``[[notify]]`` table (``index`` names it in messages and by default)."""
    where = f"[[notify]] #{index + 1}"
    if not isinstance(table, Mapping):
        raise UsageError(f"{where} must be a table", layer="config")
    kind = table.get("kind")
    if kind not in KINDS:
        raise UsageError(f"{where}: kind must be one of {', '.join(KINDS)}", layer="config")
    for key in table:
        if key not in _KEYS[kind]:
            raise UsageError(
                f"unknown key {key!r} in {where} (allowed: {', '.join(_KEYS[kind])})",
                layer="config",
                kind="unknown_key",
            )
    values: dict[str, Any] = {"kind": kind, "name": _str(table, "name", where, f"{kind}-{index}")}
    severity = _str(table, "min_severity", where, "low")
    if severity not in SEVERITIES:
        raise UsageError(f"{where}: min_severity must be one of {SEVERITIES}", layer="config")
    values["min_severity"] = severity
    values["rules"] = frozenset(_strings(table, "rules", where))
    values["retries"] = _number(table, "retries", where, 4, int)
    values["timeout"] = float(_number(table, "timeout", where, 10.0, float))
    if kind == "email":
        values.update(_email(table, where))
    else:
        url = _str(table, "url", where, "")
        if not url:
            raise UsageError(f"{where}: {kind} needs url", layer="config")
        values["url"] = url
    return TargetConfig(**values)


def _email(table: Mapping[str, Any], where: str) -> dict[str, Any]:
    addresses = _strings(table, "address", where)
    if not addresses:
        raise UsageError(f"{where}: email needs address", layer="config")
    security = _str(table, "security", where, "starttls")
    if security not in SECURITY:
        raise UsageError(f"{where}: security must be one of {SECURITY}", layer="config")
    return {
        "addresses": addresses,
        "smtp": _str(table, "smtp", where, "localhost:25"),
        "sender": _str(table, "sender", where, "calltrace@localhost"),
        "security": security,
        "username": table.get("username") and _str(table, "username", where, ""),
        "password": table.get("password") and _str(table, "password", where, ""),
    }


def _str(table: Mapping[str, Any], key: str, where: str, default: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise UsageError(f"{where}: {key} must be a string", layer="config", kind="bad_value")
    return value


def _strings(table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise UsageError(f"{where}: {key} must be a list of strings", layer="config")
    return tuple(value)


def _number(table: Mapping[str, Any], key: str, where: str, default: float, kind: type) -> Any:
    value = table.get(key, default)
    if type(value) is bool or not isinstance(value, int | float) or value < 0:
        raise UsageError(f"{where}: {key} must be a number >= 0", layer="config")
    if kind is int and not isinstance(value, int):
        raise UsageError(f"{where}: {key} must be an integer", layer="config")
    return value
