"""RTCP compound packets (RFC 3550 §6): SR, RR, SDES, BYE, APP, and XR (RFC 3611).

:func:`parse_rtcp` walks a compound datagram packet by packet using each header's length
field (RFC 3550 §6.4.1: length in 32-bit words minus one) and decodes the types it knows;
any other type in 192-223 is kept raw. :func:`is_rtcp` is the rtcp-mux classifier of
RFC 5761 §4: on a port shared with RTP, a second octet of 192-223 means RTCP.

Pure: bytes in, records out; bad bytes raise :class:`MalformedInput` (layer ``rtcp``).

>>> sr = parse_rtcp(bytes.fromhex("80c80006" "00000001" + "00" * 20))
>>> (sr[0].packet_type, sr[0].ssrc, sr[0].length)
(200, 1, 28)
"""

from __future__ import annotations

import struct
from functools import partial
from typing import Final

from calltrace.errors import MalformedInput, Truncated
from calltrace.model import (
    RtcpDlrrItem,
    RtcpPacket,
    RtcpReportBlock,
    RtcpSdesChunk,
    RtcpVoipMetrics,
    RtcpXrBlock,
)

__all__ = [
    "APP", "BYE", "DLRR", "RR", "RRTR", "SDES", "SR", "VOIP_METRICS", "XR", "is_rtcp",
    "parse_rtcp",
]  # fmt: skip

SR: Final = 200
RR: Final = 201
SDES: Final = 202
BYE: Final = 203
APP: Final = 204
XR: Final = 207

_HEAD: Final = struct.Struct("!BBH")
_SENDER: Final = struct.Struct("!IQIII")  # SSRC, NTP, RTP ts, packets, octets
_BLOCK: Final = struct.Struct("!IB3sIIII")
_VOIP: Final = struct.Struct("!IBBBBHHHHbbBBBBBBBBHHH")
_DLRR: Final = struct.Struct("!III")  # SSRC, LRR, DLRR (RFC 3611 §4.5)
RRTR: Final = 4
DLRR: Final = 5
VOIP_METRICS: Final = 7


def _bad(detail: str, kind: str = "malformed") -> MalformedInput:
    if kind == "truncated":
        return Truncated(detail, layer="rtcp")
    return MalformedInput(detail, layer="rtcp", kind=kind)


def is_rtcp(payload: bytes) -> bool:
    """True when a datagram on an rtcp-mux port is RTCP (RFC 5761 §4): v2, type 192-223."""
    return len(payload) >= 8 and payload[0] >> 6 == 2 and 192 <= payload[1] <= 223


def parse_rtcp(payload: bytes) -> list[RtcpPacket]:
    """Every RTCP packet of a compound datagram, in order; raise MalformedInput if any is bad."""
    if len(payload) < 4:
        raise _bad(f"RTCP header needs 4 bytes, {len(payload)} given", "truncated")
    out: list[RtcpPacket] = []
    pos = 0
    size = len(payload)
    while pos < size:
        if pos + 4 > size:
            raise _bad(f"{size - pos} stray bytes after RTCP packet {len(out)}", "truncated")
        b0, ptype, words = _HEAD.unpack_from(payload, pos)
        if b0 >> 6 != 2:
            raise _bad(f"RTCP version {b0 >> 6}, expected 2", "bad_version")
        if not 192 <= ptype <= 223:
            raise _bad(f"RTCP packet type {ptype} outside 192-223", "bad_type")
        end = pos + 4 * (words + 1)
        if end > size:
            raise _bad(
                f"RTCP packet of {4 * (words + 1)} bytes runs past the datagram", "truncated"
            )
        body = payload[pos + 4 : end]
        if b0 & 0x20:
            pad = body[-1] if body else 0
            if pad == 0 or pad > len(body):
                raise _bad(f"RTCP padding count {pad} does not fit", "bad_padding")
            body = body[:-pad]
        out.append(_packet(ptype, b0 & 0x1F, bool(b0 & 0x20), end - pos, body))
        pos = end
    return out


def _packet(ptype: int, count: int, padding: bool, length: int, body: bytes) -> RtcpPacket:
    common = partial(RtcpPacket, packet_type=ptype, count=count, padding=padding, length=length)
    if ptype == SR:
        if len(body) < 24:
            raise _bad("SR sender info cut short", "truncated")
        ssrc, ntp, rtp_ts, pkts, octets = _SENDER.unpack_from(body, 0)
        return common(
            ssrc=ssrc,
            ntp_timestamp=ntp,
            rtp_timestamp=rtp_ts,
            sender_packets=pkts,
            sender_octets=octets,
            reports=_reports(body, 24, count),
        )
    if ptype == RR:
        if len(body) < 4:
            raise _bad("RR without sender SSRC", "truncated")
        return common(ssrc=_u32(body, 0), reports=_reports(body, 4, count))
    if ptype == SDES:
        return common(sdes=_sdes(body, count))
    if ptype == BYE:
        return _bye(common, body, count)
    if ptype == APP:
        if len(body) < 8:
            raise _bad("APP packet cut short", "truncated")
        name = body[4:8].decode("latin-1")
        return common(ssrc=_u32(body, 0), app_name=name, data=body[8:])
    if ptype == XR:
        if len(body) < 4:
            raise _bad("XR without sender SSRC", "truncated")
        return common(ssrc=_u32(body, 0), xr_blocks=_xr(body[4:]))
    ssrc = _u32(body, 0) if len(body) >= 4 else None
    return common(ssrc=ssrc, data=body)


def _u32(data: bytes, pos: int) -> int:
    value: int = struct.unpack_from("!I", data, pos)[0]
    return value


def _reports(body: bytes, pos: int, count: int) -> tuple[RtcpReportBlock, ...]:
    """RFC 3550 §6.4.1 report blocks; cumulative lost is a signed 24-bit number."""
    if pos + 24 * count > len(body):
        raise _bad(f"{count} report blocks do not fit in {len(body) - pos} bytes", "truncated")
    out = []
    for i in range(count):
        ssrc, frac, cum, high, jitter, lsr, dlsr = _BLOCK.unpack_from(body, pos + 24 * i)
        out.append(
            RtcpReportBlock(
                ssrc=ssrc,
                fraction_lost=frac,
                cumulative_lost=int.from_bytes(cum, "big", signed=True),
                highest_seq=high,
                jitter=jitter,
                lsr=lsr,
                dlsr=dlsr,
            )
        )
    return tuple(out)


def _sdes(body: bytes, count: int) -> tuple[RtcpSdesChunk, ...]:
    """RFC 3550 §6.5: chunks of SSRC + items, each ended by a zero byte, padded to 32 bits."""
    out = []
    pos = 0
    for _ in range(count):
        if pos + 4 > len(body):
            raise _bad("SDES chunk cut short", "truncated")
        ssrc = _u32(body, pos)
        pos += 4
        items: list[tuple[int, str]] = []
        while True:
            if pos >= len(body):
                raise _bad("SDES item list not terminated", "truncated")
            kind = body[pos]
            if kind == 0:
                pos = (pos + 4) & ~3  # the end byte and padding to the next word
                break
            if pos + 2 > len(body) or pos + 2 + body[pos + 1] > len(body):
                raise _bad(f"SDES item {kind} runs past the packet", "truncated")
            length = body[pos + 1]
            text = body[pos + 2 : pos + 2 + length].decode("utf-8", "replace")
            if kind == 8 and length:  # PRIV: prefix length, prefix, value
                text = body[pos + 3 : pos + 2 + length].decode("utf-8", "replace")
            items.append((kind, text))
            pos += 2 + length
        out.append(RtcpSdesChunk(ssrc=ssrc, items=tuple(items)))
    return tuple(out)


def _bye(common: partial[RtcpPacket], body: bytes, count: int) -> RtcpPacket:
    """RFC 3550 §6.6: SSRC/CSRC list, then an optional length-prefixed reason."""
    if 4 * count > len(body):
        raise _bad(f"BYE lists {count} sources in {len(body)} bytes", "truncated")
    ssrcs = struct.unpack_from(f"!{count}I", body, 0)
    reason = None
    pos = 4 * count
    if pos < len(body):
        length = body[pos]
        if pos + 1 + length > len(body):
            raise _bad("BYE reason runs past the packet", "truncated")
        reason = body[pos + 1 : pos + 1 + length].decode("utf-8", "replace")
    return common(
        ssrc=ssrcs[0] if ssrcs else None,
        bye_ssrcs=tuple(ssrcs),
        bye_reason=reason,
    )


def _xr(data: bytes) -> tuple[RtcpXrBlock, ...]:
    """RFC 3611 §3 report blocks: BT, type-specific, length in words; types 4 (RRTR, §4.4),
    5 (DLRR, §4.5) and 7 (VoIP metrics, §4.7) decoded, the others kept raw."""
    out = []
    pos = 0
    while pos < len(data):
        if pos + 4 > len(data):
            raise _bad("XR block header cut short", "truncated")
        bt, specific, words = _HEAD.unpack_from(data, pos)
        end = pos + 4 + 4 * words
        if end > len(data):
            raise _bad(f"XR block type {bt} runs past the packet", "truncated")
        block = data[pos + 4 : end]
        common = partial(RtcpXrBlock, block_type=bt, type_specific=specific, data=block)
        if bt == VOIP_METRICS:
            if len(block) < _VOIP.size:
                raise _bad("XR VoIP metrics block cut short", "truncated")
            out.append(common(voip_metrics=_voip(block)))
        elif bt == RRTR:
            if len(block) != 8:  # §4.4: block length is 2 (words)
                raise _bad(f"XR RRTR block of {len(block)} bytes, 8 expected", "bad_rrtr")
            out.append(common(rrtr_ntp=int.from_bytes(block, "big")))
        elif bt == DLRR:
            if len(block) % _DLRR.size:  # §4.5: block length is 3 * number of sub-blocks
                raise _bad(f"XR DLRR block of {len(block)} bytes, not 12 per item", "bad_dlrr")
            items = (
                RtcpDlrrItem(ssrc=ssrc, lrr=lrr, dlrr=dlrr)
                for ssrc, lrr, dlrr in _DLRR.iter_unpack(block)
            )
            out.append(common(dlrr=tuple(items)))
        else:
            out.append(common())
        pos = end
    return tuple(out)


def _voip(block: bytes) -> RtcpVoipMetrics:
    values = _VOIP.unpack_from(block, 0)
    (ssrc, loss, discard, bdens, gdens, bdur, gdur, rtd, esd, signal, noise, rerl, gmin, rf,
     ext_rf, mos_lq, mos_cq, rxc, _reserved, jbn, jbm, jba) = values  # fmt: skip
    return RtcpVoipMetrics(
        ssrc=ssrc,
        loss_rate=loss,
        discard_rate=discard,
        burst_density=bdens,
        gap_density=gdens,
        burst_duration=bdur,
        gap_duration=gdur,
        round_trip_delay=rtd,
        end_system_delay=esd,
        signal_level=signal,
        noise_level=noise,
        rerl=rerl,
        gmin=gmin,
        r_factor=rf,
        ext_r_factor=ext_rf,
        mos_lq=mos_lq,
        mos_cq=mos_cq,
        rx_config=rxc,
        jb_nominal=jbn,
        jb_maximum=jbm,
        jb_abs_max=jba,
    )
