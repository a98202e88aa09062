"""CaptureReader: libpcap and pcapng, chunked feeding, corrupt input, dpkt cross-check."""

from __future__ import annotations

import struct
from pathlib import Path

import dpkt
import pytest

from calltrace.decode.pcap import CaptureReader
from calltrace.errors import MalformedInput, Truncated, UsageError
from calltrace.model import NEED_DATA, CaptureInfo, CaptureRecord
from tests.decode import _build as b


def read_all(data: bytes, chunk: int = 0) -> list[CaptureInfo | CaptureRecord]:
    reader = CaptureReader()
    events: list[CaptureInfo | CaptureRecord] = []
    if chunk:
        for i in range(0, len(data), chunk):
            reader.feed(data[i : i + chunk])
            events.extend(reader.events())
    else:
        reader.feed(data)
        events.extend(reader.events())
    reader.close()
    return events


def records(events: list[CaptureInfo | CaptureRecord]) -> list[CaptureRecord]:
    return [e for e in events if isinstance(e, CaptureRecord)]


@pytest.mark.parametrize("endian", ["<", ">"])
def test_pcap_microseconds_both_byte_orders(endian: str) -> None:
    """A µs pcap in either byte order gives its info, then records numbered from 1, exact times."""
    data = b.pcap_file([(1000, 250000, b"abc"), (1001, 999999, b"")], endian=endian, link_type=113)
    events = read_all(data)
    assert events[0] == CaptureInfo(
        format="pcap", nanosecond=False, link_types=(113,), snaplen=65535
    )
    recs = records(events)
    assert [r.number for r in recs] == [1, 2]
    assert recs[0].ts == 1000.25 and recs[0].data == b"abc" and recs[0].link_type == 113
    assert recs[1].ts == pytest.approx(1001.999999, abs=1e-9) and recs[1].data == b""


@pytest.mark.parametrize("endian", ["<", ">"])
def test_pcap_nanoseconds(endian: str) -> None:
    """The a1b23c4d magic means nanosecond fractions."""
    data = b.pcap_file([(7, 123456789, b"x")], nano=True, endian=endian)
    events = read_all(data)
    assert isinstance(events[0], CaptureInfo) and events[0].nanosecond
    assert records(events)[0].ts == pytest.approx(7.123456789, abs=1e-9)


def test_pcap_link_type_ignores_fcs_bits() -> None:
    """The upper bits of the header's link-type field (FCS length) are not part of the type."""
    data = bytearray(b.pcap_file([(1, 0, b"z")]))
    struct.pack_into("<I", data, 20, 1 | (1 << 28))
    assert records(read_all(bytes(data)))[0].link_type == 1


def test_one_byte_chunks_equal_whole_feed() -> None:
    """Feeding one byte at a time yields exactly the events of feeding the file at once."""
    data = b.pcap_file([(i, i, bytes([i]) * i) for i in range(1, 30)])
    assert read_all(data, chunk=1) == read_all(data)
    ng = b.shb() + b.idb(1) + b.epb(0, 5_000_000, b"hello") + b.spb(b"s") + b.epb(0, 6, b"")
    assert read_all(ng, chunk=1) == read_all(ng)


def test_need_data_before_header() -> None:
    """With only part of the file header fed, next_event asks for more."""
    reader = CaptureReader()
    reader.feed(b.pcap_file([])[:10])
    assert reader.next_event() is NEED_DATA
    assert reader.info is None


def test_truncated_last_record_raises_on_close() -> None:
    """A record cut short at end of file is reported by close() as Truncated(layer='pcap')."""
    data = b.pcap_file([(1, 0, b"abcdef"), (2, 0, b"ghijkl")])[:-3]
    reader = CaptureReader()
    reader.feed(data)
    assert len(records(list(reader.events()))) == 1
    with pytest.raises(Truncated) as info:
        reader.close()
    assert info.value.layer == "pcap" and info.value.kind == "truncated"


def test_garbage_is_malformed_then_reader_stops() -> None:
    """Bytes that are no capture raise bad_magic once; the reader then only says NEED_DATA."""
    reader = CaptureReader()
    reader.feed(b"GIF89a and more bytes")
    with pytest.raises(MalformedInput) as info:
        reader.next_event()
    assert (info.value.layer, info.value.kind) == ("pcap", "bad_magic")
    assert reader.next_event() is NEED_DATA
    reader.close()  # silent: the error was already reported


def test_absurd_record_length_is_malformed() -> None:
    """A record header claiming gigabytes is corrupt, not merely incomplete."""
    data = b.pcap_file([]) + struct.pack("<IIII", 1, 0, 0x7FFFFFFF, 10)
    reader = CaptureReader()
    reader.feed(data)
    with pytest.raises(MalformedInput) as info:
        list(reader.events())
    assert info.value.kind == "bad_record_length"


def test_feed_after_close_is_usage_error() -> None:
    """Feeding a closed reader is the caller's fault."""
    reader = CaptureReader()
    reader.close()
    with pytest.raises(UsageError):
        reader.feed(b"x")


# -- pcapng -------------------------------------------------------------------------


def test_pcapng_two_interfaces_link_types_and_resolutions() -> None:
    """Each IDB's link type, if_tsresol (10^-9, 2^-10) and if_tsoffset apply to its packets."""
    data = (
        b.shb()
        + b.idb(1, tsresol=9)
        + b.other_block(4)  # NRB: skipped
        + b.idb(113, tsresol=0x80 | 10, tsoffset=100)
        + b.epb(0, 1_500_000_000, b"eth")
        + b.epb(1, 3 * 1024 + 512, b"sll")
        + b.other_block(5)  # ISB: skipped
        + b.other_block(0x40000BAD)  # custom/unknown: skipped
        + b.pb(1, 1024, b"old")
    )
    events = read_all(data)
    infos = [e for e in events if isinstance(e, CaptureInfo)]
    assert (
        infos[-1].link_types == (1, 113) and infos[-1].nanosecond and infos[-1].format == "pcapng"
    )
    recs = records(events)
    assert [(r.number, r.interface, r.link_type, r.data) for r in recs] == [
        (1, 0, 1, b"eth"),
        (2, 1, 113, b"sll"),
        (3, 1, 113, b"old"),
    ]
    assert recs[0].ts == 1.5
    assert recs[1].ts == 103.5
    assert recs[2].ts == 101.0


def test_pcapng_default_resolution_is_microseconds() -> None:
    """Without if_tsresol a timestamp counts microseconds."""
    recs = records(read_all(b.shb() + b.idb(1) + b.epb(0, 2_000_001, b"x")))
    assert recs[0].ts == pytest.approx(2.000001, abs=1e-9)


def test_pcapng_big_endian_and_several_sections() -> None:
    """A big-endian section followed by a little-endian one: interfaces numbered across the file."""
    data = (
        b.shb(">")
        + b.idb(1, endian=">")
        + b.epb(0, 1_000_000, b"one", endian=">")
        + b.shb("<")
        + b.idb(101)
        + b.epb(0, 2_000_000, b"two")
        + b.spb(b"three")
    )
    recs = records(read_all(data))
    assert [(r.number, r.interface, r.link_type, r.data, r.ts) for r in recs] == [
        (1, 0, 1, b"one", 1.0),
        (2, 1, 101, b"two", 2.0),
        (3, 1, 101, b"three", 0.0),
    ]


def test_pcapng_trailer_mismatch_skips_block_and_goes_on() -> None:
    """A block whose trailing length disagrees is reported and skipped; later blocks still read."""
    bad = bytearray(b.epb(0, 1, b"bad!"))
    struct.pack_into("<I", bad, len(bad) - 4, 999)
    data = b.shb() + b.idb(1) + bytes(bad) + b.epb(0, 2, b"good")
    reader = CaptureReader()
    reader.feed(data)
    got: list[CaptureRecord] = []
    kinds: list[str] = []
    while True:
        try:
            event = reader.next_event()
        except MalformedInput as err:
            kinds.append(err.kind)
            continue
        if event is NEED_DATA:
            break
        if isinstance(event, CaptureRecord):
            got.append(event)
    assert kinds == ["block_length_mismatch"]
    assert [r.data for r in got] == [b"good"]


def test_pcapng_bad_block_length_is_malformed() -> None:
    """A block length that is not a multiple of 4 cannot be walked past: MalformedInput."""
    data = b.shb() + struct.pack("<II", 6, 13) + bytes(16)
    reader = CaptureReader()
    reader.feed(data)
    with pytest.raises(MalformedInput) as info:
        list(reader.events())
    assert info.value.kind == "bad_block_length"


def test_pcapng_packet_for_unknown_interface() -> None:
    """An EPB naming an interface no IDB described is malformed."""
    reader = CaptureReader()
    reader.feed(b.shb() + b.idb(1) + b.epb(3, 0, b"x"))
    with pytest.raises(MalformedInput) as info:
        list(reader.events())
    assert info.value.kind == "unknown_interface"


# -- corpus: cross-check with dpkt --------------------------------------------------


def _corpus_files() -> list[Path]:
    root = b.corpus_dir()
    if not root.is_dir():
        return []
    return sorted([*root.glob("pcap/*/*"), *root.glob("derived/*")])


@b.needs_corpus
@pytest.mark.corpus
@pytest.mark.parametrize("path", _corpus_files(), ids=lambda p: p.name)
def test_corpus_matches_dpkt(path: Path) -> None:
    """Every corpus capture gives dpkt's records: same count, same µs timestamps, same bytes."""
    raw = path.read_bytes()
    ours = records(read_all(raw, chunk=4096))
    with path.open("rb") as fh:
        magic = fh.read(4)
        fh.seek(0)
        theirs = list(
            dpkt.pcapng.Reader(fh) if magic == b"\n\r\r\n" else dpkt.pcap.UniversalReader(fh)
        )
    assert len(ours) == len(theirs)
    assert [r.number for r in ours] == list(range(1, len(ours) + 1))
    for rec, (ts, buf) in zip(ours, theirs, strict=True):
        assert rec.data == bytes(buf)
        assert rec.ts == pytest.approx(float(ts), abs=1e-6)
