"""One JSON error shape for every error the service answers (datasette's rule):

    {"error": {"code": "not_found", "message": "no alert 'ab12'", "detail": null}}

``code`` is a stable snake_case token clients may branch on, ``message`` a sentence for
people, ``detail`` structured extra (the field errors of a 422, the limit of a 429).
Routes raise :class:`ApiError`; the handlers below turn it, FastAPI's validation errors,
Starlette's 404/405 and any unexpected exception (a 500, logged) into that shape. A test
holds every route to it (tests/api/test_errors.py).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from calltrace.api.responses import json_response

log = logging.getLogger("calltrace.api")

#: The token of each HTTP status Starlette raises by itself.
STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(Exception):
    """An error answer: HTTP status, code, message, optional detail and headers."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        detail: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail
        self.headers = headers


def error_body(code: str, message: str, detail: Any = None) -> dict[str, Any]:
    """The error document."""
    return {"error": {"code": code, "message": message, "detail": detail}}


def error_response(exc: ApiError) -> Response:
    return json_response(
        error_body(exc.code, exc.message, exc.detail), status=exc.status, headers=exc.headers
    )


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the one shape."""

    async def api_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(exc)

    async def http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        code = STATUS_CODES.get(exc.status_code, f"http_{exc.status_code}")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        headers = None if exc.headers is None else dict(exc.headers)
        return error_response(ApiError(exc.status_code, code, message, None, headers))

    async def validation_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        fields = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg"), "type": e.get("type")}
            for e in exc.errors()
        ]
        first = fields[0] if fields else {"loc": [], "msg": "invalid request"}
        where = ".".join(first["loc"])
        message = f"{where}: {first['msg']}" if where else str(first["msg"])
        return error_response(ApiError(422, "invalid_request", message, fields))

    async def unexpected(_: Request, exc: Exception) -> Response:
        log.exception("unexpected error", exc_info=exc)
        return error_response(ApiError(500, "internal_error", "internal server error"))

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected)
