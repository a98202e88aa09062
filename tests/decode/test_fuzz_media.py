"""Fuzz invariant for media: any bytes decode or raise DecodeError; the tracker never raises."""

from __future__ import annotations

import contextlib
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from calltrace.decode.rtcp import parse_rtcp
from calltrace.decode.rtp import looks_like_rtp, parse_rtp, parse_telephone_event
from calltrace.errors import DecodeError
from calltrace.model import Packet
from calltrace.trace.media import MediaTracker
from calltrace.trace.rtcpreports import RtcpReports

SEED_RTP = (
    struct.pack("!BBHII", 0x90, 0x80 | 101, 7, 1234, 99)
    + struct.pack("!HH", 0xBEDE, 1)
    + b"\x10\xaa\x00\x00"
    + bytes([5, 0x8A, 0, 160])
)
SEED_RTCP = (
    struct.pack("!BBHIQIII", 0x81, 200, 12, 1, 2, 3, 4, 5)
    + struct.pack("!IIIIII", 6, 7, 8, 9, 10, 11)
    + struct.pack("!BBHI", 0x81, 202, 2, 1)
    + bytes([1, 2])
    + b"ab"
)

SEED_XR = (
    struct.pack("!BBHI", 0x80, 207, 11, 0x1111)
    + struct.pack("!BBHQ", 4, 0, 2, 0xE1000000_40000000)  # RRTR (RFC 3611 §4.4)
    + struct.pack("!BBHIII", 5, 0, 3, 7, 0x00014000, 0x8000)  # DLRR (§4.5), one item
    + struct.pack("!BBHI", 6, 0, 2, 9)  # an undecoded block type
    + struct.pack("!I", 0)
)


def mutate(seed: bytes) -> st.SearchStrategy[bytes]:
    """The seed with a few bytes overwritten and possibly cut short."""
    edits = st.lists(st.tuples(st.integers(0, len(seed) - 1), st.integers(0, 255)), max_size=6)
    return st.tuples(edits, st.integers(0, len(seed))).map(
        lambda e: bytes(_apply(seed, e[0]))[: e[1] or len(seed)]
    )


def _apply(seed: bytes, edits: list[tuple[int, int]]) -> bytearray:
    data = bytearray(seed)
    for pos, value in edits:
        data[pos] = value
    return data


def _decodes_or_raises(fn: object, data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        fn(data)  # type: ignore[operator]


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.binary(max_size=80), mutate(SEED_RTP)))
def test_parse_rtp_decodes_or_raises(data: bytes) -> None:
    """parse_rtp on any bytes returns a record or raises DecodeError, nothing else."""
    _decodes_or_raises(parse_rtp, data)
    _decodes_or_raises(parse_telephone_event, data)
    looks_like_rtp(data)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.binary(max_size=120), mutate(SEED_RTCP), mutate(SEED_XR)))
def test_parse_rtcp_decodes_or_raises(data: bytes) -> None:
    """parse_rtcp on any bytes returns packets or raises DecodeError, nothing else."""
    _decodes_or_raises(parse_rtcp, data)
    with contextlib.suppress(DecodeError):
        packets = parse_rtcp(data)
        packet = Packet(number=1, ts=1.0, src_ip="10.0.0.1", src_port=1, dst_ip="10.0.0.2",
                        dst_port=2, transport="udp", payload=data)  # fmt: skip
        RtcpReports().records(packet, packets, None)  # rows from any block that decodes


_packets = st.lists(
    st.tuples(st.integers(0, 3), st.floats(0, 100, allow_nan=False), mutate(SEED_RTP)),
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(_packets)
def test_tracker_never_raises(items: list[tuple[int, float, bytes]]) -> None:
    """Random datagrams, ports and times (even going back) never make MediaTracker raise."""
    tracker = MediaTracker(heuristic=True, idle_timeout=10.0)
    tracker.expect("10.0.0.2", 5002, {101: "telephone-event/8000", 96: "opus/48000"})
    for i, (port, ts, payload) in enumerate(items):
        tracker.observe(
            Packet(
                number=i + 1,
                ts=ts,
                src_ip="10.0.0.1",
                src_port=4000 + port,
                dst_ip="10.0.0.2",
                dst_port=5000 + port,
                transport="udp",
                payload=payload,
            )
        )
    tracker.pop_finished()
    for stream in tracker.close():
        assert stream.packets >= 1
