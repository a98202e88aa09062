"""evaluate: precision and recall arithmetic on hand-made result and truth documents."""

from __future__ import annotations

from typing import Any

import pytest

from calltrace.sim.evaluate import evaluate
from calltrace.sim.labels import Labels

TRUTH: dict[str, Any] = {
    "attacks": [
        {"id": "scan/attack/1", "rule": "scan", "entities": {"source_ip": ["203.0.113.9"]},
         "call_ids": ["s1"]},
        {"id": "scan/attack/2", "rule": "scan", "entities": {"source_ip": ["203.0.113.8"]},
         "call_ids": []},
        {"id": "mask/attack/1", "rule": "mask", "entities": {"b_number": ["+4420"]},
         "call_ids": ["m1", "m2"]},
    ],
    "near_misses": [
        {"id": "mask/near_miss/1", "rule": "mask", "entities": {"b_number": ["+4421"]},
         "call_ids": ["n1"]},
    ],
}  # fmt: skip


def _alert(rule: str, entity: str, *call_ids: str) -> dict[str, Any]:
    return {"rule": rule, "entity": entity, "entity_type": "x", "call_ids": list(call_ids)}


def test_counts_per_rule_and_overall() -> None:
    """3 scan alerts (2 on attack 1, 1 elsewhere), 1 mask alert by call id, 1 on a mask
    near miss: scan P 2/3 R 1/2, mask P 1/2 R 1/1, overall P 3/5 R 2/3."""
    alerts = [
        _alert("scan", "203.0.113.9"), _alert("scan", "203.0.113.9"),
        _alert("scan", "198.51.100.1"), _alert("mask", "+9999", "m2"), _alert("mask", "+4421"),
    ]  # fmt: skip
    score = evaluate({"alerts": alerts}, TRUTH)
    scan, mask, total = score["rules"]["scan"], score["rules"]["mask"], score["overall"]
    assert (scan["tp"], scan["fp"], scan["fn"]) == (2, 1, 1)
    assert (scan["precision"], scan["recall"]) == (0.6667, 0.5)
    assert (mask["tp"], mask["fp"], mask["fp_near_miss"], mask["fn"]) == (1, 1, 1, 0)
    assert (mask["precision"], mask["recall"]) == (0.5, 1.0)
    assert (total["tp"], total["fp"], total["detected"], total["attacks"]) == (3, 2, 2, 3)
    assert (total["precision"], total["recall"]) == (0.6, 0.6667)
    assert [m["id"] for m in score["missed"]] == ["scan/attack/2"]
    assert score["false_positives"][1]["near_miss"] == "mask/near_miss/1"


def test_an_alert_of_another_rule_on_an_attack_entity_is_a_false_positive() -> None:
    """A 'flood' alert on the scan attacker's address does not count for the scan attack."""
    score = evaluate({"alerts": [_alert("flood", "203.0.113.9")]}, TRUTH)
    assert score["rules"]["flood"]["fp"] == 1
    assert score["rules"]["flood"]["precision"] == 0.0
    assert score["rules"]["flood"]["recall"] is None
    assert score["rules"]["scan"]["recall"] == 0.0


def test_no_alerts_no_precision() -> None:
    """Without alerts precision is undefined (None) and every attack is a false negative."""
    score = evaluate({"alerts": []}, TRUTH)
    assert score["overall"]["precision"] is None
    assert score["overall"]["fn"] == 3


def test_labels_reject_unknown_kinds_and_entity_types() -> None:
    """A group is an attack or a near miss, over the four known entity types."""
    labels = Labels()
    with pytest.raises(ValueError, match="kind"):
        labels.group("r", "maybe", "x")
    with pytest.raises(ValueError, match="entity"):
        labels.group("r", "attack", "x", imsi=["1"])
    assert labels.group("r", "attack", "x") == "r/attack/1"
    assert labels.group("r", "attack", "y") == "r/attack/2"
