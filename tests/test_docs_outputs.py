"""docs/outputs.md documents every notification setting, and the output modules'
examples run."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

from calltrace.notify.config import _KEYS, KINDS

DOC = (Path(__file__).resolve().parents[1] / "docs" / "outputs.md").read_text()


@pytest.mark.parametrize("key", sorted({k for keys in _KEYS.values() for k in keys}))
def test_every_notify_key_is_documented(key: str) -> None:
    """Each key a [[notify]] table accepts appears in the documented example."""
    assert f"\n{key} = " in DOC


@pytest.mark.parametrize("kind", KINDS)
def test_every_notify_kind_is_in_the_table(kind: str) -> None:
    """Each kind has a row saying how it is sent and what it receives."""
    assert f"| `{kind}` |" in DOC


@pytest.mark.parametrize(
    "module",
    [
        "calltrace.notify.config",
        "calltrace.notify.render",
        "calltrace.notify.notifier",
        "calltrace.notify.targets",
        "calltrace.act",
        "calltrace.act.kamailio",
        "calltrace.decode.esl",
        "calltrace.report.feeds",
        "calltrace.report.ladder_svg",
        "calltrace.report.pcapexport",
    ],
)
def test_doctests(module: str) -> None:
    """The runnable examples in the docstrings give what they show."""
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
