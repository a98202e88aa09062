"""RTP headers (RFC 3550 §5.1), header extensions (RFC 8285) and telephone-events (RFC 4733).

:func:`parse_rtp` reads the fixed header, the CSRC list, the extension and the padding
count, and keeps where the media bytes lie instead of the bytes themselves (a stream of a
million packets should not hold a million audio frames). :func:`looks_like_rtp` is the
heuristic for datagrams no signalling announced; it is shaped after Wireshark's
``rtp.heuristic_rtp`` (version 2, payload type outside the RTCP-conflict range) with a few
cheap extra checks so that SIP, STUN, DTLS and RTCP are never taken for RTP.

Pure: bytes in, records out; bad bytes raise :class:`MalformedInput` (layer ``rtp``).

>>> pkt = parse_rtp(bytes.fromhex("80080001000000a0deadbeef") + b"\\xd5" * 160)
>>> (pkt.payload_type, pkt.sequence, pkt.timestamp, hex(pkt.ssrc), pkt.payload_length)
(8, 1, 160, '0xdeadbeef', 160)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from calltrace.errors import MalformedInput, Truncated
from calltrace.model import RtpPacket

__all__ = [
    "COMFORT_NOISE",
    "STATIC_PAYLOADS",
    "TelephoneEvent",
    "event_digit",
    "is_rtcp_type",
    "looks_like_rtp",
    "non_rtp_kind",
    "parse_rtp",
    "parse_telephone_event",
]

_HEAD: Final = struct.Struct("!BBHII")
_EXT: Final = struct.Struct("!HH")
_EVENT: Final = struct.Struct("!BBH")

COMFORT_NOISE: Final = frozenset({13, 19})  # RFC 3389 CN, and the reserved "old CN" 19

# RFC 3551 §6 table 4 and 5: encoding name and RTP clock rate of the static payload types.
# G.722 samples at 16 kHz but its RTP clock is 8000 (RFC 3551 §4.5.2, an old mistake kept).
STATIC_PAYLOADS: Final[dict[int, tuple[str, int]]] = {
    0: ("PCMU", 8000),
    1: ("1016", 8000),
    2: ("G721", 8000),
    3: ("GSM", 8000),
    4: ("G723", 8000),
    5: ("DVI4", 8000),
    6: ("DVI4", 16000),
    7: ("LPC", 8000),
    8: ("PCMA", 8000),
    9: ("G722", 8000),
    10: ("L16", 44100),
    11: ("L16", 44100),
    12: ("QCELP", 8000),
    13: ("CN", 8000),
    14: ("MPA", 90000),
    15: ("G728", 8000),
    16: ("DVI4", 11025),
    17: ("DVI4", 22050),
    18: ("G729", 8000),
    19: ("CN", 8000),
    25: ("CelB", 90000),
    26: ("JPEG", 90000),
    28: ("nv", 90000),
    31: ("H261", 90000),
    32: ("MPV", 90000),
    33: ("MP2T", 90000),
    34: ("H263", 90000),
}

_DIGITS: Final = "0123456789*#ABCD"


def _bad(detail: str, kind: str = "malformed") -> MalformedInput:
    if kind == "truncated":
        return Truncated(detail, layer="rtp")
    return MalformedInput(detail, layer="rtp", kind=kind)


def is_rtcp_type(second_byte: int) -> bool:
    """True when the second octet is an RTCP packet type, 192-223 (RFC 5761 §4).

    With rtcp-mux an RTP payload type of 64-95 with the marker set would collide with this
    range, which is why RFC 5761 forbids those payload types on a multiplexed port.
    """
    return 192 <= second_byte <= 223


def parse_rtp(payload: bytes) -> RtpPacket:
    """Decode the RTP header of ``payload`` (RFC 3550 §5.1), or raise MalformedInput."""
    size = len(payload)
    if size < 12:
        raise _bad(f"RTP header needs 12 bytes, {size} given", "truncated")
    b0, b1, seq, ts, ssrc = _HEAD.unpack_from(payload, 0)
    version = b0 >> 6
    if version != 2:
        raise _bad(f"RTP version {version}, expected 2", "bad_version")
    cc = b0 & 0x0F
    off = 12 + 4 * cc
    if off > size:
        raise _bad(f"{cc} CSRCs need {off} bytes, {size} given", "truncated")
    csrcs = struct.unpack_from(f"!{cc}I", payload, 12) if cc else ()
    profile: int | None = None
    ext_data = b""
    elements: tuple[tuple[int, bytes], ...] = ()
    if b0 & 0x10:
        if off + 4 > size:
            raise _bad("extension header cut short", "truncated")
        profile, words = _EXT.unpack_from(payload, off)
        end = off + 4 + 4 * words
        if end > size:
            raise _bad(f"extension of {words} words runs past the packet", "truncated")
        ext_data = payload[off + 4 : end]
        elements = _elements(profile, ext_data)
        off = end
    pad = 0
    if b0 & 0x20:
        if size == off:
            raise _bad("padding bit set but no room for a padding count", "bad_padding")
        pad = payload[-1]
        if pad == 0 or off + pad > size:
            raise _bad(
                f"padding count {pad} does not fit the {size - off} bytes left", "bad_padding"
            )
    return RtpPacket(
        version=version,
        padding=bool(b0 & 0x20),
        extension=bool(b0 & 0x10),
        marker=bool(b1 & 0x80),
        payload_type=b1 & 0x7F,
        sequence=seq,
        timestamp=ts,
        ssrc=ssrc,
        csrcs=tuple(csrcs),
        extension_profile=profile,
        extension_data=ext_data,
        extension_elements=elements,
        payload_offset=off,
        payload_length=size - off - pad,
        padding_length=pad,
    )


def _elements(profile: int, data: bytes) -> tuple[tuple[int, bytes], ...]:
    """RFC 8285 §4.2 (one-byte, profile 0xBEDE) and §4.3 (two-byte, 0x100 + appbits) elements.

    Padding bytes (0) between elements are skipped; id 15 in the one-byte form ends the
    list (§4.2). An element that runs past the block ends the list without an error: the
    block may be encrypted (RFC 6904) or vendor-specific, and the header around it is sound
    (tshark, too, keeps such packets in the stream); ``extension_data`` still has it all.
    """
    out: list[tuple[int, bytes]] = []
    pos = 0
    size = len(data)
    if profile == 0xBEDE:
        while pos < size:
            byte = data[pos]
            if byte == 0:
                pos += 1
                continue
            ident, length = byte >> 4, (byte & 0x0F) + 1
            if ident == 15:
                break
            if pos + 1 + length > size:
                break
            out.append((ident, data[pos + 1 : pos + 1 + length]))
            pos += 1 + length
    elif profile >> 4 == 0x100:
        while pos < size:
            ident = data[pos]
            if ident == 0:
                pos += 1
                continue
            if pos + 2 > size or pos + 2 + data[pos + 1] > size:
                break
            length = data[pos + 1]
            out.append((ident, data[pos + 2 : pos + 2 + length]))
            pos += 2 + length
    return tuple(out)


def looks_like_rtp(payload: bytes) -> bool:
    """Heuristic: could this UDP payload, with no signalling, be RTP?

    Like Wireshark's ``rtp.heuristic_rtp``: version 2 and a payload type outside 72-76
    (which, with the marker bit, is RTCP's 200-204; RFC 3550 §5.1, RFC 5761 §4). Also the
    header must hold together (CSRCs, extension and padding fit), which rules out STUN
    (version 0), DTLS (first byte 20-63), ZRTP (version 0) and SIP text (first byte 64+
    in letters: ``I``=0x49 is version 1, ``S``=0x53 version 1, ``R``=0x52 version 1).
    """
    if len(payload) < 12 or payload[0] >> 6 != 2:
        return False
    if 72 <= payload[1] & 0x7F <= 76:
        return False
    try:
        parse_rtp(payload)
    except MalformedInput:
        return False
    return True


@dataclass(frozen=True, slots=True, kw_only=True)
class TelephoneEvent:
    """The payload of an RFC 4733 §2.3 telephone-event packet."""

    event: int
    end: bool
    volume: int
    duration: int  # RTP timestamp units


def parse_telephone_event(media: bytes) -> TelephoneEvent:
    """Decode a telephone-event payload (RFC 4733 §2.3): event, E bit, volume, duration.

    Several events may be stacked (redundancy); the first one is the current event.
    """
    if len(media) < 4:
        raise _bad(f"telephone-event needs 4 bytes, {len(media)} given", "truncated")
    event, flags, duration = _EVENT.unpack_from(media, 0)
    return TelephoneEvent(
        event=event, end=bool(flags & 0x80), volume=flags & 0x3F, duration=duration
    )


def event_digit(event: int) -> str:
    """The key an RFC 4733 §3.2 DTMF event number stands for (16 is flash)."""
    if event < len(_DIGITS):
        return _DIGITS[event]
    if event == 16:
        return "flash"
    return str(event)


#: RFC 7983 §7: what the first octet of a datagram on a media port says it is, when it is
#: not RTP or RTCP (128-191). ZRTP also carries the magic cookie "ZRTP" (RFC 6189 §5).
ZRTP_MAGIC: Final = b"ZRTP"


def non_rtp_kind(payload: bytes) -> str | None:
    """``stun``, ``zrtp`` or ``dtls`` for the other protocols that share a media port
    (RFC 7983 §7, RFC 6189 §5), else None (RTP, RTCP or unknown).

    TURN ChannelData (first octet 64-79) is left out on purpose: it is RTP version 1 as
    well, and a wrong RTP version must stay a counted error on an announced port.

    >>> non_rtp_kind(bytes([0x10, 0, 0, 1]) + b"ZRTP" + bytes(8)), non_rtp_kind(b"\\x16\\xfe\\xfd")
    ('zrtp', 'dtls')
    """
    if not payload:
        return None
    first = payload[0]
    if first <= 3:
        return "stun"
    if 16 <= first <= 19:
        return "zrtp" if payload[4:8] == ZRTP_MAGIC else None
    if 20 <= first <= 63:
        return "dtls"
    return None
