"""The conformance suite: every registered rule, built-in or plug-in, gets these for free.

Input is real: the SIP messages and call events of the bundled sample capture, replayed
shifted in time to make a long run, plus synthetic call-event bursts that trip counting
rules (many callers to one number, many numbers from one caller, one source IP).
"""

from __future__ import annotations

import dataclasses
import pickle
import random
from functools import cache
from pathlib import Path
from typing import ClassVar

import pytest

from calltrace.detect.base import Detector, Item
from calltrace.detect.engine import DetectionEngine
from calltrace.detect.registry import registered
from calltrace.model import SEVERITIES, Alert, CallEvent, CallEventType, SipMessage, alert_id
from calltrace.pipeline import Analyzer
from calltrace.sources.pcapfile import read_chunks

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "calltrace" / "data" / "sample.pcap"
RULES = sorted(registered())


class _Recorder(Detector):
    rule_id = "recorder"
    doc = "Keeps every item it is given."
    entity_type = "none"
    consumes: ClassVar[tuple[type, ...]] = (CallEvent, SipMessage)

    def __init__(self) -> None:
        self.items: list[Item] = []

    def observe(self, item: Item) -> list[Alert]:
        self.items.append(item)
        return []


@cache
def _sample_items() -> tuple[Item, ...]:
    """The sample's SIP messages and call events, in the order the pipeline makes them."""
    recorder = _Recorder()
    analyzer = Analyzer(engine=DetectionEngine(detectors=[recorder]))
    analyzer.begin_file(str(SAMPLE))
    for chunk in read_chunks(SAMPLE):
        analyzer.feed(chunk)
    analyzer.end_file()
    analyzer.finish()
    return tuple(recorder.items)


def _shift(item: Item, delta: float) -> Item:
    if isinstance(item, SipMessage):
        packet = dataclasses.replace(item.packet, ts=item.packet.ts + delta)
        return dataclasses.replace(item, packet=packet)
    return dataclasses.replace(item, ts=item.ts + delta)


def _bursts(start: float, rng: random.Random) -> list[Item]:
    """Synthetic attacks and noise: 8 callers to one B in 2 s, one A to 25 Bs, mixed types."""
    out: list[Item] = []
    kinds = list(CallEventType)
    for i in range(8):
        out.append(CallEvent(type=CallEventType.ATTEMPT, ts=start + i * 0.25,
                             a_number=f"+1555020{i}", b_number="+15550999",
                             call_id=f"m{start}-{i}", source_ip="198.51.100.7"))  # fmt: skip
    for i in range(25):
        out.append(CallEvent(type=rng.choice(kinds), ts=start + 3 + i * 0.5,
                             a_number="+88216000", b_number=f"+4420700{rng.randrange(10**4)}",
                             call_id=f"w{start}-{i}", source_ip="203.0.113.9", status=487,
                             duration=1.0, account="acct1",
                             user_agent="friendly-scanner"))  # fmt: skip
    return out


@cache
def _stream(repeats: int) -> tuple[Item, ...]:
    """``repeats`` copies of the sample and the bursts, 20 minutes apart in event time."""
    items = _sample_items()
    base = items[0].ts
    rng = random.Random(7)
    out: list[Item] = []
    for r in range(repeats):
        delta = r * 1200.0
        out.extend(_shift(item, delta) for item in items)
        out.extend(_bursts(base + delta + 600.0, rng))
    return tuple(out)


def _fresh(rule_id: str) -> Detector:
    cls = registered()[rule_id]
    return cls(**cls.param_defaults())


def _feed(detector: Detector, items: tuple[Item, ...] | list[Item]) -> list[Alert]:
    return [a for item in items for a in detector.observe(item)]


@pytest.mark.parametrize("rule_id", RULES)
def test_declares_its_contract(rule_id: str) -> None:
    """The class names its id, doc, entity type, severity, cooldown and consumed types."""
    cls = registered()[rule_id]
    assert cls.rule_id == rule_id and rule_id.isidentifier() and rule_id.islower()
    assert len(cls.doc) > 40 and cls.entity_type and cls.severity in SEVERITIES
    assert cls.cooldown >= 0 and set(cls.consumes) <= {CallEvent, SipMessage}
    detector = _fresh(rule_id)
    assert repr(detector.clone()) == repr(detector)


@pytest.mark.parametrize("rule_id", RULES)
def test_same_input_gives_same_alerts(rule_id: str) -> None:
    """Two fresh detectors fed the same stream give equal alerts, ids included."""
    stream = _stream(3)
    first, second = _feed(_fresh(rule_id), stream), _feed(_fresh(rule_id), stream)
    assert first == second


@pytest.mark.parametrize("rule_id", RULES)
def test_alerts_are_well_formed(rule_id: str) -> None:
    """Every alert names the rule and its entity type, a valid severity and score, and an
    id derived from rule, entity and first_seen."""
    cls = registered()[rule_id]
    for alert in _feed(_fresh(rule_id), _stream(3)):
        assert alert.rule == rule_id and alert.entity_type == cls.entity_type
        assert alert.severity in SEVERITIES and 0 <= alert.score <= 100
        assert alert.first_seen <= alert.last_seen and alert.entity
        assert alert.id == alert_id(rule_id, alert.entity, alert.first_seen, alert.severity)


@pytest.mark.parametrize("rule_id", RULES)
def test_state_stays_bounded_on_a_long_run(rule_id: str) -> None:
    """State after 16 hours of event time is no bigger than after 8: it follows the windows,
    not the length of the run."""
    detector = _fresh(rule_id)
    stream = _stream(48)
    half = len(stream) // 2
    _feed(detector, stream[:half])
    middle = detector.state_size()
    _feed(detector, stream[half:])
    assert detector.state_size() <= 2 * middle + 64


@pytest.mark.parametrize("rule_id", RULES)
def test_pickles_mid_run(rule_id: str) -> None:
    """A detector pickled half-way goes on exactly as the original."""
    stream = _stream(3)
    half = len(stream) // 2
    detector = _fresh(rule_id)
    _feed(detector, stream[:half])
    copy = pickle.loads(pickle.dumps(detector))
    assert _feed(copy, stream[half:]) == _feed(detector, stream[half:])


@pytest.mark.parametrize("rule_id", RULES)
def test_does_not_mutate_its_input(rule_id: str) -> None:
    """Items are equal to a deep copy of themselves after the detector saw them."""
    stream = _stream(1)
    before = [dataclasses.replace(item) for item in stream]
    _feed(_fresh(rule_id), stream)
    assert list(stream) == before


@pytest.mark.parametrize("rule_id", RULES)
def test_irrelevant_items_give_nothing(rule_id: str) -> None:
    """Foreign objects and types the rule does not consume give no alert and no state."""
    detector = _fresh(rule_id)
    foreign: list[object] = [object(), "INVITE", None, 42]
    for item in foreign:
        assert detector.observe(item) == []  # type: ignore[arg-type]
        assert detector.partition_key(item) is None  # type: ignore[arg-type]
    assert detector.state_size() == 0


def test_the_stream_trips_a_rule() -> None:
    """The suite's stream is not inert: its bursts make multicall_masking fire each time."""
    alerts = _feed(_fresh("multicall_masking"), _stream(3))
    assert {a.entity for a in alerts} == {"+15550999"}
    assert len({a.first_seen for a in alerts}) >= 3
