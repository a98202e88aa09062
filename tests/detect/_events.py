"""Hand-made call events for the detection tests."""

from __future__ import annotations

from calltrace.model import CallEvent, CallEventType

T0 = 1767603600.0  # 2026-01-05T09:00:00Z


def attempt(
    offset: float, a: str, b: str, *, kind: CallEventType = CallEventType.ATTEMPT
) -> CallEvent:
    """A call event ``offset`` seconds after T0, with a call id naming its parties."""
    return CallEvent(type=kind, ts=T0 + offset, a_number=a, b_number=b, call_id=f"{a}>{b}@{offset}")
