"""Link, network and transport headers (pure): Ethernet II, IPv4, IPv6, UDP, TCP.

Everything takes and returns ``bytes``; addresses are given packed (4 or 16 bytes,
see :func:`pack_ip`) so that the hot path of the generator never parses text. Lengths
are always right; checksums are right when asked for (the default), which keeps
Wireshark's "bad checksum" expert info out of a demo, and can be switched off for
speed (UDP over IPv4 then carries 0, "no checksum", RFC 768).
"""

from __future__ import annotations

import socket
import struct
from typing import Final

ETHERTYPE_IPV4: Final = 0x0800
ETHERTYPE_IPV6: Final = 0x86DD
PROTO_TCP: Final = 6
PROTO_UDP: Final = 17

TCP_FIN: Final = 0x01
TCP_SYN: Final = 0x02
TCP_RST: Final = 0x04
TCP_PSH: Final = 0x08
TCP_ACK: Final = 0x10

_IPV4 = struct.Struct("!BBHHHBBH4s4s")
_IPV6 = struct.Struct("!IHBB16s16s")
_UDP = struct.Struct("!HHHH")
_TCP = struct.Struct("!HHIIBBHHH")


def pack_ip(text: str) -> bytes:
    """Packed form of a dotted-quad or IPv6 text address (4 or 16 bytes)."""
    family = socket.AF_INET6 if ":" in text else socket.AF_INET
    return socket.inet_pton(family, text)


def pack_mac(text: str) -> bytes:
    """Six bytes from ``aa:bb:cc:dd:ee:ff``."""
    return bytes.fromhex(text.replace(":", ""))


def checksum(data: bytes) -> int:
    """Internet checksum (RFC 1071) without a per-byte loop.

    The one's-complement sum of 16-bit big-endian words is congruent to the whole
    buffer read as one big integer modulo 0xFFFF, because 2**16 == 1 (mod 0xFFFF)
    (RFC 1071 §2(B), "byte order independence" and deferred carries taken to the
    limit). A non-zero sum that is a multiple of 0xFFFF is 0xFFFF in one's complement.

    >>> hex(checksum(bytes.fromhex("450000730000400040110000c0a80001c0a800c7")))
    '0xb861'
    """
    if len(data) & 1:
        data += b"\x00"
    total = int.from_bytes(data, "big")
    if total == 0:
        return 0xFFFF
    folded = total % 0xFFFF or 0xFFFF
    return ~folded & 0xFFFF


def ethernet(dst: bytes, src: bytes, ethertype: int, payload: bytes) -> bytes:
    """Ethernet II frame (no FCS, as captures store them)."""
    return dst + src + ethertype.to_bytes(2, "big") + payload


def ipv4(
    src: bytes,
    dst: bytes,
    proto: int,
    payload: bytes,
    *,
    ident: int = 0,
    ttl: int = 64,
    dont_fragment: bool = True,
) -> bytes:
    """IPv4 header (RFC 791 §3.1, 20 bytes, no options) with its checksum, then payload."""
    flags = 0x4000 if dont_fragment else 0
    total = 20 + len(payload)
    head = _IPV4.pack(0x45, 0, total, ident & 0xFFFF, flags, ttl, proto, 0, src, dst)
    csum = checksum(head)
    return head[:10] + csum.to_bytes(2, "big") + head[12:] + payload


def ipv6(
    src: bytes,
    dst: bytes,
    next_header: int,
    payload: bytes,
    *,
    hop_limit: int = 64,
    flow_label: int = 0,
) -> bytes:
    """IPv6 fixed header (RFC 8200 §3), no extension headers, then payload."""
    first = (6 << 28) | (flow_label & 0xFFFFF)
    return _IPV6.pack(first, len(payload), next_header, hop_limit, src, dst) + payload


def _pseudo_header(src: bytes, dst: bytes, proto: int, length: int) -> bytes:
    """Pseudo-header of RFC 768 (IPv4) or RFC 8200 §8.1 (IPv6) for L4 checksums."""
    if len(src) == 4:
        return src + dst + bytes((0, proto)) + length.to_bytes(2, "big")
    return src + dst + length.to_bytes(4, "big") + bytes((0, 0, 0, proto))


def udp(
    src_port: int,
    dst_port: int,
    payload: bytes,
    *,
    src_ip: bytes,
    dst_ip: bytes,
    with_checksum: bool = True,
) -> bytes:
    """UDP header (RFC 768) and payload; checksum over the pseudo-header when asked.

    IPv6 makes the UDP checksum mandatory (RFC 8200 §8.1), so it is always computed
    there. A computed 0 is sent as 0xFFFF (RFC 768).
    """
    length = 8 + len(payload)
    csum = 0
    if with_checksum or len(src_ip) == 16:
        head = _UDP.pack(src_port, dst_port, length, 0)
        csum = checksum(_pseudo_header(src_ip, dst_ip, PROTO_UDP, length) + head + payload)
    return _UDP.pack(src_port, dst_port, length, csum) + payload


def tcp(
    src_port: int,
    dst_port: int,
    seq: int,
    ack: int,
    flags: int,
    payload: bytes,
    *,
    src_ip: bytes,
    dst_ip: bytes,
    window: int = 64240,
    with_checksum: bool = True,
) -> bytes:
    """TCP header (RFC 9293 §3.1, 20 bytes, no options) and payload."""
    head = _TCP.pack(src_port, dst_port, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags,
                     window, 0, 0)  # fmt: skip
    if not with_checksum:
        return head + payload
    pseudo = _pseudo_header(src_ip, dst_ip, PROTO_TCP, len(head) + len(payload))
    csum = checksum(pseudo + head + payload)
    return head[:16] + csum.to_bytes(2, "big") + head[18:] + payload


def ip_frame(
    src_mac: bytes,
    dst_mac: bytes,
    src_ip: bytes,
    dst_ip: bytes,
    proto: int,
    segment: bytes,
    *,
    ident: int = 0,
    ttl: int = 64,
) -> bytes:
    """An Ethernet frame carrying ``segment`` in IPv4 or IPv6 (chosen by address size)."""
    if len(src_ip) == 4:
        packet = ipv4(src_ip, dst_ip, proto, segment, ident=ident, ttl=ttl)
        return dst_mac + src_mac + b"\x08\x00" + packet
    return dst_mac + src_mac + b"\x86\xdd" + ipv6(src_ip, dst_ip, proto, segment, hop_limit=ttl)
