"""Which calls an alert asks to end, and handing them to a switch client."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from calltrace.act import EndResult, act_on_alert, calls_to_end
from calltrace.model import Alert


def alert(rule: str, call_ids: tuple[str, ...], evidence: dict[str, object]) -> Alert:
    return Alert(id="x", rule=rule, severity="high", score=60, title="t", entity_type="b_number",
                 entity="+1555", first_seen=0.0, last_seen=1.0, call_ids=call_ids,
                 evidence=evidence)  # fmt: skip


class Recorder:
    """A switch client that ends every call it is given, and remembers them."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def end_calls(self, call_ids: Iterable[str]) -> EndResult:
        self.asked.extend(call_ids)
        return EndResult(ended=tuple(self.asked))


def test_only_masking_alerts_end_calls() -> None:
    """A rule outside DISCONNECT_RULES ends nothing, even with call ids."""
    assert calls_to_end(alert("brute_force", ("c1",), {})) == ()


def test_evidence_calls_without_ids_and_odd_shapes_are_skipped() -> None:
    """Evidence calls lacking a call_id, or calls that is not a list, add nothing."""
    assert calls_to_end(alert("multicall_masking", ("c1",), {"calls": "c9"})) == ("c1",)
    odd = {"calls": [{"call_id": None}, "c8", {"call_id": "c2"}]}
    assert calls_to_end(alert("multicall_masking", (), odd)) == ("c2",)


def test_act_on_alert_hands_the_calls_to_the_client_once() -> None:
    """The client is asked for each call once; an alert with nothing to end asks nothing."""
    recorder = Recorder()
    evidence = {"calls": [{"call_id": "c1"}, {"call_id": "c3"}]}
    result = asyncio.run(act_on_alert(alert("multicall_masking", ("c1", "c2"), evidence), recorder))
    assert recorder.asked == ["c1", "c2", "c3"] and result is not None
    assert asyncio.run(act_on_alert(alert("brute_force", ("c9",), {}), recorder)) is None
    assert recorder.asked == ["c1", "c2", "c3"]
