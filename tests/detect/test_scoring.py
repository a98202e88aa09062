"""Risk scores: noisy-OR of alert scores, decaying with event time."""

from __future__ import annotations

from calltrace.detect.scoring import RiskScores
from calltrace.model import Alert


def _alert(score: int, ts: float, entity: str = "e", rule: str = "r") -> Alert:
    return Alert(
        id=f"{rule}{ts}", rule=rule, severity="high", score=score, title="t",
        entity_type="ip", entity=entity, first_seen=ts, last_seen=ts,
    )  # fmt: skip


def test_noisy_or_of_fresh_alerts() -> None:
    """80 alone is 80; 50 and 50 give 75; 50, 50 and 50 give 88 (1 - 0.5**3 = 0.875)."""
    risk = RiskScores()
    assert risk.add(_alert(80, 0.0, "a")).score == 80
    assert [risk.add(_alert(50, 0.0, "b")).score for _ in range(3)] == [50, 75, 88]


def test_weight_halves_every_half_life() -> None:
    """An alert of 80 counts 40 one half-life later and 20 two half-lives later."""
    risk = RiskScores(half_life=600.0)
    risk.add(_alert(80, 0.0))
    assert risk.get("ip", "e", at=600.0).score == 40
    assert risk.get("ip", "e", at=1200.0).score == 20


def test_reasons_are_strongest_first_and_bounded() -> None:
    """Reasons list the heaviest hits first and keep at most max_reasons of them."""
    risk = RiskScores(max_reasons=3)
    for score in (10, 90, 30, 50, 20):
        risk.add(_alert(score, 0.0, rule=f"r{score}"))
    assert [r.score for r in risk.get("ip", "e").reasons] == [90, 50, 30]


def test_prune_drops_decayed_entities() -> None:
    """Entities whose risk decayed below 1 are forgotten; fresh ones stay."""
    risk = RiskScores(half_life=60.0)
    risk.add(_alert(50, 0.0, "old"))
    risk.add(_alert(50, 3600.0, "new"))
    risk.prune(3600.0)
    assert [r.entity for r in risk.all()] == ["new"]


def test_unknown_entity_scores_zero() -> None:
    """An entity with no alerts has risk 0 and no reasons."""
    assert RiskScores().get("ip", "nobody").score == 0
