"""The pipeline runs the detectors: on call events traced from SIP and on event files."""

from __future__ import annotations

import json

from calltrace.config import parse_config
from calltrace.detect.engine import DetectionEngine
from calltrace.detect.registry import registered
from calltrace.pipeline import Analysis, Analyzer
from tests.decode._build import eth, ipv4, pcap_file, udp

T0 = 1767603600  # 2026-01-05T09:00:00Z
CALLEE = "+15550999"


def _invite(caller: str, call_id: str) -> bytes:
    """An initial INVITE from ``caller`` to CALLEE (RFC 3261 §8.1.1 mandatory headers)."""
    return (
        f"INVITE sip:{CALLEE}@192.0.2.10 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK{call_id}\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:{caller}@198.51.100.7>;tag=t{call_id}\r\n"
        f"To: <sip:{CALLEE}@192.0.2.10>\r\n"
        f"Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\n"
        f"Contact: <sip:{caller}@198.51.100.7>\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def _capture(callers: int, spacing_us: int) -> bytes:
    frames = []
    for i in range(callers):
        payload = udp(_invite(f"+1555010{i}", f"call{i}"))
        frame = eth(ipv4(payload, src="198.51.100.7", dst="192.0.2.10"))
        frames.append((T0 + (i * spacing_us) // 1_000_000, (i * spacing_us) % 1_000_000, frame))
    return pcap_file(frames)


def _masking_only() -> DetectionEngine:
    """An engine with every rule but multicall_masking switched off (these tests pin it)."""
    others = {r: {"enabled": False} for r in registered() if r != "multicall_masking"}
    return DetectionEngine(parse_config({"rules": others}))


def _analyze(name: str, data: bytes, **kwargs: object) -> Analysis:
    analyzer = Analyzer(**kwargs)  # type: ignore[arg-type]
    analyzer.begin_file(name)
    analyzer.feed(data)
    analyzer.end_file()
    return analyzer.finish()


def test_masking_in_sip_gives_an_alert_with_the_callers() -> None:
    """Six INVITEs from six callers to one number within 3 s give one masking alert."""
    analysis = _analyze("m.pcap", _capture(6, 500_000), engine=_masking_only())
    (alert,) = analysis.alerts
    assert alert.rule == "multicall_masking" and alert.entity == CALLEE
    assert alert.call_ids == ("call0", "call1", "call2", "call3", "call4")
    assert analysis.stats.alerts == 1
    assert analysis.detection["suppressed"] == {"multicall_masking": 1}
    assert analysis.risk[0].entity == CALLEE and analysis.risk[0].score == 60


def test_slow_callers_in_sip_give_nothing() -> None:
    """The same six INVITEs 1.5 s apart never put five callers in 5 s: no alert."""
    assert _analyze("s.pcap", _capture(6, 1_500_000), engine=_masking_only()).alerts == []


def test_detection_can_be_off_or_configured() -> None:
    """detect=False runs no rule; a config raising min_callers to 7 silences the burst."""
    assert _analyze("m.pcap", _capture(6, 500_000), detect=False).alerts == []
    config = parse_config({"rules": {"multicall_masking": {"min_callers": 7}}})
    engine = DetectionEngine(config)
    alerts = _analyze("m.pcap", _capture(6, 500_000), engine=engine).alerts
    assert [a for a in alerts if a.rule == "multicall_masking"] == []


def _jsonl(rows: list[object]) -> bytes:
    return b"".join(
        (row if isinstance(row, bytes) else json.dumps(row).encode()) + b"\n" for row in rows
    )


def test_event_file_is_recognised_by_content_and_detected_on() -> None:
    """A JSONL file fed as bytes is read as events: alerts, counts and line-numbered errors."""
    rows: list[object] = [
        {"timestamp": T0 + i, "a_number": f"a{i}", "b_number": "b", "call_id": f"c{i}"}
        for i in range(5)
    ]
    rows.insert(2, b"{oops")
    rows.append({"timestamp": T0 + 9, "a_number": "a9"})
    analysis = _analyze("events.log", _jsonl(rows))
    (result,) = analysis.files
    assert (result.format, result.events, result.packets) == ("jsonl", 5, 7)
    assert [(e.packet, e.layer, e.kind) for e in analysis.errors] == [
        (3, "events", "bad_json"),
        (7, "events", "missing_field"),
    ]
    assert [a.call_ids for a in analysis.alerts] == [("c0", "c1", "c2", "c3", "c4")]
    assert analysis.stats.call_events == {"attempt": 5}


def test_csv_named_by_the_caller() -> None:
    """begin_file(fmt="csv") reads CSV whatever the content starts with."""
    data = b"a_number,b_number,timestamp\n" + b"".join(
        f"a{i},b,{T0 + i / 10}\n".encode() for i in range(5)
    )
    analyzer = Analyzer()
    analyzer.begin_file("x.txt", "csv")
    analyzer.feed(data)
    analyzer.end_file()
    assert len(analyzer.finish().alerts) == 1
