"""Ground truth for detection (pure): which flows and entities belong to which rule.

An attack scenario opens a *group* per attack or near miss it stages: the rule it is
about, whether it is an ``attack`` (the rule must fire) or a ``near_miss`` (benign, just
below or outside the rule's thresholds: the rule must stay quiet), the entities that
identify it (source IP, A- and B-numbers, account) and a sentence saying what it is.
Each flow it makes carries the group id in ``Plan.detail["label"]``; the engine adds the
flow's Call-ID to its group when the flow is admitted, so the truth lists exactly the
calls that are in the file. ``calltrace evaluate`` (sim/evaluate.py) scores alerts
against these groups (docs/simulate.md).

>>> labels = Labels()
>>> gid = labels.group("wangiri", "attack", "one A ringing 25 B", a_number=["+2693214000"])
>>> labels.add_call(gid, "c1@203.0.113.7")
>>> labels.as_dict()["attacks"][0]["call_ids"]
['c1@203.0.113.7']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

KINDS: Final = ("attack", "near_miss")
#: Entity types a group may name, as detectors' ``entity_type`` spell them.
ENTITY_TYPES: Final = ("source_ip", "a_number", "b_number", "account")


@dataclass(slots=True, kw_only=True)
class Group:
    """One staged attack or near miss."""

    id: str
    rule: str
    kind: str
    description: str
    entities: dict[str, list[str]]
    call_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule,
            "description": self.description,
            "entities": {k: v for k, v in self.entities.items() if v},
            "call_ids": self.call_ids,
        }


class Labels:
    """The groups of one run, in the order the scenarios opened them."""

    def __init__(self) -> None:
        self.groups: dict[str, Group] = {}

    def group(self, rule: str, kind: str, description: str, **entities: list[str]) -> str:
        """Open a group; returns its id (``rule/kind/n``) for ``Plan.detail["label"]``."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        unknown = set(entities) - set(ENTITY_TYPES)
        if unknown:
            raise ValueError(f"unknown entity types {sorted(unknown)}")
        n = sum(1 for g in self.groups.values() if g.rule == rule and g.kind == kind)
        gid = f"{rule}/{kind}/{n + 1}"
        clean = {k: list(dict.fromkeys(v)) for k, v in entities.items()}
        self.groups[gid] = Group(
            id=gid, rule=rule, kind=kind, description=description, entities=clean
        )
        return gid

    def add_call(self, gid: str, call_id: str | None) -> None:
        """A flow of group ``gid`` was put on the wire with this Call-ID."""
        if call_id:
            self.groups[gid].call_ids.append(call_id)

    def as_dict(self) -> dict[str, list[dict[str, Any]]]:
        """``{"attacks": [...], "near_misses": [...]}`` for truth.json."""
        return {
            "attacks": [g.as_dict() for g in self.groups.values() if g.kind == "attack"],
            "near_misses": [g.as_dict() for g in self.groups.values() if g.kind == "near_miss"],
        }
