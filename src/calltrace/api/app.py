"""The FastAPI application of ``calltrace serve``: ``create_app(settings)``.

The app owns, on ``app.state`` (docs/api.md, "Adding a router"):

- ``settings``: :class:`~calltrace.api.settings.Settings`;
- ``store``: :class:`~calltrace.store.service.ServiceStore` (``await store.submit_async(job)``
  to write, ``await run_in_threadpool(store.read, query)`` to read);
- ``service``: :class:`~calltrace.api.service.AcmService` (engine, counters, alert hooks);
- ``metrics``: :class:`~calltrace.api.metrics.Metrics`;
- ``gate``: keys and rate limits (``Depends(require("viewer"))`` in a route).

The store is opened (and migrated) and the engine restored from it when the app starts
(the lifespan), and the writer drains its queue when it stops.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from calltrace import __version__
from calltrace.api import errors
from calltrace.api.auth import Gate
from calltrace.api.metrics import Metrics
from calltrace.api.routes import acm, health, v1_calls
from calltrace.api.schemas import ErrorOut
from calltrace.api.service import AcmService
from calltrace.api.settings import Settings
from calltrace.store.service import ServiceStore

#: Every error answer documents the one shape in the OpenAPI schema.
ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in [
        (400, "Body that cannot be read (not UTF-8)"),
        (401, "No or unknown API key"),
        (403, "The key's role may not do this"),
        (404, "Not found"),
        (422, "Invalid request"),
        (429, "Rate limit exceeded (see Retry-After)"),
        (500, "Internal error"),
        (503, "Database unavailable"),
    ]
}


def create_app(settings: Settings, routers: Iterable[APIRouter] = ()) -> FastAPI:
    """The service for ``settings``; ``routers`` are mounted next to the built-in ones."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = ServiceStore(settings.db)
        metrics = Metrics()
        service = AcmService(settings, store, metrics)
        service.restore()
        app.state.store = store
        app.state.metrics = metrics
        app.state.service = service
        app.state.gate = Gate(store, rate=settings.rate_limit, burst=settings.rate_burst)
        try:
            yield
        finally:
            store.close()

    app = FastAPI(
        title="CallTrace",
        version=__version__,
        summary="VoIP call trap-and-trace: the /acm call-masking API and the service.",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
    )
    app.state.settings = settings
    errors.install(app)
    for router in (acm.router, health.router, v1_calls.router, *routers):
        app.include_router(router)
    return app
