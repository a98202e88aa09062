"""Response bodies of the REST API's call side (``/api/v1``; pydantic, for the OpenAPI
schema). Times are ISO 8601 UTC strings, as in the JSON document (docs/json.md); a call
is the document's call object, so it may carry more keys than listed here (the schema
allows them: later work adds keys, never renames)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from calltrace.api.schemas import AlertOut


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class CallOut(_Open):
    """A stored call (docs/json.md, ``calls[]``) and the capture it came from."""

    call_id: str
    capture_id: int
    state: str
    start: str
    ringing: str | None
    answered: str | None
    end: str | None
    duration: float | None
    caller: str | None
    callee: str | None
    src_ip: str | None
    dst_ip: str | None
    final_status: int | None
    messages: int


class CallPage(BaseModel):
    calls: list[CallOut]
    count: int = Field(description="Calls on this page.")
    limit: int
    next: str | None = Field(description="URL of the next page; null on the last.")
    next_cursor: str | None = Field(description="The cursor= of the next page.")


class MessageOut(BaseModel):
    """One SIP message as captured (``raw`` decoded as UTF-8, bad bytes replaced)."""

    packet: int
    ts: str
    src_ip: str
    src_port: int
    dst_ip: str
    dst_port: int
    transport: str
    is_request: bool
    method: str
    request_uri: str | None
    status: int | None
    reason: str | None
    cseq: int | None
    branch: str | None
    defects: list[str] | None
    raw: str


class Occurrence(BaseModel):
    capture_id: int
    start: str


class CallDetail(BaseModel):
    call: CallOut
    messages: list[MessageOut]
    rtp_streams: list[dict[str, Any]]
    rtcp_reports: list[dict[str, Any]]
    alerts: list[AlertOut]
    enrichment: dict[str, Any] | None = Field(description="Caller, callee, address, device.")
    media_summary: dict[str, Any]
    occurrences: list[Occurrence] = Field(
        description="Every stored call of this Call-ID (capture, start); ?capture= picks one."
    )


class Side(BaseModel):
    total: int
    requests: dict[str, int] = Field(description="Requests by method.")
    responses: dict[str, int] = Field(description="Responses by status code.")


class Messages(BaseModel):
    sent: Side
    received: Side


class ApiEvents(BaseModel):
    count: int
    first_seen: str | None
    last_seen: str | None


class Listing(BaseModel):
    count: int
    newest: list[dict[str, Any]]


class IpEnrichment(_Open):
    version: int | None
    scope: str
    public: bool
    country: str | None
    asn: int | None
    as_org: str | None
    network: str | None


class IpActivity(BaseModel):
    ip: str
    first_seen: str | None
    last_seen: str | None
    messages: Messages
    calls: Listing
    registrations: Listing
    api_events: ApiEvents
    alerts: list[AlertOut]
    enrichment: IpEnrichment


class SearchHit(_Open):
    """A call (``kind: call``, the call object) or a posted event (``kind: api_event``)."""

    kind: Literal["call", "api_event"]
    ts: str


class SearchPage(BaseModel):
    results: list[SearchHit]
    count: int
    limit: int
    next: str | None
    next_cursor: str | None
