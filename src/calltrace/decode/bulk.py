"""Capture records in bulk: many records per Python step, classified with NumPy (pure).

The per-record path (:class:`~calltrace.decode.pcap.CaptureReader` then
:class:`~calltrace.decode.frames.FrameDecoder`) makes two Python objects per frame, about
10 µs in all. Most frames of a VoIP capture are plain UDP over IPv4 carrying RTP, and for
those nothing needs an object: :class:`BulkCapture` cuts a chunk of a classic pcap file into
records with one short loop over the record headers (the only per-record Python, ~0.25 µs)
and returns a :class:`RecordBatch` of columns over the chunk's bytes; :func:`classify_udp`
then finds, with array gathers on a ``uint8`` view, every record that is plain
UDP-over-IPv4 (and, given an address table, plain UDP-over-IPv6: decode/bulk6.py) and
where its payload lies.

"Plain" is exactly what the per-record path would decode without any state or any error:
Ethernet (none, one or two 802.1Q/802.1ad/QinQ tags), Linux SLL and SLL2, raw IP, BSD
NULL/LOOP; an IPv4 header that parses (any IHL, total length within the capture, not 0),
not a fragment, protocol UDP, a UDP length within the IP payload. Everything else (TCP,
IPv6 not plain by decode/bulk6.py's rules, fragments, tunnels, SNAP, MPLS, odd or truncated
headers) is left to the per-record
path, which therefore keeps its errors and reassembly state untouched. pcapng files are
read by :class:`CaptureReader` (its records are already objects) and batched the same way,
so their UDP still skips the frame decoder.

Errors match the per-record reader's: a record length that cannot be trusted ends the file
(``bad_record_length``) and a cut last record raises :class:`Truncated` from ``close()``.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from calltrace.decode._construct import make_record
from calltrace.decode.bulk6 import Addresses, fill_ipv6
from calltrace.decode.pcap import _PCAP_MAGIC, MAX_RECORD, CaptureReader
from calltrace.errors import DecodeError, MalformedInput, Truncated, Unsupported
from calltrace.model import CaptureInfo, CaptureRecord

__all__ = ["BulkCapture", "RecordBatch", "UdpColumns", "classify_udp", "walk", "windows"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]
B = npt.NDArray[np.bool_]

#: Records gathered into one batch from pcapng (the objects exist already; cap memory).
PCAPNG_BATCH: Final = 16384
#: Bytes of classic pcap cut into one batch: fewer, larger batches amortise the per-batch
#: NumPy calls (a batch's columns take about 4x its record count in int64s).
BATCH_BYTES: Final = 8 << 20
#: Bytes of each frame read at once by :func:`classify_udp` (link + IPv4 with options +
#: UDP header + the first payload byte fit; a frame needing more goes the per-record way).
WINDOW: Final = 96
_IPV4: Final = 0x0800
_IPV6: Final = 0x86DD
_VLAN: Final = (0x8100, 0x88A8, 0x9100)


@dataclass(slots=True)
class RecordBatch:
    """Records of one chunk as columns: ``data[start[i] : start[i] + caplen[i]]`` is frame i."""

    data: bytes
    number: I64
    ts: F64
    start: I64
    caplen: I64
    link: I64
    orig_len: I64
    interface: I64
    records: list[CaptureRecord] | None = None  # pcapng: the reader's own objects

    def __len__(self) -> int:
        return len(self.number)

    def record(self, i: int) -> CaptureRecord:
        """Frame ``i`` as the per-record path's object (for frames it must decode)."""
        if self.records is not None:
            return self.records[i]
        start = int(self.start[i])
        return make_record(
            int(self.number[i]),
            float(self.ts[i]),
            int(self.interface[i]),
            int(self.link[i]),
            int(self.orig_len[i]),
            self.data[start : start + int(self.caplen[i])],
        )


class BulkCapture:
    """Feed file chunks; :meth:`batches` gives :class:`RecordBatch`, :class:`CaptureInfo`
    and :class:`DecodeError` items in file order. Classic pcap is cut here; anything else
    goes through :class:`CaptureReader`.

    >>> cap = BulkCapture()
    >>> cap.feed(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    >>> cap.feed(struct.pack("<IIII", 10, 500000, 3, 3) + b"abc")
    >>> [type(item).__name__ for item in cap.batches(final=True)]
    ['CaptureInfo', 'RecordBatch']
    """

    def __init__(self) -> None:
        self.info: CaptureInfo | None = None
        self._buf = b""
        self._reader: CaptureReader | None = None
        self._endian = "<"
        self._scale = 1e-6
        self._link = 0
        self._snaplen = 0
        self._number = 0
        self._dead = False
        self._header = False
        self._closed = False
        self._chunks: list[bytes] = []  # fed since the last cut, joined once at the next
        self._pending = 0

    def feed(self, data: bytes) -> None:
        """Append bytes read from the file."""
        if self._reader is not None:
            self._reader.feed(data)
        elif not self._dead and data:
            self._chunks.append(bytes(data))
            self._pending += len(data)

    def _join(self) -> None:
        if self._chunks:
            self._buf = b"".join([self._buf, *self._chunks])
            self._chunks, self._pending = [], 0

    def batches(self, *, final: bool = False) -> Iterator[RecordBatch | CaptureInfo | DecodeError]:
        """Everything complete so far. Errors are yielded, not raised. Classic pcap is cut
        once :data:`BATCH_BYTES` are buffered, or at once when ``final`` (end of file)."""
        if self._reader is None and not self._header and not self._dead:
            self._join()
            yield from self._sniff()
        if self._reader is not None:
            yield from self._from_reader(self._reader)
        elif self._header and not self._dead and (final or self._pending >= BATCH_BYTES):
            self._join()
            yield from self._pcap()

    def close(self) -> None:
        """End of input: raise :class:`Truncated` if part of a header or record is left."""
        if self._closed:
            return
        self._closed = True
        if self._reader is not None:
            self._reader.close()
            return
        self._join()
        if self._dead or not self._buf:
            return
        what = "record" if self._header else "file header"
        raise Truncated(
            f"{len(self._buf)} bytes of an incomplete {what} at end of input", layer="pcap"
        )

    # -- format ------------------------------------------------------------------------

    def _sniff(self) -> Iterator[CaptureInfo | DecodeError]:
        buf = self._buf
        if len(buf) < 4:
            return
        magic = buf[:4]
        if magic not in _PCAP_MAGIC:  # pcapng, or garbage the reader reports its way
            self._reader = CaptureReader()
            self._reader.feed(buf)
            self._buf = b""
            return
        if len(buf) < 24:
            return
        endian, nano = _PCAP_MAGIC[magic]
        major, _minor, _zone, _sig, snaplen, network = struct.unpack_from(endian + "HHiIII", buf, 4)
        if major != 2:
            self._dead = True
            yield Unsupported(f"pcap version {major}", layer="pcap", kind="bad_version")
            return
        self._header = True
        self._endian, self._scale = endian, 1e-9 if nano else 1e-6
        self._link, self._snaplen = network & 0xFFFF, snaplen
        self._buf = buf[24:]
        self.info = CaptureInfo(
            format="pcap", nanosecond=nano, link_types=(self._link,), snaplen=snaplen
        )
        yield self.info

    def _from_reader(
        self, reader: CaptureReader
    ) -> Iterator[RecordBatch | CaptureInfo | DecodeError]:
        records: list[CaptureRecord] = []
        while True:
            try:
                for event in reader.events():
                    if type(event) is CaptureRecord:
                        records.append(event)
                        if len(records) >= PCAPNG_BATCH:
                            yield _batch_of(records)
                            records = []
                        continue
                    if records:
                        yield _batch_of(records)
                        records = []
                    assert isinstance(event, CaptureInfo)
                    self.info = event
                    yield event
                break
            except DecodeError as err:
                # records before the error first; the reader decides whether it goes on
                if records:
                    yield _batch_of(records)
                    records = []
                self.info = reader.info
                yield err
        if records:
            yield _batch_of(records)
        self.info = reader.info

    # -- classic pcap ------------------------------------------------------------------

    def _pcap(self) -> Iterator[RecordBatch | DecodeError]:
        buf = self._buf
        starts, pos, bad = walk(buf, self._endian == "<", self._snaplen, MAX_RECORD)
        if len(starts):
            yield self._pcap_batch(buf, np.frombuffer(starts, dtype=np.int64))
        self._buf = buf[pos:]
        if bad >= 0:
            self._dead = True
            self._buf = b""
            yield MalformedInput(
                f"record {self._number + 1} claims {bad} captured bytes",
                layer="pcap",
                kind="bad_record_length",
            )

    def _pcap_batch(self, buf: bytes, at: I64) -> RecordBatch:
        n = len(at)
        u8 = np.frombuffer(buf, dtype=np.uint8)
        head = windows(u8, at, 16).view(self._endian + "u4").astype(np.int64)  # one gather
        sec, frac, caplen, orig = head[:, 0], head[:, 1], head[:, 2], head[:, 3]
        number = np.arange(self._number + 1, self._number + 1 + n, dtype=np.int64)
        self._number += n
        ts = sec.astype(np.float64) + frac * self._scale  # as the reader: sec + frac * scale
        return RecordBatch(
            data=buf,
            number=number,
            ts=ts,
            start=at + 16,
            caplen=caplen,
            link=np.full(n, self._link, dtype=np.int64),
            orig_len=orig,
            interface=np.zeros(n, dtype=np.int64),
        )


def walk_pure(
    buf: bytes, little_endian: bool, snaplen: int, max_record: int
) -> tuple[bytes, int, int]:
    """Offsets of the whole records in ``buf`` (native int64s, as bytes), where the next
    one starts, and the captured length of a record whose length cannot be trusted (the
    file ends there) or -1. The reference for the native ``_bulkfast.walk``."""
    unpack = struct.Struct("<I" if little_endian else ">I").unpack_from
    starts: list[int] = []
    append = starts.append
    pos, end = 0, len(buf)
    while pos + 16 <= end:
        (caplen,) = unpack(buf, pos + 8)
        if caplen > max_record and caplen > snaplen:
            return np.array(starts, dtype=np.int64).tobytes(), pos, caplen
        stop = pos + 16 + caplen
        if stop > end:
            break
        append(pos)
        pos = stop
    return np.array(starts, dtype=np.int64).tobytes(), pos, -1


def _native_walk() -> Callable[[bytes, bool, int, int], tuple[bytes, int, int]] | None:
    if os.environ.get("CALLTRACE_PURE_PYTHON", "") not in ("", "0"):
        return None
    try:
        from calltrace.decode import _bulkfast
    except ImportError:
        return None
    return _bulkfast.walk


_NATIVE = _native_walk()
#: True when the record walk is native (the C helper built); else the pure loop runs.
FAST: Final = _NATIVE is not None
walk: Final = _NATIVE if _NATIVE is not None else walk_pure


def _batch_of(records: list[CaptureRecord]) -> RecordBatch:
    """A batch over records that already exist (pcapng): their data joined in one buffer."""
    lengths = np.fromiter((len(r.data) for r in records), dtype=np.int64, count=len(records))
    start = np.zeros(len(records), dtype=np.int64)
    np.cumsum(lengths[:-1], out=start[1:])
    return RecordBatch(
        data=b"".join(r.data for r in records),
        number=np.fromiter((r.number for r in records), dtype=np.int64, count=len(records)),
        ts=np.fromiter((r.ts for r in records), dtype=np.float64, count=len(records)),
        start=start,
        caplen=lengths,
        link=np.fromiter((r.link_type for r in records), dtype=np.int64, count=len(records)),
        orig_len=np.fromiter((r.orig_len for r in records), dtype=np.int64, count=len(records)),
        interface=np.fromiter((r.interface for r in records), dtype=np.int64, count=len(records)),
        records=records,
    )


def windows(u8: U8, start: I64, width: int) -> U8:
    """``u8[start[i] : start[i] + width]`` for every i as one (n, width) array, zero-padded
    past the end: one gather through a sliding-window view, no index matrix.

    >>> windows(np.arange(5, dtype=np.uint8), np.array([0, 3]), 3).tolist()
    [[0, 1, 2], [3, 4, 0]]
    """
    n = len(start)
    size = len(u8)
    if size >= width:
        view = np.lib.stride_tricks.sliding_window_view(u8, width)
        inside = start <= size - width
        if inside.all():
            out: U8 = view[start]
            return out
        out = np.zeros((n, width), dtype=np.uint8)
        out[inside] = view[start[inside]]
        rest = np.flatnonzero(~inside)
    else:
        out = np.zeros((n, width), dtype=np.uint8)
        rest = np.arange(n)
    for i in rest.tolist():
        piece = u8[int(start[i]) : int(start[i]) + width]
        out[i, : len(piece)] = piece
    return out


@dataclass(slots=True)
class UdpColumns:
    """Where :func:`classify_udp` found plain UDP (fields valid where ``plain``; addresses:
    IPv4 as their 32-bit value, IPv6 as :class:`~calltrace.decode.bulk6.Addresses` ids)."""

    plain: B
    src: I64
    dst: I64
    sport: I64
    dport: I64
    payload: I64  # offset of the UDP payload in the batch's data
    length: I64  # UDP payload length (0: an empty datagram, which makes no packet)
    first: I64  # first payload byte (-1 when empty)


def classify_udp(batch: RecordBatch, v6: Addresses | None = None) -> UdpColumns:
    """Find the plain UDP-over-IPv4 frames of ``batch`` and their fields, all at once;
    with ``v6``, the plain UDP-over-IPv6 ones too (decode/bulk6.py; addresses as its ids).

    >>> import struct
    >>> ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 32, 1, 0, 64, 17, 0, bytes(4), bytes(4))
    >>> frame = bytes(12) + b"\\x08\\x00" + ip + struct.pack("!HHHH", 7, 9, 12, 0) + b"\\x80abc"
    >>> one = lambda v: np.array([v])
    >>> batch = RecordBatch(data=frame, number=one(1), ts=one(0.0), start=one(0),
    ...     caplen=one(len(frame)), link=one(1), orig_len=one(len(frame)), interface=one(0))
    >>> cols = classify_udp(batch)
    >>> bool(cols.plain[0]), int(cols.sport[0]), int(cols.length[0]), int(cols.first[0])
    (True, 7, 4, 128)
    """
    u8 = np.frombuffer(batch.data, dtype=np.uint8)
    start, caplen, link = batch.start, batch.caplen, batch.link
    window = windows(u8, start, WINDOW)
    n = len(start)
    out = UdpColumns(
        plain=np.zeros(n, dtype=bool),
        src=np.zeros(n, dtype=np.int64),
        dst=np.zeros(n, dtype=np.int64),
        sport=np.zeros(n, dtype=np.int64),
        dport=np.zeros(n, dtype=np.int64),
        payload=np.zeros(n, dtype=np.int64),
        length=np.zeros(n, dtype=np.int64),
        first=np.full(n, -1, dtype=np.int64),
    )
    # Bytes read past a frame's end (the window runs on into the next record) are never
    # trusted: every field read is covered by a later length check against caplen.
    off = _link_offsets(window, link)
    for o in np.unique(off[off >= 0]).tolist():
        rows = np.flatnonzero(off == o)
        ip = window[:, o : o + 29] if len(rows) == n else window[rows, o : o + 29]
        plain = ip[:, 0] == 0x45  # the common header; other IHLs below
        _fill(out, rows[plain], ip[plain], start[rows[plain]] + o, caplen[rows[plain]] - o)
        odd = rows[(ip[:, 0] >> 4 == 4) & ~plain]
        if len(odd):
            _fill_generic(out, odd, window[odd], start[odd], caplen[odd], off[odd])
    if v6 is not None:
        fill_ipv6(out, window, _link_offsets(window, link, _IPV6), start, caplen, v6)
    return out


def _link_offsets(window: U8, link: I64, ethertype: int = _IPV4) -> I64:
    """Where the IP header of ``ethertype`` would start (-1: not that IP version over a
    link type handled here; IPv6 over NULL/LOOP goes the per-record way)."""

    def word(col: int) -> I64:
        out: I64 = window[:, col].astype(np.int64) << 8 | window[:, col + 1]
        return out

    off = np.full(len(link), -1, dtype=np.int64)
    eth = link == 1
    e12, e16, e20 = word(12), word(16), word(20)
    tag1 = np.isin(e12, _VLAN)
    tag2 = tag1 & np.isin(e16, _VLAN)
    off[eth & (e12 == ethertype)] = 14
    off[eth & tag1 & (e16 == ethertype)] = 18
    off[eth & tag2 & (e20 == ethertype)] = 22
    if not eth.all():
        off[(link == 113) & (word(14) == ethertype)] = 16
        off[(link == 276) & (word(0) == ethertype)] = 20
        if ethertype == _IPV6:
            off[np.isin(link, (101, 12, 14, 229))] = 0  # raw: the version nibble decides
            return off
        off[np.isin(link, (101, 12, 14, 228))] = 0
        b0, b3 = window[:, 0], window[:, 3]
        null_af = np.where(b0 > 0, b0, b3)
        off[(link == 0) & (null_af == 2)] = 4
        off[(link == 108) & (word(0) == 0) & (word(2) == 2)] = 4
    return off


def _fill(out: UdpColumns, rows: I64, ip: U8, at: I64, avail: I64) -> None:
    """Frames whose IPv4 header has no options: fields at fixed columns of ``ip``."""

    def num(*cols: int) -> I64:
        value: I64 = ip[:, cols[0]].astype(np.int64)
        for col in cols[1:]:
            value = value << 8 | ip[:, col]
        return value

    total, frag, ulen = num(2, 3), num(6, 7), num(24, 25)
    ok = (total >= 28) & (total <= avail) & ((frag & 0x3FFF) == 0) & (ip[:, 9] == 17)
    ok &= (ulen >= 8) & (ulen <= total - 20)
    keep = np.flatnonzero(ok)
    if len(keep) < len(ok):
        rows, ip, at, ulen = rows[keep], ip[keep], at[keep], ulen[keep]
    out.plain[rows] = True
    out.src[rows] = num(12, 13, 14, 15)
    out.dst[rows] = num(16, 17, 18, 19)
    out.sport[rows] = num(20, 21)
    out.dport[rows] = num(22, 23)
    out.payload[rows] = at + 28
    out.length[rows] = ulen - 8
    out.first[rows] = np.where(ulen > 8, ip[:, 28], -1)


def _fill_generic(
    out: UdpColumns, rows: I64, window: U8, start: I64, caplen: I64, off: I64
) -> None:
    """Frames with IPv4 options (rare): every field at its own offset."""
    flat = window.reshape(-1)
    base = np.arange(len(rows), dtype=np.int64) * WINDOW
    reach = np.minimum(caplen, WINDOW)  # bytes of the window that belong to the frame

    def byte(rel: I64) -> I64:
        """``frame[rel]``, or -1 where ``rel`` is outside the frame or the window."""
        ok = (rel >= 0) & (rel < reach)
        got = flat[base + np.minimum(np.maximum(rel, 0), WINDOW - 1)]
        out: I64 = np.where(ok, got.astype(np.int64), -1)
        return out

    def word(rel: I64) -> I64:
        hi, lo = byte(rel), byte(rel + 1)
        out: I64 = np.where((hi >= 0) & (lo >= 0), hi * 256 + lo, -1)
        return out

    # IPv4 header (decode/ip.py parse_ipv4), not a fragment, UDP
    vihl = byte(off)
    hlen = (vihl & 0x0F) * 4
    total = word(off + 2)
    frag = word(off + 6)
    proto = byte(off + 9)
    avail = caplen - off
    ok = (off >= 0) & (vihl >> 4 == 4) & (hlen >= 20) & (hlen <= avail)
    ok &= (total >= hlen) & (total <= avail) & (total > 0)
    ok &= (frag >= 0) & ((frag & 0x3FFF) == 0) & (proto == 17)
    udp = off + hlen
    ulen = word(udp + 4)
    ok &= (total - hlen >= 8) & (ulen >= 8) & (ulen <= total - hlen) & (udp + 9 <= WINDOW)
    length = np.where(ok, ulen - 8, 0)

    def addr(rel: I64) -> I64:
        out: I64 = word(rel) * 65536 + word(rel + 2)
        return out

    first = np.where(ok & (length > 0), byte(udp + 8), -1)
    keep = np.flatnonzero(ok)
    rows = rows[keep]
    out.plain[rows] = True
    out.src[rows] = addr(off + 12)[keep]
    out.dst[rows] = addr(off + 16)[keep]
    out.sport[rows] = word(udp)[keep]
    out.dport[rows] = word(udp + 2)[keep]
    out.payload[rows] = (start + udp + 8)[keep]
    out.length[rows] = length[keep]
    out.first[rows] = first[keep]
