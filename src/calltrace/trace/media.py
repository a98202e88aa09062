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
    TelephoneEvent,
    event_digit,
    looks_like_rtp,
    non_rtp_kind,
    parse_rtp,
    parse_telephone_event,
)
from calltrace.errors import DecodeError
from calltrace.model import DtmfEvent, Packet, RtcpPacket, RtcpRecord, RtpPacket, RtpStream
from calltrace.trace.payloads import Payload
from calltrace.trace.quality import AdaptiveJitterBuffer, FixedJitterBuffer, stream_quality
from calltrace.trace.rtcpreports import RtcpReports

_Payload = Payload  # the name this module used before the tables moved to payloads.py

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
    learned: bool = False  # latched from where the other direction's RTP really came from


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
        self._rtcp_rows = RtcpReports(max_expectations)
        self._rtcp_out: list[RtcpRecord] = []
        # SSRC -> (RTP clock rate, frame number of the stream's first packet): RTCP about
        # an SSRC uses its clock only from that frame on, whatever order the bulk lane
        # (trace/media_bulk.py) hands the datagrams over in
        self._clocks: OrderedDict[int, tuple[int, int]] = OrderedDict()
        # ZRTP/DTLS seen on a 4-tuple before its first RTP packet (bounded)
        self._keying: OrderedDict[tuple[str, int, str, int], set[str]] = OrderedDict()
        self.not_rtp: dict[str, int] = {}  # STUN, ZRTP, DTLS datagrams on media ports
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
        learned: bool = False,
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
            learned=learned,
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
                kind = non_rtp_kind(payload) if err.kind == "bad_version" else None
                if kind is not None:
                    self._not_rtp(packet, kind)  # STUN, ZRTP, DTLS: RFC 7983 demultiplexing
                    return None
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
            stats.keying = self._keying.pop(tuple4, None)
            if exp is not None and (packet.src_ip, packet.src_port) not in self._expect:
                self._latch(packet, exp)
        else:
            prev = self._last_ssrc.get(key[:4])
            if prev is not None and prev != rtp.ssrc:
                stats.ssrc_changes += 1
        # RFC 3264 §8: a later offer/answer for this endpoint (re-INVITE, UPDATE) now names
        # its payload types and direction; another call's never takes the stream over.
        if (exp is not None and stats.exp is not exp
                and (stats.exp is None or stats.exp.call_id == exp.call_id)):  # fmt: skip
            stats.exp = exp
        self._last_ssrc[key[:4]] = rtp.ssrc
        stats.add(packet, rtp, self._origin or 0.0)
        if stats.total == 1:  # for RTCP jitter in ms (trace/rtcpreports.py)
            self._note_clock(rtp.ssrc, stats.payloads[rtp.payload_type].clock, packet.number)

    def _note_clock(self, ssrc: int, clock: int, number: int) -> None:
        """Remember a new stream's RTP clock by SSRC (bounded, oldest out)."""
        if clock:
            if len(self._clocks) >= self.max_streams:
                self._clocks.popitem(last=False)
            self._clocks[ssrc] = (clock, number)

    def _clock_at(self, ssrc: int, number: int) -> int | None:
        """The clock of ``ssrc`` as known at frame ``number``."""
        known = self._clocks.get(ssrc)
        return known[0] if known is not None and known[1] <= number else None

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
        self._rtcp_out.extend(
            self._rtcp_rows.records(
                packet, packets, report.call_id, lambda ssrc: self._clock_at(ssrc, packet.number)
            )
        )
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

    def pop_rtcp(self) -> list[RtcpRecord]:
        """RTCP reports as rows (one per report block, SR or XR VoIP block) since the
        last call: the pipeline hands them to the store and the JSON document."""
        out, self._rtcp_out = self._rtcp_out, []
        return out

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

    def _latch(self, packet: Packet, exp: Expectation) -> None:
        """RTP reached an announced endpoint from an address no SDP named (a NAT rewrote
        it, RFC 4787; or the sender is not where it said): expect the return direction at
        that source, as symmetric RTP (RFC 4961) and an SBC's media latching do, so both
        directions stay tied to the call. A later SDP for the address replaces it."""
        self.expect(packet.src_ip, packet.src_port, exp.payloads, call_id=exp.call_id,
                    rtcp_mux=True, learned=True)  # fmt: skip

    def _not_rtp(self, packet: Packet, kind: str) -> None:
        """Count STUN/ZRTP/DTLS on a media port; mark ZRTP and DTLS on the 4-tuple's
        stream (key exchange on the media path: RFC 6189, RFC 5764)."""
        self.not_rtp[kind] = self.not_rtp.get(kind, 0) + 1
        if kind not in ("zrtp", "dtls"):
            return
        key4 = (packet.src_ip, packet.src_port, packet.dst_ip, packet.dst_port)
        ssrc = self._last_ssrc.get(key4)
        stats = self._streams.get((*key4, ssrc)) if ssrc is not None else None
        if stats is not None:
            stats.keying = (stats.keying or set()) | {kind}
            return
        if key4 not in self._keying and len(self._keying) >= self.max_expectations:
            self._keying.popitem(last=False)
        self._keying.setdefault(key4, set()).add(kind)

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


MAX_DTMF: Final = 1024


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
        self.keying: set[str] | None = None  # ZRTP/DTLS seen on the 4-tuple

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
            source=("latched" if self.exp.learned else "sdp") if self.exp else "heuristic",
            keying=tuple(sorted(self.keying)) if self.keying else (),
            effective_loss_pct=eff,
            jitter_discards=self.fixed.discarded,
            adaptive_discards=self.adaptive.discarded,
            r_factor=r,
            mos=mos,
        )


MediaTracker.stream_class = StreamStats  # set here: StreamStats is defined after the tracker
