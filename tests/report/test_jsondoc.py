"""The JSON document: its shape is a public contract, and docs/json.md documents all of it."""

from __future__ import annotations

import re
from pathlib import Path

from calltrace.detect.scoring import RiskScores
from calltrace.model import (
    Alert,
    Call,
    DecodeErrorRecord,
    MediaDescription,
    Packet,
    Registration,
    RtpStream,
)
from calltrace.pipeline import Analysis, FileResult, Stats
from calltrace.report.jsondoc import document, iso
from calltrace.trace.media import MediaTracker

DOC = Path(__file__).resolve().parents[2] / "docs" / "json.md"
T0 = 1767603600.0


def _stream() -> RtpStream:
    """A real stream: three G.711 packets 20 ms apart through the media tracker."""
    tracker = MediaTracker(heuristic=True)
    for i in range(3):
        header = bytes([0x80, 0, 0, i]) + (160 * i).to_bytes(4, "big") + (7).to_bytes(4, "big")
        tracker.observe(
            Packet(
                number=i + 1,
                ts=T0 + 0.02 * i,
                src_ip="192.0.2.1",
                src_port=4000,
                dst_ip="192.0.2.2",
                dst_port=5000,
                transport="udp",
                payload=header + bytes(160),
            )
        )
    (stream,) = tracker.close()
    return stream


def _analysis(*, streams: bool = False) -> Analysis:
    call = Call(
        call_id="c1",
        state="completed",
        start=T0,
        ringing=T0 + 0.5,
        answered=T0 + 2.25,
        end=T0 + 62.25,
        duration=60.0,
        media=(
            MediaDescription(
                party="caller",
                media="audio",
                ip="192.0.2.1",
                port=4000,
                proto="RTP/AVP",
                codecs=("PCMU/8000",),
            ),
        ),
    )
    reg = Registration(
        call_id="r1",
        user="100",
        domain="d",
        realm="d",
        outcome="registered",
        start=T0,
        end=T0 + 1,
        attempts=2,
        challenged=True,
        final_status=200,
    )
    errors = [
        DecodeErrorRecord(packet=3, ts=T0, layer="pcap", kind="truncated", detail="cut"),
        DecodeErrorRecord(
            packet=4,
            ts=T0,
            layer="sip",
            kind="defect",
            detail="x",
            call_id="c1",
            defects=("bad_version",),
        ),
    ]
    alert = Alert(
        id="0123456789abcdef",
        rule="multicall_masking",
        severity="high",
        score=60,
        title="5 callers",
        entity_type="b_number",
        entity="+15550999",
        first_seen=T0,
        last_seen=T0 + 1.5,
        call_ids=("c1",),
        evidence={"distinct_callers": 5},
    )
    risk = RiskScores()
    risk.add(alert)
    return Analysis(
        alerts=[alert] if streams else [],
        risk=risk.all() if streams else [],
        detection={"rules": ["multicall_masking"], "items": 1, "late": 0},
        rtp_streams=[_stream()] if streams else [],
        files=[FileResult(path="a.pcap", first_ts=T0)],
        stats=Stats(),
        calls=[call],
        registrations=[reg],
        errors=errors,
        out_of_dialog={},
    )


def _documented_keys(section: str) -> set[str]:
    """Keys in the first column of the table under a ``## `section` `` heading."""
    text = DOC.read_text()
    body = text.split(f"## `{section}`", 1)[1].split("\n## ", 1)[0]
    keys: set[str] = set()
    for line in body.splitlines():
        if line.startswith("| `"):
            keys.update(re.findall(r"`([a-z_0-9]+)`", line.split("|")[1]))
    return keys


def test_top_level_keys_are_the_contract() -> None:
    """The document has exactly the documented top-level keys, lists empty until filled."""
    doc = document(_analysis())
    assert set(doc) == {
        "calltrace_version",
        "files",
        "stats",
        "calls",
        "registrations",
        "errors",
        "rtp_streams",
        "rtcp_reports",
        "alerts",
        "risk",
    }
    assert doc["rtp_streams"] == [] and doc["alerts"] == [] and doc["risk"] == []


def test_every_emitted_key_is_documented() -> None:
    """A key the code emits but docs/json.md does not list fails this test."""
    doc = document(_analysis(streams=True))
    assert set(doc) <= _documented_keys("Top level") | {"calltrace_version"}
    for section, items in (
        ("files[]", doc["files"]),
        ("rtp_streams[]", doc["rtp_streams"]),
        ("calls[]", doc["calls"]),
        ("registrations[]", doc["registrations"]),
        ("errors[]", doc["errors"]),
        ("alerts[]", doc["alerts"]),
        ("risk[]", doc["risk"]),
    ):
        assert items, section
        emitted = set().union(*(item.keys() for item in items))
        assert emitted <= _documented_keys(section), section
    summaries = [call["media_summary"] for call in doc["calls"]]
    assert summaries and set(summaries[0]) <= _documented_keys("calls[].media_summary")
    assert set(doc["stats"]) <= _documented_keys("stats")


def test_alerts_print_iso_times_and_lists() -> None:
    """An alert's times print as ISO 8601 and its call ids and evidence as JSON values."""
    (alert,) = document(_analysis(streams=True))["alerts"]
    assert alert["first_seen"] == "2026-01-05T09:00:00.000000Z"
    assert alert["last_seen"] == "2026-01-05T09:00:01.500000Z"
    assert alert["call_ids"] == ["c1"] and alert["evidence"] == {"distinct_callers": 5}
    (risk,) = document(_analysis(streams=True))["risk"]
    assert (risk["entity"], risk["score"], risk["reasons"][0]["rule"]) == (
        "+15550999",
        60,
        "multicall_masking",
    )


def test_times_are_iso_utc_with_microseconds() -> None:
    """Call times print as ISO 8601 UTC with six decimals; durations stay seconds."""
    call = document(_analysis())["calls"][0]
    assert call["start"] == "2026-01-05T09:00:00.000000Z"
    assert call["answered"] == "2026-01-05T09:00:02.250000Z"
    assert call["duration"] == 60.0
    assert call["media"][0]["codecs"] == ["PCMU/8000"]


def test_streams_carry_tshark_figures_and_iso_times() -> None:
    """A stream's times print as ISO 8601; its packet counts and deltas come through."""
    (stream,) = document(_analysis(streams=True))["rtp_streams"]
    assert stream["start"] == "2026-01-05T09:00:00.000000Z"
    assert stream["end"] == "2026-01-05T09:00:00.040000Z"
    assert (stream["ssrc"], stream["packets"], stream["lost"]) == (7, 3, 0)
    assert stream["payload_type"] == 0 and stream["codec"] == "PCMU/8000"
    assert abs(stream["mean_delta_ms"] - 20.0) < 1e-3  # float epoch times: µs precision


def test_iso_rounds_to_the_nearest_microsecond() -> None:
    """Float noise below the microsecond does not turn .5 s into .499999 s."""
    assert iso(T0 + 0.4999999) == "2026-01-05T09:00:00.500000Z"
    assert iso(0.0) == "1970-01-01T00:00:00.000000Z"


def test_defects_carry_their_call() -> None:
    """A defect record names its Call-ID and defects; other errors do not carry those keys."""
    errors = document(_analysis())["errors"]
    assert errors[0] == {
        "packet": 3,
        "ts": "2026-01-05T09:00:00.000000Z",
        "layer": "pcap",
        "kind": "truncated",
        "detail": "cut",
    }
    assert errors[1]["call_id"] == "c1" and errors[1]["defects"] == ["bad_version"]
