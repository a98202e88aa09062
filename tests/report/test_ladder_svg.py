"""The SVG ladder: well-formed XML with the terminal ladder's columns, arrows and labels."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from calltrace.report.ladder import steps_from_messages
from calltrace.report.ladder_svg import render_svg

NS = {"s": "http://www.w3.org/2000/svg"}
A, B, P = ("192.0.2.1", 5060), ("192.0.2.2", 5060), ("198.51.100.5", 5070)


def msg(ts: float, src: tuple[str, int], dst: tuple[str, int], method: str,
        status: int | None = None, reason: str | None = None) -> dict[str, object]:  # fmt: skip
    return {"ts": ts, "src_ip": src[0], "src_port": src[1], "dst_ip": dst[0],
            "dst_port": dst[1], "method": method, "status": status, "reason": reason,
            "is_request": status is None}  # fmt: skip


CALL = [
    msg(100.0, A, P, "INVITE"),
    msg(100.01, P, A, "INVITE", 100, "Trying"),
    msg(100.02, P, B, "INVITE"),
    msg(100.5, B, P, "INVITE", 486, "Busy <Here> & gone"),
    msg(100.6, P, P, "OPTIONS"),
]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_columns_are_the_endpoints_in_order_of_first_appearance() -> None:
    """Three endpoints: caller, proxy, callee, named at the top, each with a lifeline."""
    root = parse(render_svg(steps_from_messages(CALL)))
    names = [t.text for t in root.findall("s:text", NS)]
    assert names == ["192.0.2.1:5060", "198.51.100.5:5070", "192.0.2.2:5060"]
    assert len(root.findall("s:line", NS)) == 3


def test_one_arrow_per_message_with_label_time_and_direction() -> None:
    """Each message is a group: its time since the first, an arrow the right way, its label."""
    root = parse(render_svg(steps_from_messages(CALL), title="call-1"))
    assert root.find("s:title", NS) is not None and root.find("s:title", NS).text == "call-1"
    groups = root.findall("s:g", NS)
    assert len(groups) == 5
    texts = [[t.text for t in g.findall("s:text", NS)] for g in groups]
    assert texts == [
        ["0.000000", "INVITE"],
        ["0.010000", "100 Trying"],
        ["0.020000", "INVITE"],
        ["0.500000", "486 Busy <Here> & gone"],  # escaped in the file, whole once parsed
        ["0.600000", "OPTIONS"],
    ]
    first, second = (g.find("s:line", NS) for g in groups[:2])
    assert first is not None and second is not None
    assert float(first.get("x1", 0)) < float(first.get("x2", 0))  # caller -> proxy
    assert float(second.get("x1", 0)) > float(second.get("x2", 0))  # proxy -> caller
    assert groups[3].get("class") == "msg 4xx" and groups[4].find("s:path", NS) is not None


def test_an_empty_call_is_an_empty_valid_diagram() -> None:
    """No messages: still a parseable SVG, without groups."""
    root = parse(render_svg([]))
    assert root.tag == "{http://www.w3.org/2000/svg}svg" and root.findall("s:g", NS) == []
