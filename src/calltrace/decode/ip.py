"""IPv4 and IPv6 headers, IPv6 extension headers and bounded fragment reassembly.

Pure functions over bytes: no I/O, no clock. Times are capture times passed in.

* IPv4 (RFC 791 §3.1): options skipped by IHL; the header checksum is not checked (capture
  NICs offload it and tshark does not check it by default either).
* IPv6 (RFC 8200 §4): hop-by-hop, routing, destination options and fragment headers are
  walked; AH (RFC 4302 §2.2, length in 32-bit words minus 2) is skipped; ESP and "no next
  header" end the walk.
* Fragments (RFC 791 §3.2, RFC 8200 §4.5): reassembled per (addresses, protocol, id). The
  table is bounded: at most ``max_sets`` sets (the oldest is evicted), sets older than
  ``timeout`` seconds of capture time are dropped and reported (``fragment_timeout``),
  overlapping bytes keep the first copy seen (RFC 5722 says to drop such packets; keeping
  the first copy is what most stacks and tshark do for benign retransmitted fragments), and
  a datagram may not exceed 65535 bytes.
"""

from __future__ import annotations

import socket
import struct
from collections import OrderedDict
from typing import Final

from calltrace.errors import DecodeError, MalformedInput, Truncated

__all__ = [
    "FragmentReassembler",
    "IPv4Header",
    "IPv6Header",
    "addr4",
    "addr6",
    "parse_ipv4",
    "parse_ipv6",
]

MAX_DATAGRAM: Final = 65535
_IPV6_EXT_8: Final = frozenset({0, 43, 60})  # length in 8-octet units, not counting the first
_AH: Final = 51
_FRAG6: Final = 44
_NO_NEXT: Final = 59
_V4_HEAD: Final = struct.Struct("!BxHHHxB2x4s4s")
_V6_HEAD: Final = struct.Struct("!IHBx16s16s")

_ADDR_CACHE: dict[bytes, str] = {}


def addr4(raw: bytes) -> str:
    """Dotted-quad text of a 4-byte address (cached: captures repeat a few addresses)."""
    text = _ADDR_CACHE.get(raw)
    if text is None:
        if len(_ADDR_CACHE) >= 8192:
            _ADDR_CACHE.clear()
        text = _ADDR_CACHE[raw] = socket.inet_ntop(socket.AF_INET, raw)
    return text


def addr6(raw: bytes) -> str:
    """RFC 5952 text (compressed, lower case, as tshark prints) of a 16-byte address."""
    text = _ADDR_CACHE.get(raw)
    if text is None:
        if len(_ADDR_CACHE) >= 8192:
            _ADDR_CACHE.clear()
        text = _ADDR_CACHE[raw] = socket.inet_ntop(socket.AF_INET6, raw)
    return text


class IPv4Header:
    """The fields of an IPv4 header the decoder needs (a plain slotted object, never
    handed out of the decode layer)."""

    __slots__ = ("dst", "end", "frag_offset", "ident", "more", "payload_at", "proto", "src")

    def __init__(
        self,
        *,
        src: bytes,
        dst: bytes,
        proto: int,
        ident: int,
        more: bool,
        frag_offset: int,
        payload_at: int,
        end: int,
    ) -> None:
        self.src = src
        self.dst = dst
        self.proto = proto
        self.ident = ident
        self.more = more
        self.frag_offset = frag_offset
        self.payload_at = payload_at
        self.end = end


def parse_ipv4(data: bytes, off: int) -> IPv4Header:
    """Parse the IPv4 header at ``data[off:]``; raise a DecodeError (layer ``ip``) if bad."""
    if len(data) - off < 20:
        raise Truncated(f"IPv4 header needs 20 bytes, {len(data) - off} left", layer="ip")
    ver_ihl, total, ident, frag, proto, src, dst = _V4_HEAD.unpack_from(data, off)
    if ver_ihl >> 4 != 4:
        raise MalformedInput(
            f"IP version {ver_ihl >> 4} in an IPv4 header", layer="ip", kind="bad_version"
        )
    hlen = (ver_ihl & 0x0F) * 4
    if hlen < 20:
        raise MalformedInput(f"IPv4 IHL {hlen // 4} is below 5", layer="ip", kind="bad_ihl")
    avail = len(data) - off
    if hlen > avail:
        raise Truncated(f"IPv4 header of {hlen} bytes, {avail} captured", layer="ip")
    if total == 0:
        total = avail  # TCP segmentation offload: the NIC fills the length in later
    elif total < hlen:
        raise MalformedInput(
            f"IPv4 total length {total} below header length {hlen}",
            layer="ip",
            kind="bad_total_length",
        )
    elif total > avail:
        raise Truncated(f"IPv4 total length {total}, {avail} bytes captured", layer="ip")
    return IPv4Header(
        src=src,
        dst=dst,
        proto=proto,
        ident=ident,
        more=bool(frag & 0x2000),
        frag_offset=(frag & 0x1FFF) * 8,
        payload_at=off + hlen,
        end=off + total,
    )


class IPv6Header:
    """An IPv6 header after the extension-header walk: the upper-layer protocol, where
    its bytes are, and the fragment header's fields if there was one."""

    __slots__ = ("dst", "end", "frag", "payload_at", "proto", "src")

    def __init__(
        self,
        *,
        src: bytes,
        dst: bytes,
        proto: int,
        payload_at: int,
        end: int,
        frag: tuple[int, bool, int] | None,
    ) -> None:
        self.src = src
        self.dst = dst
        self.proto = proto
        self.payload_at = payload_at
        self.end = end
        self.frag = frag  # (offset, more, identification)


def parse_ipv6(data: bytes, off: int) -> IPv6Header:
    """Parse the IPv6 header at ``data[off:]`` and walk its extension headers (RFC 8200 §4).

    The walk stops at the first fragment header: what follows it belongs to the
    fragmentable part and is walked again after reassembly (see :func:`walk_ext`).
    """
    if len(data) - off < 40:
        raise Truncated(f"IPv6 header needs 40 bytes, {len(data) - off} left", layer="ip")
    vtf, plen, nxt, src, dst = _V6_HEAD.unpack_from(data, off)
    if vtf >> 28 != 6:
        raise MalformedInput(
            f"IP version {vtf >> 28} in an IPv6 header", layer="ip", kind="bad_version"
        )
    start = off + 40
    avail = len(data) - start
    if plen == 0:
        plen = avail  # jumbogram (RFC 2675) or offloaded length: take what was captured
    elif plen > avail:
        raise Truncated(f"IPv6 payload length {plen}, {avail} bytes captured", layer="ip")
    end = start + plen
    proto, at, frag = walk_ext(data, nxt, start, end)
    return IPv6Header(src=src, dst=dst, proto=proto, payload_at=at, end=end, frag=frag)


def walk_ext(
    data: bytes, nxt: int, at: int, end: int
) -> tuple[int, int, tuple[int, bool, int] | None]:
    """Skip IPv6 extension headers from ``at``: return (upper protocol, its offset,
    fragment fields or None). After a fragment header the returned protocol is the
    fragment header's next header and the offset is just past it."""
    for _ in range(16):  # a bound: real packets carry two or three at most
        if nxt in _IPV6_EXT_8:
            if end - at < 8:
                raise Truncated("IPv6 extension header cut short", layer="ip")
            size = (data[at + 1] + 1) * 8
        elif nxt == _AH:
            if end - at < 8:
                raise Truncated("IPv6 AH header cut short", layer="ip")
            size = (data[at + 1] + 2) * 4
        elif nxt == _FRAG6:
            if end - at < 8:
                raise Truncated("IPv6 fragment header cut short", layer="ip")
            nh, off_m, ident = struct.unpack_from("!BxHI", data, at)
            return nh, at + 8, ((off_m & 0xFFF8), bool(off_m & 1), ident)
        else:
            return nxt, at, None
        if at + size > end:
            raise Truncated(f"IPv6 extension header {nxt} overruns the packet", layer="ip")
        nxt = data[at]
        at += size
    raise MalformedInput("more than 16 IPv6 extension headers", layer="ip", kind="too_many_ext")


class _FragSet:
    """The pieces of one datagram: disjoint (start, bytes) pieces, first copy wins."""

    __slots__ = ("first_ts", "have", "pieces", "total")

    def __init__(self, ts: float) -> None:
        self.first_ts = ts
        self.pieces: list[tuple[int, bytes]] = []
        self.have = 0
        self.total = -1  # known once the last fragment (MF=0) is seen

    def add(self, start: int, chunk: bytes) -> None:
        """Insert the parts of ``chunk`` not already covered by earlier pieces."""
        end = start + len(chunk)
        cursor = start
        new: list[tuple[int, bytes]] = []
        for p_start, p_data in sorted(self.pieces):
            p_end = p_start + len(p_data)
            if p_end <= cursor:
                continue
            if p_start >= end:
                break
            if p_start > cursor:
                new.append((cursor, chunk[cursor - start : p_start - start]))
            cursor = max(cursor, p_end)
            if cursor >= end:
                break
        if cursor < end:
            new.append((cursor, chunk[cursor - start :]))
        for piece in new:
            self.pieces.append(piece)
            self.have += len(piece[1])

    def complete(self) -> bytes | None:
        if self.total < 0 or self.have < self.total:
            return None
        self.pieces.sort()
        cursor = 0
        for start, chunk in self.pieces:
            if cursor >= self.total:
                break
            if start != cursor:  # a hole below a piece that lies past the end
                return None
            cursor += len(chunk)
        return b"".join(p for _, p in self.pieces)[: self.total]


FragKey = tuple[bytes, bytes, int, int]


class FragmentReassembler:
    """Bounded reassembly of IPv4 and IPv6 fragments, by capture time."""

    __slots__ = ("_sets", "max_sets", "next_expiry", "timeout")

    def __init__(self, *, timeout: float = 30.0, max_sets: int = 4096) -> None:
        self.timeout = timeout
        self.max_sets = max_sets
        self._sets: OrderedDict[FragKey, _FragSet] = OrderedDict()
        self.next_expiry = float("inf")  # capture time at which the oldest set expires

    def __len__(self) -> int:
        return len(self._sets)

    def add(
        self,
        key: FragKey,
        offset: int,
        more: bool,
        chunk: bytes,
        ts: float,
        errors: list[DecodeError],
    ) -> bytes | None:
        """Add one fragment; return the whole datagram payload once every byte is in."""
        self.expire(ts, errors)
        end = offset + len(chunk)
        if end > MAX_DATAGRAM:
            self._sets.pop(key, None)
            errors.append(
                MalformedInput(
                    f"fragment ends at {end}, beyond {MAX_DATAGRAM}",
                    layer="ip",
                    kind="fragment_too_large",
                )
            )
            return None
        fset = self._sets.get(key)
        if fset is None:
            if len(self._sets) >= self.max_sets:
                self._sets.popitem(last=False)
                errors.append(
                    MalformedInput(
                        f"more than {self.max_sets} fragment sets: oldest dropped",
                        layer="ip",
                        kind="fragment_overflow",
                    )
                )
            fset = self._sets[key] = _FragSet(ts)
            if len(self._sets) == 1:
                self.next_expiry = ts + self.timeout
        if not more:
            if fset.total >= 0 and fset.total != end:
                errors.append(
                    MalformedInput(
                        f"two last fragments ({fset.total} and {end} bytes)",
                        layer="ip",
                        kind="fragment_overlap",
                    )
                )
            elif fset.total < 0:
                fset.total = end
        fset.add(offset, chunk)
        whole = fset.complete()
        if whole is not None:
            del self._sets[key]
            self._reset_expiry()
        return whole

    def _reset_expiry(self) -> None:
        if self._sets:
            self.next_expiry = next(iter(self._sets.values())).first_ts + self.timeout
        else:
            self.next_expiry = float("inf")

    def expire(self, now: float, errors: list[DecodeError]) -> None:
        """Drop sets whose first fragment is older than ``timeout`` at capture time ``now``."""
        if now <= self.next_expiry:
            return
        limit = now - self.timeout
        sets = self._sets
        while sets:
            key, fset = next(iter(sets.items()))
            if fset.first_ts >= limit:
                break
            del sets[key]
            errors.append(
                MalformedInput(
                    f"fragments of datagram id {key[3]} incomplete after {self.timeout:g} s",
                    layer="ip",
                    kind="fragment_timeout",
                )
            )
        self._reset_expiry()

    def flush(self, errors: list[DecodeError]) -> None:
        """End of capture: every set still open is reported as incomplete."""
        for key in self._sets:
            errors.append(
                Truncated(
                    f"fragments of datagram id {key[3]} incomplete at end of capture",
                    layer="ip",
                    kind="fragment_incomplete",
                )
            )
        self._sets.clear()
        self.next_expiry = float("inf")
