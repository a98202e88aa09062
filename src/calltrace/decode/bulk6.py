"""IPv6 for the bulk lane: address ids for the columns, and plain UDP over IPv6 found at once.

The bulk lane's columns hold addresses as integers. An IPv4 address is its own 32-bit
value; an IPv6 address gets an id from :class:`Addresses`, ``V6_BASE`` (2**32) and up, in
order of first sight and never reused, so the two never meet and a cached route stays
right for the whole run. The table is bounded (``MAX_V6`` addresses): past it, frames
with a new IPv6 address are simply not plain and go the per-record way (correct, slower).

:func:`fill_ipv6` marks "plain" exactly the IPv6 frames the frame decoder
(decode/frames.py, decode/ip.py ``parse_ipv6``) would turn into one UDP packet without
state or error: version 6, next header UDP (17) in the fixed 40-byte header (any
extension header, a fragment header included, goes the per-record way), a payload length
that is not 0 (a jumbogram) and lies within the capture, and a UDP length of at least 8
within that payload.

>>> book = Addresses()
>>> raw = np.zeros((2, 16), dtype=np.uint8); raw[1, 15] = 1
>>> ids = book.ids(raw); ids.tolist() == [V6_BASE, V6_BASE + 1], book.text(int(ids[1]))
(True, '::1')
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

from calltrace.decode.ip import addr4, addr6

if TYPE_CHECKING:
    from calltrace.decode.bulk import UdpColumns

__all__ = ["MAX_V6", "V6_BASE", "Addresses", "fill_ipv6", "host_pairs"]

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]

V6_BASE: Final = 1 << 32
MAX_V6: Final = 1 << 18


class Addresses:
    """IPv6 address <-> column id (``V6_BASE`` + n), bounded, ids never reused."""

    def __init__(self, limit: int = MAX_V6) -> None:
        self.limit = limit
        self._ids: dict[bytes, int] = {}
        self._texts: list[str] = []

    def ids(self, raw: U8) -> I64:
        """Ids of the ``(n, 16)`` addresses; -1 for new ones once the table is full."""
        keys = np.ascontiguousarray(raw).view(np.dtype((np.void, 16))).ravel()
        uniq, inverse = np.unique(keys, return_inverse=True)
        known = self._ids
        got = np.empty(len(uniq), dtype=np.int64)
        for i, key in enumerate(uniq.tolist()):
            ident = known.get(key)
            if ident is None:
                if len(self._texts) >= self.limit:
                    got[i] = -1
                    continue
                ident = known[key] = V6_BASE + len(self._texts)
                self._texts.append(addr6(key))
            got[i] = ident
        out: I64 = got[inverse.ravel()]
        return out

    def text(self, ident: int) -> str:
        """The address of a column value: IPv4 as dotted quad, an IPv6 id as RFC 5952."""
        if ident >= V6_BASE:
            return self._texts[ident - V6_BASE]
        return addr4(ident.to_bytes(4, "big"))

    def lookup(self, text: str) -> int | None:
        """The column value of an address in text form, None when no column can hold it
        (an IPv6 address not seen yet, or not an address)."""
        try:
            addr = ipaddress.ip_address(text)
        except ValueError:
            return None
        if addr.version == 4:
            return int(addr)
        return self._ids.get(addr.packed)


def fill_ipv6(
    out: UdpColumns, window: U8, off: I64, start: I64, caplen: I64, book: Addresses
) -> None:
    """Mark and fill the plain UDP-over-IPv6 frames (module docstring); ``off`` is where
    an IPv6 header would start in each frame (-1: not IPv6 on a link type handled)."""
    for o in np.unique(off[off >= 0]).tolist():
        rows = np.flatnonzero(off == o)
        ip = window[rows, o : o + 49]

        def num(a: int, b: int, cols: U8 = ip) -> I64:
            value: I64 = cols[:, a].astype(np.int64) << 8 | cols[:, b]
            return value

        plen, ulen = num(4, 5), num(44, 45)
        avail = caplen[rows] - o
        ok = (ip[:, 0] >> 4 == 6) & (ip[:, 6] == 17) & (plen >= 8) & (40 + plen <= avail)
        ok &= (ulen >= 8) & (ulen <= plen)
        keep = np.flatnonzero(ok)
        if len(keep) == 0:
            continue
        ip, rows, ulen = ip[keep], rows[keep], ulen[keep]
        src, dst = book.ids(ip[:, 8:24]), book.ids(ip[:, 24:40])
        known = (src >= 0) & (dst >= 0)  # a full table: new addresses go per record
        if not known.all():
            ip, rows, ulen, src, dst = ip[known], rows[known], ulen[known], src[known], dst[known]
        out.plain[rows] = True
        out.src[rows] = src
        out.dst[rows] = dst
        out.sport[rows] = num(40, 41, ip)
        out.dport[rows] = num(42, 43, ip)
        out.payload[rows] = start[rows] + o + 48
        out.length[rows] = ulen - 8
        out.first[rows] = np.where(ulen > 8, ip[:, 48], -1)


def host_pairs(src: I64, dst: I64) -> tuple[I64, I64, I64]:
    """The distinct (source, destination) address pairs of the rows: their sources, their
    destinations, and each row's pair index. IPv4-only rows pack a pair in 64 bits; with
    IPv6 ids (up to 2**33) the addresses are ranked first.

    >>> s, d, of = host_pairs(np.array([1, V6_BASE, 1]), np.array([2, 3, 2]))
    >>> s.tolist(), d.tolist(), of.tolist()
    ([1, 4294967296], [2, 3], [0, 1, 0])
    """
    if int(src.max()) < V6_BASE and int(dst.max()) < V6_BASE:
        hosts = (src.astype(np.uint64) << np.uint64(32)) | dst.astype(np.uint64)
        keys, of = np.unique(hosts, return_inverse=True)
        pair_src: I64 = (keys >> np.uint64(32)).astype(np.int64)
        pair_dst: I64 = (keys & np.uint64(0xFFFFFFFF)).astype(np.int64)
        return pair_src, pair_dst, of.ravel()
    addrs, rank = np.unique(np.concatenate((src, dst)), return_inverse=True)
    rank = rank.ravel()
    size = len(addrs)
    keys, of = np.unique(rank[: len(src)] * size + rank[len(src) :], return_inverse=True)
    return addrs[keys // size], addrs[keys % size], of.ravel()
