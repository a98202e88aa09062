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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
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
    # What the site's operator declares in its CallTrace configuration: rule id -> the
    # entities (its own servers, its customers' trunks) the rule must not alert on.
    # ``calltrace simulate`` writes them to calltrace.toml (docs/simulate.md).
    allowlists: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


_REGISTRY: dict[str, Scenario] = {}


def scenario(
    name: str,
    *,
    rate: float,
    description: str,
    rule: str | None = None,
    background_safe: bool = True,
    formats: tuple[str, ...] = ("pcap", "jsonl"),
    allowlists: Mapping[str, tuple[str, ...]] | None = None,
) -> Callable[[ScenarioFn], ScenarioFn]:
    """Decorator: register a scenario function under ``name``."""

    def register(fn: ScenarioFn) -> ScenarioFn:
        _REGISTRY[name] = Scenario(
            name, fn, rate, description, rule, background_safe, formats, dict(allowlists or {})
        )
        return fn

    return register


def deployment_allowlists(names: Sequence[str]) -> dict[str, list[str]]:
    """The allowlists of a mix of scenarios: per rule, the union of theirs, sorted.

    >>> sorted(deployment_allowlists(["office", "wangiri"]))
    ['concurrent_calls', 'sip_scan']
    """
    known = available()
    merged: dict[str, set[str]] = {}
    for name in names:
        for rule, entities in known[name].allowlists.items():
            merged.setdefault(rule, set()).update(entities)
    return {rule: sorted(merged[rule]) for rule in sorted(merged)}


def config_toml(allowlists: Mapping[str, Sequence[str]]) -> str:
    """A ``--config`` file (docs/rules.md) holding ``allowlists``, one table per rule."""
    lines = ["# Written by calltrace simulate: the entities this site declares (docs/simulate.md)."]
    for rule, entities in allowlists.items():
        quoted = ", ".join(f'"{e}"' for e in entities)
        lines += ["", f"[rules.{rule}]", f"allowlist = [{quoted}]"]
    return "\n".join(lines) + "\n"


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
