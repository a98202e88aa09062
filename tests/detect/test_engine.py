"""The engine: routing by type, allowlists, cooldown, counters, risk and determinism."""

from __future__ import annotations

import pickle
from typing import ClassVar

from calltrace.config import Config, RuleConfig, parse_config
from calltrace.detect.base import Detector, Item
from calltrace.detect.engine import DetectionEngine, build_detectors, rule_table
from calltrace.model import Alert, CallEvent, Packet, SipMessage
from tests.detect._events import T0, attempt


class EveryMessage(Detector):
    """A test rule: one alert per SIP message, keyed by source IP."""

    rule_id = "every_message"
    doc = "Fires on every SIP message."
    entity_type = "source_ip"
    cooldown = 10.0
    consumes: ClassVar[tuple[type, ...]] = (SipMessage,)

    def __init__(self, *, score: int = 40) -> None:
        self.score = score

    def partition_key(self, item: Item) -> str | None:
        return item.packet.src_ip if isinstance(item, SipMessage) else None

    def observe(self, item: Item) -> list[Alert]:
        if not isinstance(item, SipMessage):
            return []
        return [
            self.alert(
                entity=item.packet.src_ip,
                first_seen=item.ts,
                last_seen=item.ts,
                title="message",
                score=self.score,
            )
        ]


def _message(ts: float, src: str) -> SipMessage:
    packet = Packet(
        number=1, ts=ts, src_ip=src, src_port=5060, dst_ip="192.0.2.1", dst_port=5060,
        transport="udp", payload=b"",
    )  # fmt: skip
    return SipMessage(
        packet=packet, is_request=True, method="OPTIONS", request_uri="sip:x", status=None,
        reason=None, call_id="c", cseq=1, cseq_method="OPTIONS", from_tag=None, to_tag=None,
        branch=None, headers=(), body=b"", raw=b"",
    )  # fmt: skip


def test_items_go_only_to_rules_that_consume_their_type() -> None:
    """A SIP message reaches the message rule only; a call event reaches neither here."""
    engine = DetectionEngine(detectors=[EveryMessage()])
    assert engine.observe(attempt(0, "a", "b")) == []
    assert engine.counters.items == 0
    assert [a.rule for a in engine.observe(_message(T0, "203.0.113.5"))] == ["every_message"]
    assert engine.consumes(SipMessage) and not engine.consumes(CallEvent)


def test_cooldown_counts_from_the_last_emitted_alert() -> None:
    """Hits 0, 5, 10, 12, 21 s with a 10 s cooldown emit at 0, 10 and 21; two are suppressed."""
    engine = DetectionEngine(detectors=[EveryMessage()])
    times = [0.0, 5.0, 10.0, 12.0, 21.0]
    alerts = [a for t in times for a in engine.observe(_message(T0 + t, "203.0.113.5"))]
    assert [a.first_seen - T0 for a in alerts] == [0.0, 10.0, 21.0]
    assert engine.counters.suppressed["every_message"] == 2
    assert engine.counters.alerts["every_message"] == 3


def test_cooldown_is_per_entity() -> None:
    """Two sources alerting at once both get their alert."""
    engine = DetectionEngine(detectors=[EveryMessage()])
    alerts = engine.observe_many([_message(T0, "203.0.113.5"), _message(T0, "203.0.113.6")])
    assert [a.entity for a in alerts] == ["203.0.113.5", "203.0.113.6"]


def test_configured_cooldown_and_allowlist_apply_to_any_rule() -> None:
    """A rule's config table sets its cooldown and allowlist, even for an injected rule."""
    config = Config(
        rules={"every_message": RuleConfig(cooldown=0.0, allowlist=frozenset({"192.0.2.9"}))}
    )
    engine = DetectionEngine(config, detectors=[EveryMessage()])
    items = [_message(T0, "203.0.113.5"), _message(T0 + 1, "203.0.113.5")]
    assert len(engine.observe_many([*items, _message(T0, "192.0.2.9")])) == 2
    assert engine.counters.allowlisted["every_message"] == 1


def test_risk_combines_an_entitys_alerts() -> None:
    """Two 40-point alerts on one source make a risk of 64 (1 - 0.6 * 0.6), both listed."""
    engine = DetectionEngine(Config(rules={"every_message": RuleConfig(cooldown=0.0)}),
                             detectors=[EveryMessage()])  # fmt: skip
    engine.observe_many([_message(T0, "203.0.113.5"), _message(T0 + 1, "203.0.113.5")])
    (risk,) = engine.risk.all()
    assert risk.score == 64 and len(risk.reasons) == 2


def test_same_input_same_alert_ids() -> None:
    """Two engines fed the same events give identical alerts (ids included)."""
    events = [attempt(i * 0.4, f"a{i % 7}", f"b{i % 2}") for i in range(60)]
    first = DetectionEngine().observe_many(events)
    second = DetectionEngine().observe_many(events)
    assert first and first == second


def test_engine_pickles_mid_run() -> None:
    """An engine with state pickles and goes on exactly as the original."""
    events = [attempt(i * 0.4, f"a{i % 7}", "b") for i in range(40)]
    engine = DetectionEngine()
    engine.observe_many(events[:20])
    copy = pickle.loads(pickle.dumps(engine))
    assert copy.observe_many(events[20:]) == engine.observe_many(events[20:])


def test_disabled_rule_is_not_built() -> None:
    """enabled = false leaves the rule out of the engine; rule_table still lists it."""
    config = parse_config({"rules": {"multicall_masking": {"enabled": False}}})
    assert all(d.rule_id != "multicall_masking" for d in build_detectors(config))
    (row,) = [r for r in rule_table(config) if r["rule"] == "multicall_masking"]
    assert row["enabled"] is False and row["cooldown"] == 30.0


def test_configured_parameters_and_lateness_reach_the_rule() -> None:
    """Thresholds from the config and the global allowed_lateness become __init__ arguments."""
    config = parse_config(
        {"detect": {"allowed_lateness": 2}, "rules": {"multicall_masking": {"min_callers": 7}}}
    )
    (rule,) = [d for d in build_detectors(config) if d.rule_id == "multicall_masking"]
    assert rule.params() == {"min_callers": 7, "window": 5.0, "allowed_lateness": 2.0}
