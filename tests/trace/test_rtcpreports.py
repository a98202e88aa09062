"""RtcpReports: RTCP datagrams as rows, with round trips worked out by hand."""

from __future__ import annotations

import doctest
import struct

from calltrace.decode import rtcp as rtcp_module
from calltrace.decode.rtcp import parse_rtcp
from calltrace.model import Packet
from calltrace.trace import rtcpreports
from calltrace.trace.rtcpreports import RtcpReports


def udp(ts: float, data: bytes) -> Packet:
    return Packet(number=7, ts=ts, src_ip="10.0.0.1", src_port=4001, dst_ip="10.0.0.2",
                  dst_port=5001, transport="udp", payload=data)  # fmt: skip


def rr(lsr: int, dlsr: int) -> bytes:
    block = struct.pack("!IB3sIIII", 0x2222, 0, (0).to_bytes(3, "big"), 0, 0, lsr, dlsr)
    return struct.pack("!BBHI", 0x81, 201, 7, 0x1111) + block


def test_round_trip_needs_the_sr_seen_and_lsr_set() -> None:
    """LSR 0 (no SR yet) and an LSR of an SR never captured give no round trip."""
    reports = RtcpReports()
    for lsr in (0, 0x12345678):
        (row,) = reports.records(udp(1.0, rr(lsr, 0)), parse_rtcp(rr(lsr, 0)), None)
        assert row.rtt_ms is None


def test_negative_round_trip_is_dropped() -> None:
    """A DLSR longer than the capture-time gap would make RTT negative: no figure."""
    reports = RtcpReports()
    ntp = 5 << 32
    sr = struct.pack("!BBHIQIII", 0x80, 200, 6, 0x2222, ntp, 0, 0, 0)
    reports.records(udp(1.0, sr), parse_rtcp(sr), None)
    data = rr((ntp >> 16) & 0xFFFFFFFF, 65536)  # DLSR 1 s, sent 0.5 s after the SR
    (row,) = reports.records(udp(1.5, data), parse_rtcp(data), None)
    assert row.rtt_ms is None and row.dlsr_ms == 1000.0


def test_xr_voip_metrics_block_is_a_row() -> None:
    """An XR VoIP metrics block (RFC 3611 §4.7) gives an xr row in plain units."""
    voip = struct.pack("!BBH", 7, 0, 8) + struct.pack(
        "!IBBBBHHHHbbBBBBBBBBHHH", 0x2222, 13, 26, 0, 0, 0, 0, 150, 60, 127, 127, 127, 16,
        85, 127, 39, 37, 0, 0, 60, 120, 240)  # fmt: skip
    data = struct.pack("!BBHI", 0x80, 207, len(voip) // 4 + 1, 0x1111) + voip
    (row,) = RtcpReports().records(udp(1.0, data), parse_rtcp(data), "c1")
    assert (row.kind, row.sender_ssrc, row.ssrc, row.call_id) == ("xr", 0x1111, 0x2222, "c1")
    assert row.xr is not None
    assert (row.xr["loss_rate"], row.xr["discard_rate"]) == (13 / 256, 26 / 256)
    assert (row.xr["round_trip_delay_ms"], row.xr["r_factor"], row.xr["ext_r_factor"]) == (
        150.0, 85.0, None)  # fmt: skip
    assert (row.xr["mos_lq"], row.xr["mos_cq"], row.xr["jb_nominal_ms"]) == (3.9, 3.7, 60.0)


def xr(sender: int, blocks: bytes) -> bytes:
    body = struct.pack("!I", sender) + blocks
    return struct.pack("!BBH", 0x80, 207, len(body) // 4) + body


def test_xr_dlrr_round_trip_from_the_rrtr_seen() -> None:
    """RFC 3611 §4.5: RTT = t_DLRR - t_RRTR - DLRR; here 10.3 - 10.0 - 0.25 s = 50 ms."""
    seconds = 3_900_000_123
    ntp = (seconds << 32) | 0x4000_0000  # .25 s
    lrr = ((seconds & 0xFFFF) << 16) | 0x4000  # the middle 32 bits
    reports = RtcpReports()
    rrtr = xr(0x3333, struct.pack("!BBHQ", 4, 0, 2, ntp))
    (ref,) = reports.records(udp(10.0, rrtr), parse_rtcp(rrtr), "c1")
    assert (ref.kind, ref.sender_ssrc, ref.ssrc, ref.call_id) == ("rrtr", 0x3333, None, "c1")
    assert ref.ntp_time == seconds - 2_208_988_800 + 0.25
    items = struct.pack("!III", 0x3333, lrr, 0x4000) + struct.pack("!III", 0x4444, 0, 0)
    dlrr = xr(0x1111, struct.pack("!BBH", 5, 0, 6) + items)
    answer, unanswered = reports.records(udp(10.3, dlrr), parse_rtcp(dlrr), "c1")
    assert (answer.kind, answer.sender_ssrc, answer.ssrc) == ("dlrr", 0x1111, 0x3333)
    assert (answer.lsr, answer.dlsr_ms) == (lrr, 250.0)
    assert answer.rtt_ms is not None and abs(answer.rtt_ms - 50.0) < 1e-6
    assert (unanswered.ssrc, unanswered.lsr, unanswered.rtt_ms) == (0x4444, 0, None)


def test_xr_dlrr_without_its_rrtr_or_negative_has_no_round_trip() -> None:
    """A DLRR naming an RRTR never captured, or whose delay exceeds the gap, gives none."""
    reports = RtcpReports()
    rrtr = xr(0x3333, struct.pack("!BBHQ", 4, 0, 2, 7 << 32))
    reports.records(udp(1.0, rrtr), parse_rtcp(rrtr), None)
    for lrr, delay in ((0x0007_0001, 0), (0x0007_0000, 65536)):  # unknown LRR; DLRR 1 s
        dlrr = xr(0x1111, struct.pack("!BBHIII", 5, 0, 3, 0x3333, lrr, delay))
        (row,) = reports.records(udp(1.5, dlrr), parse_rtcp(dlrr), None)
        assert row.kind == "dlrr" and row.rtt_ms is None


def test_docstring_examples() -> None:
    """The examples of the RTCP decoder and of the report rows run and hold."""
    for module in (rtcp_module, rtcpreports):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0
