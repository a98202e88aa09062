"""The detection engine: builds the enabled rules, routes items to them, and applies
what is the same for every rule (allowlists, cooldown, risk scores, counters).

Routing is by type: a ``CallEvent`` goes only to the detectors whose ``consumes`` names
``CallEvent``, a ``SipMessage`` to those that read headers. Per rule:

- allowlist: an item whose ``partition_key`` is allowlisted never reaches the rule (its
  state is not even kept), and an alert whose entity is allowlisted is dropped; both are
  counted in ``counters.allowlisted``.
- cooldown: after an alert on ``(rule, entity)``, further alerts on it within
  ``cooldown`` seconds of event time (measured from the last *emitted* alert's
  ``last_seen``) are suppressed and counted in ``counters.suppressed``, so an attack that
  goes on gives one alert per cooldown period, not one per call.
- risk: every emitted alert feeds :class:`~calltrace.detect.scoring.RiskScores`.

Like the detectors it is pure: event time only, no I/O.

>>> from calltrace.model import CallEvent, CallEventType
>>> engine = DetectionEngine()
>>> events = [CallEvent(type=CallEventType.ATTEMPT, ts=float(i) / 4, a_number=f"a{i}",
...                     b_number="b1", call_id=f"c{i}") for i in range(8)]
>>> [a.rule for a in engine.observe_many(events)], engine.counters.suppressed["multicall_masking"]
(['multicall_masking'], 3)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from calltrace.config import Config
from calltrace.detect.base import Detector, Item
from calltrace.detect.registry import registered
from calltrace.detect.scoring import RiskScores
from calltrace.model import SEVERITIES, Alert


@dataclass(slots=True)
class EngineCounters:
    """What the engine did, per rule id (the ``stats.detection`` of the JSON document)."""

    items: int = 0
    alerts: Counter[str] = field(default_factory=Counter)
    suppressed: Counter[str] = field(default_factory=Counter)
    allowlisted: Counter[str] = field(default_factory=Counter)


@dataclass(slots=True)
class _Slot:
    """One enabled rule with the engine's settings for it."""

    detector: Detector
    rule: str
    cooldown: float
    allowlist: frozenset[str]


class DetectionEngine:
    """Runs every enabled rule of ``config`` (defaults: every registered rule).

    ``detectors`` replaces the registry (tests, benchmarks, a partitioned worker); their
    cooldown is the class default unless ``config`` names the rule.
    """

    def __init__(
        self, config: Config | None = None, *, detectors: Iterable[Detector] | None = None
    ) -> None:
        self.config = config or Config()
        self.counters = EngineCounters()
        self.risk = RiskScores(half_life=self.config.risk_half_life)
        built = list(detectors) if detectors is not None else build_detectors(self.config)
        self.slots = [self._slot(d) for d in built]
        self._plans: dict[type, list[tuple[Callable[[Item], list[Alert]], _Slot]]] = {}
        self._plan()
        # (rule, entity) -> (last_seen of the last alert let through, its severity rank)
        self._last_alert: dict[tuple[str, str], tuple[float, int]] = {}
        self._horizon = max((s.cooldown for s in self.slots), default=0.0)
        self._next_prune = float("-inf")

    @property
    def detectors(self) -> list[Detector]:
        return [slot.detector for slot in self.slots]

    def consumes(self, kind: type) -> bool:
        """Whether any enabled rule reads items of this type (the pipeline asks)."""
        return kind in self._plans

    def observe(self, item: Item) -> list[Alert]:
        """Route one item to its rules; return the alerts that pass allowlist and cooldown."""
        return self.observe_many((item,))

    def observe_many(self, items: Iterable[Item]) -> list[Alert]:
        """Route each item to its rules; return the alerts that pass allowlist and cooldown.

        The hot path: per item one dict lookup by type, then per rule its bound
        ``observe`` (and the partition key only for rules with an allowlist).
        """
        plans = self._plans
        out: list[Alert] = []
        count = 0
        for item in items:
            plan = plans.get(type(item))
            if plan is None:
                continue
            count += 1
            for observe, slot in plan:
                if slot.allowlist and slot.detector.partition_key(item) in slot.allowlist:
                    self.counters.allowlisted[slot.rule] += 1
                    continue
                alerts = observe(item)
                if alerts:
                    self._admit(slot, alerts, out)
        self.counters.items += count
        return out

    def reconfigure(self, config: Config) -> None:
        """Take new parameters, cooldowns and allowlists for the rules already running,
        keeping their state (:meth:`Detector.retune`); which rules run does not change."""
        self.config = config
        for slot in self.slots:
            settings = config.rule(slot.rule)
            params = effective_params(type(slot.detector), config)
            if params != slot.detector.params():
                slot.detector = slot.detector.retune(**params)
            default = type(slot.detector).cooldown
            slot.cooldown = default if settings.cooldown is None else settings.cooldown
            slot.allowlist = settings.allowlist
        self._horizon = max((s.cooldown for s in self.slots), default=0.0)
        self._plan()  # a retuned detector is a new object: its observe is bound anew

    def _plan(self) -> None:
        """Per item type, the bound ``observe`` of every detector consuming it (one dict
        lookup per item instead of a type test per detector)."""
        self._plans = {}
        for slot in self.slots:
            for kind in slot.detector.consumes:
                self._plans.setdefault(kind, []).append((slot.detector.observe, slot))

    def remember(self, alert: Alert) -> None:
        """Take a stored alert as if this engine had emitted it: its cooldown runs and it
        counts in the risk scores. A restarted service calls this for the alerts of the
        last cooldown period, so it does not alert again on what it already reported."""
        key = (alert.rule, alert.entity)
        last = self._last_alert.get(key)
        if last is None or alert.last_seen > last[0]:
            self._last_alert[key] = (alert.last_seen, _RANK.get(alert.severity, 0))
        self.risk.add(alert)

    def late_events(self) -> int:
        """Events dropped as too late, over all rules."""
        return sum(d.late_events() for d in self.detectors)

    def _admit(self, slot: _Slot, alerts: list[Alert], out: list[Alert]) -> None:
        counters = self.counters
        for alert in alerts:
            if alert.entity in slot.allowlist:
                counters.allowlisted[slot.rule] += 1
                continue
            key = (slot.rule, alert.entity)
            last = self._last_alert.get(key)
            rank = _RANK.get(alert.severity, 0)
            # Within the cooldown only an escalation gets through: a brute force that
            # passes the critical threshold seconds after the high alert is news.
            if last is not None and alert.last_seen - last[0] < slot.cooldown and rank <= last[1]:
                counters.suppressed[slot.rule] += 1
                continue
            self._last_alert[key] = (alert.last_seen, rank)
            counters.alerts[slot.rule] += 1
            self.risk.add(alert)
            out.append(alert)
            if alert.last_seen >= self._next_prune:
                self._prune(alert.last_seen)

    def _prune(self, now: float) -> None:
        """Forget cooldowns that have run out (bounded memory on a long run)."""
        horizon = now - self._horizon
        self._last_alert = {k: v for k, v in self._last_alert.items() if v[0] > horizon}
        self.risk.prune(now)
        self._next_prune = now + max(self._horizon, 60.0)

    def _slot(self, detector: Detector) -> _Slot:
        settings = self.config.rule(detector.rule_id)
        cooldown = detector.cooldown if settings.cooldown is None else settings.cooldown
        return _Slot(detector, detector.rule_id, cooldown, settings.allowlist)


#: Severity ranks, higher is worse (model.SEVERITIES lists them worst first).
_RANK: Final = {name: len(SEVERITIES) - i for i, name in enumerate(SEVERITIES)}


def build_detectors(config: Config) -> list[Detector]:
    """Every enabled registered rule with its configured parameters."""
    detectors = []
    for rule_id, cls in registered().items():
        settings = config.rule(rule_id)
        if settings.enabled:
            detectors.append(cls(**effective_params(cls, config)))
    return detectors


def effective_params(cls: type[Detector], config: Config) -> dict[str, Any]:
    """A rule's parameters: its defaults, the global lateness, then its config table."""
    params = cls.param_defaults()
    if "allowed_lateness" in params:
        params["allowed_lateness"] = config.allowed_lateness
    return params | dict(config.rule(cls.rule_id).params)


def rule_table(config: Config | None = None) -> list[dict[str, Any]]:
    """What ``calltrace rules`` shows: every registered rule with its effective settings."""
    config = config or Config()
    rows = []
    for rule_id, cls in registered().items():
        settings = config.rule(rule_id)
        rows.append(
            {
                "rule": rule_id,
                "enabled": settings.enabled,
                "severity": cls.severity,
                "entity_type": cls.entity_type,
                "consumes": [kind.__name__ for kind in cls.consumes],
                "params": effective_params(cls, config),
                "cooldown": cls.cooldown if settings.cooldown is None else settings.cooldown,
                "allowlist": sorted(settings.allowlist),
                "doc": cls.doc,
            }
        )
    return rows
