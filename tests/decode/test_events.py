"""Call-event lines: JSONL and CSV to CallEvent, every problem a DecodeError."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calltrace.decode.events import EventDecoder, decode_fields, decode_json, sniff
from calltrace.errors import DecodeError
from calltrace.model import CallEvent, CallEventType

T0 = 1767603600.0  # 2026-01-05T09:00:00Z


def test_all_fields_are_read() -> None:
    """Every documented field lands in its CallEvent field, typed."""
    line = json.dumps(
        {
            "timestamp": T0, "a_number": "+4420", "b_number": "+1555", "source_ip": "192.0.2.1",
            "call_id": "c1", "switch_id": "sw1", "direction": "outbound", "account": "acct",
            "user_agent": "UA/1", "status": "486", "duration": "12.5", "event": "end",
            "source_port": 5060, "dest_ip": "192.0.2.2", "extra": "ignored",
            "setting": "call_forward_busy", "target": "+3312",
        }
    )  # fmt: skip
    event = decode_json(line, 7)
    assert event == CallEvent(
        type=CallEventType.END, ts=T0, call_id="c1", a_number="+4420", b_number="+1555",
        source_ip="192.0.2.1", source_port=5060, dest_ip="192.0.2.2", user_agent="UA/1",
        status=486, duration=12.5, switch_id="sw1", direction="outbound", account="acct",
        setting="call_forward_busy", target="+3312", source="events", packet=7,
    )  # fmt: skip


def test_config_change_csv_row_with_setting_and_target() -> None:
    """A CSV ``forward`` row gives a config_change with its setting and target as text."""
    decoder = EventDecoder("csv")
    rows = (
        b"timestamp,event,a_number,b_number,setting,target\n"
        b"1767603600,forward,3030,3030,CFU,+881612345678\n"
    )
    ((number, event),) = decoder.feed(rows)
    assert number == 2 and isinstance(event, CallEvent)
    assert (event.type, event.setting, event.target) == (
        CallEventType.CONFIG_CHANGE, "CFU", "+881612345678")  # fmt: skip


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (T0, T0),
        (int(T0), T0),
        (T0 * 1000 + 250, T0 + 0.25),  # milliseconds
        ("1767603600.5", T0 + 0.5),
        ("2026-01-05T09:00:00Z", T0),
        ("2026-01-05T10:00:00+01:00", T0),
        ("2026-01-05 09:00:01", T0 + 1),  # no zone: UTC
    ],
)
def test_timestamp_forms(value: object, expected: float) -> None:
    """Epoch seconds, epoch milliseconds, numeric text and ISO 8601 all give the same instant."""
    assert decode_fields({"timestamp": value, "a_number": "1", "b_number": "2"}).ts == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, CallEventType.ATTEMPT),
        ("", CallEventType.ATTEMPT),
        ("ANSWER", CallEventType.ANSWER),
        ("hangup", CallEventType.END),
        ("invite", CallEventType.ATTEMPT),
        ("forwarding", CallEventType.CONFIG_CHANGE),
        ("auth_failure", CallEventType.AUTH_FAILURE),
    ],
)
def test_event_type_defaults_to_attempt(value: object, expected: CallEventType) -> None:
    """A row is an attempt unless event names another type (CDR words accepted)."""
    row = {"timestamp": 1, "a_number": "1", "b_number": "2", "event": value}
    assert decode_fields(row).type is expected


def test_type_is_the_fallback_field_for_the_event() -> None:
    """``type`` is read when ``event`` is absent."""
    row = {"timestamp": 1, "a_number": "1", "b_number": "2", "type": "cancel"}
    assert decode_fields(row).type is CallEventType.CANCEL


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        (b"not json", "bad_json"),
        (b"[1, 2]", "not_an_object"),
        (b'{"a_number": "1", "b_number": "2"}', "missing_field"),
        (b'{"timestamp": 1, "b_number": "2"}', "missing_field"),
        (b'{"timestamp": 1, "a_number": " ", "b_number": "2"}', "missing_field"),
        (b'{"timestamp": "yesterday", "a_number": "1", "b_number": "2"}', "bad_timestamp"),
        (b'{"timestamp": 1e300, "a_number": "1", "b_number": "2"}', "bad_timestamp"),
        (b'{"timestamp": true, "a_number": "1", "b_number": "2"}', "bad_timestamp"),
        (b'{"timestamp": 1, "a_number": "1", "b_number": "2", "status": "busy"}', "bad_field"),
        (b'{"timestamp": 1, "a_number": "1", "b_number": "2", "duration": -1}', "bad_field"),
        (b'{"timestamp": 1, "a_number": ["1"], "b_number": "2"}', "bad_field"),
        (b'{"timestamp": 1, "a_number": "1", "b_number": "2", "event": "x"}', "unknown_event_type"),
    ],
)
def test_problems_are_decode_errors_with_a_kind(line: bytes, kind: str) -> None:
    """Each kind of bad line raises a DecodeError of layer ``events`` with its kind."""
    with pytest.raises(DecodeError) as info:
        decode_json(line)
    assert (info.value.layer, info.value.kind) == ("events", kind)


def test_stream_decoder_numbers_lines_across_chunks() -> None:
    """Lines split across chunks decode once, numbered from 1, blank lines skipped but counted."""
    data = (
        b'{"timestamp":1,"a_number":"a","b_number":"b"}\n\nbad\n'
        b'{"timestamp":2,"a_number":"a","b_number":"c"}'
    )
    decoder = EventDecoder("jsonl")
    out = [x for i in range(0, len(data), 7) for x in decoder.feed(data[i : i + 7])]
    out += decoder.close()
    assert [(n, type(x).__name__) for n, x in out] == [
        (1, "CallEvent"), (3, "MalformedInput"), (4, "CallEvent"),
    ]  # fmt: skip
    assert decoder.lines == 4


def test_csv_header_any_case_and_quoted_cells() -> None:
    """CSV header names match case-insensitively; quoted cells may hold commas; empty is None."""
    decoder = EventDecoder("csv")
    data = b'Timestamp,A_Number,B_Number,User_Agent,Status\r\n1,a,b,"X, v1",\r\n2,a,b\r\n'
    (one, two) = [x for _, x in decoder.feed(data)]
    assert isinstance(one, CallEvent) and one.user_agent == "X, v1" and one.status is None
    assert isinstance(two, CallEvent) and two.ts == 2.0


def test_csv_row_longer_than_header_is_an_error() -> None:
    """A row with more cells than the header has names is refused, not misread."""
    (item,) = EventDecoder("csv").feed(b"timestamp,a_number,b_number\n1,a,b,c\n")
    assert isinstance(item[1], DecodeError) and item[1].kind == "bad_csv_row"


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        (b'{"timestamp": 1}\n', "jsonl"),
        (b"\xef\xbb\xbftimestamp,a_number,b_number\n", "csv"),
        (b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00", None),  # pcap magic
        (b"hello world\n", None),
    ],
)
def test_sniff(head: bytes, fmt: str | None) -> None:
    """JSONL starts with an object, CSV with a header naming timestamp; captures are neither."""
    assert sniff(head) == fmt


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=3,
)
_rows = st.dictionaries(
    st.sampled_from(
        [
            "timestamp",
            "a_number",
            "b_number",
            "status",
            "duration",
            "event",
            "type",
            "source_port",
            "call_id",
            "account",
            "x",
        ]
    ),
    _json_values,
)


@settings(max_examples=200, deadline=None)
@given(_rows)
def test_fuzz_rows_give_an_event_or_a_decode_error(row: dict[str, object]) -> None:
    """Any JSON object, whatever its values, either decodes or raises DecodeError."""
    try:
        line = json.dumps(row, allow_nan=True)
    except (ValueError, OverflowError):
        return
    with contextlib.suppress(DecodeError):
        assert isinstance(decode_json(line), CallEvent)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["jsonl", "csv"]))
def test_fuzz_bytes_give_events_or_decode_errors(data: bytes, fmt: str) -> None:
    """Arbitrary bytes through the stream decoder give only CallEvents and DecodeErrors."""
    decoder = EventDecoder(fmt)
    for _, item in decoder.feed(data) + decoder.close():
        assert isinstance(item, CallEvent | DecodeError)


def test_huge_integers_are_refused_not_raised() -> None:
    """An integer too big for a float is a bad timestamp or duration, not an OverflowError."""
    for field in ("timestamp", "duration"):
        row = {"timestamp": 1, "a_number": "1", "b_number": "2", field: 10**400}
        with pytest.raises(DecodeError):
            decode_fields(row)
