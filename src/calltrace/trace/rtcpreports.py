"""RTCP reports as rows: what each sender and receiver report says, and the round trip.

RFC 3550 §6.4: a sender report (SR) carries the sender's NTP and RTP clocks and its packet
and octet counts; SRs and receiver reports (RR) carry one report block per source heard:
fraction lost since the last report (8-bit fixed point, /256), cumulative lost (signed 24
bits), extended highest sequence number, interarrival jitter in RTP timestamp units, and
LSR/DLSR for the round trip. RFC 3611 §4.7 XR VoIP metrics blocks carry the receiver's own
quality view (loss and discard rates, delays, R-factor, MOS).

Round trip (RFC 3550 §6.4.1): RTT = A - LSR - DLSR, where A is when the report arrives at
the SR's sender and LSR the middle 32 bits of that SR's NTP timestamp. A capture does not
see the sender's clock, but it saw the SR go by: with t_SR and t_RR the capture times of
the SR and of the report block that names it, RTT = t_RR - t_SR - DLSR. That is the
round trip between the capture point and the report's sender; it equals RFC 3550's when
the capture is taken at the SR's sender (on a PBX or SBC), and is the far side's share of
it elsewhere. A block whose SR was not seen, or that comes out negative, has no figure.

Receivers that send no SR get their round trip from RTCP XR (RFC 3611 §4.4-4.5): the
receiver sends a Receiver Reference Time block (RRTR, its NTP time), the sender answers
with a DLRR sub-block naming that receiver, LRR (the middle 32 bits of the RRTR's NTP
time) and DLRR (the delay since, 1/65536 s); RTT = A - LRR - DLRR at the receiver, the same
rule as SR/RR. In capture time: RTT = t_DLRR - t_RRTR - DLRR, with the same meaning and
limits as above. Rows: ``rrtr`` (the reference time alone, ``ntp_time``) and ``dlrr`` (one
per sub-block: ``ssrc`` the receiver, ``lsr`` LRR, ``dlsr_ms`` DLRR, ``rtt_ms``).

Jitter in ms uses the clock rate of the stream the block reports on, when the tracker has
seen that SSRC's RTP with a known clock.

Pure: packets in, rows out; state is bounded (``max_senders`` SR times, oldest first).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Final

from calltrace.decode.rtcp import RR, SR, XR
from calltrace.model import Packet, RtcpPacket, RtcpRecord, RtcpVoipMetrics, RtcpXrBlock

__all__ = ["NTP_UNIX_OFFSET", "RtcpReports", "voip_metrics"]

#: Seconds from the NTP era origin (1900-01-01) to the Unix epoch (RFC 5905 §6).
NTP_UNIX_OFFSET: Final = 2_208_988_800
_UNAVAILABLE: Final = 127  # RFC 3611 §4.7.5-4.7.6: "127 = unavailable"


def voip_metrics(m: RtcpVoipMetrics) -> dict[str, float | None]:
    """The figures of an XR VoIP metrics block in plain units (RFC 3611 §4.7).

    Rates and densities are fractions (the wire's /256), delays milliseconds, MOS the
    wire's tenths; 127 (unavailable) becomes None.

    >>> from calltrace.model import RtcpVoipMetrics
    >>> m = RtcpVoipMetrics(ssrc=1, loss_rate=64, discard_rate=0, burst_density=0,
    ...     gap_density=0, burst_duration=0, gap_duration=0, round_trip_delay=120,
    ...     end_system_delay=40, signal_level=127, noise_level=127, rerl=127, gmin=16,
    ...     r_factor=80, ext_r_factor=127, mos_lq=41, mos_cq=127, rx_config=0, jb_nominal=40,
    ...     jb_maximum=80, jb_abs_max=200)
    >>> v = voip_metrics(m); v["loss_rate"], v["mos_lq"], v["mos_cq"], v["r_factor"]
    (0.25, 4.1, None, 80.0)
    """

    def level(value: int, scale: float = 1.0) -> float | None:
        return None if value == _UNAVAILABLE else value / scale

    return {
        "loss_rate": m.loss_rate / 256.0,
        "discard_rate": m.discard_rate / 256.0,
        "burst_density": m.burst_density / 256.0,
        "gap_density": m.gap_density / 256.0,
        "round_trip_delay_ms": float(m.round_trip_delay),
        "end_system_delay_ms": float(m.end_system_delay),
        "r_factor": level(m.r_factor),
        "ext_r_factor": level(m.ext_r_factor),
        "mos_lq": level(m.mos_lq, 10.0),
        "mos_cq": level(m.mos_cq, 10.0),
        "jb_nominal_ms": float(m.jb_nominal),
        "jb_maximum_ms": float(m.jb_maximum),
    }


def ntp_to_unix(ntp: int) -> float | None:
    """A 64-bit NTP timestamp as Unix seconds; None for 0 (a sender without wallclock)."""
    if not ntp:
        return None
    return (ntp >> 32) - NTP_UNIX_OFFSET + (ntp & 0xFFFFFFFF) / 2**32


class RtcpReports:
    """Turns RTCP compound datagrams into :class:`RtcpRecord` rows.

    >>> import struct
    >>> from calltrace.decode.rtcp import parse_rtcp
    >>> sr = struct.pack("!BBHIQIII", 0x80, 200, 6, 7, (3_900_000_000 << 32) | 1 << 31, 0, 5, 800)
    >>> rr = struct.pack("!BBHI", 0x81, 201, 7, 9) + struct.pack(
    ...     "!IB3sIIII", 7, 64, (2).to_bytes(3, "big"), 100, 80, (3_900_000_000 & 0xFFFF) << 16
    ...     | 0x8000, 65536 // 8)
    >>> def udp(ts, data): return Packet(number=1, ts=ts, src_ip="10.0.0.1", src_port=5001,
    ...     dst_ip="10.0.0.2", dst_port=7001, transport="udp", payload=data)
    >>> reports = RtcpReports()
    >>> _ = reports.records(udp(10.0, sr), parse_rtcp(sr), None)
    >>> row, = reports.records(udp(10.25, rr), parse_rtcp(rr), None, clock={7: 8000}.get)
    >>> row.kind, row.fraction_lost, row.cumulative_lost, row.jitter_ms, round(row.rtt_ms, 3)
    ('rr', 0.25, 2, 10.0, 125.0)
    """

    def __init__(self, max_senders: int = 65536) -> None:
        self.max_senders = max_senders
        self._sr_seen: OrderedDict[tuple[int, int], float] = OrderedDict()
        self._rrtr_seen: OrderedDict[tuple[int, int], float] = OrderedDict()

    def records(
        self,
        packet: Packet,
        packets: list[RtcpPacket] | tuple[RtcpPacket, ...],
        call_id: str | None,
        clock: Callable[[int], int | None] | None = None,
    ) -> list[RtcpRecord]:
        """Rows for one datagram: per report block, an SR alone, per XR VoIP metrics block,
        RRTR block and DLRR sub-block."""
        out: list[RtcpRecord] = []
        for rtcp in packets:
            if rtcp.ssrc is None:
                continue
            if rtcp.packet_type in (SR, RR):
                out.extend(self._reports(packet, rtcp, call_id, clock))
            elif rtcp.packet_type == XR:
                for block in rtcp.xr_blocks:
                    out.extend(self._xr(packet, rtcp.ssrc, block, call_id))
        return out

    def _xr(
        self, packet: Packet, sender: int, block: RtcpXrBlock, call_id: str | None
    ) -> list[RtcpRecord]:
        """Rows of one XR block: VoIP metrics, an RRTR (remembered), DLRR sub-blocks."""
        if block.voip_metrics is not None:
            m = block.voip_metrics
            return [_record(packet, "xr", sender, call_id, ssrc=m.ssrc, xr=voip_metrics(m))]
        if block.rrtr_ntp is not None:
            middle = (block.rrtr_ntp >> 16) & 0xFFFFFFFF
            _remember(self._rrtr_seen, self.max_senders, (sender, middle), packet.ts)
            return [_record(packet, "rrtr", sender, call_id, ntp_time=ntp_to_unix(block.rrtr_ntp))]
        return [
            _record(
                packet, "dlrr", sender, call_id, ssrc=item.ssrc, lsr=item.lrr,
                dlsr_ms=item.dlrr * 1000.0 / 65536.0,
                rtt_ms=_rtt(self._rrtr_seen, item.ssrc, item.lrr, item.dlrr, packet.ts),
            )
            for item in block.dlrr
        ]  # fmt: skip

    def _reports(
        self,
        packet: Packet,
        rtcp: RtcpPacket,
        call_id: str | None,
        clock: Callable[[int], int | None] | None,
    ) -> list[RtcpRecord]:
        assert rtcp.ssrc is not None
        kind = "sr" if rtcp.packet_type == SR else "rr"
        sender: dict[str, object] = {}
        if kind == "sr" and rtcp.ntp_timestamp is not None:
            middle = (rtcp.ntp_timestamp >> 16) & 0xFFFFFFFF
            _remember(self._sr_seen, self.max_senders, (rtcp.ssrc, middle), packet.ts)
            sender = {
                "sender_packets": rtcp.sender_packets,
                "sender_octets": rtcp.sender_octets,
                "ntp_time": ntp_to_unix(rtcp.ntp_timestamp),
            }
        if not rtcp.reports:
            return [_record(packet, kind, rtcp.ssrc, call_id, **sender)] if sender else []
        out = []
        for block in rtcp.reports:
            rate = clock(block.ssrc) if clock is not None else None
            out.append(
                _record(
                    packet, kind, rtcp.ssrc, call_id, ssrc=block.ssrc,
                    fraction_lost=block.fraction_lost / 256.0,
                    cumulative_lost=block.cumulative_lost, highest_seq=block.highest_seq,
                    jitter=block.jitter,
                    jitter_ms=block.jitter * 1000.0 / rate if rate else None,
                    lsr=block.lsr, dlsr_ms=block.dlsr * 1000.0 / 65536.0,
                    rtt_ms=_rtt(self._sr_seen, block.ssrc, block.lsr, block.dlsr, packet.ts),
                    **sender,
                )
            )  # fmt: skip
        return out


def _remember(
    seen: OrderedDict[tuple[int, int], float], bound: int, key: tuple[int, int], ts: float
) -> None:
    """When the reference (an SR, an RRTR) ``key`` = (sender, NTP middle) passed."""
    if key not in seen and len(seen) >= bound:
        seen.popitem(last=False)
    seen[key] = ts


def _rtt(
    seen: OrderedDict[tuple[int, int], float], ssrc: int, lsr: int, delay: int, ts: float
) -> float | None:
    """t_report - t_reference - delay in ms (module docstring), None when unknowable."""
    if not lsr:
        return None  # RFC 3550 §6.4.1, RFC 3611 §4.5: 0 means no reference received yet
    sent = seen.get((ssrc, lsr))
    if sent is None:
        return None
    rtt = (ts - sent - delay / 65536.0) * 1000.0
    return rtt if rtt >= 0.0 else None


def _record(
    packet: Packet, kind: str, sender: int, call_id: str | None, **values: object
) -> RtcpRecord:
    return RtcpRecord(
        ts=packet.ts, packet=packet.number, src_ip=packet.src_ip, src_port=packet.src_port,
        dst_ip=packet.dst_ip, dst_port=packet.dst_port, kind=kind, sender_ssrc=sender,
        call_id=call_id, **values,  # type: ignore[arg-type]
    )  # fmt: skip
