"""Every registered rule is documented, and the detection modules' examples run."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

from calltrace.detect.registry import BUILTIN_PACKAGE, registered

DOC = Path(__file__).resolve().parents[2] / "docs" / "rules.md"
SECTION_PARTS = ("**Catches**", "**Defaults**", "**Known false positives**", "**Tuning**")


@pytest.mark.parametrize("rule_id", sorted(registered()))
def test_every_rule_has_a_section(rule_id: str) -> None:
    """docs/rules.md has a ``## rule_id`` section saying what it catches, why the default,
    its false positives and how to tune it."""
    sections = re.split(r"^## ", DOC.read_text(), flags=re.MULTILINE)
    (body,) = [s for s in sections if s.split("\n", 1)[0].strip() == rule_id]
    for part in SECTION_PARTS:
        assert part in body, f"{rule_id}: {part} missing"


@pytest.mark.parametrize(
    "module",
    [
        "calltrace.config",
        "calltrace.decode.events",
        "calltrace.detect.base",
        "calltrace.detect.engine",
        "calltrace.detect.scoring",
        "calltrace.detect.windows",
        "calltrace.detect.identity",
        "calltrace.enrich.validity",
        "calltrace.decode.sipidentity",
        "calltrace.model",
        # every rule module carries an example (docs/rules.md, "Writing a rule")
        *sorted(
            f"calltrace.detect.rules.{m.name}"
            for m in pkgutil.iter_modules(importlib.import_module(BUILTIN_PACKAGE).__path__)
            if not m.name.startswith("_")
        ),
    ],
)
def test_doctests(module: str) -> None:
    """The runnable examples in the docstrings give what they show."""
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
