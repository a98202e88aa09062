"""Frame builders: lengths and checksums, checked by hand values, a reference loop and dpkt."""

from __future__ import annotations

import random

import dpkt
import pytest

from calltrace.sim import frames

from .conftest import reference_checksum


def test_ipv4_header_checksum_known_value() -> None:
    """The textbook header 4500 0073 ... c0a8 00c7 has checksum 0xb861."""
    head = bytes.fromhex("450000730000400040110000c0a80001c0a800c7")
    assert frames.checksum(head) == 0xB861


@pytest.mark.parametrize("size", [0, 1, 2, 3, 17, 64, 1001])
def test_checksum_matches_reference_loop(size: int) -> None:
    """The big-integer checksum equals RFC 1071's word loop on random data of any length."""
    rng = random.Random(size)
    for _ in range(50):
        data = rng.randbytes(size)
        assert frames.checksum(data) == reference_checksum(data)


def test_checksum_of_all_ones_words() -> None:
    """A sum that is a non-zero multiple of 0xFFFF folds to 0xFFFF, checksum 0."""
    assert frames.checksum(b"\xff\xff\xff\xff") == reference_checksum(b"\xff\xff\xff\xff") == 0


def test_udp_ipv4_frame_decodes_with_valid_checksums() -> None:
    """dpkt reads back addresses, ports and payload; IP and UDP checksums verify to zero."""
    src, dst = frames.pack_ip("10.0.0.1"), frames.pack_ip("10.0.0.2")
    seg = frames.udp(5060, 5080, b"OPTIONS", src_ip=src, dst_ip=dst)
    raw = frames.ip_frame(b"\x02" * 6, b"\x04" * 6, src, dst, frames.PROTO_UDP, seg, ident=7)
    eth = dpkt.ethernet.Ethernet(raw)
    ip = eth.data
    assert (ip.len, ip.id, ip.p, ip.src, ip.dst) == (20 + 8 + 7, 7, 17, src, dst)
    assert (ip.data.sport, ip.data.dport, ip.data.ulen, ip.data.data) == (
        5060,
        5080,
        15,
        b"OPTIONS",
    )
    assert reference_checksum(raw[14:34]) == 0
    pseudo = src + dst + b"\x00\x11" + (15).to_bytes(2, "big")
    assert reference_checksum(pseudo + raw[34:]) == 0


def test_udp_without_checksum_sends_zero_on_ipv4() -> None:
    """RFC 768: a zero checksum field means none was computed."""
    seg = frames.udp(1, 2, b"x", src_ip=b"\x01" * 4, dst_ip=b"\x02" * 4, with_checksum=False)
    assert seg[6:8] == b"\x00\x00"


def test_ipv6_udp_always_has_a_checksum() -> None:
    """IPv6 makes the UDP checksum mandatory (RFC 8200 §8.1), even when not asked."""
    src, dst = frames.pack_ip("2001:db8::1"), frames.pack_ip("2001:db8::2")
    seg = frames.udp(5060, 5060, b"hi", src_ip=src, dst_ip=dst, with_checksum=False)
    raw = frames.ip_frame(b"\x02" * 6, b"\x04" * 6, src, dst, frames.PROTO_UDP, seg)
    ip6 = dpkt.ethernet.Ethernet(raw).data
    assert (ip6.plen, ip6.nxt, ip6.src, ip6.dst) == (10, 17, src, dst)
    pseudo = src + dst + (10).to_bytes(4, "big") + b"\x00\x00\x00\x11"
    assert reference_checksum(pseudo + raw[54:]) == 0


def test_tcp_segment_fields_and_checksum() -> None:
    """Sequence, ack, flags and data offset land where RFC 9293 puts them; checksum verifies."""
    src, dst = frames.pack_ip("192.0.2.1"), frames.pack_ip("192.0.2.2")
    flags = frames.TCP_PSH | frames.TCP_ACK
    seg = frames.tcp(40000, 5060, 2**32 + 5, 99, flags, b"BYE", src_ip=src, dst_ip=dst)
    tcp = dpkt.tcp.TCP(seg)
    assert (tcp.sport, tcp.dport, tcp.seq, tcp.ack, tcp.flags, tcp.off) == (
        40000,
        5060,
        5,
        99,
        flags,
        5,
    )
    pseudo = src + dst + b"\x00\x06" + len(seg).to_bytes(2, "big")
    assert reference_checksum(pseudo + seg) == 0
