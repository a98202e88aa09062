"""pcap global and record headers, checked against the format's byte layout."""

from __future__ import annotations

import struct

from calltrace.sim import pcapfmt


def test_global_header_microsecond_layout() -> None:
    """The µs header is magic a1b2c3d4 little-endian, v2.4, zone 0, snaplen, linktype."""
    head = pcapfmt.global_header(snaplen=65535, linktype=1)
    assert head == bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000")


def test_global_header_nanosecond_magic() -> None:
    """Nanosecond files use the a1b23c4d magic (pcap draft §4)."""
    assert pcapfmt.global_header(nanosecond=True)[:4] == bytes.fromhex("4d3cb2a1")


def test_record_header_truncates_to_microseconds() -> None:
    """1.5000019 s is written as 1 s + 500001 µs, lengths equal to the frame size."""
    rec = pcapfmt.record(1_500_001_900, b"abc")
    assert struct.unpack("<IIII", rec[:16]) == (1, 500_001, 3, 3)
    assert rec[16:] == b"abc"


def test_record_header_keeps_nanoseconds() -> None:
    """In nanosecond files the fraction is the exact nanosecond count."""
    head = pcapfmt.record_header(1_767_603_600_123_456_789, 60, nanosecond=True)
    assert struct.unpack("<IIII", head) == (1_767_603_600, 123_456_789, 60, 60)
