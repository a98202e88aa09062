"""A call's ladder diagram as SVG: the terminal ladder (report/ladder.py) drawn for a
browser or a report.

Same content and layout rules as the text ladder: one column (a lifeline) per
``ip:port`` in order of first appearance, one row per message, an arrow from sender to
receiver labelled with the method or ``status reason``, the time since the first message
on the left (seconds, six decimals), colours by kind (requests, 1xx, 2xx, 3xx-6xx). A
message from an endpoint to itself is a short loop. Built with ElementTree, so every
label is escaped and the result is well-formed XML (SVG 1.1, no scripts, no external
references: safe to serve as ``image/svg+xml``).

>>> from calltrace.report.ladder import LadderStep
>>> svg = render_svg([LadderStep(ts=0.0, src="10.0.0.1:5060", dst="10.0.0.2:5060",
...                              label="INVITE <sip:a&b>")])
>>> svg.startswith("<svg") and "INVITE &lt;sip:a&amp;b&gt;" in svg
True
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final
from xml.etree import ElementTree as ET

from calltrace.report.ladder import LadderStep, endpoints_of

SVG_NS: Final = "http://www.w3.org/2000/svg"
TIME_WIDTH: Final = 90  # px for the time column
MIN_GAP: Final = 180  # px between lifelines
CHAR: Final = 7  # px per character of the 12 px monospace font, for sizing columns
ROW: Final = 28  # px per message
TOP: Final = 50  # px above the first message (endpoint names)
#: Arrow and label colours by step kind (the terminal ladder's palette).
COLOURS: Final = {
    "request": "#1f5fbf",
    "1xx": "#7a7a7a",
    "2xx": "#1a7f37",
    "retransmission": "#b58900",
}
ERROR_COLOUR: Final = "#c62828"  # 3xx-6xx


def _colour(kind: str) -> str:
    return COLOURS.get(kind, ERROR_COLOUR)


def render_svg(steps: Iterable[LadderStep], *, title: str | None = None) -> str:
    """The SVG document (text) of a ladder; an empty call gives an empty diagram."""
    steps = list(steps)
    endpoints = endpoints_of(steps)
    longest = max([0, *(len(s.label) for s in steps), *(len(e) for e in endpoints)])
    gap = max(MIN_GAP, (longest + 4) * CHAR)
    columns = {end: TIME_WIDTH + gap // 2 + i * gap for i, end in enumerate(endpoints)}
    width = TIME_WIDTH + gap * max(1, len(endpoints))
    height = TOP + ROW * (len(steps) + 1)
    svg = ET.Element(
        "svg",
        xmlns=SVG_NS,
        width=str(width),
        height=str(height),
        viewBox=f"0 0 {width} {height}",
        attrib={"font-family": "monospace", "font-size": "12"},
    )
    if title:
        ET.SubElement(svg, "title").text = title
    _markers(svg)
    for end, x in columns.items():
        _text(svg, x, 20, end, anchor="middle", weight="bold")
        ET.SubElement(svg, "line", x1=str(x), y1="28", x2=str(x), y2=str(height - 8),
                      stroke="#999999", attrib={"stroke-dasharray": "4 3"})  # fmt: skip
    t0 = steps[0].ts if steps else 0.0
    for row, step in enumerate(steps):
        _step(svg, step, TOP + ROW * row + ROW // 2, columns, step.ts - t0)
    return ET.tostring(svg, encoding="unicode")


def _markers(svg: ET.Element) -> None:
    defs = ET.SubElement(svg, "defs")
    for kind in (*COLOURS, "error"):
        marker = ET.SubElement(defs, "marker", id=f"arrow-{kind}", markerWidth="10",
                               markerHeight="8", refX="9", refY="4", orient="auto")  # fmt: skip
        colour = COLOURS.get(kind, ERROR_COLOUR)
        ET.SubElement(marker, "path", d="M0,0 L10,4 L0,8 z", fill=colour)


def _step(svg: ET.Element, step: LadderStep, y: int, columns: dict[str, int], t: float) -> None:
    group = ET.SubElement(svg, "g", attrib={"class": f"msg {step.kind}"})
    colour = _colour(step.kind)
    marker = f"url(#arrow-{step.kind if step.kind in COLOURS else 'error'})"
    _text(group, 4, y + 4, f"{t:.6f}", fill="#555555")
    a, b = columns[step.src], columns[step.dst]
    if a == b:
        d = f"M{a},{y - 6} h30 v12 h-30"
        ET.SubElement(group, "path", d=d, fill="none", stroke=colour,
                      attrib={"marker-end": marker})  # fmt: skip
        _text(group, a + 36, y + 4, step.label, fill=colour)
        return
    ET.SubElement(group, "line", x1=str(a), y1=str(y), x2=str(b), y2=str(y), stroke=colour,
                  attrib={"stroke-width": "1.5", "marker-end": marker})  # fmt: skip
    _text(group, (a + b) // 2, y - 4, step.label, anchor="middle", fill=colour)


def _text(parent: ET.Element, x: int, y: int, text: str, *, anchor: str = "start",
          fill: str = "#000000", weight: str = "normal") -> None:  # fmt: skip
    node = ET.SubElement(parent, "text", x=str(x), y=str(y), fill=fill,
                         attrib={"text-anchor": anchor, "font-weight": weight})  # fmt: skip
    node.text = text
