"""WebSocketDecoder (RFC 6455 §5): lengths, masking, fragmentation, control frames, errors."""

from __future__ import annotations

import pytest

from calltrace.decode.websocket import WebSocketDecoder, unmask
from calltrace.errors import MalformedInput
from calltrace.model import NEED_DATA
from tests.decode import _build as b


def messages(data: bytes, chunk: int = 0) -> list[bytes]:
    dec = WebSocketDecoder()
    out: list[bytes] = []
    step = chunk or len(data) or 1
    for i in range(0, len(data), step):
        dec.feed(data[i : i + step])
        while (event := dec.next_event()) is not NEED_DATA:
            assert isinstance(event, bytes)
            out.append(event)
    return out


@pytest.mark.parametrize("size", [0, 5, 125, 126, 65535, 65536, 70000])
@pytest.mark.parametrize("mask", [None, b"\x37\xfa\x21\x3d"])
def test_lengths_and_masking(size: int, mask: bytes | None) -> None:
    """7-, 16- and 64-bit lengths, masked or not, give the original payload."""
    payload = bytes(i % 251 for i in range(size))
    assert messages(b.ws_frame(payload, opcode=2, mask=mask)) == [payload]


def test_rfc6455_masked_hello_example() -> None:
    """RFC 6455 §5.7: the masked 'Hello' example frame unmasks to Hello."""
    frame = bytes.fromhex("818537fa213d7f9f4d5158")
    assert messages(frame) == [b"Hello"]
    assert unmask(b"\x7f\x9f\x4d\x51\x58", b"\x37\xfa\x21\x3d") == b"Hello"


def test_fragmented_message_with_interleaved_ping() -> None:
    """RFC 6455 §5.4: continuation frames join; a ping between them is dropped."""
    data = b.ws_frame(b"Hel", fin=False) + b.ws_frame(b"", opcode=9) + b.ws_frame(b"lo", opcode=0)
    assert messages(data) == [b"Hello"]
    assert messages(data, chunk=1) == [b"Hello"]


def test_control_frames_are_dropped() -> None:
    """Close, ping and pong frames produce no message."""
    data = (
        b.ws_frame(b"\x03\xe8", opcode=8) + b.ws_frame(b"p", opcode=9) + b.ws_frame(b"q", opcode=10)
    )
    assert messages(data + b.ws_frame(b"x")) == [b"x"]


def test_partial_frame_needs_data() -> None:
    """Half a frame gives NEED_DATA and completes when the rest arrives."""
    dec = WebSocketDecoder()
    frame = b.ws_frame(b"a" * 300, mask=b"abcd")
    dec.feed(frame[:3])
    assert dec.next_event() is NEED_DATA
    dec.feed(frame[3:])
    assert dec.next_event() == b"a" * 300


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b.ws_frame(b"x", opcode=3), "ws_opcode"),
        (b.ws_frame(b"x", opcode=0), "ws_continuation"),
        (b.ws_frame(b"x", opcode=9, fin=False), "ws_control"),
        (b.ws_frame(b"x" * 126, opcode=9), "ws_control"),
        (b.ws_frame(b"a", fin=False) + b.ws_frame(b"b"), "ws_interleaved"),
        (b"\xc1\x01x", "ws_extension"),
        (b"\x82\x7f" + b"\x80" + bytes(7), "ws_length"),
        (b"\x82\x7f" + (1 << 40).to_bytes(8, "big"), "ws_too_large"),
    ],
)
def test_protocol_errors(data: bytes, kind: str) -> None:
    """Each protocol violation raises MalformedInput(layer='ws') and stops the decoder."""
    dec = WebSocketDecoder()
    dec.feed(data)
    with pytest.raises(MalformedInput) as info:
        while dec.next_event() is not NEED_DATA:
            pass
    assert (info.value.layer, info.value.kind) == ("ws", kind)
    dec.feed(b.ws_frame(b"after"))
    assert dec.next_event() is NEED_DATA
