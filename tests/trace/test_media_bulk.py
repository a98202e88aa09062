"""The columnar media tracker against the scalar reference, stream figure for figure.

Every scenario is fed twice: packet by packet to :class:`MediaTracker` (the reference)
and as columns to :class:`BulkMediaTracker`; the streams must be equal (integers exactly,
floats to 1e-9 ms, as trace/media_vec.py documents).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import itertools
import math
import random
import struct
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calltrace.model import Packet, RtpStream
from calltrace.trace import media_vec
from calltrace.trace.media import MediaTracker
from calltrace.trace.media_bulk import BulkMediaTracker, MediaRows
from tests.trace.test_media import pkt


def rtp(seq: int, ts: int, at_ms: float, *, first: int = 0x80, **fields: Any) -> Packet:
    """tests/trace/test_media.py's packet, with a chosen first byte (version and flags)."""
    packet = pkt(seq, ts, at_ms, **fields)
    return dataclasses.replace(packet, payload=bytes([first]) + packet.payload[1:])


def numbered(packets: list[Packet]) -> list[Packet]:
    return [dataclasses.replace(p, number=i + 1) for i, p in enumerate(packets)]


def rows_of(packets: list[Packet]) -> MediaRows:
    """The packets as the bulk lane hands them over: columns over one buffer."""
    data = b"".join(p.payload for p in packets)
    lengths = np.array([len(p.payload) for p in packets], dtype=np.int64)
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)

    def ip(text: str) -> int:
        return int(ipaddress.IPv4Address(text))

    return MediaRows(
        data=np.frombuffer(data, dtype=np.uint8),
        ts=np.array([p.ts for p in packets]),
        number=np.array([p.number for p in packets], dtype=np.int64),
        src=np.array([ip(p.src_ip) for p in packets], dtype=np.int64),
        sport=np.array([p.src_port for p in packets], dtype=np.int64),
        dst=np.array([ip(p.dst_ip) for p in packets], dtype=np.int64),
        dport=np.array([p.dst_port for p in packets], dtype=np.int64),
        payload=offsets,
        length=lengths,
    )


def scalar(packets: list[Packet], **options: object) -> tuple[list[RtpStream], list[object]]:
    tracker = MediaTracker(**options)  # type: ignore[arg-type]
    errors = [(p.number, err.kind) for p in packets if (err := tracker.observe(p)) is not None]
    return tracker.close(), errors


def bulk(
    packets: list[Packet], pieces: int = 1, **options: object
) -> tuple[list[RtpStream], list[object]]:
    tracker = BulkMediaTracker(**options)
    errors: list[object] = []
    cuts = np.linspace(0, len(packets), pieces + 1).astype(int)
    for lo, hi in itertools.pairwise(cuts):
        if hi > lo:
            got = tracker.observe_columns(rows_of(packets[lo:hi]))
            errors.extend((number, err.kind) for number, _ts, err in got)
    return tracker.close(), errors


def assert_same(ours: list[RtpStream], theirs: list[RtpStream]) -> None:
    """Integers equal, floats to 1e-9 (trace/media_vec.py sums in another order)."""
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        for f in dataclasses.fields(a):
            x, y = getattr(a, f.name), getattr(b, f.name)
            if isinstance(x, float) and isinstance(y, float):
                assert math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9), (f.name, x, y)
            else:
                assert x == y, (f.name, x, y)


def check(packets: list[Packet], pieces: int = 1, **options: object) -> list[RtpStream]:
    packets = numbered(packets)
    options.setdefault("heuristic", True)
    ref, ref_errors = scalar(packets, **options)
    got, errors = bulk(packets, pieces, **options)
    assert_same(got, ref)
    assert errors == ref_errors
    return got


def audio(n: int, *, start_seq: int = 100, start_ts: int = 1000, step: int = 160) -> list[Packet]:
    return [rtp(start_seq + i, start_ts + step * i, 20.0 * i) for i in range(n)]


def test_clean_stream_equals_reference() -> None:
    """A clean G.711 stream gives the reference's figures, with no loss and no jitter."""
    (stream,) = check(audio(50))
    assert (stream.packets, stream.lost, stream.seq_errors) == (50, 0, 0)
    assert stream.max_jitter_ms < 1e-6  # float noise of the arrival times only


def test_loss_reordering_and_duplicates() -> None:
    """Lost, swapped and repeated packets: same loss, sequence errors and problems."""
    packets = audio(60)
    del packets[10]  # a loss
    packets[20], packets[21] = packets[21], packets[20]  # reordering
    packets.insert(30, packets[29])  # a duplicate
    packets[40], packets[45] = packets[45], packets[40]  # a late packet, far
    (stream,) = check(packets)
    assert stream.lost == 0  # one lost, one duplicated: tshark's count nets them
    assert stream.seq_errors >= 3


def test_sequence_and_timestamp_wraps() -> None:
    """Sequence numbers through 65535 -> 0 and RTP timestamps through 2**32 wrap cleanly."""
    (stream,) = check(audio(40, start_seq=65520, start_ts=2**32 - 800))
    assert (stream.expected, stream.lost) == (40, 0)


def test_markers_comfort_noise_and_payload_changes() -> None:
    """Talkspurts, CN packets and a codec switch are left out of deltas as tshark does."""
    packets = audio(30)
    packets[5] = rtp(105, 1000 + 160 * 5, 100.0, marker=True)
    packets[10] = rtp(110, 1000 + 160 * 10, 200.0, pt=13, media=b"\x40")
    packets[11] = rtp(111, 1000 + 160 * 11, 220.0, pt=13, media=b"\x40")
    packets[20:] = [rtp(120 + i, 5000 + 160 * i, 400.0 + 20 * i, pt=8) for i in range(10)]
    (stream,) = check(packets)
    assert stream.payload_types == (0, 13, 8)
    assert stream.comfort_noise_packets == 2 and stream.marker_packets == 1


def test_dtmf_events() -> None:
    """RFC 4733 events (payload 101) become the same DTMF list as on the scalar path."""
    packets = audio(10)
    for i, (digit, duration, end) in enumerate([(5, 160, False), (5, 320, False), (5, 480, True)]):
        body = struct.pack("!BBH", digit, (0x80 if end else 0) | 10, duration)
        packets.append(rtp(110 + i, 2600, 200.0 + 20 * i, pt=101, media=body))
    packets.append(rtp(113, 2600 + 480, 260.0))
    (stream,) = check(packets)
    assert [(e.digit, e.ended) for e in stream.dtmf] == [("5", True)]


def test_ssrc_change_inside_one_batch() -> None:
    """Two SSRCs taking turns on one address pair count the same SSRC changes."""
    packets = [rtp(i, 160 * i, 20.0 * i, ssrc=0x55 if (i // 5) % 2 else 0x66) for i in range(30)]
    streams = check(packets)
    assert sorted(s.ssrc_changes for s in streams) == [2, 3]


def test_idle_streams_are_cut_like_the_scalar_sweep() -> None:
    """A gap longer than the idle timeout splits a stream in two, as the sweep does."""
    packets = audio(10) + [rtp(200 + i, 9000 + 160 * i, 70_000.0 + 20 * i) for i in range(10)]
    packets += [rtp(i, 160 * i, 70_000.0 + 20 * i + 5, src=("10.0.0.9", 7000)) for i in range(5)]
    streams = check(packets, pieces=3)
    assert len(streams) == 3


def test_announced_media_errors_come_in_row_order() -> None:
    """Bad RTP on an announced port is an error at its row; RTCP goes to the scalar path."""
    packets = audio(10)
    packets[3] = rtp(103, 1480, 60.0, first=0x40)  # version 1
    packets[6] = dataclasses.replace(packets[6], payload=packets[6].payload[:8])  # cut short
    rtcp = struct.pack("!BBHI", 0x80, 201, 1, 0x55)  # an empty receiver report
    packets.append(dataclasses.replace(packets[0], dst_port=5001, payload=rtcp))
    packets = numbered(packets)
    ref_tracker, tracker = MediaTracker(), BulkMediaTracker()
    for t in (ref_tracker, tracker):
        t.expect("10.0.0.2", 5000, {0: "PCMU/8000"}, call_id="c1")
    ref_errors = [(p.number, e.kind) for p in packets if (e := ref_tracker.observe(p)) is not None]
    errors = [(n, e.kind) for n, _t, e in tracker.observe_columns(rows_of(packets))]
    assert errors == ref_errors == [(4, "bad_version"), (7, "truncated")]
    assert_same(tracker.close(), ref_tracker.close())
    assert tracker.rtcp_packets == ref_tracker.rtcp_packets == 1


def test_reinvite_codec_change_is_adopted_in_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    """A re-INVITE of the stream's call that adds a codec names the payload types that
    appear after it (RFC 3264 §8) without sending the rows to the scalar path; another
    call's announcement for the same endpoint does not take the stream over."""
    first = audio(10)
    second = [rtp(110 + i, 2600 + 320 * i, 200.0 + 20 * i, pt=96) for i in range(10)]
    third = [rtp(120 + i, 6000 + 320 * i, 400.0 + 20 * i, pt=97) for i in range(5)]
    packets = numbered(first + second + third)
    announcements = [
        ({0: "PCMU/8000"}, "c1"),
        ({0: "PCMU/8000", 96: "opus/48000/2"}, "c1"),
        ({97: "G722/8000"}, "c2"),
    ]
    ref_tracker, tracker = MediaTracker(), BulkMediaTracker()

    def row_by_row(packet: Packet) -> None:
        raise AssertionError(f"frame {packet.number} left the columns path")

    monkeypatch.setattr(tracker, "observe", row_by_row)
    cuts = [(0, 10), (10, 20), (20, 25)]
    for (lo, hi), (rtpmap, call) in zip(cuts, announcements, strict=True):
        for t in (ref_tracker, tracker):
            t.expect("10.0.0.1", 4000, rtpmap, call_id=call)  # both parties announced:
            t.expect("10.0.0.2", 5000, rtpmap, call_id=call)  # nothing to latch
        for p in packets[lo:hi]:
            ref_tracker.observe(p)
        tracker.observe_columns(rows_of(packets[lo:hi]))
    (stream,) = tracker.close()
    assert_same([stream], ref_tracker.close())
    assert stream.payload_names == ("g711U", "opus", "RTPType-97")
    assert stream.call_id == "c1"


def test_heuristic_leaves_well_known_ports_alone() -> None:
    """Without SDP, RTP-looking datagrams on DNS or SIP ports are not taken for RTP."""
    packets = [rtp(i, 160 * i, 20.0 * i, dst=("10.0.0.2", 53)) for i in range(5)]
    assert check(packets) == []


def test_singles_and_columns_mix() -> None:
    """Packets that reach a stream through observe() and through columns make one stream."""
    packets = numbered(audio(20))
    ref, _ = scalar(packets, heuristic=True)
    tracker = BulkMediaTracker(heuristic=True)
    tracker.observe_columns(rows_of(packets[:7]))
    for p in packets[7:12]:
        tracker.observe(p)
    tracker.observe_columns(rows_of(packets[12:]))
    assert_same(tracker.close(), ref)


def test_adaptive_buffer_near_ties_use_the_scalar_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """When every playout comparison counts as too close, the exact model gives the count."""
    monkeypatch.setattr(media_vec, "GUARD_S", 10.0)
    rng = random.Random(3)
    packets = [
        rtp(i, 160 * i, 20.0 * i + rng.uniform(0, 60), marker=i % 25 == 0) for i in range(200)
    ]
    (stream,) = check(packets)
    assert stream.adaptive_discards > 0


def test_linear_filter_matches_the_recursion() -> None:
    """The blocked closed form equals y = a*y + b*x step by step over several blocks."""
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 5, 1000)
    y, want = 0.25, []
    for v in x:
        y = 15 / 16 * y + v / 16
        want.append(y)
    got = media_vec.linear_filter(x, 15 / 16, 1 / 16, 0.25)
    assert np.allclose(got, want, rtol=1e-12, atol=0)


@st.composite
def streams(draw: st.DrawFn) -> list[Packet]:
    """A stream with random loss, reordering, duplicates, jitter, markers, CN and pt changes."""
    n = draw(st.integers(2, 80))
    seq0 = draw(st.integers(0, 65535))
    ts0 = draw(st.integers(0, 2**32 - 1))
    rng = random.Random(draw(st.integers(0, 2**32)))
    out = []
    for i in range(n):
        if rng.random() < 0.05:
            continue  # lost
        pt = rng.choice([0, 0, 0, 0, 8, 13, 18, 96, 101, 121])
        media = struct.pack("!BBH", 1, 10, 160) if pt == 101 else b"\x00" * 20
        out.append(
            rtp(seq0 + i, ts0 + 160 * i + rng.choice([0, 0, 0, 80, -80]),
                20.0 * i + rng.uniform(0, 15), pt=pt, marker=rng.random() < 0.1,
                ssrc=rng.choice([7, 7, 7, 7, 8]), media=media)
        )  # fmt: skip
    for _ in range(rng.randrange(4)):
        if len(out) > 2:
            i = rng.randrange(len(out) - 1)
            out[i], out[i + 1] = out[i + 1], out[i]
    if out and rng.random() < 0.3:
        out.insert(rng.randrange(len(out)), out[rng.randrange(len(out))])
    return out


@settings(max_examples=60, deadline=None)
@given(streams(), st.integers(1, 4))
def test_random_streams_equal_the_reference(packets: list[Packet], pieces: int) -> None:
    """Any mix of impairments, cut into any batches, gives the reference's figures."""
    check(packets, pieces=pieces)
