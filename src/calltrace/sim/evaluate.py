"""Score a run's alerts against the simulator's truth (pure): precision and recall per rule.

The definitions (docs/simulate.md, "Evaluate"):

- An alert *matches* a truth group when the group is of the alert's rule and the alert's
  entity is one of the group's entities (any type: rules key on a source IP, a number
  or an account as they see fit) or the alert names one of the group's Call-IDs.
- An alert that matches an attack group is a **true positive**; any other alert of the
  rule (on a near miss, on normal traffic, or on an attack of another rule) is a
  **false positive**, and is said to be on a near miss when it matches a near-miss
  group of its rule.
- An attack group that no alert of its rule matches is a **false negative**. Recall
  counts attack groups (one attack, however many alerts it gets); precision counts
  alerts (a cooldown's repeat alerts on one attack are all true positives).
- precision = TP / (TP + FP), None without alerts; recall = detected attacks / attacks,
  None without attacks. ``overall`` adds the counts of every rule up (micro average).

>>> truth = {"attacks": [{"id": "w/attack/1", "rule": "w", "entities": {"a_number": ["+1"]},
...                       "call_ids": ["c1"]}], "near_misses": []}
>>> alerts = [{"rule": "w", "entity": "+1", "call_ids": []},
...           {"rule": "w", "entity": "+2", "call_ids": []}]
>>> score = evaluate({"alerts": alerts}, truth)
>>> score["rules"]["w"]["precision"], score["rules"]["w"]["recall"]
(0.5, 1.0)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Group = Mapping[str, Any]


def _keys(group: Group) -> tuple[frozenset[str], frozenset[str]]:
    entities = group.get("entities") or {}
    values = frozenset(str(v) for vs in entities.values() for v in vs)
    return values, frozenset(str(c) for c in group.get("call_ids") or ())


def _matches(alert: Mapping[str, Any], groups: Iterable[Group]) -> list[str]:
    """Ids of the groups of the alert's rule that the alert matches."""
    entity = str(alert.get("entity"))
    call_ids = {str(c) for c in alert.get("call_ids") or ()}
    found = []
    for group in groups:
        if group.get("rule") != alert.get("rule"):
            continue
        values, calls = _keys(group)
        if entity in values or call_ids & calls:
            found.append(str(group.get("id")))
    return found


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def evaluate(result: Mapping[str, Any], truth: Mapping[str, Any]) -> dict[str, Any]:
    """Per-rule and overall scores of ``result`` (an analyze JSON document: its
    ``alerts``) against ``truth`` (a simulate truth.json: ``attacks``, ``near_misses``)."""
    attacks: list[Group] = list(truth.get("attacks") or [])
    near: list[Group] = list(truth.get("near_misses") or [])
    alerts: list[Mapping[str, Any]] = list(result.get("alerts") or [])
    rules = sorted({str(g.get("rule")) for g in attacks} | {str(a.get("rule")) for a in alerts})
    zero = dict.fromkeys(("attacks", "detected", "alerts", "tp", "fp", "fp_near_miss", "fn"), 0)
    rows: dict[str, dict[str, Any]] = {rule: dict(zero) for rule in rules}
    detected: set[str] = set()
    false_positives: list[dict[str, Any]] = []
    for alert in alerts:
        row = rows[str(alert.get("rule"))]
        row["alerts"] += 1
        hits = _matches(alert, attacks)
        if hits:
            row["tp"] += 1
            detected.update(hits)
            continue
        row["fp"] += 1
        near_hits = _matches(alert, near)
        row["fp_near_miss"] += bool(near_hits)
        false_positives.append({"rule": alert.get("rule"), "entity": alert.get("entity"),
                                "entity_type": alert.get("entity_type"),
                                "near_miss": near_hits[0] if near_hits else None})  # fmt: skip
    missed = []
    for group in attacks:
        row = rows[str(group.get("rule"))]
        row["attacks"] += 1
        if str(group.get("id")) in detected:
            row["detected"] += 1
        else:
            row["fn"] += 1
            missed.append({"rule": group.get("rule"), "id": group.get("id"),
                           "description": group.get("description")})  # fmt: skip
    for row in rows.values():
        row["precision"] = _ratio(row["tp"], row["tp"] + row["fp"])
        row["recall"] = _ratio(row["detected"], row["attacks"])
    total: dict[str, Any] = {key: sum(r[key] for r in rows.values()) for key in zero}
    total["precision"] = _ratio(total["tp"], total["tp"] + total["fp"])
    total["recall"] = _ratio(total["detected"], total["attacks"])
    return {
        "rules": rows,
        "overall": total,
        "false_positives": false_positives,
        "missed": missed,
        "near_misses": len(near),
    }
