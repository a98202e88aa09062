"""Request and response bodies of the /acm API (pydantic; they make the OpenAPI schema).

Requests are strict about names (an unknown field is a 422 naming it, so a typo such as
``b_numer`` is not silently ignored) and lenient about values the seed accepted:
``timestamp`` is epoch seconds or an ISO 8601 string (UTC when no zone is given).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from calltrace.store.acm import STATUSES
from calltrace.timeutil import parse_time

Number = Annotated[str, Field(min_length=1, max_length=64)]
Text = Annotated[str, Field(min_length=1, max_length=120)]
Status = Literal["new", "investigating", "confirmed", "false_positive", "resolved"]
if get_args(Status) != STATUSES:  # one list of statuses: the store's
    raise RuntimeError("schemas.Status and store.acm.STATUSES differ")
EventType = Literal["attempt", "ringing", "answer", "end", "cancel", "reject"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _ip(value: str) -> str:
    ipaddress.ip_address(value)  # ValueError -> 422
    return value


#: RFC 3339 date-time (what the schema's ``format: date-time`` means).
_RFC3339 = re.compile(r"(\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _time(value: float | str) -> float:
    """Epoch seconds as given, or an RFC 3339 date-time (a leap second, :60, counts as
    the next second's start, as POSIX time does)."""
    if not isinstance(value, str):
        return float(value)
    match = _RFC3339.fullmatch(value)
    if match is None:
        raise ValueError("timestamp: epoch seconds or an RFC 3339 date-time with its zone")
    head, seconds, fraction, zone = match.groups()
    leap = seconds == "60"
    text = f"{head}:{'59' if leap else seconds}{fraction or ''}{zone}"
    return parse_time(text) + (1.0 if leap else 0.0)


#: An IPv4 or IPv6 address, said so in the schema (clients and schemathesis read it).
IpAddress = Annotated[
    str,
    AfterValidator(_ip),
    WithJsonSchema({"anyOf": [{"type": "string", "format": "ipv4"},
                              {"type": "string", "format": "ipv6"}]}),
]  # fmt: skip
#: Epoch seconds (1970 to 3000) or an RFC 3339 date-time (ISO 8601 with a zone).
Timestamp = Annotated[
    Annotated[float, Field(ge=0, le=32_503_680_000, allow_inf_nan=False)]
    | Annotated[str, Field(json_schema_extra={"format": "date-time"})],
    AfterValidator(_time),
]


class CallIn(_Strict):
    """One call event as a switch posts it."""

    a_number: Number
    b_number: Number
    source_ip: IpAddress | None = None
    switch_id: Text | None = None
    call_id: Text | None = None
    event_id: Text | None = Field(
        default=None, description="Idempotency key (defaults to call_id)."
    )
    timestamp: Timestamp | None = Field(
        default=None, description="Event time: epoch seconds or ISO 8601; default: arrival."
    )
    event: EventType = "attempt"
    direction: Text | None = None
    account: Text | None = None
    user_agent: Annotated[str, Field(max_length=256)] | None = None


class BatchIn(_Strict):
    """Events of one batch, answered in order."""

    events: Annotated[list[CallIn], Field(min_length=1, max_length=100_000)]


class CallResult(BaseModel):
    """Whether this event's B-number is being masked, and the window's figures."""

    detected: bool
    b_number: str
    call_count: int
    distinct_a_count: int
    window_seconds: float
    threshold: int
    alert_id: str | None = Field(default=None, description="Present when detected.")
    duplicate: bool | None = Field(default=None, description="True for an event already seen.")


class BatchResult(BaseModel):
    results: list[CallResult]


class HistoryEntry(BaseModel):
    at: str
    by: str
    status: str | None
    notes: str | None


class AlertOut(BaseModel):
    """An alert (docs/json.md's alert) with its triage."""

    id: str
    rule: str
    severity: str
    score: int
    title: str
    entity_type: str
    entity: str
    first_seen: str
    last_seen: str
    call_ids: list[str]
    evidence: dict[str, Any]
    status: Status
    notes: str | None
    updated_at: str | None
    updated_by: str | None
    created_at: str | None
    history: list[HistoryEntry] | None = None


class AlertList(BaseModel):
    alerts: list[AlertOut]
    count: int
    minutes: float


class AlertPatch(_Strict):
    """A triage change: a new status, notes, or both."""

    status: Status | None = None
    notes: Annotated[str, Field(max_length=10_000)] | None = None


class ThreatOut(BaseModel):
    b_number: str
    level: Literal["none", "low", "medium", "high", "critical"]
    risk_score: int
    call_count: int
    distinct_a_count: int
    window_seconds: float
    threshold: int
    recent_alerts: int
    last_alert_id: str | None


class ThreatList(BaseModel):
    threats: list[ThreatOut]
    count: int


class StatsOut(BaseModel):
    total_calls: int
    total_alerts: int
    detection_rate: float
    avg_latency_ms: float
    calls_since_start: int
    alerts_since_start: int
    duplicates: int
    late_events: int
    uptime_seconds: float
    active_b_numbers: int


class ConfigOut(BaseModel):
    window_seconds: float
    threshold: int
    cooldown_seconds: float
    auto_disconnect: bool
    auto_block: bool
    rules: list[str]


def _integral(value: Any) -> Any:
    """JSON Schema's integer includes 5.0; pydantic's strict int does not."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class ConfigIn(_Strict):
    """The settings to change; those left out keep their value."""

    window_seconds: Annotated[float, Field(gt=0, le=86_400)] | None = None
    threshold: Annotated[int, Field(ge=2, le=100_000), BeforeValidator(_integral)] | None = None
    cooldown_seconds: Annotated[float, Field(ge=0, le=86_400)] | None = None
    auto_disconnect: bool | None = None
    auto_block: bool | None = None


class DatabaseHealth(BaseModel):
    ok: bool
    dialect: str


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    database: DatabaseHealth
    stats: dict[str, float]


class ErrorInfo(BaseModel):
    code: str
    message: str
    detail: Any = None


class ErrorOut(BaseModel):
    """The one error shape (calltrace.api.errors)."""

    error: ErrorInfo
