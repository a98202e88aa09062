"""A call's packets as a pcap: the stored raw SIP messages framed again.

The store keeps every SIP message's exact bytes (``sip_messages.raw``) with its
addresses, ports, transport and time, not the frames they came in; an investigator who
asks for "the packets" gets each message in a fresh Ethernet + IPv4/IPv6 + UDP/TCP frame
(correct lengths and checksums, sim/frames.py), in a classic pcap (nanosecond
timestamps, sim/pcapfmt.py). Wireshark and tshark read it as they read the original.

Decisions:

- ``udp`` messages become one UDP datagram each.
- ``tcp``, ``tls``, ``ws`` and ``wss`` messages become TCP segments: one connection per
  address/port pair, opened with a three-way handshake just before its first message
  (so sequence analysis starts clean), one segment per message, sequence numbers
  continuous per direction. TLS and WebSocket messages are written as the SIP text the
  store kept (decrypted, unframed), which is what an investigator needs to read; the
  ports stay those of the call, so a reader may need "Decode As SIP" for 5061/443.
- ``sctp`` messages are written as UDP (one chunk, one datagram): the message is what
  matters, and SCTP association state cannot be rebuilt from it.
- MAC addresses are fixed locally administered ones (02:00:00:00:00:01 and :02): the
  store has no link layer to give back.

>>> data = pcap_bytes([{"ts": 1.5, "src_ip": "192.0.2.1", "src_port": 5060,
...     "dst_ip": "192.0.2.2", "dst_port": 5060, "transport": "udp",
...     "raw": b"OPTIONS sip:x SIP/2.0\\r\\n\\r\\n"}])
>>> len(data) == 24 + 16 + 14 + 20 + 8 + 25
True
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

from calltrace.sim.frames import (
    PROTO_TCP,
    PROTO_UDP,
    TCP_ACK,
    TCP_PSH,
    TCP_SYN,
    ip_frame,
    pack_ip,
    tcp,
    udp,
)
from calltrace.sim.pcapfmt import global_header, record

MAC_A: Final = bytes.fromhex("020000000001")
MAC_B: Final = bytes.fromhex("020000000002")
TCP_TRANSPORTS: Final = frozenset({"tcp", "tls", "ws", "wss"})
_ISN: Final = 1000  # initial sequence number of both sides (any value is valid)
_HANDSHAKE_NS: Final = 100_000  # the handshake's three segments, 100 µs apart


def _ns(ts: float) -> int:
    """Event time in integer ns. Whole seconds apart: ``ts * 1e9`` would round to a
    multiple of 256 ns at today's epoch (a double holds ~16 digits, not 19).

    >>> _ns(1767603600.25)
    1767603600250000000
    """
    sec = math.floor(ts)
    return sec * 1_000_000_000 + round((ts - sec) * 1_000_000_000)


class _Connection:
    """One TCP connection: its two sides and each side's next sequence number."""

    def __init__(self, client: tuple[str, int], server: tuple[str, int]) -> None:
        self.client, self.server = client, server
        self.next_seq = {client: _ISN, server: _ISN}

    def segment(self, src: tuple[str, int], flags: int, payload: bytes) -> bytes:
        dst = self.server if src == self.client else self.client
        seq, ack = self.next_seq[src], self.next_seq[dst]
        self.next_seq[src] = seq + len(payload) + (1 if flags & TCP_SYN else 0)
        s_ip, d_ip = pack_ip(src[0]), pack_ip(dst[0])
        seg = tcp(src[1], dst[1], seq, ack if flags & TCP_ACK else 0, flags, payload,
                  src_ip=s_ip, dst_ip=d_ip)  # fmt: skip
        macs = (MAC_A, MAC_B) if src == self.client else (MAC_B, MAC_A)
        return ip_frame(macs[0], macs[1], s_ip, d_ip, PROTO_TCP, seg)


def call_frames(messages: Iterable[Mapping[str, Any]]) -> Iterator[tuple[int, bytes]]:
    """``(ts_ns, frame)`` for stored messages (rows of ``sip_messages``), in their order."""
    connections: dict[frozenset[tuple[str, int]], _Connection] = {}
    for m in messages:
        src, dst = (m["src_ip"], int(m["src_port"])), (m["dst_ip"], int(m["dst_port"]))
        ts, raw = _ns(m["ts"]), bytes(m["raw"])
        if m["transport"] not in TCP_TRANSPORTS:
            s_ip, d_ip = pack_ip(src[0]), pack_ip(dst[0])
            yield ts, ip_frame(MAC_A, MAC_B, s_ip, d_ip, PROTO_UDP,
                               udp(src[1], dst[1], raw, src_ip=s_ip, dst_ip=d_ip))  # fmt: skip
            continue
        key = frozenset((src, dst))
        conn = connections.get(key)
        if conn is None:
            conn = connections[key] = _Connection(src, dst)
            start = ts - 3 * _HANDSHAKE_NS
            yield start, conn.segment(src, TCP_SYN, b"")
            yield start + _HANDSHAKE_NS, conn.segment(dst, TCP_SYN | TCP_ACK, b"")
            yield start + 2 * _HANDSHAKE_NS, conn.segment(src, TCP_ACK, b"")
        yield ts, conn.segment(src, TCP_PSH | TCP_ACK, raw)


def pcap_bytes(messages: Iterable[Mapping[str, Any]]) -> bytes:
    """The whole pcap file in memory (a call's messages are few: what an API returns)."""
    parts = [global_header(nanosecond=True)]
    parts.extend(record(ts, frame, nanosecond=True) for ts, frame in call_frames(messages))
    return b"".join(parts)
