"""The detector contract: what a rule is, in the style of river's estimators.

A detector is a small class. ``__init__`` takes keyword parameters and stores them, and
nothing else: so a detector can be shown (``repr``), cloned with other thresholds
(:meth:`Detector.clone`) and built from a TOML table (``calltrace.config``), and the
parameters are introspected from the signature (:meth:`Detector.params`). State is made
on first use. ``observe(item) -> list[Alert]`` takes one item and returns the alerts it
caused (usually none); time comes from the item, never from the clock, so a replay gives
the same alerts (DESIGN.md, "Layers").

Class attributes declare the rest: ``rule_id`` (stable), ``doc`` (one paragraph, what
``calltrace rules`` prints), ``entity_type`` (what the alert's entity is), ``severity``
and ``cooldown`` (the defaults), ``consumes`` (``CallEvent`` and/or ``SipMessage``: the
engine only routes those types to it) and ``partition_key(item)``: the entity its state
lives under, so the detector can later run partitioned by that key in a stream engine.

Cooldown, allowlists and risk scores are the engine's job (``detect/engine.py``), not the
rule's: a rule only says "this fired, with this evidence".
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, ClassVar

from calltrace.model import Alert, CallEvent, SipMessage, alert_id

#: What detectors consume.
Item = CallEvent | SipMessage


class Detector:
    """Base class of every rule. Subclasses set the class attributes and implement
    :meth:`observe`, :meth:`partition_key` and :meth:`state_size`.

    >>> class Hello(Detector):
    ...     rule_id, doc, entity_type = "hello", "Says hello.", "call_id"
    ...     def __init__(self, *, greeting: str = "hi") -> None:
    ...         self.greeting = greeting
    >>> Hello(greeting="yo")
    Hello(greeting='yo')
    >>> Hello().clone(greeting="hey").params()
    {'greeting': 'hey'}
    """

    rule_id: ClassVar[str]
    doc: ClassVar[str]
    entity_type: ClassVar[str]
    severity: ClassVar[str] = "medium"
    cooldown: ClassVar[float] = 60.0
    consumes: ClassVar[tuple[type, ...]] = (CallEvent,)

    def observe(self, item: Item) -> list[Alert]:
        """Take one item (event time inside it); return the alerts it caused."""
        return []

    def partition_key(self, item: Item) -> str | None:
        """The entity whose state ``item`` touches (None: the item is irrelevant)."""
        return None

    def state_size(self) -> int:
        """Entries of state held (the conformance suite checks it stays bounded)."""
        return 0

    def late_events(self) -> int:
        """Events dropped because they arrived later than ``allowed_lateness``."""
        return 0

    # -- parameters (river's _get_params / clone) -------------------------------------
    @classmethod
    def param_defaults(cls) -> dict[str, Any]:
        """``__init__``'s keyword parameters and their defaults."""
        signature = inspect.signature(cls.__init__)
        return {
            name: p.default
            for name, p in signature.parameters.items()
            if name != "self" and p.kind is inspect.Parameter.KEYWORD_ONLY
        }

    def params(self) -> dict[str, Any]:
        """The parameters this detector was built with."""
        return {name: getattr(self, name) for name in self.param_defaults()}

    def clone(self, **overrides: Any) -> Detector:
        """A fresh detector (no state) with the same parameters, some replaced."""
        return type(self)(**(self.params() | overrides))

    def retune(self, **overrides: Any) -> Detector:
        """A detector with some parameters replaced that carries on where this one is
        (a running service changes thresholds without forgetting the open windows).
        This default starts afresh; rules that can replay their state override it."""
        return self.clone(**overrides)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"

    # -- for subclasses ---------------------------------------------------------------
    def alert(
        self,
        *,
        entity: str,
        first_seen: float,
        last_seen: float,
        title: str,
        score: int,
        call_ids: tuple[str, ...] = (),
        evidence: Mapping[str, Any] | None = None,
        severity: str | None = None,
    ) -> Alert:
        """An alert of this rule, its id derived from rule, entity and first_seen."""
        return Alert(
            id=alert_id(self.rule_id, entity, first_seen, severity or self.severity),
            rule=self.rule_id,
            severity=severity or self.severity,
            score=max(0, min(100, score)),
            title=title,
            entity_type=self.entity_type,
            entity=entity,
            first_seen=first_seen,
            last_seen=last_seen,
            call_ids=call_ids,
            evidence=dict(evidence or {}),
        )
