"""FreeSWITCH Event Socket (ESL) stream: framing, plain events, channel events as call events.

Pure (the h11 style): bytes in through :meth:`EslDecoder.feed`, messages out of
:meth:`EslDecoder.next_event` or ``NEED_DATA``; ``act/esl.py`` owns the socket. The wire
format, from the FreeSWITCH Event Socket documentation (mod_event_socket):

- A message is a block of ``Name: value`` header lines ending with an empty line
  (``\\n\\n``; ``\\r\\n`` is tolerated). When it has ``Content-Length: N``, exactly N bytes
  of body follow.
- ``Content-Type`` says what it is: ``auth/request`` (the server's greeting),
  ``command/reply`` (``Reply-Text: +OK ...`` or ``-ERR ...``), ``api/response`` (the body
  is the command's output), ``text/event-plain`` (the body is an event),
  ``text/disconnect-notice``.
- A plain event's body is itself a header block whose values are URL-encoded
  (``Caller-Caller-ID-Name: John%20Doe``), optionally followed by its own
  ``Content-Length`` body.

Bad framing raises :class:`MalformedInput` (``layer="esl"``): ``bad_header`` (a line
without ``:``), ``bad_length`` (a Content-Length that is not a non-negative integer, or
above :data:`MAX_BODY`), ``header_too_long`` (no end of headers within :data:`MAX_HEADER`
bytes). After an error the stream cannot be resynchronised (there is no frame marker), so
the decoder stays failed and the caller closes the connection.

Channel events become :class:`~calltrace.model.CallEvent` (``source="esl"``) in
:func:`call_event`; see its docstring for the mapping.

>>> d = EslDecoder()
>>> d.feed(b"Content-Type: api/response\\nContent-Length: 4\\n\\n+OK\\n")
>>> msg = d.next_event()
>>> msg.content_type, msg.body, d.next_event()
('api/response', b'+OK\\n', NEED_DATA)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import unquote

from calltrace.errors import MalformedInput
from calltrace.model import NEED_DATA, CallEvent, CallEventType, _NeedData

MAX_HEADER: Final = 64 * 1024  # bytes of one header block (events run to a few KiB)
MAX_BODY: Final = 16 * 1024 * 1024  # bytes of one body (an api/response can be long)
_END = re.compile(rb"\r?\n\r?\n")


@dataclass(frozen=True, slots=True, kw_only=True)
class EslMessage:
    """One framed message: its headers (wire order) and body."""

    headers: tuple[tuple[str, str], ...]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    @property
    def content_type(self) -> str | None:
        return self.header("Content-Type")


@dataclass(frozen=True, slots=True, kw_only=True)
class EslEvent:
    """A plain event: its headers URL-decoded, and its own body if it had one."""

    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def name(self) -> str | None:
        return self.headers.get("Event-Name")


def _headers(block: bytes, *, decode_values: bool) -> tuple[tuple[str, str], ...]:
    out = []
    for line in block.decode("utf-8", "replace").split("\n"):
        line = line.removesuffix("\r")
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise MalformedInput(f"header line without a name: {line[:60]!r}",
                                 layer="esl", kind="bad_header")  # fmt: skip
        value = value.strip()
        out.append((name.strip(), unquote(value) if decode_values else value))
    return tuple(out)


def _length(headers: tuple[tuple[str, str], ...]) -> int:
    for key, value in headers:
        if key == "Content-Length":
            if not value.isdigit() or int(value) > MAX_BODY:
                raise MalformedInput(f"Content-Length {value[:20]!r}", layer="esl",
                                     kind="bad_length")  # fmt: skip
            return int(value)
    return 0


class EslDecoder:
    """Incremental ESL framing: ``feed(bytes)``, then ``next_event()`` until NEED_DATA."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._pending: tuple[tuple[str, str], ...] | None = None  # headers awaiting a body
        self._need = 0
        self._failed: MalformedInput | None = None

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def next_event(self) -> EslMessage | _NeedData:
        """The next complete message, NEED_DATA, or MalformedInput (again after one)."""
        if self._failed is not None:
            raise self._failed
        try:
            return self._next()
        except MalformedInput as exc:
            self._failed = exc
            raise

    def _next(self) -> EslMessage | _NeedData:
        if self._pending is None:
            # blank lines between messages are allowed
            while self._buffer and self._buffer[0] in (10, 13):  # \n, \r
                del self._buffer[:1]
            end = _END.search(self._buffer)
            if end is None:
                if len(self._buffer) > MAX_HEADER:
                    raise MalformedInput("no end of headers", layer="esl", kind="header_too_long")
                return NEED_DATA
            self._pending = _headers(bytes(self._buffer[: end.start()]), decode_values=False)
            self._need = _length(self._pending)
            del self._buffer[: end.end()]
        if len(self._buffer) < self._need:
            return NEED_DATA
        body = bytes(self._buffer[: self._need])
        del self._buffer[: self._need]
        message = EslMessage(headers=self._pending, body=body)
        self._pending, self._need = None, 0
        return message


def parse_event(body: bytes) -> EslEvent:
    """The body of a ``text/event-plain`` message as an event (values URL-decoded).

    >>> parse_event(b"Event-Name: CHANNEL_CREATE\\nCaller-Caller-ID-Name: John%20Doe\\n\\n").headers
    {'Event-Name': 'CHANNEL_CREATE', 'Caller-Caller-ID-Name': 'John Doe'}
    """
    end = _END.search(body)
    block, rest = (body, b"") if end is None else (body[: end.start()], body[end.end() :])
    headers = _headers(block, decode_values=True)
    length = _length(headers)
    if length > len(rest):
        raise MalformedInput(f"event body of {length} bytes, {len(rest)} left", layer="esl",
                             kind="truncated")  # fmt: skip
    return EslEvent(headers=dict(headers), body=rest[:length])


#: Channel events and what they say about a call.
_TYPES: Final = {
    "CHANNEL_CREATE": CallEventType.ATTEMPT,
    "CHANNEL_ANSWER": CallEventType.ANSWER,
    "CHANNEL_HANGUP": CallEventType.END,
}
#: Hangup causes (Q.850 names, FreeSWITCH's Hangup-Cause) of a call given up by its caller.
_CANCEL_CAUSES: Final = frozenset({"ORIGINATOR_CANCEL", "LOSE_RACE"})


def call_event(event: EslEvent, *, outbound: bool = False) -> CallEvent | None:
    """A channel event as a call event, or None when it is not one to count.

    Decisions (FreeSWITCH's channel variables, mod_event_socket and Channel Variables docs):

    - Only the inbound leg (``Call-Direction: inbound``, the caller's channel) is a call:
      a bridged call also has an outbound leg with its own CHANNEL_CREATE, and counting
      both would double every call. ``outbound=True`` keeps both legs.
    - ``call_id`` is the channel's ``Unique-ID``: the UUID ``uuid_kill`` takes, so an alert
      on ESL events names calls that can be ended (the SIP Call-ID stays in
      ``variable_sip_call_id`` and is not used).
    - CHANNEL_CREATE -> attempt, CHANNEL_ANSWER -> answer, CHANNEL_HANGUP -> end when the
      channel was answered (``Caller-Channel-Answered-Time`` > 0), cancel when the caller
      gave up (ORIGINATOR_CANCEL), reject otherwise; ``status`` is the SIP status of the
      hangup (``variable_sip_term_status``) when there is one; ``duration`` is hangup minus
      answer time.
    - ``ts`` is ``Event-Date-Timestamp`` (µs since the epoch); A-number
      ``Caller-Caller-ID-Number``, B-number ``Caller-Destination-Number``, source IP
      ``Caller-Network-Addr``, user agent ``variable_sip_user_agent``, switch
      ``FreeSWITCH-Switchname`` (else ``-Hostname``), account ``Caller-Username``.
    """
    h = event.headers
    kind = _TYPES.get(h.get("Event-Name", ""))
    if kind is None or h.get("Unique-ID") is None:
        return None
    direction = h.get("Call-Direction") or h.get("Caller-Direction")
    if direction != "inbound" and not outbound:
        return None
    ts = _micros(h.get("Event-Date-Timestamp"))
    if ts is None:
        raise MalformedInput("channel event without Event-Date-Timestamp", layer="esl",
                             kind="bad_timestamp")  # fmt: skip
    status: int | None = None
    duration: float | None = None
    if kind is CallEventType.END:
        answered = _micros(h.get("Caller-Channel-Answered-Time"))
        hangup = _micros(h.get("Caller-Channel-Hangup-Time")) or ts
        term = h.get("variable_sip_term_status", "")
        status = int(term) if term.isdigit() else None
        if answered:
            duration = max(0.0, hangup - answered)
        elif h.get("Hangup-Cause") in _CANCEL_CAUSES:
            kind = CallEventType.CANCEL
        else:
            kind = CallEventType.REJECT
    return CallEvent(
        type=kind,
        ts=ts,
        call_id=h["Unique-ID"],
        a_number=h.get("Caller-Caller-ID-Number") or None,
        b_number=h.get("Caller-Destination-Number") or None,
        source_ip=h.get("Caller-Network-Addr") or None,
        user_agent=h.get("variable_sip_user_agent") or None,
        status=status,
        duration=duration,
        switch_id=h.get("FreeSWITCH-Switchname") or h.get("FreeSWITCH-Hostname") or None,
        direction=direction,
        account=h.get("Caller-Username") or None,
        source="esl",
    )


def _micros(value: str | None) -> float | None:
    """µs-since-epoch text as seconds; None for absent, 0 or not a number."""
    if not value or not value.isdigit() or value == "0":
        return None
    return int(value) / 1_000_000
