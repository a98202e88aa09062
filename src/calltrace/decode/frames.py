"""From a captured frame to application payloads: link layer, IP, tunnels, UDP/TCP/SCTP.

:class:`FrameDecoder` takes :class:`CaptureRecord` objects in capture order and returns
the :class:`Packet` objects they complete (UDP datagrams, SCTP DATA messages, SIP messages
reassembled from TCP, WebSocket messages), mixed with :class:`DecodeError` instances for
what was wrong. It raises nothing: a bad frame gives an error in the list.

Link types (pcap-linktype(7)): 1 Ethernet with 802.1Q/802.1ad/QinQ tags (any depth up to 8)
and LLC/SNAP, 113 Linux cooked (SLL), 276 SLL2, 101/12/14 raw IP, 228 IPv4, 229 IPv6,
0 BSD NULL (address family in the capturing host's byte order) and 108 LOOP (network
order). Tunnels: IP-in-IP (proto 4, 41; RFC 2003, RFC 4213), GRE version 0 (RFC 2784,
RFC 2890 key and sequence) carrying IP, transparent Ethernet bridging (0x6558) or ERSPAN
type I/II (0x88BE) and III (0x22EB); nesting is bounded (``MAX_TUNNEL_DEPTH``). MPLS
(0x8847/0x8848) label stacks are popped to the IP packet beneath.

The common case, Ethernet + IPv4 without options or fragmentation + UDP, is decoded by one
``struct.unpack_from`` at fixed offsets before anything else is tried.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Final

from calltrace.decode._construct import make_packet
from calltrace.decode.ip import FragmentReassembler, addr4, addr6, parse_ipv4, parse_ipv6, walk_ext
from calltrace.decode.sctp import SctpReassembler
from calltrace.decode.tcp import TcpTracker
from calltrace.errors import DecodeError, MalformedInput, Truncated, Unsupported
from calltrace.model import CaptureRecord, Packet

__all__ = ["MAX_TUNNEL_DEPTH", "FrameDecoder"]

MAX_TUNNEL_DEPTH: Final = 8
_IPV4: Final = 0x0800
_IPV6: Final = 0x86DD
_VLAN: Final = frozenset({0x8100, 0x88A8, 0x9100})
_MPLS: Final = frozenset({0x8847, 0x8848})
_PPPOE_SESSION: Final = 0x8864
_PPP_PROTOCOLS: Final = {0x0021: 0x0800, 0x0057: 0x86DD}
_TEB: Final = 0x6558
_ERSPAN2: Final = 0x88BE
_ERSPAN3: Final = 0x22EB
_AF_INET6: Final = frozenset({24, 28, 30})  # BSD/NetBSD, FreeBSD, Darwin (pcap-linktype(7))
# Ethernet ethertype, IPv4 ver/IHL, total length, flags/fragment offset, protocol,
# addresses, UDP ports and length: everything the fast path needs, in one unpack.
_FAST: Final = struct.Struct("!12xHBxH2xH1xB2x4s4sHHH")
_TCP: Final = struct.Struct("!HHIIBB")

_Out = list[Packet | DecodeError]


class FrameDecoder:
    """Decode frames into application payloads, keeping bounded reassembly state."""

    def __init__(
        self,
        *,
        fragment_timeout: float = 30.0,
        max_fragment_sets: int = 4096,
        tcp_idle_timeout: float = 300.0,
        max_tcp_streams: int = 65536,
        max_stream_buffer: int = 1 << 20,
    ) -> None:
        self._frags = FragmentReassembler(timeout=fragment_timeout, max_sets=max_fragment_sets)
        self._tcp = TcpTracker(
            idle_timeout=tcp_idle_timeout, max_streams=max_tcp_streams, max_buffer=max_stream_buffer
        )
        self._sctp = SctpReassembler(max_message=max_stream_buffer)
        self._links: dict[int, Callable[[bytes], tuple[int, int]]] = {
            1: self._ethernet_link,
            113: _sll,
            276: _sll2,
            101: _raw,
            12: _raw,
            14: _raw,
            228: lambda _data: (_IPV4, 0),
            229: lambda _data: (_IPV6, 0),
            0: _null,
            108: _loop,
        }
        self._number = 0
        self._ts = 0.0

    @property
    def next_expiry(self) -> float:
        """Capture time at which the oldest unfinished IP fragment set expires (inf: none).

        A frame later than this makes the decoder expire fragments (and report them): the
        bulk lane (decode/bulk.py) hands such frames to :meth:`decode` instead of skipping it.
        """
        return self._frags.next_expiry

    def decode(self, record: CaptureRecord) -> list[Packet | DecodeError]:
        """The payloads completed by this frame, and errors found in it."""
        data = record.data
        if record.link_type == 1 and len(data) >= 42:
            etype, vihl, total, frag, proto, src, dst, sport, dport, ulen = _FAST.unpack_from(data)
            if (
                etype == _IPV4
                and vihl == 0x45
                and proto == 17
                and not frag & 0x3FFF
                and 8 <= ulen <= total - 20
                and total + 14 <= len(data)
                and record.ts <= self._frags.next_expiry
            ):
                if ulen == 8:
                    return []
                return [
                    make_packet(
                        record.number,
                        record.ts,
                        addr4(src),
                        sport,
                        addr4(dst),
                        dport,
                        "udp",
                        data[42 : 34 + ulen],
                    )
                ]
        out: _Out = []
        self._number = record.number
        self._ts = record.ts
        try:
            link = self._links.get(record.link_type)
            if link is None:
                raise Unsupported(f"link type {record.link_type}", layer="link", kind="link_type")
            ethertype, off = link(data)
            self._network(ethertype, data, off, out, 0)
        except DecodeError as err:
            out.append(err)
        return out

    def flush(self) -> list[Packet | DecodeError]:
        """End of capture: unfinished fragments, SCTP messages and TCP messages as errors."""
        errors: list[DecodeError] = []
        self._frags.flush(errors)
        self._sctp.flush(errors)
        out: _Out = list(errors)
        self._tcp.flush(out)
        return out

    # -- link layer ------------------------------------------------------------------

    def _ethernet_link(self, data: bytes) -> tuple[int, int]:
        return _ethernet(data, 0)

    # -- network layer ---------------------------------------------------------------

    def _network(self, ethertype: int, data: bytes, off: int, out: _Out, depth: int) -> None:
        if ethertype == _IPV4:
            self._ipv4(data, off, out, depth)
        elif ethertype == _IPV6:
            self._ipv6(data, off, out, depth)
        elif ethertype in _MPLS:
            ethertype, off = _mpls(data, off)
            self._network(ethertype, data, off, out, depth)
        elif ethertype == _PPPOE_SESSION:
            ethertype, off = _pppoe(data, off)
            self._network(ethertype, data, off, out, depth)
        # other ethertypes (ARP, LLDP...) carry no calls: nothing to say

    def _ipv4(self, data: bytes, off: int, out: _Out, depth: int) -> None:
        h = parse_ipv4(data, off)
        start = h.payload_at
        if h.more or h.frag_offset:
            errors: list[DecodeError] = []
            whole = self._frags.add(
                (h.src, h.dst, h.proto, h.ident),
                h.frag_offset,
                h.more,
                data[start : h.end],
                self._ts,
                errors,
            )
            out.extend(errors)
            if whole is None:
                return
            data, start = whole, 0
        else:
            self._expire(out)
            if h.end != len(data):
                data = data[: h.end]  # drop link-layer padding
        self._transport(h.proto, data, start, addr4(h.src), addr4(h.dst), out, depth)

    def _ipv6(self, data: bytes, off: int, out: _Out, depth: int) -> None:
        h = parse_ipv6(data, off)
        start, proto = h.payload_at, h.proto
        if h.end != len(data):
            data = data[: h.end]
        if h.frag is not None:
            frag_off, more, ident = h.frag
            if frag_off or more:
                errors: list[DecodeError] = []
                whole = self._frags.add(
                    (h.src, h.dst, -1, ident), frag_off, more, data[start:], self._ts, errors
                )
                out.extend(errors)
                if whole is None:
                    return
                data = whole
                start = 0
            # atomic fragment (RFC 6946) or reassembled: walk what follows the fragment header
            proto, start, again = walk_ext(data, proto, start, len(data))
            if again is not None:
                raise MalformedInput(
                    "two IPv6 fragment headers", layer="ip", kind="double_fragment"
                )
        else:
            self._expire(out)
        self._transport(proto, data, start, addr6(h.src), addr6(h.dst), out, depth)

    def _expire(self, out: _Out) -> None:
        if self._ts > self._frags.next_expiry:
            errors: list[DecodeError] = []
            self._frags.expire(self._ts, errors)
            out.extend(errors)

    # -- transport layer -------------------------------------------------------------

    def _transport(
        self, proto: int, data: bytes, start: int, src: str, dst: str, out: _Out, depth: int
    ) -> None:
        if proto == 17:
            self._udp(data, start, src, dst, out)
        elif proto == 6:
            self._tcp_segment(data, start, src, dst, out)
        elif proto == 132:
            self._sctp_packet(data, start, src, dst, out)
        elif proto in (4, 41, 47):
            if depth >= MAX_TUNNEL_DEPTH:
                raise MalformedInput(
                    f"more than {MAX_TUNNEL_DEPTH} nested tunnels", layer="ip", kind="tunnel_depth"
                )
            if proto == 47:
                self._gre(data, start, out, depth + 1)
            else:
                self._network(_IPV4 if proto == 4 else _IPV6, data, start, out, depth + 1)

    def _udp(self, data: bytes, start: int, src: str, dst: str, out: _Out) -> None:
        """RFC 768: the length field bounds the datagram (IP may carry trailing bytes)."""
        avail = len(data) - start
        if avail < 8:
            raise Truncated(f"UDP header needs 8 bytes, {avail} left", layer="udp")
        sport, dport, ulen = struct.unpack_from("!HHH", data, start)
        if ulen == 0 and avail > 0xFFFF:
            ulen = avail  # IPv6 jumbogram (RFC 2675 §4)
        if ulen < 8:
            raise MalformedInput(f"UDP length {ulen} below 8", layer="udp", kind="bad_udp_length")
        if ulen > avail:
            raise Truncated(f"UDP length {ulen}, {avail} bytes present", layer="udp")
        if ulen > 8:
            out.append(self._packet(src, sport, dst, dport, "udp", data[start + 8 : start + ulen]))

    def _tcp_segment(self, data: bytes, start: int, src: str, dst: str, out: _Out) -> None:
        """RFC 9293 §3.1 header; the segment goes to the stream tracker."""
        avail = len(data) - start
        if avail < 20:
            raise Truncated(f"TCP header needs 20 bytes, {avail} left", layer="tcp")
        sport, dport, seq, _ack, doff, flags = _TCP.unpack_from(data, start)
        hlen = (doff >> 4) * 4
        if hlen < 20:
            raise MalformedInput(
                f"TCP data offset {hlen // 4} below 5", layer="tcp", kind="bad_tcp_offset"
            )
        if hlen > avail:
            raise Truncated(f"TCP header of {hlen} bytes, {avail} left", layer="tcp")
        payload = data[start + hlen :]
        self._tcp.segment(
            (src, sport, dst, dport), seq, flags, payload, self._number, self._ts, out
        )

    def _sctp_packet(self, data: bytes, start: int, src: str, dst: str, out: _Out) -> None:
        errors: list[DecodeError] = []
        sport, dport, messages = self._sctp.packet(data, start, len(data), src, dst, errors)
        for message in messages:
            out.append(self._packet(src, sport, dst, dport, "sctp", message))
        out.extend(errors)

    def _packet(
        self, src: str, sport: int, dst: str, dport: int, transport: str, payload: bytes
    ) -> Packet:
        return make_packet(self._number, self._ts, src, sport, dst, dport, transport, payload)

    # -- tunnels ---------------------------------------------------------------------

    def _gre(self, data: bytes, start: int, out: _Out, depth: int) -> None:
        """GRE version 0 (RFC 2784 §2, RFC 2890 §2): optional checksum, key, sequence."""
        if len(data) - start < 4:
            raise Truncated("GRE header needs 4 bytes", layer="gre")
        flags, ptype = struct.unpack_from("!HH", data, start)
        if flags & 0x7:
            raise Unsupported(f"GRE version {flags & 7}", layer="gre", kind="gre_version")
        if flags & 0x4000:
            raise Unsupported("GRE source routing (RFC 1701)", layer="gre", kind="gre_routing")
        at = start + 4 + 4 * ((flags & 0x8000 > 0) + (flags & 0x2000 > 0) + (flags & 0x1000 > 0))
        if at > len(data):
            raise Truncated("GRE optional fields cut short", layer="gre")
        if ptype in (_IPV4, _IPV6):
            self._network(ptype, data, at, out, depth)
            return
        if ptype == _ERSPAN2:
            # type II has an 8-byte header and GRE sequence numbers; type I has neither
            at += 8 if flags & 0x1000 else 0
        elif ptype == _ERSPAN3:
            if len(data) - at < 12:
                raise Truncated("ERSPAN III header cut short", layer="gre")
            at += 20 if data[at + 11] & 0x01 else 12  # O flag: 8-byte platform sub-header
        elif ptype != _TEB:
            return  # other payloads (PPP, WCCP...) carry no SIP we follow
        if at > len(data):
            raise Truncated("ERSPAN header cut short", layer="gre")
        ethertype, at = _ethernet(data, at)
        self._network(ethertype, data, at, out, depth)


# -- link-layer helpers: (ethertype, offset of the network header) ---------------------


def _ethernet(data: bytes, off: int) -> tuple[int, int]:
    """Ethernet II / 802.3 with VLAN tags (802.1Q, 802.1ad, old QinQ 0x9100) and SNAP."""
    if len(data) - off < 14:
        raise Truncated(f"Ethernet header needs 14 bytes, {len(data) - off} left", layer="link")
    (etype,) = struct.unpack_from("!H", data, off + 12)
    off += 14
    for _ in range(8):
        if etype not in _VLAN:
            break
        if len(data) - off < 4:
            raise Truncated("VLAN tag cut short", layer="link")
        (etype,) = struct.unpack_from("!H", data, off + 2)
        off += 4
    else:
        raise MalformedInput("more than 8 VLAN tags", layer="link", kind="vlan_depth")
    if etype <= 1500:  # 802.3 length: LLC, and SNAP (RFC 1042) may carry an ethertype
        if data[off : off + 3] == b"\xaa\xaa\x03" and len(data) - off >= 8:
            (etype,) = struct.unpack_from("!H", data, off + 6)
            return etype, off + 8
        return 0, off
    return etype, off


def _sll(data: bytes) -> tuple[int, int]:
    """Linux cooked capture v1: 16-byte header, protocol in the last two bytes."""
    if len(data) < 16:
        raise Truncated(f"SLL header needs 16 bytes, {len(data)} left", layer="link")
    (proto,) = struct.unpack_from("!H", data, 14)
    return proto, 16


def _sll2(data: bytes) -> tuple[int, int]:
    """Linux cooked capture v2: 20-byte header, protocol first."""
    if len(data) < 20:
        raise Truncated(f"SLL2 header needs 20 bytes, {len(data)} left", layer="link")
    (proto,) = struct.unpack_from("!H", data, 0)
    return proto, 20


def _version(data: bytes, off: int) -> int:
    if len(data) <= off:
        raise Truncated("no IP header", layer="link")
    version = data[off] >> 4
    if version == 4:
        return _IPV4
    if version == 6:
        return _IPV6
    raise MalformedInput(f"IP version {version}", layer="ip", kind="bad_version")


def _raw(data: bytes) -> tuple[int, int]:
    return _version(data, 0), 0


def _family(af: int) -> int:
    if af == 2:
        return _IPV4
    if af in _AF_INET6:
        return _IPV6
    return 0


def _null(data: bytes) -> tuple[int, int]:
    """BSD loopback: a 4-byte address family in the capturing host's byte order, so the
    non-zero byte sits first (little-endian host) or last (big-endian host)."""
    if len(data) < 4:
        raise Truncated("NULL header needs 4 bytes", layer="link")
    af = data[0] or data[3]
    return _family(af), 4


def _loop(data: bytes) -> tuple[int, int]:
    """OpenBSD loopback: the address family in network byte order."""
    if len(data) < 4:
        raise Truncated("LOOP header needs 4 bytes", layer="link")
    (af,) = struct.unpack_from("!I", data, 0)
    return _family(af), 4


def _pppoe(data: bytes, off: int) -> tuple[int, int]:
    """PPPoE session stage (RFC 2516 §4): 6-byte header, then the 2-byte PPP protocol
    (RFC 1661 §2; 0x0021 IPv4, 0x0057 IPv6)."""
    if len(data) - off < 8:
        raise Truncated("PPPoE header cut short", layer="link")
    (proto,) = struct.unpack_from("!H", data, off + 6)
    return _PPP_PROTOCOLS.get(proto, 0), off + 8


def _mpls(data: bytes, off: int) -> tuple[int, int]:
    """RFC 3032: pop 4-byte labels to the bottom of the stack, then guess IP by version."""
    for _ in range(16):
        if len(data) - off < 4:
            raise Truncated("MPLS label cut short", layer="link")
        bottom = data[off + 2] & 0x01
        off += 4
        if bottom:
            return _version(data, off), off
    raise MalformedInput("MPLS label stack over 16 deep", layer="link", kind="mpls_depth")
