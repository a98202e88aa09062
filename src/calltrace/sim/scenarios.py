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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from calltrace.sim.dialog import Plan
from calltrace.sim.engine import Context, ScenarioFn, SimConfig, Simulation, merge_plans

BUILTINS: Final = (
    "calltrace.sim.office",
    "calltrace.sim.carrier",
    "calltrace.sim.demo",
    "calltrace.sim.attacks_sip",
    "calltrace.sim.attacks_fraud",
    "calltrace.sim.attacks_identity",
    "calltrace.sim.media",
)


@dataclass(frozen=True, slots=True)
class Scenario:
    """A registered scenario: its function, default call rate and a one-line summary."""

    name: str
    fn: ScenarioFn
    rate: float  # default calls per second
    description: str
    rule: str | None = None  # the detection rule an attack scenario stages
    # Whether normal office traffic can be mixed in without the rule firing on it (the
    # end-to-end evaluation test mixes it in when True; docs/simulate.md says why not).
    background_safe: bool = True
    # Output formats in which the attack is visible: header tricks are not in event
    # files, configuration changes are not in SIP.
    formats: tuple[str, ...] = ("pcap", "jsonl")


_REGISTRY: dict[str, Scenario] = {}


def scenario(
    name: str,
    *,
    rate: float,
    description: str,
    rule: str | None = None,
    background_safe: bool = True,
    formats: tuple[str, ...] = ("pcap", "jsonl"),
) -> Callable[[ScenarioFn], ScenarioFn]:
    """Decorator: register a scenario function under ``name``."""

    def register(fn: ScenarioFn) -> ScenarioFn:
        _REGISTRY[name] = Scenario(name, fn, rate, description, rule, background_safe, formats)
        return fn

    return register


def available() -> dict[str, Scenario]:
    """Every registered scenario by name (built-ins included)."""
    for module in BUILTINS:
        importlib.import_module(module)
    return dict(sorted(_REGISTRY.items()))


def simulation(names: str | Sequence[str], config: SimConfig | None = None) -> Simulation:
    """A ready-to-iterate run of scenario ``names`` (one name, or several mixed into one
    capture); KeyError names the known ones.

    The first scenario runs in the root random namespace (so ``office`` alone gives the
    bytes it always gave), the others each in their own; ``--rate`` applies to every
    scenario that draws calls at a rate (attack scenarios stage fixed counts).

    >>> sim = simulation("office", SimConfig(seed=7, duration=30))
    >>> frames = list(sim)
    >>> sim.truth["sip_messages"] > 0 and frames == sorted(frames, key=lambda f: f[0])
    True
    """
    chosen = [names] if isinstance(names, str) else list(names)
    known = available()
    for name in chosen:
        if name not in known:
            raise KeyError(f"unknown scenario {name!r}; known: {', '.join(known)}")
    if not chosen:
        raise KeyError("no scenario given")
    entries = [known[name] for name in dict.fromkeys(chosen)]
    if len(entries) == 1:
        entry = entries[0]
        return Simulation(entry.name, entry.fn, config or SimConfig(), default_rate=entry.rate)

    def mixed(ctx: Context) -> Iterator[Plan]:
        streams = [
            entry.fn(ctx if i == 0 else ctx.child(entry.name, entry.rate))
            for i, entry in enumerate(entries)
        ]
        return merge_plans(*streams)

    name = "+".join(entry.name for entry in entries)
    return Simulation(name, mixed, config or SimConfig(), default_rate=entries[0].rate)
