"""Per-entity risk: one 0-100 figure that combines every alert an entity drew.

The formula is a noisy-OR with exponential decay in event time. Each alert ``i`` on the
entity is read as an independent piece of evidence that the entity is bad, with
probability ``p_i = score_i / 100``, which fades with age at half-life ``H``::

    w_i(t)  = p_i * 2 ** (-(t - t_i) / H)           t_i = the alert's last_seen
    risk(t) = 100 * (1 - prod_i (1 - w_i(t)))        rounded to an integer

So one alert of score 80 gives 80; two independent ones of 50 give 75; a third gives
88; and a day later (H = 1 h) the same alerts weigh almost nothing. Noisy-OR is the usual
way to combine independent indicators without letting many weak ones exceed certainty
(Pearl, "Probabilistic Reasoning in Intelligent Systems", 1988, §4.3.2). ``t`` is the
entity's newest alert time, or the time the caller asks about: never the clock.

Each entity keeps at most ``max_reasons`` hits (the strongest decayed weights win) and
entities whose risk decayed below ``1`` are dropped when :meth:`RiskScores.prune` runs,
so memory stays bounded.

>>> risk = RiskScores(half_life=3600.0)
>>> from calltrace.model import Alert
>>> def hit(score, ts):
...     return Alert(id=str(ts), rule="r", severity="high", score=score, title="t",
...                  entity_type="ip", entity="192.0.2.9", first_seen=ts, last_seen=ts)
>>> risk.add(hit(50, 0.0)).score, risk.add(hit(50, 0.0)).score
(50, 75)
>>> risk.get("ip", "192.0.2.9", at=3600.0).score   # one half-life later: 1-(1-.25)**2
44
"""

from __future__ import annotations

from dataclasses import dataclass

from calltrace.model import Alert


@dataclass(frozen=True, slots=True, kw_only=True)
class Reason:
    """One hit behind a risk figure."""

    rule: str
    alert_id: str
    score: int
    ts: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Risk:
    """An entity's risk at time ``at`` and the hits behind it, strongest first."""

    entity_type: str
    entity: str
    score: int
    at: float
    reasons: tuple[Reason, ...]


class RiskScores:
    """Keeps the hits of every entity; :meth:`get` evaluates the formula above."""

    def __init__(self, *, half_life: float = 3600.0, max_reasons: int = 16) -> None:
        self.half_life = half_life
        self.max_reasons = max_reasons
        self._hits: dict[tuple[str, str], list[Reason]] = {}

    def add(self, alert: Alert) -> Risk:
        """Record one alert; return its entity's risk as of the alert."""
        key = (alert.entity_type, alert.entity)
        hits = self._hits.setdefault(key, [])
        hits.append(
            Reason(rule=alert.rule, alert_id=alert.id, score=alert.score, ts=alert.last_seen)
        )
        if len(hits) > self.max_reasons:
            at = max(h.ts for h in hits)
            hits.sort(key=lambda h: self._weight(h, at), reverse=True)
            del hits[self.max_reasons :]
        return self.get(*key)

    def get(self, entity_type: str, entity: str, *, at: float | None = None) -> Risk:
        """The entity's risk at ``at`` (default: its newest hit); 0 when unknown."""
        hits = self._hits.get((entity_type, entity), [])
        if at is None:
            at = max((h.ts for h in hits), default=0.0)
        keep = 1.0
        for hit in hits:
            keep *= 1.0 - self._weight(hit, at)
        ordered = sorted(hits, key=lambda h: (-self._weight(h, at), h.ts, h.alert_id))
        return Risk(
            entity_type=entity_type,
            entity=entity,
            score=round(100 * (1.0 - keep)),
            at=at,
            reasons=tuple(ordered),
        )

    def all(self) -> list[Risk]:
        """Every entity's risk at its newest hit, highest first."""
        risks = [self.get(kind, entity) for kind, entity in self._hits]
        risks.sort(key=lambda r: (-r.score, r.entity_type, r.entity))
        return risks

    def prune(self, at: float) -> None:
        """Drop entities whose risk at ``at`` has decayed below 1."""
        for key in [k for k in self._hits if self.get(*k, at=at).score < 1]:
            del self._hits[key]

    def __len__(self) -> int:
        return len(self._hits)

    def _weight(self, hit: Reason, at: float) -> float:
        age = max(0.0, at - hit.ts)
        weight: float = hit.score / 100.0 * 2.0 ** (-age / self.half_life)
        return weight
