"""ESL framing and plain events: messages out of any chunking, DecodeError on bad framing."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calltrace.decode.esl import (
    MAX_HEADER,
    EslDecoder,
    EslMessage,
    call_event,
    parse_event,
)
from calltrace.errors import DecodeError, MalformedInput
from calltrace.model import NEED_DATA

STREAM = (
    b"Content-Type: auth/request\n\n"
    b"Content-Type: command/reply\nReply-Text: +OK accepted\n\n"
    b"Content-Length: 55\nContent-Type: text/event-plain\n\n"
    b"Event-Name: HEARTBEAT\nUp-Time: 0%20years%2C%201%20day\n\n"
)


def drain(decoder: EslDecoder) -> list[EslMessage]:
    out = []
    while (message := decoder.next_event()) is not NEED_DATA:
        assert isinstance(message, EslMessage)
        out.append(message)
    return out


def test_a_stream_frames_into_its_three_messages() -> None:
    """Greeting, reply and an event with a 55-byte body, in order."""
    decoder = EslDecoder()
    decoder.feed(STREAM)
    greeting, reply, event = drain(decoder)
    assert greeting.headers == (("Content-Type", "auth/request"),) and greeting.body == b""
    assert reply.header("Reply-Text") == "+OK accepted"
    assert event.content_type == "text/event-plain" and len(event.body) == 55
    assert parse_event(event.body).headers == {
        "Event-Name": "HEARTBEAT",
        "Up-Time": "0 years, 1 day",
    }


def test_every_split_point_gives_the_same_messages() -> None:
    """Fed one byte at a time, the decoder gives the same three messages."""
    whole = EslDecoder()
    whole.feed(STREAM)
    expected = drain(whole)
    decoder = EslDecoder()
    got: list[EslMessage] = []
    for i in range(len(STREAM)):
        decoder.feed(STREAM[i : i + 1])
        got.extend(drain(decoder))
    assert got == expected


def test_crlf_line_ends_are_accepted() -> None:
    """Headers ended by CRLF frame like LF ones."""
    decoder = EslDecoder()
    decoder.feed(b"Content-Type: api/response\r\nContent-Length: 3\r\n\r\n+OK")
    (message,) = drain(decoder)
    assert (message.content_type, message.body) == ("api/response", b"+OK")


def test_an_event_with_its_own_body() -> None:
    """A plain event may carry a body after its headers (BACKGROUND_JOB's output)."""
    event = parse_event(b"Event-Name: BACKGROUND_JOB\nContent-Length: 4\n\n+OK\nnext")
    assert (event.name, event.body) == ("BACKGROUND_JOB", b"+OK\n")


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"Content-Type: x\nno colon here\n\n", "bad_header"),
        (b"Content-Length: -4\n\n", "bad_length"),
        (b"Content-Length: 12abc\n\n", "bad_length"),
        (b"Content-Length: 999999999999\n\n", "bad_length"),
        (b"X: " + b"a" * (MAX_HEADER + 1), "header_too_long"),
    ],
)
def test_bad_framing_raises_malformed_input(data: bytes, kind: str) -> None:
    """Each kind of broken framing is a MalformedInput of layer esl, and it sticks."""
    decoder = EslDecoder()
    decoder.feed(data)
    with pytest.raises(MalformedInput) as err:
        decoder.next_event()
    assert (err.value.layer, err.value.kind) == ("esl", kind)
    with pytest.raises(MalformedInput):
        decoder.next_event()


def test_event_body_shorter_than_its_length_is_truncated() -> None:
    """An event claiming 10 body bytes with 2 left raises a truncated error."""
    with pytest.raises(MalformedInput, match="10 bytes, 2 left"):
        parse_event(b"Event-Name: X\nContent-Length: 10\n\nab")


def test_a_channel_event_without_a_timestamp_is_malformed() -> None:
    """An inbound CHANNEL_CREATE lacking Event-Date-Timestamp cannot be placed in time."""
    event = parse_event(b"Event-Name: CHANNEL_CREATE\nUnique-ID: u\nCall-Direction: inbound\n\n")
    with pytest.raises(MalformedInput, match="Event-Date-Timestamp"):
        call_event(event)


def test_other_events_are_not_call_events() -> None:
    """HEARTBEAT or a channel event without a Unique-ID gives no call event."""
    assert call_event(parse_event(b"Event-Name: HEARTBEAT\n\n")) is None
    assert (
        call_event(parse_event(b"Event-Name: CHANNEL_CREATE\nCall-Direction: inbound\n\n")) is None
    )


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=400), cuts=st.lists(st.integers(0, 400), max_size=8))
def test_fuzz_any_bytes_decode_or_raise_decode_error(data: bytes, cuts: list[int]) -> None:
    """Whatever the bytes and however they are split, only messages or DecodeError come out."""
    decoder = EslDecoder()
    points = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    try:
        for a, b in itertools.pairwise(points):
            decoder.feed(data[a:b])
            for message in drain(decoder):
                if message.content_type == "text/event-plain":
                    call_event(parse_event(message.body), outbound=True)
    except DecodeError:
        pass


_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20)
_NAME = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,15}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(
    messages=st.lists(
        st.tuples(st.lists(st.tuples(_NAME, _TEXT), max_size=4), st.binary(max_size=40)),
        max_size=4,
    ),
    cut=st.integers(0, 1000),
)
def test_fuzz_encoded_messages_come_back_whole(
    messages: list[tuple[list[tuple[str, str]], bytes]], cut: int
) -> None:
    """Messages framed as the protocol says come back with their headers and bodies,
    whatever the split."""
    wire = b""
    expected = []
    for headers, body in messages:
        headers = [(k, v.strip()) for k, v in headers if k != "Content-Length"]
        all_headers = [*headers, ("Content-Length", str(len(body)))]
        wire += "".join(f"{k}: {v}\n" for k, v in all_headers).encode() + b"\n" + body
        expected.append(EslMessage(headers=tuple(all_headers), body=body))
    decoder = EslDecoder()
    decoder.feed(wire[:cut])
    got = drain(decoder)
    decoder.feed(wire[cut:])
    assert got + drain(decoder) == expected
