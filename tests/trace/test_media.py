"""MediaTracker: tshark's per-stream figures on hand-made streams, computed by hand here."""

from __future__ import annotations

import struct

import pytest

from calltrace.model import Packet, RtpStream
from calltrace.trace.media import MediaTracker

A, B = ("10.0.0.1", 4000), ("10.0.0.2", 5000)


def pkt(
    seq: int,
    ts: int,
    at_ms: float,
    *,
    pt: int = 0,
    ssrc: int = 0x55,
    marker: bool = False,
    src: tuple[str, int] = A,
    dst: tuple[str, int] = B,
    media: bytes = b"\xff" * 160,
    number: int = 0,
) -> Packet:
    head = struct.pack(
        "!BBHII", 0x80, (0x80 if marker else 0) | pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc
    )
    return Packet(
        number=number or seq,
        ts=1000.0 + at_ms / 1000.0,
        src_ip=src[0],
        src_port=src[1],
        dst_ip=dst[0],
        dst_port=dst[1],
        transport="udp",
        payload=head + media,
    )


def run(packets: list[Packet], tracker: MediaTracker | None = None) -> list[RtpStream]:
    tracker = tracker or MediaTracker(heuristic=True)
    for p in packets:
        tracker.observe(p)
    return tracker.close()


def one(packets: list[Packet]) -> RtpStream:
    (stream,) = run(packets)
    return stream


def test_clean_stream() -> None:
    """Five G.711 packets 20 ms apart: nothing lost, deltas 20 ms, jitter 0, MOS 4.41."""
    s = one([pkt(i, 160 * i, 20.0 * i) for i in range(5)])
    assert (s.packets, s.expected, s.lost, s.seq_errors, s.problems) == (5, 5, 0, 0, False)
    assert (s.min_delta_ms, s.mean_delta_ms, s.max_delta_ms) == pytest.approx((20.0, 20.0, 20.0))
    assert (s.min_jitter_ms, s.max_jitter_ms) == pytest.approx((0.0, 0.0), abs=1e-9)
    assert (s.codec, s.clock_rate, s.payload_names, s.source) == (
        "PCMU/8000",
        8000,
        ("g711U",),
        "heuristic",
    )
    assert s.r_factor == pytest.approx(93.2, abs=0.01)
    assert s.mos == pytest.approx(4.41, abs=0.005)


def test_known_loss() -> None:
    """Seq 3 missing: lost 1 of 5 (20%), one sequence error, deltas 20/26.667/40 ms.

    tshark's mean delta divides by packets so far: 20, (20+40)/2 = 30, (30*2+20)/3.
    """
    s = one([pkt(q, 160 * q, 20.0 * q) for q in (1, 2, 4, 5)])
    assert (s.packets, s.expected, s.lost, s.seq_errors, s.problems) == (4, 5, 1, 1, True)
    assert s.lost_pct == pytest.approx(20.0)
    assert (s.min_delta_ms, s.mean_delta_ms, s.max_delta_ms) == pytest.approx((20.0, 80 / 3, 40.0))
    assert s.max_jitter_ms == pytest.approx(0.0, abs=1e-9)
    assert s.effective_loss_pct == pytest.approx(20.0)


def test_duplicate_makes_loss_negative() -> None:
    """Seq 2 twice: 4 packets for 3 expected, lost -1 (tshark prints -1), one sequence error."""
    s = one([pkt(1, 160, 0), pkt(2, 320, 20), pkt(2, 320, 21), pkt(3, 480, 40)])
    assert (s.packets, s.expected, s.lost, s.seq_errors) == (4, 3, -1, 1)
    assert s.effective_loss_pct == 0.0


def test_reordering_by_hand() -> None:
    """Seqs 1,3,2,4: packet 2 arrives late with an older timestamp.

    Packet 3 (40 ms, ts 320): seq jump -> error 1; D = 0. Packet 2 (41 ms, ts 160): timestamp
    goes back -> wrong timestamp, seq error 2; D = |41 - (40 - 20)| = 21, J = 21/16 = 1.3125,
    excluded from min/max/mean. Packet 4 (60 ms, ts 480): D = 0, J = 15/16 * 1.3125.
    """
    s = one([pkt(1, 0, 0), pkt(3, 320, 40), pkt(2, 160, 41), pkt(4, 480, 60)])
    assert (s.packets, s.expected, s.lost, s.seq_errors, s.wrong_timestamps) == (4, 4, 0, 2, 1)
    assert (s.min_delta_ms, s.mean_delta_ms, s.max_delta_ms) == pytest.approx((20.0, 100 / 3, 40.0))
    j4 = 15 * 1.3125 / 16
    assert (s.min_jitter_ms, s.max_jitter_ms) == pytest.approx((0.0, j4), abs=1e-9)
    assert s.mean_jitter_ms == pytest.approx(j4 / 3)
    assert s.problems


def test_sequence_wrap() -> None:
    """65534, 65535, 0, 1: one cycle counted, expected 4, nothing lost, no errors."""
    s = one([pkt(q, 160 * i, 20.0 * i) for i, q in enumerate((65534, 65535, 0, 1))])
    assert (s.expected, s.lost, s.seq_errors, s.problems) == (4, 0, 0, False)


def test_clock_jump() -> None:
    """A timestamp jump of 8000 (1 s) 20 ms after the last packet: D = 980, J = 61.25 ms."""
    s = one([pkt(1, 0, 0), pkt(2, 160, 20), pkt(3, 8160, 40)])
    assert s.max_jitter_ms == pytest.approx(980 / 16)
    assert s.mean_jitter_ms == pytest.approx((0 + 980 / 16) / 2)
    assert not s.problems


def test_ssrc_change_makes_a_new_stream() -> None:
    """The same 5-tuple switching SSRC gives two streams; the second counts the change."""
    streams = run([pkt(1, 0, 0, ssrc=1), pkt(2, 160, 20, ssrc=1), pkt(9, 50, 40, ssrc=2)])
    assert [(s.ssrc, s.packets, s.ssrc_changes) for s in streams] == [(1, 2, 0), (2, 1, 1)]


def test_marker_packet_left_out_of_deltas() -> None:
    """A marker packet after 500 ms of silence counts as a packet, not in the max delta."""
    s = one([pkt(1, 0, 0), pkt(2, 160, 20), pkt(3, 4320, 520, marker=True), pkt(4, 4480, 540)])
    assert (s.marker_packets, s.lost) == (1, 0)
    assert s.max_delta_ms == pytest.approx(20.0)


def test_comfort_noise_counted_and_excluded() -> None:
    """PT 13 packets are counted, named CN, and they and the next packet skip the deltas."""
    s = one(
        [
            pkt(1, 0, 0, pt=8),
            pkt(2, 160, 20, pt=13, media=b"\x40"),
            pkt(3, 4000, 500, pt=8),
            pkt(4, 4160, 520, pt=8),
        ]
    )
    assert (s.comfort_noise_packets, s.payload_names) == (1, ("g711A", "CN"))
    assert s.max_delta_ms == pytest.approx(20.0)
    assert s.codec == "PCMA/8000"


def test_dtmf_events() -> None:
    """Three PT 101 packets of event 5 (durations 160, 320, 480, end bit last): digit 5, 60 ms."""
    ev = [
        bytes([5, 10]) + (160).to_bytes(2, "big"),
        bytes([5, 10]) + (320).to_bytes(2, "big"),
        bytes([5, 0x80 | 10]) + (480).to_bytes(2, "big"),
    ]
    packets = [
        pkt(1, 800, 0, pt=101, marker=True, media=ev[0]),
        pkt(2, 800, 20, pt=101, media=ev[1]),
        pkt(3, 800, 40, pt=101, media=ev[2]),
    ]
    s = one(packets)
    (d,) = s.dtmf
    assert (d.digit, d.duration_ms, d.volume, d.ended, d.packet) == ("5", 60.0, 10, True, 1)
    assert s.payload_names == ("rtpevent",)
    assert s.min_jitter_ms is None  # telephone-event has no clock for jitter, as in tshark


def test_expect_names_dynamic_payloads_and_ties_the_call() -> None:
    """An SDP announcement gives PT 111 the opus 48 kHz clock, the call and the direction."""
    tracker = MediaTracker()
    tracker.expect(B[0], B[1], {111: "opus/48000/2"}, call_id="c1", direction="caller")
    streams = run([pkt(i, 960 * i, 20.0 * i, pt=111) for i in range(3)], tracker)
    (s,) = streams
    assert (s.call_id, s.direction, s.source, s.clock_rate, s.payload_names) == (
        "c1",
        "caller",
        "sdp",
        48000,
        ("opus",),
    )
    assert s.max_jitter_ms == pytest.approx(0.0, abs=1e-9)


def test_without_heuristic_unannounced_udp_is_ignored() -> None:
    """With heuristic mode off, RTP-looking datagrams nobody announced make no stream."""
    assert run([pkt(1, 0, 0), pkt(2, 160, 20)], MediaTracker()) == []


def test_well_known_port_and_non_rtp_media_are_not_guessed() -> None:
    """DNS on port 53 and a port SDP gave to T.38 (udptl) are never taken for RTP."""
    tracker = MediaTracker(heuristic=True)
    tracker.expect(B[0], B[1], proto="udptl")
    streams = run([pkt(1, 0, 0, dst=("10.0.0.3", 53)), pkt(2, 160, 20)], tracker)
    assert streams == []


def test_rtcp_on_next_port_is_kept_per_ssrc() -> None:
    """An RR sent to the announced port + 1 is decoded and kept under its sender SSRC."""
    tracker = MediaTracker()
    tracker.expect(B[0], B[1], call_id="c1")
    rr = struct.pack("!BBHI", 0x80, 201, 1, 0x77)
    tracker.observe(
        Packet(
            number=1,
            ts=1.0,
            src_ip=A[0],
            src_port=A[1] + 1,
            dst_ip=B[0],
            dst_port=B[1] + 1,
            transport="udp",
            payload=rr,
        )
    )
    (report,) = tracker.rtcp_reports(0x77)
    assert (report.call_id, report.packets[0].packet_type) == ("c1", 201)


def test_announced_bad_rtp_is_an_error_not_a_crash() -> None:
    """A truncated datagram on an announced port comes back as a counted DecodeError."""
    tracker = MediaTracker()
    tracker.expect(B[0], B[1])
    bad = Packet(
        number=1,
        ts=1.0,
        src_ip=A[0],
        src_port=A[1],
        dst_ip=B[0],
        dst_port=B[1],
        transport="udp",
        payload=b"\x80\x00\x00",
    )
    err = tracker.observe(bad)
    assert err is not None and err.layer == "rtp"
    assert tracker.errors == {"rtp.truncated": 1}


def test_idle_streams_are_finished() -> None:
    """A stream silent for the idle timeout of capture time is popped; the live one stays."""
    tracker = MediaTracker(heuristic=True, idle_timeout=5.0)
    tracker.observe(pkt(1, 0, 0, ssrc=1))
    for i in range(8):
        tracker.observe(pkt(i, 160 * i, 1000.0 * i, ssrc=2, src=("10.0.0.9", 7000)))
    assert [s.ssrc for s in tracker.pop_finished()] == [1]
    assert [s.ssrc for s in tracker.close()] == [2]


def test_jitter_buffer_discards_raise_effective_loss() -> None:
    """A packet 70 ms late misses a 50 ms buffer: effective loss 1 of 5 = 20%, lower MOS."""
    s = one([pkt(i, 160 * i, 20.0 * i + (70.0 if i == 2 else 0.0)) for i in range(5)])
    assert (s.lost, s.jitter_discards) == (0, 1)
    assert s.effective_loss_pct == pytest.approx(20.0)
    assert s.mos is not None and s.mos < 4.0


def test_expectations_are_bounded_oldest_first() -> None:
    """Past max_expectations the oldest SDP announcement is dropped, the newest kept."""
    tracker = MediaTracker(max_expectations=100)
    for i in range(250):
        tracker.expect("192.0.2.1", 10000 + 2 * i, {0: "PCMU/8000"})
    assert len(tracker._expect) == 100
    assert ("192.0.2.1", 10000) not in tracker._expect
    assert ("192.0.2.1", 10000 + 2 * 249) in tracker._expect
    assert len(tracker._rtcp_ports) == 100


def test_clock_under_one_kilohertz_is_not_timed() -> None:
    """An rtpmap clock under 1 kHz (tshark divides by rate // 1000) gives no timing, no crash."""
    tracker = MediaTracker()
    tracker.expect(B[0], B[1], {96: "odd/500"}, call_id="c1")
    (s,) = run([pkt(i, 10 * i, 20.0 * i, pt=96) for i in range(4)], tracker)
    assert (s.packets, s.lost, s.clock_rate) == (4, 0, None)
    assert s.max_jitter_ms == 0.0
