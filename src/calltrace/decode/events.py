"""Call-event files: one event per line, JSON Lines or CSV with a header row.

Pure: bytes in, :class:`~calltrace.model.CallEvent` or :class:`~calltrace.errors.DecodeError`
out (``sources/events.py`` opens the file). The fields are those of the issue::

    timestamp  a_number  b_number              required
    source_ip  call_id  switch_id  direction  account  user_agent  status  duration
    event | type  source_port  dest_ip  setting  target
                                               optional; any other field is ignored

Decisions (the issue leaves them to us):

- ``timestamp``: epoch seconds (a number, or a numeric string), or ISO 8601 (a time
  without a zone is UTC, as everywhere in CallTrace). Epoch values of 10^11 and above are
  taken as milliseconds: 10^11 seconds is the year 5138, while CDR exports in
  milliseconds are common.
- Event type: a row is a call ``attempt`` unless an ``event`` (or ``type``) field names
  another :class:`~calltrace.model.CallEventType` value (``answer``, ``end``...); common
  CDR words are accepted as aliases (``invite``/``call``/``start`` -> attempt,
  ``answered`` -> answer, ``bye``/``hangup``/``stop`` -> end, ``cancelled``, ``rejected``/
  ``failed`` -> reject, ``forward``/``forwarding`` -> config_change). An unknown word is
  an error (``unknown_event_type``), not a silent attempt.
- ``setting`` and ``target`` (text) describe a ``config_change``: which setting changed
  (``call_forward_all``, ``CFB``...) and the forwarding target; the ``forwarding_change``
  rule reads them (docs/rules.md). Any row may carry them; other rules ignore them.
- ``status``: an integer (SIP status or the switch's cause code), numeric strings
  accepted; ``duration``: seconds, a non-negative number. Empty CSV cells and JSON
  ``null`` mean "absent".
- Numbers (``a_number``...) are kept as given, stripped of surrounding spaces; JSON
  numbers are turned into their decimal text.

Every problem is a :class:`MalformedInput` with ``layer="events"`` and a snake_case
kind: ``bad_json``, ``not_an_object``, ``missing_field``, ``bad_timestamp``,
``bad_field``, ``unknown_event_type``, ``bad_csv_row``.

>>> decode_json(b'{"timestamp": "2026-01-05T09:00:00Z", "a_number": "+4420", "b_number": 555}')
... # doctest: +NORMALIZE_WHITESPACE
CallEvent(type=<CallEventType.ATTEMPT: 'attempt'>, ts=1767603600.0, call_id=None,
          a_number='+4420', b_number='555', source_ip=None, source_port=None, dest_ip=None,
          user_agent=None, status=None, duration=None, switch_id=None, direction=None,
          account=None, setting=None, target=None, source='events', packet=None)
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import fields
from typing import Any, Final

import orjson

from calltrace.decode._construct import unrolled_constructor
from calltrace.errors import DecodeError, MalformedInput
from calltrace.model import CallEvent, CallEventType
from calltrace.timeutil import parse_time

_new_event: Final = unrolled_constructor(CallEvent)
LAYER: Final = "events"
#: Epoch values at or above this are milliseconds (see the module docstring).
MILLISECONDS_FROM: Final = 1e11

EVENT_TYPES: Final[dict[str, CallEventType]] = {t.value: t for t in CallEventType} | {
    "invite": CallEventType.ATTEMPT,
    "call": CallEventType.ATTEMPT,
    "start": CallEventType.ATTEMPT,
    "answered": CallEventType.ANSWER,
    "bye": CallEventType.END,
    "hangup": CallEventType.END,
    "stop": CallEventType.END,
    "cancelled": CallEventType.CANCEL,
    "rejected": CallEventType.REJECT,
    "failed": CallEventType.REJECT,
    "forward": CallEventType.CONFIG_CHANGE,
    "forwarding": CallEventType.CONFIG_CHANGE,
}


def _error(kind: str, detail: str) -> MalformedInput:
    return MalformedInput(detail, layer=LAYER, kind=kind)


def decode_json(line: bytes | str, number: int | None = None) -> CallEvent:
    """One JSON Lines line -> CallEvent (``number``, the line number, goes in ``packet``)."""
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise _error("bad_json", f"not JSON: {exc}") from None
    if type(data) is not dict:
        raise _error("not_an_object", "a line must be a JSON object")
    return decode_fields(data, number)


def decode_fields(row: Mapping[str, Any], number: int | None = None) -> CallEvent:
    """A mapping of field name -> value (JSON values, or CSV strings) -> CallEvent.

    Driven by the fields present (a typical row has four or five of the fifteen): each
    known field is converted into its place in CallEvent's field order; unknown fields
    are skipped.
    """
    values: list[Any] = list(_TEMPLATE)
    event_type: Any = None
    for name, value in row.items():
        place = _PLACES.get(name)
        if place is None:
            continue
        if place < 0:  # a non-empty "event" wins over "type"
            if value is not None and value != "" and (place == _EVENT or event_type is None):
                event_type = value
            continue
        if value is not None:
            values[place] = _CONVERT[place](value, name)
    if values[_TS] is None:
        raise _error("missing_field", "timestamp is required")
    if values[_A] is None:
        raise _error("missing_field", "a_number is required")
    if values[_B] is None:
        raise _error("missing_field", "b_number is required")
    values[0] = _event_type(event_type)
    values[-1] = number
    return _new_event(*values)


def _event_type(value: Any) -> CallEventType:
    if value is None or value == "":
        return CallEventType.ATTEMPT
    found = EVENT_TYPES.get(value) if type(value) is str else None
    if found is None:
        found = EVENT_TYPES.get(str(value).strip().lower())
        if found is None:
            raise _error("unknown_event_type", f"unknown event type {value!r}")
    return found


def _timestamp(value: Any) -> float:
    if value is None or value == "":
        raise _error("missing_field", "timestamp is required")
    if type(value) is str:
        try:
            ts = parse_time(value)
        except ValueError as exc:
            raise _error("bad_timestamp", str(exc)) from None
    elif type(value) in (int, float):
        try:
            ts = float(value)
        except OverflowError:
            ts = math.inf
    else:
        raise _error("bad_timestamp", f"timestamp must be a number or text, not {value!r}")
    if not math.isfinite(ts):
        raise _error("bad_timestamp", f"timestamp is not finite: {value!r}")
    if abs(ts) >= MILLISECONDS_FROM:
        ts /= 1000.0
        if abs(ts) >= MILLISECONDS_FROM:
            raise _error("bad_timestamp", f"timestamp out of range: {value!r}")
    return ts


def _text(value: Any, name: str) -> str | None:
    if type(value) is str:
        if value and not (value[0].isspace() or value[-1].isspace()):
            return value
        value = value.strip()
        return value or None
    if value is None:
        return None
    if type(value) is int:
        return str(value)
    raise _error("bad_field", f"{name} must be text, not {value!r}")


def _int(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    if type(value) is int:
        return value
    if type(value) is str:
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise _error("bad_field", f"{name} must be an integer, not {value!r}")


def _duration(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        seconds = float(value) if type(value) in (int, float, str) else math.nan
    except (ValueError, OverflowError):
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds >= 0):
        raise _error("bad_field", f"duration must be non-negative seconds, not {value!r}")
    return seconds


def _timestamp_field(value: Any, _name: str) -> float:
    return _timestamp(value)


def _duration_field(value: Any, _name: str) -> float | None:
    return _duration(value)


#: Where each event-file field goes in CallEvent's field order (the positional order of
#: the unrolled constructor); the negative places are the two event-type fields.
_ORDER: Final = tuple(f.name for f in fields(CallEvent))
_EVENT, _TYPE = -1, -2
_TS, _A, _B = _ORDER.index("ts"), _ORDER.index("a_number"), _ORDER.index("b_number")
_PLACES: Final[dict[str, int]] = {
    "timestamp": _TS,
    **{name: _ORDER.index(name) for name in _ORDER[2 : _ORDER.index("source")]},
    "event": _EVENT,
    "type": _TYPE,
}
_CONVERT: Final[dict[int, Any]] = {
    place: {"source_port": _int, "status": _int, "duration": _duration_field}.get(name, _text)
    for name, place in _PLACES.items()
    if place >= 0
} | {_TS: _timestamp_field}
_TEMPLATE: Final = tuple(
    {"type": CallEventType.ATTEMPT, "source": "events"}.get(name) for name in _ORDER
)


class EventDecoder:
    """Stream decoder for an event file: ``feed(chunk)`` returns ``(line number, CallEvent
    or DecodeError)`` for every complete line, ``close()`` the last one (no final newline).

    Blank lines are skipped (still numbered). For CSV the first non-blank line is the
    header; field names are matched case-insensitively. A CSV row is one line (quoted
    fields may hold commas, not newlines).

    >>> d = EventDecoder("csv")
    >>> [(n, type(x).__name__) for n, x in d.feed(b"timestamp,a_number,b_number\\n1,a,b\\n2,a")]
    [(2, 'CallEvent')]
    >>> [(n, x.kind) for n, x in d.close()]
    [(3, 'missing_field')]
    """

    def __init__(self, fmt: str) -> None:
        if fmt not in ("jsonl", "csv"):
            raise ValueError(f"unknown event file format {fmt!r}")
        self.format = fmt
        self.lines = 0
        self._tail = b""
        self._header: list[str] | None = None

    def feed(self, chunk: bytes) -> list[tuple[int, CallEvent | DecodeError]]:
        data = self._tail + chunk if self._tail else chunk
        cut = data.rfind(b"\n") + 1
        self._tail = data[cut:]
        return self._lines(data[:cut].split(b"\n")[:-1]) if cut else []

    def close(self) -> list[tuple[int, CallEvent | DecodeError]]:
        tail, self._tail = self._tail, b""
        return self._lines([tail]) if tail.strip() else []

    def _lines(self, lines: list[bytes]) -> list[tuple[int, CallEvent | DecodeError]]:
        out: list[tuple[int, CallEvent | DecodeError]] = []
        number = self.lines
        self.lines += len(lines)
        if self.format == "jsonl":
            loads, decode, error = orjson.loads, decode_fields, orjson.JSONDecodeError
            for line in lines:
                number += 1
                try:
                    data = loads(line)
                except error as exc:
                    if line.strip():  # a blank line is no event, and no error
                        out.append((number, _error("bad_json", f"not JSON: {exc}")))
                    continue
                if type(data) is not dict:
                    out.append((number, _error("not_an_object", "a line must be an object")))
                    continue
                try:
                    out.append((number, decode(data, number)))
                except DecodeError as exc:
                    out.append((number, exc))
            return out
        for line in lines:
            number += 1
            if line.strip():
                item = self._csv(line, number)
                if item is not None:
                    out.append((number, item))
        return out

    def _csv(self, line: bytes, number: int) -> CallEvent | DecodeError | None:
        text = line.decode("utf-8", "replace").rstrip("\r")
        try:
            cells = next(csv.reader([text]))
        except (csv.Error, StopIteration) as exc:
            return _error("bad_csv_row", f"not a CSV row: {exc}")
        if self._header is None:
            self._header = [cell.strip().lower() for cell in cells]
            return None
        if len(cells) > len(self._header):
            return _error(
                "bad_csv_row", f"{len(cells)} cells for {len(self._header)} header fields"
            )
        try:
            return decode_fields(dict(zip(self._header, cells, strict=False)), number)
        except DecodeError as exc:
            return exc


def sniff(head: bytes) -> str | None:
    """``"jsonl"``, ``"csv"`` or None (not an event file), from a file's first bytes:
    JSON Lines start with ``{``; a CSV header is a text line naming ``timestamp``."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"{"):
        return "jsonl"
    first = text.split(b"\n", 1)[0].lower()
    if b"timestamp" in first and b"," in first and b"\x00" not in first:
        return "csv"
    return None
