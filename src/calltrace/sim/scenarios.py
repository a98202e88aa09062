"""Scenario registry: a name -> a function producing a capture's flows in time order.

A scenario is a function ``Context -> Iterator[Plan]`` yielding flows in start order.
Register one with :func:`scenario` and it is available to :func:`simulation`, the
sample builder and ``calltrace simulate``. The built-ins ("office", "carrier",
"demo") register themselves the same way a plug-in would; they are imported on first
use so this module stays import-cycle free. Attack scenarios will be further functions
of the same shape, mixing their flows into normal traffic with
:func:`calltrace.sim.engine.merge_plans`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from calltrace.sim.engine import ScenarioFn, SimConfig, Simulation

BUILTINS: Final = (
    "calltrace.sim.office",
    "calltrace.sim.carrier",
    "calltrace.sim.demo",
    "calltrace.sim.media",
)


@dataclass(frozen=True, slots=True)
class Scenario:
    """A registered scenario: its function, default call rate and a one-line summary."""

    name: str
    fn: ScenarioFn
    rate: float  # default calls per second
    description: str


_REGISTRY: dict[str, Scenario] = {}


def scenario(name: str, *, rate: float, description: str) -> Callable[[ScenarioFn], ScenarioFn]:
    """Decorator: register a scenario function under ``name``."""

    def register(fn: ScenarioFn) -> ScenarioFn:
        _REGISTRY[name] = Scenario(name, fn, rate, description)
        return fn

    return register


def available() -> dict[str, Scenario]:
    """Every registered scenario by name (built-ins included)."""
    for module in BUILTINS:
        importlib.import_module(module)
    return dict(sorted(_REGISTRY.items()))


def simulation(name: str, config: SimConfig | None = None) -> Simulation:
    """A ready-to-iterate run of scenario ``name``; KeyError names the known ones.

    >>> sim = simulation("office", SimConfig(seed=7, duration=30))
    >>> frames = list(sim)
    >>> sim.truth["sip_messages"] > 0 and frames == sorted(frames, key=lambda f: f[0])
    True
    """
    known = available()
    if name not in known:
        raise KeyError(f"unknown scenario {name!r}; known: {', '.join(known)}")
    entry = known[name]
    return Simulation(name, entry.fn, config or SimConfig(), default_rate=entry.rate)
