"""Where rules are found: built-in rules register exactly as a plug-in would.

A rule class is registered with the :func:`register` decorator (built-ins, in
``calltrace.detect.rules``), or by a third-party package through the entry-point group
``calltrace.detectors`` (``name = "package.module:Class"``), as datasette and pytest do
with plug-ins. :func:`registered` loads both once and returns ``{rule_id: class}``.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import TypeVar

from calltrace.detect.base import Detector
from calltrace.errors import UsageError

ENTRY_POINT_GROUP = "calltrace.detectors"
#: The package whose modules are the built-in rules.
BUILTIN_PACKAGE = "calltrace.detect.rules"

_REGISTRY: dict[str, type[Detector]] = {}
_loaded = False
D = TypeVar("D", bound=type[Detector])


def register(cls: D) -> D:
    """Class decorator: make ``cls`` a rule under its ``rule_id``."""
    rule_id = getattr(cls, "rule_id", None)
    if not isinstance(rule_id, str) or not rule_id.isidentifier():
        raise UsageError(f"{cls.__name__}: rule_id must be a snake_case identifier", layer="detect")
    existing = _REGISTRY.get(rule_id)
    if existing is not None and existing is not cls:
        raise UsageError(
            f"rule {rule_id!r} registered twice ({existing.__name__}, {cls.__name__})",
            layer="detect",
            kind="duplicate_rule",
        )
    _REGISTRY[rule_id] = cls
    return cls


def registered() -> dict[str, type[Detector]]:
    """Every rule, built-in and plug-in, sorted by id."""
    global _loaded
    if not _loaded:
        _loaded = True
        importlib.import_module(BUILTIN_PACKAGE)
        for point in entry_points(group=ENTRY_POINT_GROUP):
            register(point.load())
    return dict(sorted(_REGISTRY.items()))
