"""Property tests: any bytes either decode or give DecodeError, and TCP order does not matter."""

from __future__ import annotations

import itertools
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calltrace.decode.frames import FrameDecoder
from calltrace.decode.pcap import CaptureReader
from calltrace.errors import DecodeError
from calltrace.model import CaptureInfo, CaptureRecord, Packet
from tests.decode import _build as b

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LINK_TYPES = [1, 113, 276, 101, 12, 14, 228, 229, 0, 108, 147]

_PCAP = b.pcap_file([(1, 2, b.eth(b.ipv4(b.udp(b"SIP/2.0 200 OK\r\n\r\n")))), (3, 4, b"xyz")])
_PCAPNG = b.shb() + b.idb(1, tsresol=9) + b.epb(0, 123, b"abc") + b.spb(b"s") + b.pb(0, 5, b"p")


def _drain(data: bytes, chunk: int) -> None:
    reader = CaptureReader()
    try:
        for i in range(0, len(data), chunk):
            reader.feed(data[i : i + chunk])
            for event in reader.events():
                assert isinstance(event, CaptureInfo | CaptureRecord)
        reader.close()
    except DecodeError:
        pass


@FUZZ
@given(st.binary(max_size=300), st.integers(1, 64))
def test_reader_arbitrary_bytes(data: bytes, chunk: int) -> None:
    """Arbitrary bytes, fed in any chunk size, give events or DecodeError only."""
    _drain(data, chunk)


@FUZZ
@given(
    st.sampled_from([_PCAP, _PCAPNG]),
    st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=8),
    st.integers(1, 50),
)
def test_reader_mutated_headers(base: bytes, edits: list[tuple[int, int]], chunk: int) -> None:
    """Real pcap/pcapng headers with bytes overwritten give events or DecodeError only."""
    data = bytearray(base)
    for at, value in edits:
        if at < len(data):
            data[at] = value
    _drain(bytes(data), chunk)


def _check(items: list[Packet | DecodeError]) -> None:
    for item in items:
        assert isinstance(item, Packet | DecodeError)


@FUZZ
@given(st.sampled_from(LINK_TYPES), st.lists(st.binary(max_size=120), min_size=1, max_size=6))
def test_frames_arbitrary(link_type: int, frames: list[bytes]) -> None:
    """Random frames of every link type return Packets and DecodeErrors, never raise."""
    dec = FrameDecoder(
        fragment_timeout=1.0, max_fragment_sets=4, max_tcp_streams=4, max_stream_buffer=256
    )
    for n, frame in enumerate(frames):
        _check(dec.decode(b.record(frame, link_type, number=n + 1, ts=float(n))))
    _check(dec.flush())


_TEMPLATES = [
    b.eth(b.ipv4(b.udp(b"INVITE sip:a@b SIP/2.0\r\n\r\n"))),
    b.eth(b.ipv4(b.tcp(b"INVITE sip:a@b SIP/2.0\r\nContent-Length: 2\r\n\r\nab", 1), proto=6)),
    b.eth(b.ipv4(b.sctp([b.data_chunk(b"abc", 1, 0x02), b.data_chunk(b"de", 2, 0x01)]), proto=132)),
    b.eth(b.ipv4(b.gre(bytes(8) + b.eth(b.ipv4(b.udp(b"x"))), 0x88BE, seq=1), proto=47)),
    b.eth(b.ipv6(b.udp(b"x"), nh=0, ext=b.ext_opts(44) + b.ext_frag(17, 0, True, 1))),
    b.eth(b.ipv4(b"\x00" * 24, more=True), vlans=((0x8100, 1),)),
]


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.sampled_from(_TEMPLATES),
            st.lists(st.tuples(st.integers(0, 120), st.integers(0, 255)), max_size=6),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_frames_mutated_templates(frames: list[tuple[bytes, list[tuple[int, int]]]]) -> None:
    """Valid frames with bytes overwritten exercise deep branches and still never raise."""
    dec = FrameDecoder(max_stream_buffer=512)
    for n, (template, edits) in enumerate(frames):
        data = bytearray(template)
        for at, value in edits:
            if at < len(data):
                data[at] = value
        _check(dec.decode(b.record(bytes(data), 1, number=n + 1, ts=float(n))))
    _check(dec.flush())


_STREAM = b"".join(
    b.sip(m, body, call=str(i)) + b"\r\n" * (i % 2)
    for i, (m, body) in enumerate(
        [
            ("INVITE", b"v=0\r\n" * 9),
            ("ACK", b""),
            ("BYE", b"bye"),
            ("OPTIONS", b""),
            ("NOTIFY", b"x" * 70),
        ]
    )
)
_MESSAGES = [
    b.sip(m, body, call=str(i))
    for i, (m, body) in enumerate(
        [
            ("INVITE", b"v=0\r\n" * 9),
            ("ACK", b""),
            ("BYE", b"bye"),
            ("OPTIONS", b""),
            ("NOTIFY", b"x" * 70),
        ]
    )
]


@FUZZ
@given(
    st.lists(st.integers(1, len(_STREAM) - 1), max_size=12, unique=True),
    st.randoms(use_true_random=False),
    st.integers(0, 4),
)
def test_tcp_shuffled_duplicated_segments(cuts: list[int], rnd: random.Random, dups: int) -> None:
    """Segments of a known stream in any order, some duplicated, give the same messages."""
    isn = rnd.randrange(1 << 32)
    bounds = [0, *sorted(cuts), len(_STREAM)]
    segs = [(lo, _STREAM[lo:hi]) for lo, hi in itertools.pairwise(bounds)]
    segs += [rnd.choice(segs) for _ in range(dups)]
    rnd.shuffle(segs)
    dec = FrameDecoder()
    out: list[Packet | DecodeError] = []
    out += dec.decode(b.record(b.eth(b.ipv4(b.tcp(b"", isn, flags=b.SYN), proto=6))))
    for n, (lo, data) in enumerate(segs):
        frame = b.eth(b.ipv4(b.tcp(data, isn + 1 + lo), proto=6))
        out += dec.decode(b.record(frame, number=n + 2))
    out += dec.flush()
    assert [p.payload for p in out if isinstance(p, Packet)] == _MESSAGES
    assert [e for e in out if isinstance(e, DecodeError)] == []
