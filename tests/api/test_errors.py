"""One JSON error shape for every error of every route (docs/api.md, "Errors")."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter

from calltrace.api.errors import ApiError
from tests.api.conftest import Api, start_api

OPEN = {"/health"}  # routes that need no key
ROLE_OF = {"GET": "viewer", "POST": "analyst", "PATCH": "analyst"}
ADMIN = {("POST", "/acm/config")}
BAD_BODY: dict[tuple[str, str], Any] = {
    ("POST", "/acm/call"): {"a_number": "", "b_number": 5},
    ("POST", "/acm/calls/batch"): {"events": "no"},
    ("PATCH", "/acm/alerts/{alert_id}"): {"status": "closed"},
    ("POST", "/acm/config"): {"threshold": "many"},
}


def assert_error_shape(answer: Any, status: int) -> None:
    """``{"error": {"code", "message", "detail"}}``, a JSON body, the expected status."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "detail"}
    assert re.fullmatch(r"[a-z][a-z0-9_]*", error["code"])
    assert isinstance(error["message"], str) and error["message"]


def routes(api: Api) -> Iterator[tuple[str, str, str]]:
    """(method, path template, concrete path) of every route the app serves, as its
    OpenAPI schema lists them (FastAPI keeps included routers lazily, not in app.routes)."""
    paths = api.client.get("/openapi.json").json()["paths"]
    assert paths
    for template, item in sorted(paths.items()):
        for method in sorted(item):
            path = template.replace("{alert_id}", "0123456789abcdef")
            path = path.replace("{call_id}", "no-such-call").replace("{ip}", "192.0.2.1")
            yield method.upper(), template, path


def _send(api: Api, method: str, path: str, headers: dict[str, str], body: Any = None) -> Any:
    return api.client.request(method, path, headers=headers, json=body)


def test_every_route_is_covered_by_these_tables(sqlite_api: Api) -> None:
    """Every body-taking route has a bad body here, so a new route cannot slip past."""
    bodies = {(m, p) for m, p, _ in routes(sqlite_api) if m in ("POST", "PATCH")}
    assert bodies == set(BAD_BODY)


def test_401_without_key_on_every_protected_route(sqlite_api: Api) -> None:
    """Every route but /health answers 401 in the one shape when no key is sent."""
    checked = 0
    for method, template, path in routes(sqlite_api):
        if template in OPEN:
            continue
        assert_error_shape(_send(sqlite_api, method, path, {}), 401)
        checked += 1
    assert checked >= 11


def test_403_for_a_role_too_low_on_every_route_that_changes(sqlite_api: Api) -> None:
    """A viewer's key on a POST/PATCH route, an analyst's on configuration: 403."""
    for method, template, path in routes(sqlite_api):
        if method == "GET":
            continue
        role = "analyst" if (method, template) in ADMIN else "viewer"
        body = {"threshold": 3} if (method, template) in ADMIN else {}
        assert_error_shape(_send(sqlite_api, method, path, sqlite_api.headers(role), body), 403)


def test_422_for_a_bad_body_on_every_route_that_takes_one(sqlite_api: Api) -> None:
    """Each body-taking route rejects a wrong body with 422 and the fields at fault."""
    for (method, template), body in BAD_BODY.items():
        path = template.replace("{alert_id}", "0123456789abcdef")
        role = "admin"
        answer = _send(sqlite_api, method, path, sqlite_api.headers(role), body)
        assert_error_shape(answer, 422)
        assert answer.json()["error"]["detail"][0]["loc"][0] == "body"
    not_json = sqlite_api.client.post(
        "/acm/call", content=b"{", headers=sqlite_api.headers("admin") | {"content-type":
                                                                           "application/json"}
    )  # fmt: skip
    assert_error_shape(not_json, 422)


def test_422_for_bad_query_parameters(sqlite_api: Api) -> None:
    """A negative ``minutes``, a missing ``b_number`` or ``caller``, a bad time or
    limit is a 422 naming the parameter."""
    for path, name in [("/acm/alerts?minutes=-1", "minutes"), ("/acm/threat", "b_number"),
                       ("/acm/alerts?minutes=abc", "minutes"), ("/api/v1/search", "caller"),
                       ("/api/v1/calls?since=soon", "since"),
                       ("/api/v1/calls?limit=0", "limit")]:  # fmt: skip
        answer = sqlite_api.get(path)
        assert_error_shape(answer, 422)
        assert answer.json()["error"]["detail"][0]["loc"] == ["query", name]


def test_405_for_a_wrong_method_on_every_path(sqlite_api: Api) -> None:
    """A method a path does not serve is 405 in the one shape."""
    paths = {path for _, _, path in routes(sqlite_api)}
    for path in paths:
        assert_error_shape(_send(sqlite_api, "PUT", path, sqlite_api.headers("admin")), 405)


def test_404_for_unknown_paths_and_alerts(sqlite_api: Api) -> None:
    """An unknown path, an unknown alert id and an unknown call are 404 in the one shape."""
    assert_error_shape(sqlite_api.get("/nope"), 404)
    assert_error_shape(sqlite_api.client.get("/acm"), 404)
    assert_error_shape(sqlite_api.get("/acm/alerts/0123456789abcdef"), 404)
    for suffix in ("", "/ladder.svg", "/pcap"):
        assert_error_shape(sqlite_api.get(f"/api/v1/calls/no-such-call{suffix}"), 404)


def test_429_on_every_protected_route(tmp_path: Path) -> None:
    """With a burst of 1 and a slow refill, the second request of a key is 429 on any route."""
    for api in start_api(str(tmp_path / "r.db"), rate_limit=0.001, rate_burst=1):
        api.get("/acm/stats", role="admin")
        for method, template, path in routes(api):
            if template in OPEN:
                continue
            answer = _send(api, method, path, api.headers("admin"), {})
            assert_error_shape(answer, 429)
            assert int(answer.headers["retry-after"]) >= 1


def test_500_keeps_the_shape(tmp_path: Path) -> None:
    """An unexpected exception in a router added to the app is a 500 in the one shape,
    and an ApiError raised by such a router keeps its status and code."""
    extra = APIRouter()

    @extra.get("/boom")
    async def boom() -> None:
        raise RuntimeError("bug")

    @extra.get("/teapot")
    async def teapot() -> None:
        raise ApiError(418, "teapot", "short and stout")

    from calltrace.api.app import create_app
    from calltrace.api.settings import Settings
    from tests.api.conftest import TestClient

    app = create_app(Settings(db=str(tmp_path / "e.db")), routers=[extra])
    with TestClient(app, raise_server_exceptions=False) as client:
        assert_error_shape(client.get("/boom"), 500)
        assert client.get("/boom").json()["error"]["code"] == "internal_error"
        assert_error_shape(client.get("/teapot"), 418)


@pytest.mark.parametrize("path", ["/openapi.json"])
def test_openapi_documents_the_error_shape(sqlite_api: Api, path: str) -> None:
    """The OpenAPI schema names ErrorOut for the error statuses of every route."""
    schema = sqlite_api.client.get(path).json()
    assert "ErrorOut" in schema["components"]["schemas"]
    for item in schema["paths"].values():
        for operation in item.values():
            assert "401" in operation["responses"]
            assert "422" in operation["responses"]
