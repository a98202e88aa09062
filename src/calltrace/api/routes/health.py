"""``/health`` (no key: load balancers and probes call it) and ``/metrics`` (Prometheus;
a viewer key unless ``[serve] public_metrics = true``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from calltrace import __version__
from calltrace.api.auth import authenticate, require_role
from calltrace.api.metrics import CONTENT_TYPE
from calltrace.api.responses import json_response
from calltrace.api.routes.acm import service_of, stats
from calltrace.api.schemas import HealthOut

router = APIRouter(tags=["service"])


@router.get("/health", response_model=HealthOut, summary="Liveness, version, database")
async def health(request: Request) -> Response:
    service = service_of(request)
    ok = await run_in_threadpool(service.store.ping)
    figures = stats(service)
    return json_response(
        {
            "status": "ok" if ok else "degraded",
            "version": __version__,
            "database": {"ok": ok, "dialect": service.store.dialect},
            "stats": {k: figures[k] for k in ("total_calls", "total_alerts", "uptime_seconds")},
        },
        status=200 if ok else 503,
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    if not request.app.state.settings.public_metrics:
        require_role(request, await authenticate(request), "viewer")
    service = service_of(request)
    service.metrics.commits.set(service.store.commits)
    return Response(service.metrics.render(), media_type=CONTENT_TYPE)
