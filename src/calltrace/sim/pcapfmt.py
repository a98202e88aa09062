"""pcap file format bytes (pure): the global header and per-record headers.

Classic libpcap format (draft-ietf-opsawg-pcap §4 and §5): a 24-byte global header
with the magic number that tells readers the byte order and timestamp resolution,
then per frame a 16-byte record header (seconds, fraction, captured and original
length). We write little-endian, the native order of nearly every capture host.
Timestamps are integer nanoseconds since the Unix epoch so that no float rounding
ever leaks into the bytes: the same seed gives byte-identical files.
"""

from __future__ import annotations

import struct
from typing import Final

MAGIC_US: Final = 0xA1B2C3D4  # microsecond timestamps
MAGIC_NS: Final = 0xA1B23C4D  # nanosecond timestamps
LINKTYPE_ETHERNET: Final = 1
LINKTYPE_RAW: Final = 101
DEFAULT_SNAPLEN: Final = 262144

_GLOBAL = struct.Struct("<IHHiIII")
_RECORD = struct.Struct("<IIII")
RECORD_HEADER_LEN: Final = _RECORD.size


def global_header(
    *,
    linktype: int = LINKTYPE_ETHERNET,
    snaplen: int = DEFAULT_SNAPLEN,
    nanosecond: bool = False,
) -> bytes:
    """The 24-byte pcap global header (version 2.4, thiszone 0, sigfigs 0).

    >>> global_header().hex()
    'd4c3b2a10200040000000000000000000000040001000000'
    """
    magic = MAGIC_NS if nanosecond else MAGIC_US
    return _GLOBAL.pack(magic, 2, 4, 0, 0, snaplen, linktype)


def record_header(ts_ns: int, length: int, *, nanosecond: bool = False) -> bytes:
    """The 16-byte record header for a frame of ``length`` bytes captured at ``ts_ns``.

    The frame is stored whole (captured length == original length). In microsecond
    files the fraction is truncated to whole microseconds, as libpcap does.
    """
    sec, frac = divmod(ts_ns, 1_000_000_000)
    if not nanosecond:
        frac //= 1000
    return _RECORD.pack(sec, frac, length, length)


def record(ts_ns: int, data: bytes, *, nanosecond: bool = False) -> bytes:
    """Record header followed by the frame bytes."""
    return record_header(ts_ns, len(data), nanosecond=nanosecond) + data
