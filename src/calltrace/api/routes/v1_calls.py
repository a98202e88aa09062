"""The REST API's call side, ``/api/v1`` (issue 5): calls analysed into the store
(``calltrace analyze --db``), one call with its messages, media, alerts, ladder and
packets, an address's activity, and the search by caller. docs/api.md, "/api/v1", is
the user's page; calltrace.store.calls_read has the SQL and its decisions.

Every route reads: role viewer, SQL in a worker thread (``store.read``), never on the
event loop.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import sqlalchemy as sa
from fastapi import APIRouter, Path, Query, Request
from pydantic import WithJsonSchema
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from calltrace.api.auth import Viewer
from calltrace.api.errors import ApiError
from calltrace.api.paging import CALL_CURSOR, SEARCH_CURSOR, decode_cursor, next_link, page
from calltrace.api.responses import json_response
from calltrace.api.routes.acm import alert_out
from calltrace.api.schemas import IpAddress
from calltrace.api.schemas import _time as rfc3339_time
from calltrace.api.v1_schemas import CallDetail, CallPage, IpActivity, SearchPage
from calltrace.enrich.enricher import default_enricher
from calltrace.report.jsondoc import CALL_TIMES, iso, media_summary_json
from calltrace.report.ladder import steps_from_messages
from calltrace.report.ladder_svg import render_svg
from calltrace.report.pcapexport import pcap_bytes
from calltrace.store import calls_read as q
from calltrace.timeutil import parse_time
from calltrace.trace.callmedia import summarize

router = APIRouter(prefix="/api/v1", tags=["v1 calls"])
MAX_EPOCH = 32_503_680_000  # 3000-01-01, as the /acm bodies
T = TypeVar("T")

#: Calls and registrations listed in full on an address's page (the rest: paging
#: through ``/api/v1/calls?ip=``).
IP_NEWEST = 100

Limit = Annotated[int, Query(ge=1, le=1000, description="Rows per page (at most 1000).")]
CallCursor = Annotated[
    str | None,
    Query(pattern=CALL_CURSOR, description="The next_cursor of the previous page."),
]
SearchCursor = Annotated[
    str | None,
    Query(pattern=SEARCH_CURSOR, description="The next_cursor of the previous page."),
]
CallId = Annotated[str, Path(min_length=1, max_length=1024, description="The SIP Call-ID.")]
Capture = Annotated[
    int | None,
    Query(ge=1, le=2**31 - 1, description="Capture id; default: the newest call of the Call-ID."),
]
#: Epoch seconds or an ISO 8601 time, said so in the schema (a date-time string is RFC
#: 3339; looser ISO forms, e.g. without a zone (UTC), are accepted too).
TimeText = Annotated[
    str,
    WithJsonSchema({"anyOf": [{"type": "number", "minimum": 0, "maximum": MAX_EPOCH},
                              {"type": "string", "format": "date-time"}]}),
]  # fmt: skip
TimeParam = Annotated[
    TimeText | None, Query(max_length=64, description="Epoch seconds or ISO 8601.")
]
#: What a number query needs to match anything (calls_read.normalise_number).
NUMBER_PATTERN = "[0-9A-Za-z*#]"


SVG = "image/svg+xml"
PCAP = "application/vnd.tcpdump.pcap"


def binary(media_type: str, what: str) -> dict[int | str, dict[str, Any]]:
    """The 200 of a route answering ``media_type`` (its errors stay JSON: the app's)."""
    schema = {"type": "string", "format": "binary"}
    return {200: {"description": what, "content": {media_type: {"schema": schema}}}}


async def read(request: Request, query: Callable[[sa.Connection], T]) -> T:
    """Run ``query`` on a pooled connection in a worker thread."""
    return await run_in_threadpool(request.app.state.store.read, query)


def query_error(name: str, message: str) -> ApiError:
    detail = [{"loc": ["query", name], "msg": message, "type": "value_error"}]
    return ApiError(422, "invalid_request", f"query.{name}: {message}", detail)


def time_param(name: str, text: str | None) -> float | None:
    """Epoch seconds (0 to year 3000), an RFC 3339 date-time, or looser ISO 8601."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        try:
            return rfc3339_time(text)
        except ValueError:
            pass
        try:
            return parse_time(text)
        except (ValueError, OverflowError) as exc:
            raise query_error(name, str(exc)) from None
    if not 0 <= value <= MAX_EPOCH:  # NaN fails too
        raise query_error(name, f"epoch seconds from 0 to {MAX_EPOCH}")
    return value


def number_param(name: str, text: str | None) -> str | None:
    if text is None:
        return None
    if not q.normalise_number(text):
        raise query_error(name, "no digits or letters to match")
    return text


def canonical_ip(text: str) -> str:
    """The address as the store writes it (``ipaddress``: lower case, IPv6 compressed)."""
    return str(ipaddress.ip_address(text))


# -- views -------------------------------------------------------------------------
def call_view(row: dict[str, Any]) -> dict[str, Any]:
    """A stored call as the JSON document shows it: ISO times, rounded durations."""
    data = {k: v for k, v in row.items() if k != "_key"}
    for key in CALL_TIMES:
        data[key] = iso(data.get(key))
    for key in ("duration", "setup_time", "pdd"):
        if data.get(key) is not None:
            data[key] = round(data[key], 6)
    return data


def message_view(row: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in row.items() if k not in ("id", "capture_id", "call_id")}
    data["ts"] = iso(row["ts"])
    data["raw"] = bytes(row["raw"]).decode("utf-8", "replace")
    return data


def timed(row: dict[str, Any], *keys: str) -> dict[str, Any]:
    return row | {key: iso(row[key]) for key in keys if key in row}


# -- /calls ------------------------------------------------------------------------
@router.get("/calls", response_model=CallPage, summary="Stored calls, filtered, by start time")
async def list_calls(
    request: Request,
    _: Viewer,
    number: Annotated[
        str | None,
        Query(max_length=64, pattern=NUMBER_PATTERN, description="Caller or callee contains this."),
    ] = None,
    ip: Annotated[
        IpAddress | None, Query(description="A message of the call came from or went to it.")
    ] = None,
    since: TimeParam = None,
    until: TimeParam = None,
    state: Annotated[q.CallState | None, Query()] = None,
    rule: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    capture: Capture = None,
    limit: Limit = 100,
    cursor: CallCursor = None,
) -> Response:
    where = q.CallFilter(
        number=number_param("number", number),
        ip=None if ip is None else canonical_ip(ip),
        since=time_param("since", since),
        until=time_param("until", until),
        state=state,
        rule=rule,
        capture=capture,
    )
    after = None if cursor is None else decode_cursor(cursor)
    rows = await read(request, lambda conn: q.list_calls(conn, where, after=after, limit=limit + 1))
    rows, last = page(rows, limit)
    token, link = next_link(request.url, last)
    calls = [call_view(row) for row in rows]
    return json_response(
        {"calls": calls, "count": len(calls), "limit": limit, "next": link, "next_cursor": token}
    )


def _call_or_404(conn: sa.Connection, call_id: str, capture: int | None) -> dict[str, Any]:
    call = q.find_call(conn, call_id, capture)
    if call is None:
        where = "" if capture is None else f" in capture {capture}"
        raise ApiError(404, "not_found", f"no call {call_id!r}{where}")
    return call


def _messages(conn: sa.Connection, call_id: str, capture: int | None) -> list[dict[str, Any]]:
    return q.messages_of(conn, _call_or_404(conn, call_id, capture))


@router.get(
    "/calls/{call_id:path}/ladder.svg",
    response_class=Response,
    responses=binary(SVG, "The ladder diagram"),
    summary="The call's ladder diagram (SVG)",
)
async def call_ladder(
    call_id: CallId, request: Request, _: Viewer, capture: Capture = None
) -> Response:
    messages = await read(request, lambda conn: _messages(conn, call_id, capture))
    svg = render_svg(steps_from_messages(messages), title=f"Call-ID {call_id}")
    return Response(svg, media_type=SVG)


@router.get(
    "/calls/{call_id:path}/pcap",
    response_class=Response,
    responses=binary(PCAP, "A pcap of the call's SIP messages"),
    summary="The call's SIP messages as a pcap",
)
async def call_pcap(
    call_id: CallId, request: Request, _: Viewer, capture: Capture = None
) -> Response:
    messages = await read(request, lambda conn: _messages(conn, call_id, capture))
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in call_id)[:100]
    headers = {"Content-Disposition": f'attachment; filename="call-{name}.pcap"'}
    return Response(pcap_bytes(messages), headers=headers, media_type=PCAP)


def call_detail(conn: sa.Connection, call_id: str, capture: int | None) -> dict[str, Any]:
    """Everything about one call (the body of ``GET /api/v1/calls/{call_id}``)."""
    call = _call_or_404(conn, call_id, capture)
    streams, reports = q.media_of(conn, call)
    return {
        "call": call_view(call),
        "messages": [message_view(m) for m in q.messages_of(conn, call)],
        "rtp_streams": [timed(s, "start", "end") for s in streams],
        "rtcp_reports": [timed(r, "ts") for r in reports],
        "alerts": [alert_out(a) for a in q.alerts_of(conn, call)],
        "enrichment": default_enricher().call_dict(call),
        "media_summary": media_summary_json(summarize(call, streams)),
        "occurrences": [timed(o, "start") for o in q.occurrences(conn, call["call_id"])],
    }


@router.get("/calls/{call_id:path}", response_model=CallDetail, summary="One call, in full")
async def read_call(
    call_id: CallId, request: Request, _: Viewer, capture: Capture = None
) -> Response:
    return json_response(await read(request, lambda conn: call_detail(conn, call_id, capture)))


# -- /ips/{ip} -----------------------------------------------------------------------
def ip_activity(conn: sa.Connection, ip: str) -> dict[str, Any]:
    """The body of ``GET /api/v1/ips/{ip}``."""
    messages = q.message_counts(conn, ip)
    events = q.api_event_counts(conn, ip)
    call_count, calls = q.newest_calls(conn, ip, IP_NEWEST)
    reg_count, regs = q.newest_registrations(conn, ip, IP_NEWEST)
    info = default_enricher().ip(ip)
    assert info is not None
    first = q.earliest(messages["first_seen"], events["first_seen"])
    last = q.latest(messages["last_seen"], events["last_seen"])
    return {
        "ip": ip,
        "first_seen": iso(first),
        "last_seen": iso(last),
        "messages": {"sent": messages["sent"], "received": messages["received"]},
        "calls": {"count": call_count, "newest": [call_view(c) for c in calls]},
        "registrations": {
            "count": reg_count,
            "newest": [timed(r, "start", "end") for r in regs],
        },
        "api_events": timed(events, "first_seen", "last_seen"),
        "alerts": [alert_out(a) for a in q.alerts_naming(conn, ip)],
        "enrichment": info.as_dict() | {"version": info.version, "public": info.public},
    }


@router.get("/ips/{ip}", response_model=IpActivity, summary="An address's activity")
async def read_ip(
    ip: Annotated[IpAddress, Path(description="An IPv4 or IPv6 address.")],
    request: Request,
    _: Viewer,
) -> Response:
    address = canonical_ip(ip)
    return json_response(await read(request, lambda conn: ip_activity(conn, address)))


# -- /search -------------------------------------------------------------------------
def search_view(row: dict[str, Any]) -> dict[str, Any]:
    if row["kind"] == "call":
        return call_view(row) | {"ts": iso(row["start"])}
    return {k: v for k, v in row.items() if k != "_key"} | {
        "ts": iso(row["ts"]),
        "received_at": iso(row["received_at"]),
    }


@router.get("/search", response_model=SearchPage, summary="Calls and events by caller")
async def search(
    request: Request,
    _: Viewer,
    caller: Annotated[
        str,
        Query(max_length=64, pattern=NUMBER_PATTERN, description="The A-number contains this."),
    ],
    limit: Limit = 100,
    cursor: SearchCursor = None,
) -> Response:
    number = number_param("caller", caller)
    assert number is not None
    before = None if cursor is None else decode_cursor(cursor)
    rows = await read(
        request, lambda conn: q.search_caller(conn, number, before=before, limit=limit + 1)
    )
    rows, last = page(rows, limit)
    token, link = next_link(request.url, last)
    hits = [search_view(row) for row in rows]
    return json_response(
        {"results": hits, "count": len(hits), "limit": limit, "next": link, "next_cursor": token}
    )
