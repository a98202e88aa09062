"""Settings of ``calltrace serve``: the TOML config file, the environment, the command line.

Precedence, highest first (docs/api.md, "Settings"):

1. command-line options (``--host``, ``--port``, ``--db``);
2. environment variables: the seed service's ``ACM_WINDOW_SECONDS``, ``ACM_THRESHOLD``,
   ``ACM_COOLDOWN_SECONDS``, ``ACM_AUTO_DISCONNECT``, ``ACM_AUTO_BLOCK``, and
   ``CALLTRACE_DB``;
3. the config file: ``[serve]`` for the service, ``[rules.multicall_masking]`` for the
   masking rule (``window``, ``min_callers``, ``cooldown``, which the ACM names call
   ``window_seconds``, ``threshold``, ``cooldown_seconds``);
4. built-in defaults.

The environment wins over the file because that is how containers are configured: one
image, one file, a different variable per deployment. ``POST /acm/config`` changes the
masking settings at run time; such a change lasts until the process ends (the audit log
keeps it), so a restart always starts from the file and the environment.

>>> s = load_settings(None, env={"ACM_THRESHOLD": "7", "ACM_AUTO_BLOCK": "yes"})
>>> s.acm.threshold, s.acm.window_seconds, s.auto_block
(7, 5.0, True)
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from calltrace.config import Config, RuleConfig, load_config
from calltrace.errors import UsageError

MASKING = "multicall_masking"


@dataclass(frozen=True, slots=True, kw_only=True)
class AcmSettings:
    """The three numbers of the masking rule, in the ACM API's names."""

    window_seconds: float = 5.0
    threshold: int = 5
    cooldown_seconds: float = 30.0

    def check(self) -> None:
        """UsageError unless every value is usable (the API turns it into a 422)."""
        if not 0 < self.window_seconds <= 86_400:
            raise UsageError("window_seconds must be in (0, 86400]", layer="config")
        if not 2 <= self.threshold <= 100_000:
            raise UsageError("threshold must be in [2, 100000]", layer="config")
        if not 0 <= self.cooldown_seconds <= 86_400:
            raise UsageError("cooldown_seconds must be in [0, 86400]", layer="config")


#: ``[serve]`` keys and their defaults (the type of the default is the required type).
SERVE_DEFAULTS: dict[str, Any] = {
    "host": "127.0.0.1",
    "port": 5001,
    "db": "calltrace.db",
    "auto_disconnect": False,
    "auto_block": False,
    "rate_limit": 1000.0,  # requests per second per key; 0 turns limiting off
    "rate_burst": 2000,  # bucket size: requests a key may send at once
    "public_metrics": False,  # /metrics without a key (for a Prometheus scraper)
    "max_batch_events": 10_000,  # events in one /acm/calls/batch
    "dedup_seconds": 300.0,  # how long event keys are remembered in memory
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Everything the service reads at start."""

    host: str = "127.0.0.1"
    port: int = 5001
    db: str = "calltrace.db"
    auto_disconnect: bool = False
    auto_block: bool = False
    rate_limit: float = 1000.0
    rate_burst: int = 2000
    public_metrics: bool = False
    max_batch_events: int = 10_000
    dedup_seconds: float = 300.0
    detect: Config = field(default_factory=Config)

    @property
    def acm(self) -> AcmSettings:
        """The masking rule's settings as the detection config holds them."""
        rule = self.detect.rule(MASKING)
        return AcmSettings(
            window_seconds=float(rule.params.get("window", 5.0)),
            threshold=int(rule.params.get("min_callers", 5)),
            cooldown_seconds=30.0 if rule.cooldown is None else rule.cooldown,
        )

    def with_acm(self, acm: AcmSettings) -> Settings:
        """These settings with the masking rule's window, threshold and cooldown replaced."""
        acm.check()
        return dataclasses.replace(self, detect=with_acm(self.detect, acm))


def with_acm(config: Config, acm: AcmSettings) -> Config:
    """``config`` with the masking rule set to ``acm`` (other rules untouched)."""
    rule = config.rule(MASKING)
    params = dict(rule.params) | {"window": acm.window_seconds, "min_callers": acm.threshold}
    new_rule = dataclasses.replace(rule, params=params, cooldown=acm.cooldown_seconds)
    rules: dict[str, RuleConfig] = dict(config.rules) | {MASKING: new_rule}
    return dataclasses.replace(config, rules=rules)


_ENV_ACM = {
    "ACM_WINDOW_SECONDS": ("window_seconds", float),
    "ACM_THRESHOLD": ("threshold", int),
    "ACM_COOLDOWN_SECONDS": ("cooldown_seconds", float),
}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def load_settings(
    config_path: str | Path | None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Read the config file, then the environment, then ``overrides`` (the CLI's options,
    None values ignored), in that order of increasing precedence."""
    env = os.environ if env is None else env
    detect = load_config(config_path)
    serve = _serve_table(detect.serve)
    if "CALLTRACE_DB" in env:
        serve["db"] = env["CALLTRACE_DB"]
    for name in ("auto_disconnect", "auto_block"):
        if f"ACM_{name.upper()}" in env:
            serve[name] = env_bool(f"ACM_{name.upper()}", env[f"ACM_{name.upper()}"])
    serve.update({k: v for k, v in (overrides or {}).items() if v is not None})
    settings = Settings(detect=detect, **serve)
    acm = settings.acm
    for var, (name, kind) in _ENV_ACM.items():
        if var in env:
            try:
                acm = dataclasses.replace(acm, **{name: kind(env[var])})
            except ValueError:
                raise UsageError(f"{var}={env[var]!r} is not a {kind.__name__}") from None
    return settings.with_acm(acm)


def env_bool(name: str, value: str) -> bool:
    """An environment flag: 1/true/yes/on or 0/false/no/off (any case), else an error."""
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise UsageError(f"{name}={value!r}: expected true/false, 1/0, yes/no or on/off")


def _serve_table(table: Mapping[str, Any]) -> dict[str, Any]:
    """The ``[serve]`` table checked like the rest of the config: no unknown key, right types."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key not in SERVE_DEFAULTS:
            raise UsageError(
                f"unknown key {key!r} in [serve] (allowed: {', '.join(SERVE_DEFAULTS)})",
                layer="config",
                kind="unknown_key",
            )
        default = SERVE_DEFAULTS[key]
        if isinstance(default, float) and type(value) is int:
            value = float(value)
        if type(value) is not type(default):
            raise UsageError(
                f"serve.{key} must be {type(default).__name__}, not {type(value).__name__}",
                layer="config",
                kind="bad_value",
            )
        out[key] = value
    return out
