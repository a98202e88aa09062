"""RTP stream finding and per-stream statistics, figure for figure as tshark computes them.

:class:`MediaTracker` takes every UDP :class:`Packet` that is not SIP. A datagram is media
when an SDP announcement registered its address and port with :meth:`MediaTracker.expect`
(either end of the datagram may match, like Wireshark's one-sided RTP conversations), or,
in heuristic mode, when :func:`~calltrace.decode.rtp.looks_like_rtp` says so. RTCP (on the
announced port + 1, or on the same port with rtcp-mux, RFC 5761 §4) is decoded and kept per
sender SSRC.

A stream is keyed like ``tshark -z rtp,streams``: source and destination address and port
and SSRC. Its figures follow Wireshark's ui/tap-rtp-analysis.c (``rtppacket_analyse``), the
rules of which are explained in docs/media.md; :class:`_Stats` is that algorithm and is the
reference a vectorised implementation is to be tested against.

State is bounded by capture time: a stream idle for ``idle_timeout`` seconds is finished
and handed out by :meth:`MediaTracker.pop_finished`; :meth:`MediaTracker.close` hands out
the rest.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from calltrace.decode.rtcp import is_rtcp, parse_rtcp
from calltrace.decode.rtp import (
    COMFORT_NOISE,
    STATIC_PAYLOADS,
    TelephoneEvent,
    event_digit,
    looks_like_rtp,
    parse_rtp,
    parse_telephone_event,
)
from calltrace.errors import DecodeError
from calltrace.model import DtmfEvent, Packet, RtcpPacket, RtpPacket, RtpStream
from calltrace.trace.quality import AdaptiveJitterBuffer, FixedJitterBuffer, stream_quality

__all__ = ["Expectation", "MediaTracker", "RtcpReport"]

_Key = tuple[str, int, str, int, int]
_Endpoint = tuple[str, int]
SWEEP_EVERY: Final = 1.0  # seconds of capture time between idle sweeps


@dataclass(frozen=True, slots=True, kw_only=True)
class Expectation:
    """Media an SDP body announced: where it is received and how its payloads are named."""

    ip: str
    port: int
    payloads: Mapping[int, str] = field(default_factory=dict)  # {96: "opus/48000/2"}
    call_id: str | None = None
    direction: str | None = None
    rtcp_port: int | None = None
    rtcp_mux: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class RtcpReport:
    """One RTCP compound datagram as received: when, from where, and its packets."""

    ts: float
    packet: int
    src_ip: str
    src_port: int
    dst_ip: str
    dst_port: int
    packets: tuple[RtcpPacket, ...]
    call_id: str | None = None


class MediaTracker:
    """Find RTP streams among UDP datagrams and keep tshark's statistics for each.

    >>> tracker = MediaTracker(heuristic=True)
    >>> for i in range(3):
    ...     rtp = bytes([0x80, 0, 0, i]) + (160 * i).to_bytes(4, "big") + b"\\x00\\x00\\x00\\x07"
    ...     tracker.observe(Packet(number=i + 1, ts=0.02 * i, src_ip="10.0.0.1", src_port=4000,
    ...         dst_ip="10.0.0.2", dst_port=5000, transport="udp", payload=rtp + bytes(160)))
    >>> [(s.ssrc, s.packets, s.lost, round(s.max_jitter_ms, 3)) for s in tracker.close()]
    [(7, 3, 0, 0.0)]
    """

    #: What a new stream is made of; the bulk lane (trace/media_bulk.py) keeps columns.
    stream_class: type[StreamStats]

    def __init__(
        self,
        *,
        heuristic: bool = False,
        idle_timeout: float = 60.0,
        max_streams: int = 65536,
        max_rtcp_reports: int = 64,
        max_expectations: int = 65536,
    ) -> None:
        self.heuristic = heuristic
        self.idle_timeout = idle_timeout
        self.max_streams = max_streams
        self.max_rtcp_reports = max_rtcp_reports
        self.max_expectations = max_expectations
        self.errors: dict[str, int] = {}
        self.rtp_packets = 0
        self.rtcp_packets = 0
        # Bounded, oldest evicted first: OrderedDict.popitem(last=False) is O(1), where
        # ``d.pop(next(iter(d)))`` on a plain dict walks every slot already deleted at the
        # front (quadratic once the bound is reached: it halved analyze's speed at 1M calls).
        self._expect: OrderedDict[_Endpoint, Expectation] = OrderedDict()
        self._rtcp_ports: OrderedDict[_Endpoint, Expectation] = OrderedDict()
        self._blocked: OrderedDict[_Endpoint, str] = OrderedDict()
        self._streams: dict[_Key, StreamStats] = {}
        self._last_ssrc: dict[tuple[str, int, str, int], int] = {}
        self._finished: list[RtpStream] = []
        self._rtcp: dict[int, list[RtcpReport]] = {}
        self._origin: float | None = None
        self._now = 0.0
        self._swept = 0.0

    # -- registrations ------------------------------------------------------------------

    def expect(
        self,
        ip: str,
        port: int,
        payloads: Mapping[int, str] | None = None,
        *,
        call_id: str | None = None,
        direction: str | None = None,
        rtcp_port: int | None = None,
        rtcp_mux: bool = False,
        proto: str = "RTP/AVP",
    ) -> None:
        """Register media an SDP announced at ``ip``:``port`` (a later call replaces it).

        A ``proto`` without RTP in it (``udptl`` for T.38 fax, ``TCP/MSRP``...) marks the
        endpoint as not RTP, so the heuristic leaves it alone, as tshark does once SDP has
        given the port to another dissector.

        ``payloads`` maps payload types to rtpmap values ("PCMU/8000", "opus/48000/2");
        RTCP is expected on ``rtcp_port`` (RFC 3605 a=rtcp), else port + 1, or on the
        same port when ``rtcp_mux``. Port 0 (a disabled stream, RFC 3264 §5.1) is ignored.
        """
        if port <= 0:
            return
        if "RTP" not in proto.upper():
            self._expect.pop((ip, port), None)
            if len(self._blocked) >= self.max_expectations:
                self._blocked.popitem(last=False)
            self._blocked[(ip, port)] = proto
            return
        self._blocked.pop((ip, port), None)
        exp = Expectation(
            ip=ip,
            port=port,
            payloads=dict(payloads or {}),
            call_id=call_id,
            direction=direction,
            rtcp_port=rtcp_port,
            rtcp_mux=rtcp_mux,
        )
        if len(self._expect) >= self.max_expectations and (ip, port) not in self._expect:
            self._expect.popitem(last=False)
        self._expect[(ip, port)] = exp
        if not rtcp_mux:
            rtcp = (ip, rtcp_port if rtcp_port is not None else port + 1)
            if len(self._rtcp_ports) >= self.max_expectations and rtcp not in self._rtcp_ports:
                self._rtcp_ports.popitem(last=False)
            self._rtcp_ports[rtcp] = exp

    # -- packets ------------------------------------------------------------------------

    def observe(self, packet: Packet) -> DecodeError | None:
        """Take one UDP datagram; returns the decode error when announced media was bad.

        Datagrams that are neither announced nor (in heuristic mode) RTP-looking are
        ignored silently: they are simply not media.
        """
        if self._origin is None:
            self._origin = packet.ts
        if packet.ts > self._now:
            self._now = packet.ts
            if self._now - self._swept >= SWEEP_EVERY:
                self._sweep()
        payload = packet.payload
        exp = self._expect.get((packet.dst_ip, packet.dst_port)) or self._expect.get(
            (packet.src_ip, packet.src_port)
        )
        rtcp_exp = None
        if exp is None:
            rtcp_exp = self._rtcp_ports.get(
                (packet.dst_ip, packet.dst_port)
            ) or self._rtcp_ports.get((packet.src_ip, packet.src_port))
        if exp is not None or rtcp_exp is not None:
            try:
                if rtcp_exp is not None or (exp is not None and exp.rtcp_mux and is_rtcp(payload)):
                    self._observe_rtcp(packet, rtcp_exp or exp)
                else:
                    self._observe_rtp(packet, exp)
            except DecodeError as err:
                key = f"{err.layer}.{err.kind}"
                self.errors[key] = self.errors.get(key, 0) + 1
                return err
            return None
        if not self.heuristic or _not_heuristic(packet, self._blocked):
            return None
        if looks_like_rtp(payload):
            self._observe_rtp(packet, None)
        elif is_rtcp(payload):
            try:
                self._observe_rtcp(packet, None)
            except DecodeError:
                return None  # unannounced and not RTCP after all: not media
        return None

    def _observe_rtp(self, packet: Packet, exp: Expectation | None) -> None:
        rtp = parse_rtp(packet.payload)
        self.rtp_packets += 1
        key = (packet.src_ip, packet.src_port, packet.dst_ip, packet.dst_port, rtp.ssrc)
        stats = self._streams.get(key)
        if stats is None:
            if len(self._streams) >= self.max_streams:
                self._evict_oldest()
            stats = self.stream_class(key, exp)
            tuple4 = key[:4]
            prev = self._last_ssrc.get(tuple4)
            if prev is not None and prev != rtp.ssrc:
                stats.ssrc_changes += 1
            self._streams[key] = stats
        else:
            prev = self._last_ssrc.get(key[:4])
            if prev is not None and prev != rtp.ssrc:
                stats.ssrc_changes += 1
        if exp is not None and stats.exp is None:
            stats.exp = exp
        self._last_ssrc[key[:4]] = rtp.ssrc
        stats.add(packet, rtp, self._origin or 0.0)

    def _observe_rtcp(self, packet: Packet, exp: Expectation | None) -> None:
        packets = parse_rtcp(packet.payload)
        self.rtcp_packets += 1
        report = RtcpReport(
            ts=packet.ts,
            packet=packet.number,
            src_ip=packet.src_ip,
            src_port=packet.src_port,
            dst_ip=packet.dst_ip,
            dst_port=packet.dst_port,
            packets=tuple(packets),
            call_id=exp.call_id if exp else None,
        )
        ssrc = next((p.ssrc for p in packets if p.ssrc is not None), 0)
        kept = self._rtcp.setdefault(ssrc, [])
        if len(kept) >= self.max_rtcp_reports:
            del kept[0]
        kept.append(report)

    # -- results ------------------------------------------------------------------------

    def rtcp_reports(self, ssrc: int | None = None) -> list[RtcpReport]:
        """RTCP datagrams kept (the last ``max_rtcp_reports`` per sender SSRC)."""
        if ssrc is not None:
            return list(self._rtcp.get(ssrc, ()))
        return [r for reports in self._rtcp.values() for r in reports]

    def streams(self) -> list[RtpStream]:
        """Every stream so far, finished ones not yet popped first, then the live ones."""
        return self._finished + [s.result() for s in self._streams.values()]

    def pop_finished(self) -> list[RtpStream]:
        """Streams that went idle for ``idle_timeout`` seconds of capture time."""
        out, self._finished = self._finished, []
        return out

    def close(self) -> list[RtpStream]:
        """Finish every stream and hand out all not yet popped."""
        out = self._finished + [s.result() for s in self._streams.values()]
        self._finished = []
        self._streams.clear()
        self._last_ssrc.clear()
        return out

    def _sweep(self) -> None:
        self._swept = self._now
        limit = self._now - self.idle_timeout
        idle = [k for k, s in self._streams.items() if s.last_ts < limit]
        for key in idle:
            self._finished.append(self._streams.pop(key).result())
            self._last_ssrc.pop(key[:4], None)

    def _evict_oldest(self) -> None:
        key = min(self._streams, key=lambda k: self._streams[k].last_ts)
        self._finished.append(self._streams.pop(key).result())


# UDP ports where tshark's port-based dissectors win over the RTP heuristic (DNS, DHCP,
# NTP, NetBIOS, SNMP, ISAKMP, syslog, SSDP, STUN, LISP, mDNS, SIP...): datagrams to or from
# them are never taken for RTP without an SDP announcement.
WELL_KNOWN_UDP: Final = frozenset(
    {53, 67, 68, 69, 123, 137, 138, 161, 162, 500, 514, 520, 1900, 3478, 4341, 4342, 4500,
     5060, 5061, 5353, 5355}
)  # fmt: skip


def _not_heuristic(packet: Packet, blocked: Mapping[_Endpoint, str]) -> bool:
    """True when a datagram must not be guessed as RTP: a well-known port or non-RTP SDP media."""
    if packet.src_port in WELL_KNOWN_UDP or packet.dst_port in WELL_KNOWN_UDP:
        return True
    return (packet.dst_ip, packet.dst_port) in blocked or (
        packet.src_ip,
        packet.src_port,
    ) in blocked


# tshark's short names of the static payload types (epan/rtp_pt.h, rtp_payload_type_short_vals)
_SHORT_NAMES: Final[dict[int, str]] = {
    0: "g711U", 1: "fs-1016", 2: "g721", 3: "GSM", 4: "g723", 5: "DVI4 8k", 6: "DVI4 16k",
    7: "Exp. from Xerox PARC", 8: "g711A", 9: "g722", 10: "16-bit audio, stereo",
    11: "16-bit audio, monaural", 12: "Qualcomm", 13: "CN", 14: "MPEG-I/II Audio", 15: "g728",
    16: "DVI4 11k", 17: "DVI4 22k", 18: "g729", 19: "CN(old)", 25: "CellB", 26: "JPEG", 28: "NV",
    31: "h261", 32: "MPEG-I/II Video", 33: "MPEG-II streams", 34: "h263",
}  # fmt: skip
# Wireshark's clock rates for dynamic payloads known by name only (tap-rtp-analysis.c,
# after the IANA media types registry); the longest matching prefix wins.
_NAMED_CLOCKS: Final[dict[str, int]] = {
    "AMR": 8000, "AMR-WB": 16000, "BMPEG": 90000, "BT656": 90000, "DV": 90000, "EVRC": 8000,
    "EVRC0": 8000, "EVRC1": 8000, "EVRCB": 8000, "EVRCB0": 8000, "EVRCB1": 8000,
    "EVRCWB": 16000, "EVRCWB0": 16000, "EVRCWB1": 16000, "EVS": 16000, "G7221": 16000,
    "G726-16": 8000, "G726-24": 8000, "G726-32": 8000, "G726-40": 8000, "G729D": 8000,
    "G729E": 8000, "GSM-EFR": 8000, "H263-1998": 90000, "H263-2000": 90000, "H264": 90000,
    "MP1S": 90000, "MP2P": 90000, "MP4V-ES": 90000, "MPA-ROBUST": 90000, "OPUS": 48000,
    "POINTER": 90000, "RAW": 90000, "RED": 1000, "SMV": 8000, "SMV0": 8000, "T140": 1000,
    "TELEPHONE-EVENT": 8000,
}  # fmt: skip
RTPEVENT_PT: Final = 101  # Wireshark's rtpevent.event_payload_type_value default
MAX_DTMF: Final = 1024


def _named_clock(name: str) -> int:
    upper = name.upper()
    best = ""
    for prefix in _NAMED_CLOCKS:
        if upper.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    return _NAMED_CLOCKS[best] if best else 0


class _Payload:
    """How one payload type of a stream is named and clocked (decided once per type)."""

    __slots__ = ("clock", "codec", "event", "name")

    def __init__(self, pt: int, exp: Expectation | None) -> None:
        rtpmap = exp.payloads.get(pt) if exp is not None else None
        parts = rtpmap.split("/") if rtpmap else []
        self.event = False
        if pt < 96:
            # tshark uses the static table for 0-95 whatever the SDP says
            self.name = _SHORT_NAMES.get(pt, f"RTPType-{pt}")
            static = STATIC_PAYLOADS.get(pt)
            self.clock = static[1] if static else 0
            self.codec = rtpmap or (f"{static[0]}/{static[1]}" if static else None)
        elif parts:
            self.name = parts[0]
            rate = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            self.event = parts[0].lower().startswith("telephone-event")
            # RFC 4733 §2.2.1: an event's timestamp stays at its start, so no jitter
            self.clock = 0 if self.event else (rate or _named_clock(parts[0]))
            self.codec = rtpmap
        elif pt == RTPEVENT_PT:
            self.name, self.clock, self.event, self.codec = (
                "rtpevent",
                0,
                True,
                "telephone-event/8000",
            )
        else:
            self.name, self.clock, self.codec = f"RTPType-{pt}", 0, None


class StreamStats:
    """One stream's running figures: Wireshark's ``rtppacket_analyse``, step by step.

    Times are milliseconds since the tracker's first packet (tshark uses the capture's
    first frame; only differences matter). Comments name tshark's flags.
    """

    def __init__(self, key: _Key, exp: Expectation | None) -> None:
        self.key = key
        self.exp = exp
        self.payloads: dict[int, _Payload] = {}
        self.total = 0
        self.first_number = self.last_number = 0
        self.first_ts = self.last_ts = 0.0
        self.ssrc_changes = 0
        self.markers = 0
        self.cn = 0
        self.wrong_ts = 0
        self.seq_errors = 0
        self.problem = False
        self.start_seq = self.stop_seq = self.seq_num = 0
        self.cycles = 0
        self.under = False
        self.last_raw_ts = 0
        self.ext_ts = 0
        self.seq_timestamp = 0
        self.time = 0.0
        self.pt = -1
        self.reg_pt = -1
        self.delta = 0.0
        self.min_delta: float | None = None
        self.max_delta = 0.0
        self.mean_delta = 0.0
        self.jitter = 0.0
        self.min_jitter: float | None = None
        self.max_jitter = 0.0
        self.mean_jitter = 0.0
        self.skew = self.max_skew = 0.0
        self.last_nominal = self.last_arrival = 0.0
        self.first_pt = -1
        self.fixed = FixedJitterBuffer(50.0)
        self.adaptive = AdaptiveJitterBuffer()
        self.media_base: int | None = None
        self.dtmf: list[list[object]] = []  # [event, start, duration, volume, end, packet, ts]

    def _payload(self, pt: int) -> _Payload:
        info = self.payloads.get(pt)
        if info is None:
            info = self.payloads[pt] = _Payload(pt, self.exp)
        return info

    def add(self, packet: Packet, rtp: RtpPacket, origin: float) -> None:
        now = (packet.ts - origin) * 1000.0
        info = self._payload(rtp.payload_type)
        self.last_ts = packet.ts
        self.last_number = packet.number
        if rtp.marker:
            self.markers += 1
        if rtp.payload_type in COMFORT_NOISE:
            self.cn += 1
        if info.event:
            self._dtmf(packet, rtp)
        if self.total == 0:
            self._first(packet, rtp, now)
            self._buffers(packet, rtp, info)
            return
        diff = (rtp.timestamp - self.last_raw_ts) & 0xFFFFFFFF
        self.ext_ts += diff - (1 << 32) if diff >= 1 << 31 else diff
        self.last_raw_ts = rtp.timestamp
        self._analyse(rtp, now, info)
        self._buffers(packet, rtp, info)

    def _first(self, packet: Packet, rtp: RtpPacket, now: float) -> None:
        self.first_number = packet.number
        self.first_ts = packet.ts
        self.start_seq = self.stop_seq = self.seq_num = rtp.sequence
        self.last_raw_ts = self.ext_ts = self.seq_timestamp = rtp.timestamp
        self.time = now
        self.pt = self.reg_pt = self.first_pt = rtp.payload_type
        self.total = 1

    def _analyse(self, rtp: RtpPacket, now: float, info: _Payload) -> None:
        seq = rtp.sequence
        wrong_ts = False
        wrong_seq = False
        # in_time_sequence: the extended timestamp does not go back
        in_time = self.seq_timestamp <= self.ext_ts
        if not in_time:
            wrong_ts = True
        # sequence cycles: a number below the first one starts a new cycle
        if (seq < self.start_seq and in_time and not self.under) or (
            seq == 0 and self.stop_seq == 65535 and in_time and not self.under
        ):
            self.cycles += 1
            self.under = True
        elif seq > self.start_seq and in_time and self.under:
            self.under = False
        # sequence errors: a jump forward (loss) or backward (late or duplicate)
        if (in_time and self.seq_num + 1 == seq) or (
            in_time and self.seq_num == 65535 and seq == 0
        ):
            self.seq_num = seq
        elif in_time and (self.seq_num + 1 < seq or self.seq_num - seq > 0xFF00):
            self.seq_num = seq
            self.seq_errors += 1
            wrong_seq = True
        elif self.seq_num + 1 > seq:
            self.seq_errors += 1
            wrong_seq = True
        pt = rtp.payload_type
        is_cn = pt in COMFORT_NOISE  # STAT_FLAG_PT_CN
        follows_cn = self.pt in COMFORT_NOISE  # STAT_FLAG_FOLLOW_PT_CN
        self.pt = pt
        clock = info.clock
        jitter_now = 0.0
        if clock:
            # C integer division: clock_rate/1000 truncates (44100 Hz counts as 44 per ms)
            nominal_diff = (self.ext_ts - self.seq_timestamp) / (clock // 1000)
            expected_time = self.time + nominal_diff
            current_diff = abs(now - expected_time)
            jitter_now = (15.0 * self.jitter + current_diff) / 16.0
            self.delta = now - self.time
            self.jitter = jitter_now
            nominal = self.last_nominal + nominal_diff
            arrival = self.last_arrival + self.delta
            self.skew = nominal - arrival
            if abs(self.skew) > abs(self.max_skew):
                self.max_skew = self.skew
            self.last_nominal = nominal
            self.last_arrival = arrival
        else:
            self.delta = now - self.time
        if not (rtp.marker or is_cn or wrong_ts or follows_cn):  # a regular packet
            self.max_delta = max(self.max_delta, self.delta)
            if self.min_delta is None or self.delta < self.min_delta:
                self.min_delta = self.delta
            # tshark divides by total_nr (packets so far, this one not counted yet)
            self.mean_delta = (self.mean_delta * (self.total - 1) + self.delta) / self.total
            if clock:
                self.max_jitter = max(self.max_jitter, self.jitter)
                self.mean_jitter = (self.mean_jitter * (self.total - 1) + jitter_now) / self.total
                if self.min_jitter is None or self.jitter < self.min_jitter:
                    self.min_jitter = self.jitter
        if not is_cn:
            self.reg_pt = pt
        if in_time:
            self.time = now
            if clock:
                # tshark 4.0 moves its reference timestamp only on packets it can clock:
                # after a telephone-event the next audio packet is measured from the last
                # audio timestamp but the event's arrival (checked on SIP_DTMF2.cap)
                self.seq_timestamp = self.ext_ts
        self.stop_seq = seq
        self.total += 1
        if wrong_ts:
            self.wrong_ts += 1
        if wrong_ts or wrong_seq:
            self.problem = True

    def _buffers(self, packet: Packet, rtp: RtpPacket, info: _Payload) -> None:
        """Offer the packet to the jitter-buffer models (audio with a clock only)."""
        if not info.clock or info.event or rtp.payload_type in COMFORT_NOISE:
            return
        if self.media_base is None:
            self.media_base = self.ext_ts
        media = (self.ext_ts - self.media_base) / info.clock
        self.fixed.offer(packet.ts, media)
        self.adaptive.offer(packet.ts, media, talkspurt=rtp.marker)

    def _dtmf(self, packet: Packet, rtp: RtpPacket) -> None:
        """RFC 4733 §2.5: packets of one event share its timestamp; a new one starts a new event."""
        start = rtp.payload_offset
        try:
            ev = parse_telephone_event(packet.payload[start : start + rtp.payload_length])
        except DecodeError:
            return
        self._dtmf_event(ev, packet.ts, packet.number, rtp.timestamp)

    def _dtmf_event(self, ev: TelephoneEvent, ts: float, number: int, timestamp: int) -> None:
        cur = self.dtmf[-1] if self.dtmf else None
        if cur is not None and cur[6] == timestamp and cur[0] == ev.event:
            cur[2] = max(int(cur[2]), ev.duration)  # type: ignore[call-overload]
            cur[4] = bool(cur[4]) or ev.end
            return
        if len(self.dtmf) < MAX_DTMF:
            self.dtmf.append([ev.event, ts, ev.duration, ev.volume, ev.end, number, timestamp])

    def result(self) -> RtpStream:
        """The stream's figures as they stand (tshark's rtpstream_info_calc_fill)."""
        src_ip, src_port, dst_ip, dst_port, ssrc = self.key
        expected = self.stop_seq + self.cycles * 65536 - self.start_seq + 1
        lost = expected - self.total
        first = self.payloads.get(self.first_pt)
        main = next(
            (p for pt, p in self.payloads.items() if not p.event and pt not in COMFORT_NOISE), first
        )
        codec = main.codec if main else None
        clock = main.clock if main and main.clock else None
        event_rate = 8000
        dtmf = tuple(
            DtmfEvent(
                event=int(e[0]),  # type: ignore[call-overload]
                digit=event_digit(int(e[0])),  # type: ignore[call-overload]
                start=float(e[1]),  # type: ignore[arg-type]
                duration_ms=int(e[2]) * 1000.0 / event_rate,  # type: ignore[call-overload]
                volume=int(e[3]),  # type: ignore[call-overload]
                ended=bool(e[4]),
                packet=int(e[5]),  # type: ignore[call-overload]
            )
            for e in self.dtmf
        )
        eff, r, mos = stream_quality(codec, expected, lost, self.fixed.discarded)
        return RtpStream(
            src_ip=src_ip,
            src_port=src_port,
            dst_ip=dst_ip,
            dst_port=dst_port,
            ssrc=ssrc,
            payload_type=self.first_pt,
            payload_types=tuple(self.payloads),
            payload_names=tuple(self.payloads[pt].name for pt in sorted(self.payloads)),
            codec=codec,
            clock_rate=clock,
            start=self.first_ts,
            end=self.last_ts,
            first_packet=self.first_number,
            last_packet=self.last_number,
            packets=self.total,
            expected=expected,
            lost=lost,
            lost_pct=lost * 100.0 / expected if expected else 0.0,
            seq_errors=self.seq_errors,
            wrong_timestamps=self.wrong_ts,
            min_delta_ms=self.min_delta,
            mean_delta_ms=self.mean_delta,
            max_delta_ms=self.max_delta,
            min_jitter_ms=self.min_jitter,
            mean_jitter_ms=self.mean_jitter,
            max_jitter_ms=self.max_jitter,
            max_skew_ms=self.max_skew,
            problems=self.problem,
            marker_packets=self.markers,
            comfort_noise_packets=self.cn,
            ssrc_changes=self.ssrc_changes,
            dtmf=dtmf,
            call_id=self.exp.call_id if self.exp else None,
            direction=self.exp.direction if self.exp else None,
            source="sdp" if self.exp else "heuristic",
            effective_loss_pct=eff,
            jitter_discards=self.fixed.discarded,
            adaptive_discards=self.adaptive.discarded,
            r_factor=r,
            mos=mos,
        )


MediaTracker.stream_class = StreamStats  # set here: StreamStats is defined after the tracker
