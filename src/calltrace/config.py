"""Configuration: a TOML file (``--config``), built-in defaults for everything in it.

::

    [detect]
    allowed_lateness = 1.0      # seconds an event may arrive out of time order
    risk_half_life = 3600.0     # seconds for an alert's weight in the risk score to halve

    [rules.multicall_masking]   # one table per rule id (calltrace rules lists them)
    enabled = true
    min_callers = 5             # any __init__ parameter of the rule
    window = 5.0
    cooldown = 30.0             # seconds between two alerts on one entity
    allowlist = ["+15550100"]   # entities the rule never alerts on

    [[notify]]                  # notification targets (calltrace.notify.config)
    kind = "webhook"
    url = "https://example.org/hook"

A table or key CallTrace does not know is an error (:class:`~calltrace.errors.UsageError`
naming it and what is allowed): a typo must not silently turn a rule off or leave a
threshold at its default. Values are checked against the type of the built-in default
(an integer is accepted where a float is expected).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from calltrace.errors import UsageError
from calltrace.notify.config import TargetConfig, parse_notify

#: Keys of a rule table that are not parameters of the rule's class.
RULE_KEYS = ("enabled", "cooldown", "allowlist")
DETECT_KEYS = {"allowed_lateness": 1.0, "risk_half_life": 3600.0}
#: ``[serve]`` is read whole here and checked by ``calltrace.api.settings`` (docs/api.md).
SECTIONS = ("detect", "rules", "notify", "serve")


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleConfig:
    """One rule's settings; ``cooldown=None`` means the rule's own default."""

    enabled: bool = True
    params: Mapping[str, Any] = field(default_factory=dict)
    allowlist: frozenset[str] = frozenset()
    cooldown: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """The whole configuration; a rule not named in ``rules`` runs with its defaults."""

    allowed_lateness: float = 1.0
    risk_half_life: float = 3600.0
    rules: Mapping[str, RuleConfig] = field(default_factory=dict)
    notify: tuple[TargetConfig, ...] = ()  # [[notify]] targets (calltrace.notify.config)
    serve: Mapping[str, Any] = field(default_factory=dict)

    def rule(self, rule_id: str) -> RuleConfig:
        return self.rules.get(rule_id) or RuleConfig()


def load_config(path: str | Path | None) -> Config:
    """Read and check a TOML file (None: the defaults)."""
    if path is None:
        return Config()
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise UsageError(f"cannot read config {path}: {exc.strerror}", layer="config") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}", layer="config") from None
    return parse_config(data)


def parse_config(data: Mapping[str, Any]) -> Config:
    """Check a parsed TOML document against the registered rules and build the Config.

    >>> parse_config({"rules": {"multicall_masking": {"min_callers": 6}}}).rule(
    ...     "multicall_masking").params
    {'min_callers': 6}
    >>> parse_config({"rules": {"nope": {}}})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    calltrace.errors.UsageError: unknown rule 'nope' in [rules] (known: ...multicall_masking...)
    """
    from calltrace.detect.registry import registered

    _no_unknown(data, SECTIONS, "the config file (sections)")
    detect = _table(data.get("detect", {}), "[detect]")
    _no_unknown(detect, tuple(DETECT_KEYS), "[detect]")
    values = {k: _typed(detect.get(k, d), d, f"detect.{k}") for k, d in DETECT_KEYS.items()}
    rules_table = _table(data.get("rules", {}), "[rules]")
    known = registered()
    rules: dict[str, RuleConfig] = {}
    for rule_id, table in rules_table.items():
        if rule_id not in known:
            raise UsageError(
                f"unknown rule {rule_id!r} in [rules] (known: {', '.join(known)})",
                layer="config",
                kind="unknown_rule",
            )
        rules[rule_id] = _rule(rule_id, _table(table, f"[rules.{rule_id}]"), known[rule_id])
    return Config(
        allowed_lateness=values["allowed_lateness"],
        risk_half_life=values["risk_half_life"],
        rules=rules,
        notify=parse_notify(data.get("notify", [])),
        serve=dict(_table(data.get("serve", {}), "[serve]")),
    )


def _rule(rule_id: str, table: Mapping[str, Any], cls: Any) -> RuleConfig:
    defaults: dict[str, Any] = cls.param_defaults()
    where = f"[rules.{rule_id}]"
    _no_unknown(table, (*RULE_KEYS, *defaults), where)
    params = {k: _typed(v, defaults[k], f"rules.{rule_id}.{k}") for k, v in table.items()
              if k in defaults}  # fmt: skip
    allowlist = table.get("allowlist", [])
    if not isinstance(allowlist, list) or not all(isinstance(x, str) for x in allowlist):
        raise UsageError(f"{where} allowlist must be a list of strings", layer="config")
    cooldown = table.get("cooldown")
    return RuleConfig(
        enabled=_typed(table.get("enabled", True), True, f"rules.{rule_id}.enabled"),
        params=params,
        allowlist=frozenset(allowlist),
        cooldown=None if cooldown is None else _typed(cooldown, 0.0, f"rules.{rule_id}.cooldown"),
    )


def _table(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise UsageError(f"{where} must be a table", layer="config")
    return value


def _no_unknown(table: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise UsageError(
                f"unknown key {key!r} in {where} (allowed: {', '.join(allowed)})",
                layer="config",
                kind="unknown_key",
            )


def _typed(value: Any, default: Any, name: str) -> Any:
    """``value`` if it has the default's type (int accepted for float), else UsageError."""
    expected = type(default)
    if expected is float and type(value) is int:
        return float(value)
    if default is None or type(value) is expected:
        return value
    if expected in (tuple, frozenset) and isinstance(value, list):
        return expected(value)
    raise UsageError(
        f"{name} must be {expected.__name__}, not {type(value).__name__} ({value!r})",
        layer="config",
        kind="bad_value",
    )
