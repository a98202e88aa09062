"""Hand-built frames and capture files for the capture-decoder tests.

Every builder follows the wire format of its RFC field by field, so a test states the
exact values it expects instead of trusting our own decoder's output.
"""

from __future__ import annotations

import os
import socket
import struct
from pathlib import Path

import pytest

from calltrace.model import CaptureRecord

ACK = 0x10
PSH = 0x08
SYN = 0x02
FIN = 0x01
RST = 0x04


def corpus_dir() -> Path:
    """The shared corpus: $CALLTRACE_CORPUS, else ../shared/corpus beside the repo."""
    env = os.environ.get("CALLTRACE_CORPUS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"


needs_corpus = pytest.mark.skipif(
    not corpus_dir().is_dir(), reason=f"corpus directory {corpus_dir()} not found"
)


# -- link layer ---------------------------------------------------------------------


def eth(payload: bytes, ethertype: int = 0x0800, vlans: tuple[tuple[int, int], ...] = ()) -> bytes:
    """Ethernet II; ``vlans`` is a list of (TPID, VID) tags, outermost first."""
    head = b"\x00\x11\x22\x33\x44\x55" + b"\x66\x77\x88\x99\xaa\xbb"
    for tpid, vid in vlans:
        head += struct.pack("!HH", tpid, vid)
    return head + struct.pack("!H", ethertype) + payload


def sll(payload: bytes, proto: int = 0x0800) -> bytes:
    return struct.pack("!HHH8sH", 0, 1, 6, b"\x00\x11\x22\x33\x44\x55\x00\x00", proto) + payload


def sll2(payload: bytes, proto: int = 0x0800) -> bytes:
    return struct.pack("!HHIHBB8s", proto, 0, 2, 1, 0, 6, bytes(8)) + payload


def null(payload: bytes, af: int, little: bool = True) -> bytes:
    return struct.pack("<I" if little else ">I", af) + payload


def loop(payload: bytes, af: int) -> bytes:
    return struct.pack("!I", af) + payload


# -- network layer ------------------------------------------------------------------


def ipv4(
    payload: bytes,
    src: str = "10.0.0.1",
    dst: str = "10.0.0.2",
    proto: int = 17,
    *,
    ident: int = 1,
    more: bool = False,
    offset: int = 0,
    options: bytes = b"",
    total: int | None = None,
    ihl: int | None = None,
) -> bytes:
    """IPv4 header (RFC 791 §3.1); ``offset`` in bytes (a multiple of 8)."""
    hlen = 20 + len(options)
    frag = (0x2000 if more else 0) | (offset // 8)
    head = struct.pack(
        "!BBHHHBBH4s4s",
        0x40 | (ihl if ihl is not None else hlen // 4),
        0,
        total if total is not None else hlen + len(payload),
        ident,
        frag,
        64,
        proto,
        0,
        socket.inet_aton(src),
        socket.inet_aton(dst),
    )
    return head + options + payload


def ipv6(
    payload: bytes,
    src: str = "2001:db8::1",
    dst: str = "2001:db8::2",
    nh: int = 17,
    ext: bytes = b"",
) -> bytes:
    """IPv6 header (RFC 8200 §3); ``ext`` is already-built extension headers."""
    body = ext + payload
    return (
        struct.pack("!IHBB", 6 << 28, len(body), nh, 64)
        + socket.inet_pton(socket.AF_INET6, src)
        + socket.inet_pton(socket.AF_INET6, dst)
        + body
    )


def ext_opts(nh: int, units: int = 0) -> bytes:
    """Hop-by-hop or destination options header of (units + 1) * 8 bytes (Pad1 filled)."""
    return struct.pack("!BB", nh, units) + bytes((units + 1) * 8 - 2)


def ext_frag(nh: int, offset: int, more: bool, ident: int) -> bytes:
    return struct.pack("!BBHI", nh, 0, offset | (1 if more else 0), ident)


def ext_ah(nh: int, words: int = 4) -> bytes:
    """Authentication header: length field = 32-bit words - 2 (RFC 4302 §2.2)."""
    return struct.pack("!BBH", nh, words - 2, 0) + bytes(words * 4 - 4)


# -- transport layer ----------------------------------------------------------------


def udp(payload: bytes, sport: int = 5060, dport: int = 5060, length: int | None = None) -> bytes:
    return (
        struct.pack("!HHHH", sport, dport, length if length is not None else 8 + len(payload), 0)
        + payload
    )


def tcp(
    payload: bytes,
    seq: int,
    sport: int = 40000,
    dport: int = 5060,
    flags: int = ACK | PSH,
    doff: int = 5,
) -> bytes:
    opts = bytes(max(doff - 5, 0) * 4)
    return (
        struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, 0, doff << 4, flags, 65535, 0, 0)
        + opts
        + payload
    )


def sctp(chunks: list[bytes], sport: int = 5060, dport: int = 5060) -> bytes:
    return struct.pack("!HHII", sport, dport, 1, 0) + b"".join(chunks)


def chunk(ctype: int, flags: int, value: bytes) -> bytes:
    """An SCTP chunk padded to 4 bytes (RFC 9260 §3.2)."""
    raw = struct.pack("!BBH", ctype, flags, 4 + len(value)) + value
    return raw + bytes(-len(raw) % 4)


def data_chunk(payload: bytes, tsn: int, flags: int = 0x03, stream: int = 0, ssn: int = 0) -> bytes:
    return chunk(0, flags, struct.pack("!IHHI", tsn, stream, ssn, 0) + payload)


def gre(
    payload: bytes,
    ptype: int,
    *,
    key: int | None = None,
    seq: int | None = None,
    csum: bool = False,
) -> bytes:
    flags = (
        (0x8000 if csum else 0)
        | (0x2000 if key is not None else 0)
        | (0x1000 if seq is not None else 0)
    )
    head = struct.pack("!HH", flags, ptype)
    if csum:
        head += bytes(4)
    if key is not None:
        head += struct.pack("!I", key)
    if seq is not None:
        head += struct.pack("!I", seq)
    return head + payload


def ws_frame(payload: bytes, opcode: int = 1, fin: bool = True, mask: bytes | None = None) -> bytes:
    """RFC 6455 §5.2 frame with the shortest length encoding."""
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    mbit = 0x80 if mask is not None else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if mask is None:
        return head + payload
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


def sip(
    method: str = "OPTIONS", body: bytes = b"", *, cl: str | None = "auto", call: str = "a"
) -> bytes:
    """A small SIP request with the given body and Content-Length header text."""
    head = (
        f"{method} sip:bob@example.com SIP/2.0\r\n"
        f"Via: SIP/2.0/TCP h;branch=z9hG4bK{call}\r\nCall-ID: {call}\r\n"
    )
    if cl == "auto":
        head += f"Content-Length: {len(body)}\r\n"
    elif cl is not None:
        head += f"Content-Length: {cl}\r\n"
    return head.encode() + b"\r\n" + body


# -- capture files ------------------------------------------------------------------


def record(data: bytes, link_type: int = 1, number: int = 1, ts: float = 0.0) -> CaptureRecord:
    return CaptureRecord(
        number=number, ts=ts, interface=0, link_type=link_type, orig_len=len(data), data=data
    )


def pcap_file(
    records: list[tuple[int, int, bytes]],
    *,
    nano: bool = False,
    endian: str = "<",
    link_type: int = 1,
) -> bytes:
    """libpcap file; ``records`` are (seconds, fraction, data)."""
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, 65535, link_type)
    for sec, frac, data in records:
        out += struct.pack(endian + "IIII", sec, frac, len(data), len(data)) + data
    return out


def _block(btype: int, body: bytes, endian: str = "<") -> bytes:
    body += bytes(-len(body) % 4)
    size = len(body) + 12
    return struct.pack(endian + "II", btype, size) + body + struct.pack(endian + "I", size)


def option(code: int, value: bytes, endian: str = "<") -> bytes:
    return struct.pack(endian + "HH", code, len(value)) + value + bytes(-len(value) % 4)


def shb(endian: str = "<") -> bytes:
    return _block(0x0A0D0D0A, struct.pack(endian + "IHHq", 0x1A2B3C4D, 1, 0, -1), endian)


def idb(
    link_type: int, *, tsresol: int | None = None, tsoffset: int | None = None, endian: str = "<"
) -> bytes:
    opts = b""
    if tsresol is not None:
        opts += option(9, bytes([tsresol]), endian)
    if tsoffset is not None:
        opts += option(14, struct.pack(endian + "q", tsoffset), endian)
    if opts:
        opts += option(0, b"", endian)
    return _block(1, struct.pack(endian + "HHI", link_type, 0, 65535) + opts, endian)


def epb(iface: int, ts: int, data: bytes, endian: str = "<") -> bytes:
    body = (
        struct.pack(endian + "IIIII", iface, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data)) + data
    )
    return _block(6, body, endian)


def spb(data: bytes, endian: str = "<") -> bytes:
    return _block(3, struct.pack(endian + "I", len(data)) + data, endian)


def pb(iface: int, ts: int, data: bytes, endian: str = "<") -> bytes:
    body = (
        struct.pack(endian + "HHIIII", iface, 0, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data))
        + data
    )
    return _block(2, body, endian)


def other_block(btype: int, body: bytes = b"abcd", endian: str = "<") -> bytes:
    return _block(btype, body, endian)
