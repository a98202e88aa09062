"""From plans to frames (pure): UDP datagrams, TCP segments and RTP packets, lazily.

SIP over TCP is a byte stream (RFC 3261 §18.3), and real stacks show it: one segment
may carry two messages (a 100 and a 180 flushed together) and a message may straddle
two segments. Both happen here with configurable odds, so decoders meet them. RTP
(RFC 3550 §5.1) runs every 20 ms with a continuous sequence number and a timestamp
that advances with sampling time, also across hold gaps; jitter only delays arrival.
Reordering holds a packet back and delivers it 0.1 ms after the next packet that arrives
(a swap of neighbours, what a multi-path or load-balanced link does); jitter stays under
19 ms so a stream's frames remain in time order for the merge. The wire stats count the
swaps (``rtp_reordered``, only when reordering is on, so older truth files stay equal).
"""

from __future__ import annotations

import heapq
import random
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from operator import itemgetter

from calltrace.sim.dialog import MS, Endpoint, MediaStream, Plan
from calltrace.sim.frames import (
    PROTO_TCP,
    PROTO_UDP,
    TCP_ACK,
    TCP_FIN,
    TCP_PSH,
    TCP_SYN,
    ip_frame,
    tcp,
    udp,
)

Frame = tuple[int, bytes]  # (timestamp ns, Ethernet frame)
_RTP = struct.Struct("!BBHII")
_PTIME = 20 * MS
_REORDER_GAP = 100_000  # ns after the overtaking packet that a held one arrives


@dataclass(frozen=True, slots=True, kw_only=True)
class WireOptions:
    """Knobs of the wire, not of the SIP: checksums, TCP segmentation, RTP impairments."""

    checksums: bool = True
    tcp_coalesce: float = 0.2  # odds that back-to-back messages share one segment
    tcp_split: float = 0.2  # odds that a message is cut over two segments
    rtp_jitter_ms: float = 0.0  # extra delay per packet, uniform in [0, this) (< 20)
    rtp_loss: float = 0.0  # probability a packet is lost before the capture point
    rtp_reorder: float = 0.0  # probability a packet arrives just after the next one sent


@dataclass(slots=True)
class WireStats:
    """What was put on the wire, counted as frames are made."""

    frames: int = 0
    rtp_packets: int = 0
    tcp_segments: int = 0
    extra: dict[str, int] = field(default_factory=dict)


def plan_frames(
    plan: Plan, rng: random.Random, opts: WireOptions, stats: WireStats
) -> Iterator[Frame]:
    """Every frame of ``plan`` in time order; the first one is at ``plan.start``."""
    if plan.transport == "tcp":
        sip = _tcp_frames(plan, rng, opts, stats)
    else:
        sip = _udp_frames(plan, opts)
    if not plan.media:
        return sip
    streams = [_rtp_frames(m, rng, opts, stats) for m in plan.media]
    return heapq.merge(sip, *streams, key=itemgetter(0))


def _udp_frames(plan: Plan, opts: WireOptions) -> Iterator[Frame]:
    check = opts.checksums
    for ident, (ts, src, dst, data) in enumerate(plan.messages, start=plan.start & 0x7FFF):
        seg = udp(src.port, dst.port, data, src_ip=src.packed, dst_ip=dst.packed,
                  with_checksum=check)  # fmt: skip
        yield ts, ip_frame(src.mac, dst.mac, src.packed, dst.packed, PROTO_UDP, seg, ident=ident)


class _TcpConnection:
    """Both directions of one connection: sequence numbers and frame assembly."""

    def __init__(self, client: Endpoint, server: Endpoint, rng: random.Random, check: bool):
        self.client, self.server, self.check = client, server, check
        self.cport = rng.randrange(32768, 61000)
        self.seq = {True: rng.getrandbits(32), False: rng.getrandbits(32)}  # key: from client
        self.ident = rng.randrange(0x10000)

    def segment(self, from_client: bool, flags: int, payload: bytes = b"") -> bytes:
        src, dst = (self.client, self.server) if from_client else (self.server, self.client)
        sport, dport = (self.cport, dst.port) if from_client else (src.port, self.cport)
        seq, ack = self.seq[from_client], self.seq[not from_client]
        seg = tcp(sport, dport, seq, ack if flags & TCP_ACK else 0, flags, payload,
                  src_ip=src.packed, dst_ip=dst.packed, with_checksum=self.check)  # fmt: skip
        self.seq[from_client] = seq + len(payload) + (1 if flags & (TCP_SYN | TCP_FIN) else 0)
        self.ident += 1
        return ip_frame(src.mac, dst.mac, src.packed, dst.packed, PROTO_TCP, seg, ident=self.ident)


def _tcp_frames(
    plan: Plan, rng: random.Random, opts: WireOptions, stats: WireStats
) -> Iterator[Frame]:
    """Handshake, data segments (coalesced or split now and then), then an orderly close."""
    msgs = plan.messages
    client, server = msgs[0][1], msgs[0][2]
    conn = _TcpConnection(client, server, rng, opts.checksums)
    t = plan.start
    yield t, conn.segment(True, TCP_SYN)
    yield t + 40_000, conn.segment(False, TCP_SYN | TCP_ACK)
    yield t + 80_000, conn.segment(True, TCP_ACK)
    last = t + 120_000
    i, n = 0, len(msgs)
    while i < n:
        ts, src, _dst, data = msgs[i]
        from_client = src is client
        nxt = msgs[i + 1] if i + 1 < n else None
        ts = max(ts, last)
        if (nxt is not None and nxt[1] is src and nxt[0] - ts < 50 * MS
                and rng.random() < opts.tcp_coalesce):  # fmt: skip
            ts = max(nxt[0], ts)
            data += nxt[3]
            i += 1
            stats.extra["tcp_coalesced"] = stats.extra.get("tcp_coalesced", 0) + 1
        elif len(data) > 300 and rng.random() < opts.tcp_split:
            cut = rng.randrange(100, len(data) - 100)
            yield ts, conn.segment(from_client, TCP_PSH | TCP_ACK, data[:cut])
            stats.tcp_segments += 1
            data = data[cut:]
            ts += 150_000
            stats.extra["tcp_split"] = stats.extra.get("tcp_split", 0) + 1
        yield ts, conn.segment(from_client, TCP_PSH | TCP_ACK, data)
        stats.tcp_segments += 1
        last = ts + 1000
        i += 1
    close = last + int(rng.uniform(200, 2000) * MS)
    yield close, conn.segment(True, TCP_FIN | TCP_ACK)
    yield close + 40_000, conn.segment(False, TCP_FIN | TCP_ACK)
    yield close + 80_000, conn.segment(True, TCP_ACK)


def _rtp_frames(
    m: MediaStream, rng: random.Random, opts: WireOptions, stats: WireStats
) -> Iterator[Frame]:
    """One RTP stream over its sending periods (RFC 3550 §5.1, RFC 3551 §4.5)."""
    codec = m.codec
    payload = rng.randbytes(codec.payload_bytes)
    origin = m.intervals[0][0]
    seq, ident = m.seq, m.ssrc & 0xFFFF
    jitter = min(max(opts.rtp_jitter_ms, 0.0), 19.0) * MS
    loss, reorder = opts.rtp_loss, opts.rtp_reorder
    src, dst, check = m.src, m.dst, opts.checksums
    held: Frame | None = None  # a packet held back to arrive after the next one
    for start, end in m.intervals:
        marker = 0x80  # first packet of a talk spurt (RFC 3551 §4.1)
        t = origin + -(-(start - origin) // _PTIME) * _PTIME  # back on the 20 ms grid
        while t < end:
            ts = m.timestamp + (t - origin) // _PTIME * codec.ts_step
            rtp = _RTP.pack(0x80, marker | codec.pt, seq & 0xFFFF, ts & 0xFFFFFFFF, m.ssrc)
            seq += 1
            marker = 0
            if not (loss and rng.random() < loss):
                at = t + int(rng.random() * jitter) if jitter else t
                seg = udp(m.src_port, m.dst_port, rtp + payload, src_ip=src.packed,
                          dst_ip=dst.packed, with_checksum=check)  # fmt: skip
                ident += 1
                stats.rtp_packets += 1
                frame = ip_frame(src.mac, dst.mac, src.packed, dst.packed, PROTO_UDP, seg,
                                 ident=ident)  # fmt: skip
                if held is not None:
                    yield at, frame
                    yield at + _REORDER_GAP, held[1]
                    held = None
                elif reorder and rng.random() < reorder:
                    held = (at, frame)
                    stats.extra["rtp_reordered"] = stats.extra.get("rtp_reordered", 0) + 1
                else:
                    yield at, frame
            t += _PTIME
    if held is not None:  # nothing came after it: it arrives in its own time after all
        stats.extra["rtp_reordered"] -= 1
        yield held
