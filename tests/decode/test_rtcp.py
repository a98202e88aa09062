"""RTCP compound packets (RFC 3550 §6) and XR VoIP metrics (RFC 3611 §4.7)."""

from __future__ import annotations

import struct

import pytest

from calltrace.decode.rtcp import is_rtcp, parse_rtcp
from calltrace.errors import MalformedInput, Truncated


def block(ssrc: int, frac: int, cum: int, high: int, jitter: int) -> bytes:
    return (
        struct.pack("!IB", ssrc, frac)
        + (cum & 0xFFFFFF).to_bytes(3, "big")
        + struct.pack("!IIII", high, jitter, 0x11223344, 0x10000)
    )


def header(pt: int, count: int, body: bytes, padding: bool = False) -> bytes:
    return struct.pack("!BBH", 0x80 | (0x20 if padding else 0) | count, pt, len(body) // 4) + body


def test_sr_with_report_block_and_negative_cumulative_loss() -> None:
    """SR sender info is read and cumulative lost is signed 24-bit (-3 with duplicates)."""
    sender = struct.pack("!IQIII", 0xAA, 0x0102030405060708, 16000, 50, 8000)
    data = header(200, 1, sender + block(0xBB, 64, -3, 70000, 42))
    (sr,) = parse_rtcp(data)
    assert (sr.packet_type, sr.ssrc, sr.ntp_timestamp, sr.rtp_timestamp) == (
        200,
        0xAA,
        0x0102030405060708,
        16000,
    )
    assert (sr.sender_packets, sr.sender_octets, sr.length) == (50, 8000, 52)
    rb = sr.reports[0]
    assert (rb.ssrc, rb.fraction_lost, rb.cumulative_lost, rb.highest_seq, rb.jitter) == (
        0xBB,
        64,
        -3,
        70000,
        42,
    )
    assert (rb.lsr, rb.dlsr) == (0x11223344, 0x10000)


def test_compound_rr_sdes_bye_app() -> None:
    """A compound datagram yields RR, SDES (CNAME), BYE with reason and APP, in order."""
    rr = header(201, 0, struct.pack("!I", 1))
    items = bytes([1, 5]) + b"alice" + bytes([2, 3]) + b"Bob" + b"\x00"
    chunk = struct.pack("!I", 1) + items
    chunk += b"\x00" * (-len(chunk) % 4)
    sdes = header(202, 1, chunk)
    reason = bytes([7]) + b"goodbye"
    bye = header(203, 1, struct.pack("!I", 1) + reason)
    app = header(204, 3, struct.pack("!I", 1) + b"TEST" + b"data")
    packets = parse_rtcp(rr + sdes + bye + app)
    assert [p.packet_type for p in packets] == [201, 202, 203, 204]
    assert packets[1].sdes[0].cname == "alice"
    assert packets[1].sdes[0].items == ((1, "alice"), (2, "Bob"))
    assert (packets[2].bye_ssrcs, packets[2].bye_reason) == ((1,), "goodbye")
    assert (packets[3].app_name, packets[3].count, packets[3].data) == ("TEST", 3, b"data")


def test_xr_voip_metrics_block() -> None:
    """XR block type 7 is decoded field by field (RFC 3611 §4.7); others stay raw."""
    voip = struct.pack(
        "!IBBBBHHHHbbBBBBBBBBHHH",
        9,
        12,
        3,
        40,
        2,
        120,
        3000,
        45,
        60,
        -20,
        -60,
        25,
        16,
        85,
        127,
        42,
        40,
        0x80,
        0,
        40,
        80,
        200,
    )
    other = struct.pack("!BBH", 4, 0, 2) + b"\x00" * 8
    xr = header(207, 0, struct.pack("!I", 5) + struct.pack("!BBH", 7, 0, 8) + voip + other)
    (pkt,) = parse_rtcp(xr)
    assert [b.block_type for b in pkt.xr_blocks] == [7, 4]
    vm = pkt.xr_blocks[0].voip_metrics
    assert vm is not None
    assert (vm.ssrc, vm.loss_rate, vm.discard_rate, vm.round_trip_delay) == (9, 12, 3, 45)
    assert (vm.signal_level, vm.noise_level, vm.r_factor, vm.mos_lq) == (-20, -60, 85, 42)
    assert (vm.jb_nominal, vm.jb_maximum, vm.jb_abs_max) == (40, 80, 200)


def test_padding_and_lengths_that_lie() -> None:
    """Padding is stripped; a length past the datagram or a bad version raises."""
    padded = header(201, 0, struct.pack("!I", 1) + b"\x00\x00\x00\x04", padding=True)
    assert parse_rtcp(padded)[0].ssrc == 1
    with pytest.raises(Truncated):
        parse_rtcp(struct.pack("!BBH", 0x80, 200, 40) + b"\x00" * 8)
    with pytest.raises(MalformedInput) as err:
        parse_rtcp(b"\x40\xc8\x00\x00")
    assert err.value.kind == "bad_version"
    with pytest.raises(MalformedInput):
        parse_rtcp(header(201, 2, struct.pack("!I", 1)))  # two blocks announced, none present


def test_rtcp_mux_classifier() -> None:
    """is_rtcp: version 2 and type 192-223 (RFC 5761 §4); RTP PT 0 is not RTCP."""
    assert is_rtcp(header(200, 0, b"\x00" * 24))
    assert not is_rtcp(bytes.fromhex("80000001000000a000000001"))
    assert not is_rtcp(b"\x80\xc8")


def xr(sender: int, blocks: bytes) -> bytes:
    return header(207, 0, struct.pack("!I", sender) + blocks)


def test_xr_rrtr_and_dlrr_blocks() -> None:
    """RFC 3611 §4.4 RRTR gives its 64-bit NTP time; §4.5 DLRR one item per 12 bytes."""
    rrtr = struct.pack("!BBHQ", 4, 0, 2, 0xE1000000_40000000)
    dlrr = struct.pack("!BBH", 5, 0, 6) + struct.pack("!III", 7, 0x00014000, 0x8000)
    dlrr += struct.pack("!III", 8, 0, 0)
    (packet,) = parse_rtcp(xr(0x1111, rrtr + dlrr))
    first, second = packet.xr_blocks
    assert (first.block_type, first.rrtr_ntp, first.dlrr) == (4, 0xE1000000_40000000, ())
    assert second.rrtr_ntp is None
    assert [(i.ssrc, i.lrr, i.dlrr) for i in second.dlrr] == [(7, 0x00014000, 0x8000), (8, 0, 0)]


def test_xr_rrtr_and_dlrr_of_the_wrong_size_are_malformed() -> None:
    """An RRTR that is not 2 words, or a DLRR that is not 3 words per item, is rejected."""
    short_rrtr = struct.pack("!BBHI", 4, 0, 1, 5)
    with pytest.raises(MalformedInput) as err:
        parse_rtcp(xr(1, short_rrtr))
    assert (err.value.layer, err.value.kind) == ("rtcp", "bad_rrtr")
    odd_dlrr = struct.pack("!BBHII", 5, 0, 2, 7, 9)
    with pytest.raises(MalformedInput) as err:
        parse_rtcp(xr(1, odd_dlrr))
    assert err.value.kind == "bad_dlrr"
    (empty,) = parse_rtcp(xr(1, struct.pack("!BBH", 5, 0, 0)))  # no items: allowed
    assert empty.xr_blocks[0].dlrr == ()
