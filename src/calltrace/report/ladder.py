"""Ladder (sequence) diagrams of a call, as plain text — the view sngrep made familiar.

Pure: it takes the messages (anything with the fields of :class:`LadderStep`) and
returns lines; the CLI colours them and the API (later) renders the same layout as
SVG. One column per ``ip:port`` endpoint in order of first appearance, one row per
message, time relative to the first message on the left.

>>> steps = [
...     LadderStep(ts=0.0, src="10.0.0.1:5060", dst="10.0.0.2:5060", label="INVITE"),
...     LadderStep(ts=0.25, src="10.0.0.2:5060", dst="10.0.0.1:5060", label="180 Ringing"),
... ]
>>> print("\\n".join(line for line, _ in render(steps)))
                  10.0.0.1:5060            10.0.0.2:5060
                        |                        |
    0.000000            |---------INVITE-------->|
    0.250000            |<-----180 Ringing-------|
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

TIME_WIDTH = 12
MIN_GAP = 25


@dataclass(frozen=True, slots=True, kw_only=True)
class LadderStep:
    ts: float
    src: str
    dst: str
    label: str
    kind: str = "request"  # "request" | "1xx" | "2xx" | "3xx" ... | "retransmission"


def label_for(method: str, status: int | None, reason: str | None, is_request: bool) -> str:
    """``INVITE`` for a request, ``180 Ringing`` for a response."""
    if is_request:
        return method
    return f"{status} {reason}".strip() if reason else str(status)


def kind_for(status: int | None, is_request: bool) -> str:
    if is_request or status is None:
        return "request"
    return f"{status // 100}xx"


def steps_from_messages(messages: Iterable[Mapping[str, Any]]) -> list[LadderStep]:
    """Ladder steps of stored messages (rows of ``sip_messages``), in their order."""
    return [
        LadderStep(
            ts=m["ts"],
            src=f"{m['src_ip']}:{m['src_port']}",
            dst=f"{m['dst_ip']}:{m['dst_port']}",
            label=label_for(m["method"], m["status"], m["reason"], m["is_request"]),
            kind=kind_for(m["status"], m["is_request"]),
        )
        for m in messages
    ]


def endpoints_of(steps: Iterable[LadderStep]) -> list[str]:
    """The columns: every ``ip:port`` in order of first appearance."""
    return list(dict.fromkeys(end for step in steps for end in (step.src, step.dst)))


def render(steps: Iterable[LadderStep]) -> list[tuple[str, str]]:
    """(line, kind) pairs: a header of endpoints, then one arrow per message."""
    steps = list(steps)
    if not steps:
        return []
    endpoints = endpoints_of(steps)
    gap = max([MIN_GAP, *(len(s.label) + 6 for s in steps), *(len(e) + 2 for e in endpoints)])
    columns = [TIME_WIDTH + gap // 2 + i * gap for i in range(len(endpoints))]
    width = columns[-1] + gap // 2 + 1

    def blank() -> list[str]:
        row = [" "] * width
        for col in columns:
            row[col] = "|"
        return row

    header = [" "] * width
    for name, col in zip(endpoints, columns, strict=True):
        start = col - len(name) // 2
        header[start : start + len(name)] = name
    lines = [("".join(header).rstrip(), "header"), ("".join(blank()).rstrip(), "header")]
    t0 = steps[0].ts
    for step in steps:
        row = blank()
        stamp = f"{step.ts - t0:12.6f}"
        row[: len(stamp)] = stamp
        a, b = columns[endpoints.index(step.src)], columns[endpoints.index(step.dst)]
        if a == b:
            text = f"|<-- {step.label}"
            row[a : a + len(text)] = text
        else:
            lo, hi = min(a, b), max(a, b)
            span = hi - lo - 1
            body = step.label.center(span - 2, "-") if span - 2 >= len(step.label) else step.label
            arrow = f"-{body}>" if a < b else f"<{body}-"
            row[lo + 1 : lo + 1 + len(arrow)] = arrow[:span]
        lines.append(("".join(row).rstrip(), step.kind))
    return lines
