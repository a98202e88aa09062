"""Sans-I/O reader for libpcap and pcapng capture files (h11 style).

The caller reads the file in chunks of any size and hands them to :meth:`CaptureReader.feed`;
:meth:`CaptureReader.next_event` returns a :class:`CaptureInfo` (file and interface facts),
a :class:`CaptureRecord` (one frame) or ``NEED_DATA``. Nothing here opens a file.

Formats:

* libpcap (pcap-savefile(5), draft-ietf-opsawg-pcap): magic ``a1b2c3d4`` (microsecond) and
  ``a1b23c4d`` (nanosecond), in either byte order; 24-byte file header, 16-byte record headers.
* pcapng (draft-ietf-opsawg-pcapng): Section Header Blocks in either byte order, several
  sections, several Interface Description Blocks per section (each with its own link type,
  ``if_tsresol`` §4.2 option 9 and ``if_tsoffset`` option 14), Enhanced Packet Blocks (§4.3),
  Simple Packet Blocks (§4.4) and the obsolete Packet Block (Appendix A). Every other block
  (NRB, ISB, DSB, custom, unknown) is skipped by its length.

Record numbers are 1-based over the whole file, as tshark numbers frames. Interfaces are
numbered over the whole file too (section 2's interface 0 follows section 1's last one), so
``info.link_types[record.interface]`` is always the record's link type.

Memory stays flat: the reader keeps the unconsumed tail of its buffer and a list of chunks
fed since, joined only when a record needs bytes beyond the tail. Each record costs one
``struct.unpack_from`` on the buffer and one slice for its data.

Errors: corrupt input raises :class:`MalformedInput` with ``layer="pcap"``. What happens
after is decided per case and documented at each raise: for libpcap, and for pcapng blocks
whose length cannot be trusted (not a multiple of 4, too small, absurdly large), the reader
stops: later ``next_event()`` calls return ``NEED_DATA`` and ``close()`` is silent. For a
pcapng block whose trailing length disagrees with its leading one, the block is skipped by
its leading length and reading goes on (a resynchronisation that works when only the
trailer is damaged).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Final

from calltrace.decode._construct import make_record
from calltrace.errors import MalformedInput, Truncated, Unsupported, UsageError
from calltrace.model import NEED_DATA, CaptureInfo, CaptureRecord, _NeedData

__all__ = ["CaptureReader"]

# Largest record/block we believe. tshark refuses records above 256 KiB for most link
# types (WTAP_MAX_PACKET_SIZE_STANDARD); a little more room costs nothing.
MAX_RECORD: Final = 1 << 20
MAX_BLOCK: Final = 16 << 20

_PCAP_MAGIC: Final = {
    b"\xd4\xc3\xb2\xa1": ("<", False),
    b"\xa1\xb2\xc3\xd4": (">", False),
    b"\x4d\x3c\xb2\xa1": ("<", True),
    b"\xa1\xb2\x3c\x4d": (">", True),
}
_SHB: Final = 0x0A0D0D0A
_SHB_BYTES: Final = b"\x0a\x0d\x0d\x0a"
_BOM_LE: Final = b"\x4d\x3c\x2b\x1a"
_BOM_BE: Final = b"\x1a\x2b\x3c\x4d"
_IDB: Final = 1
_PB: Final = 2
_SPB: Final = 3
_EPB: Final = 6
_OPT_TSRESOL: Final = 9
_OPT_TSOFFSET: Final = 14

_Event = CaptureInfo | CaptureRecord


class _Interface:
    """What an IDB says about its frames: link type, snap length, timestamp scale."""

    __slots__ = ("divisor", "link_type", "offset", "snaplen")

    def __init__(self, link_type: int, snaplen: int, divisor: int, offset: int) -> None:
        self.link_type = link_type
        self.snaplen = snaplen
        self.divisor = divisor
        self.offset = offset


class CaptureReader:
    """Turn the bytes of a pcap or pcapng file into capture events.

    >>> import struct
    >>> r = CaptureReader()
    >>> r.feed(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    >>> r.feed(struct.pack("<IIII", 10, 500000, 3, 3) + b"abc")
    >>> [type(e).__name__ for e in r.events()]
    ['CaptureInfo', 'CaptureRecord']
    """

    def __init__(self) -> None:
        self.info: CaptureInfo | None = None
        self._buf = b""
        self._pos = 0
        self._pending: list[bytes] = []
        self._pending_len = 0
        self._number = 0
        self._closed = False
        self._dead = False
        # libpcap state
        self._format = ""
        self._rec_fmt: struct.Struct | None = None
        self._nano = False
        self._link_type = 0
        self._snaplen = 0
        # pcapng state
        self._endian = "<"
        self._ifaces: list[_Interface] = []
        self._section_base = 0

    # -- buffer ----------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Append bytes read from the file; chunks may be any size, even one byte."""
        if self._closed:
            raise UsageError("feed() after close()", layer="pcap", kind="feed_after_close")
        if not data or self._dead:
            return
        if self._pos >= len(self._buf) and not self._pending:
            self._buf = bytes(data)
            self._pos = 0
        else:
            self._pending.append(bytes(data))
            self._pending_len += len(data)

    def _have(self, n: int) -> bool:
        """True when ``n`` bytes from the current position are in ``_buf`` (joining the
        pending chunks only when they are needed: amortised linear in the input)."""
        avail = len(self._buf) - self._pos
        if avail >= n:
            return True
        if avail + self._pending_len < n:
            return False
        self._buf = self._buf[self._pos :] + b"".join(self._pending)
        self._pos = 0
        self._pending.clear()
        self._pending_len = 0
        return True

    def _remaining(self) -> int:
        return len(self._buf) - self._pos + self._pending_len

    # -- events ----------------------------------------------------------------------

    def next_event(self) -> CaptureInfo | CaptureRecord | _NeedData:
        """The next complete event, or ``NEED_DATA`` when more bytes must be fed."""
        if self._dead:
            return NEED_DATA
        try:
            if not self._format:
                return self._read_magic()
            if self._rec_fmt is not None:
                return self._next_pcap()
            return self._next_pcapng()
        except Unsupported:
            self._dead = True
            raise
        except MalformedInput as err:
            if err.kind != "block_length_mismatch":
                self._dead = True
            raise

    def events(self) -> Iterator[CaptureInfo | CaptureRecord]:
        """Every complete event now buffered (stops at ``NEED_DATA``; errors propagate)."""
        while True:
            if self._rec_fmt is not None and not self._dead:
                yield from self._pcap_bulk()
            event = self.next_event()
            if event is NEED_DATA:
                return
            assert not isinstance(event, _NeedData)
            yield event

    def _pcap_bulk(self) -> Iterator[CaptureRecord]:
        """The libpcap hot loop: every whole record in ``_buf``, with locals only. Stops at
        the first record that is not whole (or is suspect) and lets ``next_event`` decide."""
        assert self._rec_fmt is not None
        unpack = self._rec_fmt.unpack_from
        buf = self._buf
        pos = self._pos
        end = len(buf)
        scale = 1e-9 if self._nano else 1e-6
        link = self._link_type
        number = self._number
        while pos + 16 <= end:
            sec, frac, caplen, orig_len = unpack(buf, pos)
            stop = pos + 16 + caplen
            if stop > end or caplen > MAX_RECORD:
                break
            number += 1
            record = make_record(
                number, sec + frac * scale, 0, link, orig_len, buf[pos + 16 : stop]
            )
            pos = stop
            self._pos = pos  # state is saved before each yield: the caller may stop anywhere
            self._number = number
            yield record

    def close(self) -> None:
        """End of input. Raises :class:`Truncated` if a partial header or record remains
        (a cut capture); silent if the reader already stopped on an error."""
        if self._closed:
            return
        self._closed = True
        left = self._remaining()
        if self._dead or left == 0:
            return
        what = "file header" if not self._format else "record"
        raise Truncated(f"{left} bytes of an incomplete {what} at end of input", layer="pcap")

    # -- format detection ------------------------------------------------------------

    def _read_magic(self) -> CaptureInfo | CaptureRecord | _NeedData:
        if not self._have(4):
            return NEED_DATA
        magic = self._buf[self._pos : self._pos + 4]
        if magic == _SHB_BYTES:
            self._format = "pcapng"
            return self._next_pcapng_info()
        if magic not in _PCAP_MAGIC:
            raise MalformedInput(
                f"not a pcap or pcapng file (magic {magic.hex()})", layer="pcap", kind="bad_magic"
            )
        if not self._have(24):
            return NEED_DATA
        endian, nano = _PCAP_MAGIC[magic]
        major, _minor, _zone, _sigfigs, snaplen, network = struct.unpack_from(
            endian + "HHiIII", self._buf, self._pos + 4
        )
        if major != 2:
            raise Unsupported(f"pcap version {major}", layer="pcap", kind="bad_version")
        self._pos += 24
        self._format = "pcap"
        self._rec_fmt = struct.Struct(endian + "IIII")
        self._nano = nano
        self._link_type = network & 0xFFFF  # upper bits: FCS length (pcap-savefile(5))
        self._snaplen = snaplen
        self.info = CaptureInfo(
            format="pcap", nanosecond=nano, link_types=(self._link_type,), snaplen=snaplen
        )
        return self.info

    def _next_pcapng_info(self) -> CaptureInfo | CaptureRecord | _NeedData:
        event = self._next_pcapng()
        if event is NEED_DATA:
            self._format = ""  # SHB not complete yet: sniff again next time
        return event

    # -- libpcap ---------------------------------------------------------------------

    def _next_pcap(self) -> CaptureRecord | _NeedData:
        if not self._have(16):
            return NEED_DATA
        assert self._rec_fmt is not None
        sec, frac, caplen, orig_len = self._rec_fmt.unpack_from(self._buf, self._pos)
        if caplen > MAX_RECORD and caplen > self._snaplen:
            # A length this size means the record header is garbage: there is no way to
            # find the next record, so the reader stops here.
            raise MalformedInput(
                f"record {self._number + 1} claims {caplen} captured bytes",
                layer="pcap",
                kind="bad_record_length",
            )
        if not self._have(16 + caplen):
            return NEED_DATA
        start = self._pos + 16
        data = self._buf[start : start + caplen]
        self._pos = start + caplen
        self._number += 1
        ts = sec + frac * 1e-9 if self._nano else sec + frac * 1e-6
        return make_record(self._number, ts, 0, self._link_type, orig_len, data)

    # -- pcapng ----------------------------------------------------------------------

    def _next_pcapng(self) -> CaptureInfo | CaptureRecord | _NeedData:
        while True:
            if not self._have(12):
                return NEED_DATA
            buf, pos = self._buf, self._pos
            if buf[pos : pos + 4] == _SHB_BYTES:
                return self._read_shb()
            btype, blen = struct.unpack_from(self._endian + "II", buf, pos)
            if blen < 12 or blen % 4 or blen > MAX_BLOCK:
                raise MalformedInput(
                    f"pcapng block type {btype:#x} has length {blen}",
                    layer="pcap",
                    kind="bad_block_length",
                )
            if not self._have(blen):
                return NEED_DATA
            buf, pos = self._buf, self._pos
            self._pos = pos + blen
            self._check_trailer(buf, pos, blen, btype)
            event = self._block(btype, buf, pos, blen)
            if event is not None:
                return event

    def _check_trailer(self, buf: bytes, pos: int, blen: int, btype: int) -> None:
        (trailer,) = struct.unpack_from(self._endian + "I", buf, pos + blen - 4)
        if trailer != blen:
            # Skipped by its leading length (already done by the caller); reading goes on.
            raise MalformedInput(
                f"pcapng block type {btype:#x}: length {blen}, trailer says {trailer}",
                layer="pcap",
                kind="block_length_mismatch",
            )

    def _read_shb(self) -> CaptureInfo | _NeedData:
        """Section Header Block (§4.1): sets the byte order of the whole section."""
        buf, pos = self._buf, self._pos
        bom = buf[pos + 8 : pos + 12]
        if bom == _BOM_LE:
            endian = "<"
        elif bom == _BOM_BE:
            endian = ">"
        else:
            raise MalformedInput(
                f"pcapng section header with byte-order magic {bom.hex()}",
                layer="pcap",
                kind="bad_magic",
            )
        (blen,) = struct.unpack_from(endian + "I", buf, pos + 4)
        if blen < 28 or blen % 4 or blen > MAX_BLOCK:
            raise MalformedInput(
                f"pcapng section header length {blen}", layer="pcap", kind="bad_block_length"
            )
        if not self._have(blen):
            return NEED_DATA
        buf, pos = self._buf, self._pos
        (major,) = struct.unpack_from(endian + "H", buf, pos + 12)
        if major != 1:
            raise Unsupported(f"pcapng version {major}", layer="pcap", kind="bad_version")
        self._endian = endian
        self._pos = pos + blen
        self._section_base = len(self._ifaces)
        self._check_trailer(buf, pos, blen, _SHB)
        return self._update_info()

    def _update_info(self) -> CaptureInfo:
        ifaces = self._ifaces
        self.info = CaptureInfo(
            format="pcapng",
            nanosecond=any(i.divisor > 1_000_000 for i in ifaces),
            link_types=tuple(i.link_type for i in ifaces),
            snaplen=ifaces[0].snaplen if ifaces else 0,
        )
        return self.info

    def _block(self, btype: int, buf: bytes, pos: int, blen: int) -> _Event | None:
        if btype == _EPB:
            return self._read_epb(buf, pos, blen)
        if btype == _IDB:
            return self._read_idb(buf, pos, blen)
        if btype == _SPB:
            return self._read_spb(buf, pos, blen)
        if btype == _PB:
            return self._read_pb(buf, pos, blen)
        return None  # NRB, ISB, DSB, custom and unknown blocks carry no frames

    def _read_idb(self, buf: bytes, pos: int, blen: int) -> CaptureInfo:
        """Interface Description Block (§4.2) with its ``if_tsresol``/``if_tsoffset``."""
        if blen < 20:
            raise MalformedInput(f"IDB length {blen}", layer="pcap", kind="bad_block_length")
        link_type, _res, snaplen = struct.unpack_from(self._endian + "HHI", buf, pos + 8)
        divisor, offset = 1_000_000, 0
        for code, value in self._options(buf, pos + 16, pos + blen - 4):
            if code == _OPT_TSRESOL and len(value) >= 1:
                v = value[0]
                exp = v & 0x7F
                if exp > 63:
                    raise Unsupported(f"if_tsresol {v:#x}", layer="pcap", kind="bad_tsresol")
                divisor = 2**exp if v & 0x80 else 10**exp
            elif code == _OPT_TSOFFSET and len(value) >= 8:
                (offset,) = struct.unpack_from(self._endian + "q", value)
        self._ifaces.append(_Interface(link_type, snaplen, divisor, offset))
        return self._update_info()

    def _options(self, buf: bytes, start: int, end: int) -> Iterator[tuple[int, bytes]]:
        """Walk a pcapng option list (§3.5): code, length, value padded to 32 bits."""
        fmt = self._endian + "HH"
        while start + 4 <= end:
            code, length = struct.unpack_from(fmt, buf, start)
            if code == 0:
                return
            value = buf[start + 4 : start + 4 + length]
            if len(value) < length:
                raise MalformedInput(
                    "pcapng option overruns its block", layer="pcap", kind="bad_option"
                )
            yield code, value
            start += 4 + ((length + 3) & ~3)

    def _iface(self, local_id: int) -> tuple[int, _Interface]:
        index = self._section_base + local_id
        if local_id >= len(self._ifaces) - self._section_base:
            raise MalformedInput(
                f"packet for interface {local_id}, which no IDB described",
                layer="pcap",
                kind="unknown_interface",
            )
        return index, self._ifaces[index]

    def _record(
        self, index: int, iface: _Interface, ts64: int, orig_len: int, data: bytes
    ) -> CaptureRecord:
        divisor = iface.divisor
        sec, frac = divmod(ts64, divisor)
        self._number += 1
        ts = sec + iface.offset + frac / divisor
        return make_record(self._number, ts, index, iface.link_type, orig_len, data)

    def _read_epb(self, buf: bytes, pos: int, blen: int) -> CaptureRecord:
        """Enhanced Packet Block (§4.3): a 32-bit interface id."""
        return self._read_packet_block("EPB", "IIIII", buf, pos, blen)

    def _read_pb(self, buf: bytes, pos: int, blen: int) -> CaptureRecord:
        """Obsolete Packet Block (Appendix A): a 16-bit interface id and a drops count."""
        return self._read_packet_block("PB", "HHIIII", buf, pos, blen)

    def _read_packet_block(
        self, name: str, layout: str, buf: bytes, pos: int, blen: int
    ) -> CaptureRecord:
        """EPB and PB share their shape: 20 bytes of interface id (+ drops), timestamp
        high/low, captured and original length, then the data at offset 28."""
        if blen < 32:
            raise MalformedInput(f"{name} length {blen}", layer="pcap", kind="bad_block_length")
        fields = struct.unpack_from(self._endian + layout, buf, pos + 8)
        iface_id = fields[0]
        hi, lo, caplen, orig_len = fields[-4:]
        if caplen > blen - 32:
            raise MalformedInput(
                f"{name} captured length {caplen} exceeds its block ({blen})",
                layer="pcap",
                kind="bad_record_length",
            )
        index, iface = self._iface(iface_id)
        data = buf[pos + 28 : pos + 28 + caplen]
        return self._record(index, iface, (hi << 32) | lo, orig_len, data)

    def _read_spb(self, buf: bytes, pos: int, blen: int) -> CaptureRecord:
        """Simple Packet Block (§4.4): interface 0 of the section, no timestamp (ts 0)."""
        if blen < 16:
            raise MalformedInput(f"SPB length {blen}", layer="pcap", kind="bad_block_length")
        (orig_len,) = struct.unpack_from(self._endian + "I", buf, pos + 8)
        index, iface = self._iface(0)
        caplen = min(orig_len, blen - 16)
        if iface.snaplen:
            caplen = min(caplen, iface.snaplen)
        data = buf[pos + 12 : pos + 12 + caplen]
        self._number += 1
        return CaptureRecord(
            number=self._number,
            ts=0.0,
            interface=index,
            link_type=iface.link_type,
            orig_len=orig_len,
            data=data,
        )
