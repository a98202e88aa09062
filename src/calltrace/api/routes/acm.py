"""The /acm API: a drop-in for the anti-call-masking service CallTrace replaces
(issue 5; docs/api.md has a curl example of every route)."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from calltrace.api.auth import Admin, Analyst, Viewer
from calltrace.api.errors import ApiError
from calltrace.api.responses import json_response
from calltrace.api.schemas import (
    AlertList,
    AlertOut,
    AlertPatch,
    BatchIn,
    BatchResult,
    CallIn,
    CallResult,
    ConfigIn,
    ConfigOut,
    StatsOut,
    Status,
    ThreatList,
    ThreatOut,
)
from calltrace.api.service import AcmService
from calltrace.api.settings import AcmSettings
from calltrace.api.threats import threat, threats
from calltrace.errors import UsageError
from calltrace.report.jsondoc import alert_json, iso
from calltrace.store.acm import alert_from_row, audit, find_alerts, get_alert, triage_job

router = APIRouter(prefix="/acm", tags=["acm"])


def service_of(request: Request) -> AcmService:
    service: AcmService = request.app.state.service
    return service


@router.post("/call", response_model=CallResult, summary="Post one call event")
async def post_call(call: CallIn, request: Request, _: Analyst) -> Response:
    results = await service_of(request).ingest([call], time.time())
    return json_response(results[0])


@router.post("/calls/batch", response_model=BatchResult, summary="Post call events")
async def post_batch(batch: BatchIn, request: Request, _: Analyst) -> Response:
    service = service_of(request)
    limit = service.settings.max_batch_events
    if len(batch.events) > limit:
        raise ApiError(
            422,
            "batch_too_large",
            f"a batch holds at most {limit} events, this one {len(batch.events)}",
            {"max_batch_events": limit},
        )
    return json_response({"results": await service.ingest(batch.events, time.time())})


@router.get("/alerts", response_model=AlertList, summary="Recent alerts")
async def list_alerts(
    request: Request,
    _: Viewer,
    minutes: Annotated[
        float, Query(gt=0, le=525_600, description="Alerts of the last N minutes.")
    ] = 60.0,
    status: Status | None = None,
    rule: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> Response:
    since = time.time() - minutes * 60
    rows = await run_in_threadpool(
        service_of(request).store.read,
        lambda conn: find_alerts(conn, since=since, status=status, rule=rule, limit=limit),
    )
    alerts = [alert_out(row) for row in rows]
    return json_response({"alerts": alerts, "count": len(alerts), "minutes": minutes})


@router.get("/alerts/{alert_id}", response_model=AlertOut, summary="One alert")
async def read_alert(alert_id: str, request: Request, _: Viewer) -> Response:
    row = await run_in_threadpool(
        service_of(request).store.read, lambda conn: get_alert(conn, alert_id)
    )
    if row is None:
        raise ApiError(404, "not_found", f"no alert {alert_id!r}")
    return json_response(alert_out(row))


@router.patch("/alerts/{alert_id}", response_model=AlertOut, summary="Triage an alert")
async def triage_alert(
    alert_id: str, patch: AlertPatch, request: Request, who: Analyst
) -> Response:
    changes = patch.model_dump(exclude_none=True)
    store = service_of(request).store
    if changes:
        job = triage_job(alert_id, changes, actor=who.actor, at=time.time())
        row = await store.submit_async(job)
    else:  # nothing to change: answer the alert as it is, audit nothing
        row = await run_in_threadpool(store.read, lambda conn: get_alert(conn, alert_id))
    if row is None:
        raise ApiError(404, "not_found", f"no alert {alert_id!r}")
    return json_response(alert_out(row))


@router.get("/threat", response_model=ThreatOut, summary="Threat level of a B-number")
async def read_threat(
    request: Request,
    b_number: Annotated[str, Query(min_length=1, max_length=64)],
    _: Viewer,
) -> Response:
    service = service_of(request)
    return json_response(await threat(service, b_number))


@router.get("/threats", response_model=ThreatList, summary="Every elevated B-number")
async def list_threats(request: Request, _: Viewer) -> Response:
    found = await threats(service_of(request))
    return json_response({"threats": found, "count": len(found)})


@router.get("/stats", response_model=StatsOut, summary="Counters since start")
async def read_stats(request: Request, _: Viewer) -> Response:
    return json_response(stats(service_of(request)))


@router.get("/config", response_model=ConfigOut, summary="Detection settings")
async def read_config(request: Request, _: Viewer) -> Response:
    return json_response(config_out(service_of(request)))


@router.post("/config", response_model=ConfigOut, summary="Change detection settings")
async def change_config(change: ConfigIn, request: Request, who: Admin) -> Response:
    service = service_of(request)
    before = config_out(service)
    fields = change.model_dump(exclude_none=True)
    acm = AcmSettings(
        **{k: fields.get(k, before[k]) for k in ("window_seconds", "threshold", "cooldown_seconds")}
    )
    flags = {k: fields.get(k, before[k]) for k in ("auto_disconnect", "auto_block")}
    try:
        acm.check()
    except UsageError as exc:
        raise ApiError(422, "invalid_request", exc.detail) from None
    now = time.time()

    def job(conn: Any) -> None:
        audit(conn, at=now, actor=who.actor, action="config.change", target="config:acm",
              detail={"changes": fields, "previous": before})  # fmt: skip

    await service.store.submit_async(job)
    service.reconfigure(acm, **flags)
    return json_response(config_out(service))


def config_out(service: AcmService) -> dict[str, Any]:
    settings = service.settings
    acm = settings.acm
    return {
        "window_seconds": acm.window_seconds,
        "threshold": acm.threshold,
        "cooldown_seconds": acm.cooldown_seconds,
        "auto_disconnect": settings.auto_disconnect,
        "auto_block": settings.auto_block,
        "rules": [slot.rule for slot in service.engine.slots],
    }


def stats(service: AcmService) -> dict[str, Any]:
    tally = service.tally
    total_calls = tally.stored_events + tally.calls
    total_alerts = tally.stored_alerts + tally.alerts
    masking = service.masking
    return {
        "total_calls": total_calls,
        "total_alerts": total_alerts,
        "detection_rate": total_alerts / total_calls if total_calls else 0.0,
        "avg_latency_ms": 1000 * tally.request_seconds / tally.requests if tally.requests else 0.0,
        "calls_since_start": tally.calls,
        "alerts_since_start": tally.alerts,
        "duplicates": tally.duplicates,
        "late_events": service.engine.late_events(),
        "uptime_seconds": round(time.time() - tally.started, 3),
        "active_b_numbers": 0 if masking is None else len(masking.active_keys()),
    }


def alert_out(row: dict[str, Any]) -> dict[str, Any]:
    """A stored alert as the API shows it: the JSON document's alert plus its triage."""
    out = alert_json(alert_from_row(row))
    out.update(
        status=row["status"],
        notes=row["notes"],
        updated_at=iso(row["updated_at"]),
        updated_by=row["updated_by"],
        created_at=iso(row["created_at"]),
    )
    if "history" in row:
        out["history"] = [entry | {"at": iso(entry["at"])} for entry in row["history"]]
    return out
