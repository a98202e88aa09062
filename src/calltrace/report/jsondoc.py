"""The JSON document of ``calltrace analyze --json``: a public contract.

Top-level keys: ``files``, ``stats``, ``calls``, ``registrations``, ``errors``,
``rtp_streams``, ``rtcp_reports``, ``alerts``, ``risk`` (docs/json.md describes every field).
Later versions add keys; they never rename or remove one. Timestamps are ISO 8601 UTC with
microseconds (``2026-01-05T09:00:00.250000Z``); durations are seconds (floats).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from calltrace import __version__
from calltrace.detect.scoring import Risk
from calltrace.enrich.enricher import Enricher, default_enricher
from calltrace.model import (
    Alert,
    Call,
    CallMedia,
    DecodeErrorRecord,
    Registration,
    RtcpRecord,
    RtpStream,
    record_dict,
)
from calltrace.pipeline import Analysis, FileResult
from calltrace.trace.callmedia import summarize

CALL_TIMES = ("start", "ringing", "answered", "end")
REGISTRATION_TIMES = ("start", "end")


def iso(ts: float | None) -> str | None:
    """Event time as ISO 8601 UTC with microseconds, rounding (not truncating) to the µs.

    >>> iso(1767603600.25)
    '2026-01-05T09:00:00.250000Z'
    >>> iso(None) is None
    True
    """
    if ts is None:
        return None
    micros = round(ts * 1_000_000)
    dt = datetime.fromtimestamp(micros // 1_000_000, UTC).replace(microsecond=micros % 1_000_000)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def call_json(
    call: Call,
    streams: Sequence[Mapping[str, Any]] = (),
    enricher: Enricher | None = None,
    *,
    enrich: bool = True,
) -> dict[str, Any]:
    """A call's entry; ``streams`` are the run's streams of its Call-ID (``record_dict``
    form), from which ``media_summary`` is computed (trace/callmedia.py); ``enricher``
    adds ``enrichment`` (default: the environment's; null with ``enrich=False``)."""
    data = record_dict(call)
    data["media_summary"] = media_summary_json(summarize(data, streams))
    for key in CALL_TIMES:
        data[key] = iso(data[key])
    for key in ("duration", "setup_time", "pdd"):
        data[key] = _round(data[key])
    data["via"] = list(call.via)
    data["codecs"] = list(call.codecs)
    data["forks"] = list(call.forks)
    data["packets"] = list(call.packets)
    data["defects"] = list(call.defects)
    data["media"] = [
        record_dict(m) | {"codecs": list(m.codecs), "security": list(m.security)}
        for m in call.media
    ]
    data["enrichment"] = (enricher or default_enricher()).call_dict(call) if enrich else None
    return data


def media_summary_json(summary: CallMedia) -> dict[str, Any]:
    """A call's media summary: lists as lists, the late streams' times in ISO 8601."""
    data = record_dict(summary)
    data["codecs"] = list(summary.codecs)
    data["encryption"] = list(summary.encryption)
    data["parties"] = [
        record_dict(p) | {"sdp": list(p.sdp), "rtp_from": list(p.rtp_from)} for p in summary.parties
    ]
    data["rtp_after_bye"] = [
        record_dict(late) | {"end": iso(late.end)} for late in summary.rtp_after_bye
    ]
    return data


def rtcp_json(report: RtcpRecord) -> dict[str, Any]:
    data = record_dict(report)
    data["ts"] = iso(report.ts)
    return data


def registration_json(reg: Registration) -> dict[str, Any]:
    data = record_dict(reg)
    for key in REGISTRATION_TIMES:
        data[key] = iso(data[key])
    data["packets"] = list(reg.packets)
    return data


def stream_json(stream: RtpStream) -> dict[str, Any]:
    data = record_dict(stream)
    data["start"] = iso(stream.start)
    data["end"] = iso(stream.end)
    data["payload_types"] = list(stream.payload_types)
    data["payload_names"] = list(stream.payload_names)
    data["keying"] = list(stream.keying)
    data["dtmf"] = [record_dict(d) | {"start": iso(d.start)} for d in stream.dtmf]
    return data


def error_json(err: DecodeErrorRecord) -> dict[str, Any]:
    data: dict[str, Any] = {
        "packet": err.packet,
        "ts": iso(err.ts),
        "layer": err.layer,
        "kind": err.kind,
        "detail": err.detail,
    }
    if err.kind == "defect":
        data["call_id"] = err.call_id
        data["defects"] = list(err.defects)
    return data


#: Entity types whose value is an address / a telephone number (docs/json.md).
IP_ENTITIES = frozenset({"source_ip", "dest_ip", "ip"})
NUMBER_ENTITIES = frozenset({"a_number", "b_number", "number", "caller", "callee"})


def alert_json(
    alert: Alert, enricher: Enricher | None = None, *, enrich: bool = True
) -> dict[str, Any]:
    data = record_dict(alert)
    data["first_seen"] = iso(alert.first_seen)
    data["last_seen"] = iso(alert.last_seen)
    data["call_ids"] = list(alert.call_ids)
    data["evidence"] = dict(alert.evidence)
    data["enrichment"] = alert_enrichment(alert, enricher or default_enricher()) if enrich else None
    return data


def alert_enrichment(alert: Alert, enricher: Enricher) -> dict[str, Any]:
    """What the alert's entity is (an address or a number, by ``entity_type``) and the
    device of a ``user_agent`` string in its evidence; each null when not applicable."""
    kind, entity, agent = alert.entity_type, alert.entity, alert.evidence.get("user_agent")
    ip = enricher.ip(entity) if kind in IP_ENTITIES else None
    number = enricher.number(entity) if kind in NUMBER_ENTITIES else None
    device = enricher.user_agent(agent) if isinstance(agent, str) else None
    return {
        "ip": None if ip is None else ip.as_dict(),
        "number": None if number is None else number.as_dict(),
        "user_agent": None if device is None else device.as_dict(),
    }


def risk_json(risk: Risk) -> dict[str, Any]:
    return {
        "entity_type": risk.entity_type,
        "entity": risk.entity,
        "score": risk.score,
        "at": iso(risk.at),
        "reasons": [
            {"rule": r.rule, "alert_id": r.alert_id, "score": r.score, "ts": iso(r.ts)}
            for r in risk.reasons
        ],
    }


def file_json(result: FileResult) -> dict[str, Any]:
    return {
        "path": result.path,
        "sha256": result.sha256,
        "packets": result.packets,
        "bytes": result.bytes,
        "format": result.format,
        "link_types": list(result.link_types),
        "sip_messages": result.sip_messages,
        "events": result.events,
        "first_ts": iso(result.first_ts),
        "last_ts": iso(result.last_ts),
    }


def document(
    analysis: Analysis, enricher: Enricher | None = None, *, enrich: bool = True
) -> dict[str, Any]:
    """The whole ``--json`` document for one run; calls and alerts are enriched with
    ``enricher`` (default: :func:`~calltrace.enrich.enricher.default_enricher`, set from
    the environment), or not at all with ``enrich=False`` (``enrichment`` is then null:
    libphonenumber costs ~160 µs a call for numbers not seen before)."""
    enricher = (enricher or default_enricher()) if enrich else None
    stats = analysis.stats
    by_call: dict[str, list[dict[str, Any]]] = {}
    for stream in analysis.rtp_streams:
        if stream.call_id is not None:
            by_call.setdefault(stream.call_id, []).append(record_dict(stream))
    return {
        "calltrace_version": __version__,
        "files": [file_json(f) for f in analysis.files],
        "stats": {
            "packets": stats.packets,
            "sip_messages": stats.sip_messages,
            "calls": stats.calls,
            "registrations": stats.registrations,
            "rtp_streams": stats.rtp_streams,
            "rtp_packets": stats.rtp_packets,
            "rtcp_packets": stats.rtcp_packets,
            "decode_errors": stats.decode_errors,
            "defects": stats.defects,
            "methods": dict(sorted(stats.methods.items())),
            "statuses": dict(sorted(stats.statuses.items())),
            "transports": dict(sorted(stats.transports.items())),
            "errors_by_kind": dict(sorted(stats.errors_by_kind.items())),
            "call_events": dict(sorted(stats.call_events.items())),
            "out_of_dialog": analysis.out_of_dialog,
            "non_sip_on_sip_ports": stats.non_sip_on_sip_ports,
            "alerts": stats.alerts,
            "detection": analysis.detection,
        },
        "calls": [
            call_json(c, by_call.get(c.call_id, ()), enricher, enrich=enrich)
            for c in analysis.calls
        ],
        "registrations": [registration_json(r) for r in analysis.registrations],
        "errors": [error_json(e) for e in analysis.errors],
        "rtp_streams": [stream_json(s) for s in analysis.rtp_streams],
        "rtcp_reports": [rtcp_json(r) for r in analysis.rtcp_reports],
        "alerts": [alert_json(a, enricher, enrich=enrich) for a in analysis.alerts],
        "risk": [risk_json(r) for r in analysis.risk],
    }
