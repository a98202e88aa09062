"""RTP header decoding (RFC 3550 §5.1), RFC 8285 extensions, RFC 4733 events, the heuristic."""

from __future__ import annotations

import struct

import pytest

from calltrace.decode.rtp import (
    event_digit,
    is_rtcp_type,
    looks_like_rtp,
    non_rtp_kind,
    parse_rtp,
    parse_telephone_event,
)
from calltrace.errors import MalformedInput, Truncated


def rtp(
    pt: int = 0,
    seq: int = 1,
    ts: int = 160,
    ssrc: int = 0x1234,
    *,
    b0: int = 0x80,
    marker: bool = False,
    tail: bytes = b"\xff" * 160,
) -> bytes:
    return struct.pack("!BBHII", b0, (0x80 if marker else 0) | pt, seq, ts, ssrc) + tail


def test_fixed_header_fields() -> None:
    """Version, marker, payload type, sequence, timestamp, SSRC and payload place are read."""
    pkt = parse_rtp(rtp(pt=8, seq=65535, ts=0xFFFFFFFF, ssrc=0xDEADBEEF, marker=True))
    assert (pkt.version, pkt.marker, pkt.payload_type) == (2, True, 8)
    assert (pkt.sequence, pkt.timestamp, pkt.ssrc) == (65535, 0xFFFFFFFF, 0xDEADBEEF)
    assert (pkt.payload_offset, pkt.payload_length, pkt.csrcs) == (12, 160, ())


def test_csrcs_are_listed() -> None:
    """CC=2 moves the payload 8 bytes on and lists both contributing sources."""
    pkt = parse_rtp(rtp(b0=0x82, tail=struct.pack("!II", 7, 9) + b"x" * 20))
    assert pkt.csrcs == (7, 9)
    assert (pkt.payload_offset, pkt.payload_length) == (20, 20)


def test_one_byte_extension_elements() -> None:
    """RFC 8285 §4.2: id/len nibbles, padding zeros skipped, raw bytes kept."""
    ext = struct.pack("!HH", 0xBEDE, 2) + bytes([0x10, 0xAA, 0x00, 0x22, 1, 2, 3, 0])
    pkt = parse_rtp(rtp(b0=0x90, tail=ext + b"p" * 10))
    assert pkt.extension_profile == 0xBEDE
    assert pkt.extension_elements == ((1, b"\xaa"), (2, b"\x01\x02\x03"))
    assert (pkt.payload_offset, pkt.payload_length) == (24, 10)


def test_two_byte_extension_elements() -> None:
    """RFC 8285 §4.3: profile 0x1000, one id byte and one length byte per element."""
    ext = struct.pack("!HH", 0x1000, 1) + bytes([5, 2, 0xAB, 0xCD])
    pkt = parse_rtp(rtp(b0=0x90, tail=ext))
    assert pkt.extension_elements == ((5, b"\xab\xcd"),)
    assert pkt.payload_length == 0


def test_extension_longer_than_packet_is_truncated() -> None:
    """An extension length running past the datagram raises Truncated (layer rtp)."""
    with pytest.raises(Truncated) as err:
        parse_rtp(rtp(b0=0x90, tail=struct.pack("!HH", 0xBEDE, 50)))
    assert err.value.layer == "rtp"


def test_padding_is_removed_from_payload_length() -> None:
    """With P set the last byte counts padding bytes, which are not media."""
    pkt = parse_rtp(rtp(b0=0xA0, tail=b"m" * 10 + b"\x00\x00\x03"))
    assert (pkt.padding_length, pkt.payload_length) == (3, 10)


@pytest.mark.parametrize("tail", [b"m" * 4 + b"\x09", b"\x00", b""])
def test_padding_that_lies_is_malformed(tail: bytes) -> None:
    """A padding count of 0 or larger than what follows the header is an error."""
    with pytest.raises(MalformedInput) as err:
        parse_rtp(rtp(b0=0xA0, tail=tail))
    assert err.value.kind == "bad_padding"


def test_wrong_version_and_short_input() -> None:
    """Version 1 is refused as bad_version; 11 bytes as truncated."""
    with pytest.raises(MalformedInput) as err:
        parse_rtp(rtp(b0=0x40))
    assert err.value.kind == "bad_version"
    with pytest.raises(Truncated):
        parse_rtp(rtp()[:11])


def test_heuristic_accepts_rtp_and_refuses_others() -> None:
    """RTP passes; RTCP-range types 72-76, SIP text, STUN and short data do not."""
    assert looks_like_rtp(rtp())
    assert not looks_like_rtp(rtp(pt=72, marker=True))  # an RTCP SR header
    assert not looks_like_rtp(b"INVITE sip:bob@example.com SIP/2.0\r\n")
    assert not looks_like_rtp(bytes.fromhex("000100002112a442") + b"x" * 12)  # STUN
    assert not looks_like_rtp(rtp()[:11])


def test_rtcp_type_range() -> None:
    """Second octets 192-223 are RTCP (RFC 5761 §4), 191 and 224 are not."""
    assert [is_rtcp_type(v) for v in (191, 192, 200, 223, 224)] == [False, True, True, True, False]


def test_telephone_event() -> None:
    """RFC 4733 §2.3: event 5, E bit, volume 10, duration 800; digit names per §3.2."""
    ev = parse_telephone_event(bytes([5, 0x80 | 10]) + (800).to_bytes(2, "big"))
    assert (ev.event, ev.end, ev.volume, ev.duration) == (5, True, 10, 800)
    assert [event_digit(e) for e in (0, 9, 10, 11, 12, 15, 16, 40)] == [
        "0",
        "9",
        "*",
        "#",
        "A",
        "D",
        "flash",
        "40",
    ]
    with pytest.raises(Truncated):
        parse_telephone_event(b"\x01\x02")


@pytest.mark.parametrize(
    ("first", "rest", "kind"),
    [
        (0x00, b"\x01\x00\x00\x21\x12\xa4\x42", "stun"),  # binding request (RFC 5389 §6)
        (0x10, b"\x00\x00\x01ZRTP", "zrtp"),  # RFC 6189 §5: magic cookie at byte 4
        (0x10, b"\x00\x00\x01ABCD", None),  # no cookie: not ZRTP
        (0x16, b"\xfe\xfd", "dtls"),  # handshake record, DTLS 1.2
        (0x40, b"\x00\x00\x04", None),  # TURN ChannelData or RTP v1: left a bad version
        (0x80, b"\x00\x00\x01", None),  # RTP
    ],
)
def test_non_rtp_kind_follows_rfc_7983(first: int, rest: bytes, kind: str | None) -> None:
    """The first octet (and ZRTP's cookie) tells the protocols sharing a media port apart."""
    assert non_rtp_kind(bytes([first]) + rest) == kind
