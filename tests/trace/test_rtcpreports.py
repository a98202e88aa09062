"""RtcpReports: RTCP datagrams as rows, with round trips worked out by hand."""

from __future__ import annotations

import struct

from calltrace.decode.rtcp import parse_rtcp
from calltrace.model import Packet
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
