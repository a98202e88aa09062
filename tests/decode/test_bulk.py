"""Bulk record reading and UDP classification against the per-record decoders."""

from __future__ import annotations

import random
import struct

import numpy as np
import pytest

from calltrace.decode import bulk
from calltrace.decode.bulk import BulkCapture, RecordBatch, classify_udp, walk_pure
from calltrace.decode.bulk6 import V6_BASE, Addresses
from calltrace.decode.frames import FrameDecoder
from calltrace.decode.pcap import MAX_RECORD, CaptureReader
from calltrace.errors import DecodeError
from calltrace.model import CaptureInfo, CaptureRecord, Packet
from tests.decode._build import (
    epb,
    eth,
    ext_frag,
    ext_opts,
    idb,
    ipv4,
    ipv6,
    loop,
    null,
    pcap_file,
    shb,
    sll,
    sll2,
    tcp,
    udp,
)

RTP = bytes.fromhex("80000001000000a000000007") + bytes(20)


def batch_of(frames: list[tuple[int, bytes]]) -> RecordBatch:
    """A batch over (link type, frame) pairs laid end to end."""
    data = b"".join(f for _, f in frames)
    lengths = np.array([len(f) for _, f in frames], dtype=np.int64)
    n = len(frames)
    return RecordBatch(
        data=data,
        number=np.arange(1, n + 1, dtype=np.int64),
        ts=np.zeros(n),
        start=np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64),
        caplen=lengths,
        link=np.array([lt for lt, _ in frames], dtype=np.int64),
        orig_len=lengths,
        interface=np.zeros(n, dtype=np.int64),
    )


FRAMES = [
    (1, eth(ipv4(udp(RTP, 4000, 5000)))),
    (1, eth(ipv4(udp(RTP, 4000, 5000)), vlans=((0x8100, 7),))),
    (1, eth(ipv4(udp(RTP, 4000, 5000)), vlans=((0x88A8, 7), (0x8100, 9)))),
    (113, sll(ipv4(udp(RTP, 1, 2)))),
    (276, sll2(ipv4(udp(RTP, 1, 2)))),
    (101, ipv4(udp(RTP, 1, 2))),
    (228, ipv4(udp(RTP, 1, 2))),
    (0, null(ipv4(udp(RTP, 1, 2)), 2)),
    (0, null(ipv4(udp(RTP, 1, 2)), 2, little=False)),
    (108, loop(ipv4(udp(RTP, 1, 2)), 2)),
    (1, eth(ipv4(udp(RTP, 1, 2), options=b"\x01\x01\x01\x01"))),  # IHL 6
    (1, eth(ipv4(udp(b"", 1, 2)))),  # an empty datagram
    (1, eth(ipv4(udp(RTP, 1, 2)) + bytes(6))),  # link-layer padding
    (1, eth(ipv4(udp(RTP, 1, 2), more=True))),  # a fragment
    (1, eth(ipv4(udp(RTP, 1, 2), total=0))),  # TSO: total length 0
    (1, eth(ipv4(udp(RTP, 1, 2), total=500))),  # total beyond the capture
    (1, eth(ipv4(udp(RTP, 1, 2, length=200)))),  # UDP length beyond IP
    (1, eth(ipv4(tcp(RTP, 1, 2), proto=6))),
    (1, eth(ipv6(udp(RTP, 1, 2)), ethertype=0x86DD)),
    (1, eth(ipv4(udp(RTP, 1, 2)))[:30]),  # cut inside the IP header
    (1, eth(ipv4(udp(RTP, 1, 2)))[:40]),  # cut inside the UDP header
    (1, b"\x00" * 10),
    (1, eth(ipv4(udp(RTP, 1, 2)), ethertype=0x0806)),  # ARP
    (113, sll(ipv4(udp(RTP, 1, 2)), proto=0x86DD)),
    (0, null(ipv4(udp(RTP, 1, 2)), 24)),  # IPv6 family
]


def test_plain_udp_is_what_the_frame_decoder_makes() -> None:
    """Every frame marked plain decodes, per record, to exactly that one datagram."""
    batch = batch_of(FRAMES)
    cols = classify_udp(batch)
    for i, (link, frame) in enumerate(FRAMES):
        decoded = FrameDecoder().decode(
            CaptureRecord(number=1, ts=0.0, interface=0, link_type=link, orig_len=0, data=frame)
        )
        if not cols.plain[i]:
            continue
        at, size = int(cols.payload[i]), int(cols.length[i])
        if size == 0:
            assert decoded == []
            continue
        (packet,) = decoded
        assert isinstance(packet, Packet) and packet.transport == "udp"
        assert batch.data[at : at + size] == packet.payload
        assert (int(cols.sport[i]), int(cols.dport[i])) == (packet.src_port, packet.dst_port)
        assert int(cols.first[i]) == packet.payload[0]


def test_which_frames_are_plain() -> None:
    """Plain UDP over IPv4 on every link type is taken; the rest is left to the decoder."""
    plain = classify_udp(batch_of(FRAMES)).plain.tolist()
    assert plain == [True] * 13 + [False] * 12


def test_addresses_are_read_big_endian() -> None:
    """Addresses come out as the integers of their dotted form."""
    frame = eth(ipv4(udp(RTP, 7, 9), src="192.0.2.1", dst="198.51.100.200"))
    cols = classify_udp(batch_of([(1, frame)]))
    assert (int(cols.src[0]), int(cols.dst[0])) == (0xC0000201, 0xC63364C8)


def test_native_walk_equals_the_pure_walk() -> None:
    """The C record walk and the Python one agree on random buffers, cut anywhere."""
    if not bulk.FAST:
        pytest.skip("native helper not built")
    rng = random.Random(5)
    for _ in range(200):
        body = b"".join(
            struct.pack("<IIII", 1, 2, n, n) + bytes(n)
            for n in (rng.randrange(0, 300) for _ in range(rng.randrange(0, 20)))
        )
        if rng.random() < 0.2:
            body += struct.pack("<IIII", 1, 2, MAX_RECORD + 5, 0)
        cut = body[: rng.randrange(0, len(body) + 1)]
        for little in (True, False):
            assert bulk.walk(cut, little, 65535, MAX_RECORD) == walk_pure(
                cut, little, 65535, MAX_RECORD
            )


def _records(capture: bytes, chunk: int) -> tuple[list[tuple[int, float, int, bytes]], list[str]]:
    cap = BulkCapture()
    out: list[tuple[int, float, int, bytes]] = []
    errors: list[str] = []

    def take(final: bool) -> None:
        for item in cap.batches(final=final):
            if isinstance(item, RecordBatch):
                records = [item.record(i) for i in range(len(item))]
                out.extend((r.number, r.ts, r.link_type, r.data) for r in records)
            elif isinstance(item, DecodeError):
                errors.append(item.kind)

    for i in range(0, len(capture), chunk):
        cap.feed(capture[i : i + chunk])
        take(False)
    take(True)
    try:
        cap.close()
    except DecodeError as err:
        errors.append(f"{err.kind}: {err.detail}")
    return out, errors


def _reference(capture: bytes) -> tuple[list[tuple[int, float, int, bytes]], list[str]]:
    reader = CaptureReader()
    reader.feed(capture)
    out: list[tuple[int, float, int, bytes]] = []
    errors: list[str] = []
    while True:
        try:
            for event in reader.events():
                if isinstance(event, CaptureRecord):
                    out.append((event.number, event.ts, event.link_type, event.data))
            break
        except DecodeError as err:
            errors.append(err.kind)
    try:
        reader.close()
    except DecodeError as err:
        errors.append(f"{err.kind}: {err.detail}")
    return out, errors


@pytest.mark.parametrize("nano", [False, True])
@pytest.mark.parametrize("endian", ["<", ">"])
@pytest.mark.parametrize("chunk", [7, 100, 1 << 20])
def test_pcap_records_equal_the_reader(nano: bool, endian: str, chunk: int) -> None:
    """Records, timestamps and the cut-tail error are the per-record reader's."""
    frames = [(1000 + i, 123456 * i, bytes([i]) * (i * 7 % 90)) for i in range(40)]
    capture = pcap_file(frames, nano=nano, endian=endian)[:-5]  # the last record cut short
    assert _records(capture, chunk) == _reference(capture)


def test_untrusted_record_length_ends_the_file() -> None:
    """A record claiming more than MAX_RECORD bytes is bad_record_length, as the reader says."""
    capture = pcap_file([(1, 0, b"abc")]) + struct.pack("<IIII", 1, 0, MAX_RECORD + 1, 0) + b"x"
    records, errors = _records(capture, 1 << 20)
    assert (records, errors) == _reference(capture)
    assert errors == ["bad_record_length"]


def test_pcapng_goes_through_the_reader() -> None:
    """pcapng records come from CaptureReader, batched, with their interface's link type."""
    capture = shb() + idb(1) + idb(113) + epb(0, 5, b"frame-a") + epb(1, 6, b"frame-b")
    cap = BulkCapture()
    cap.feed(capture)
    items = list(cap.batches(final=True))
    assert isinstance(items[0], CaptureInfo)
    (batch,) = [i for i in items if isinstance(i, RecordBatch)]
    assert [(batch.record(i).link_type, batch.record(i).data) for i in range(2)] == [
        (1, b"frame-a"),
        (113, b"frame-b"),
    ]


def test_unsupported_pcap_version() -> None:
    """A pcap major version other than 2 is reported, as the reader does."""
    capture = struct.pack("<IHHiIII", 0xA1B2C3D4, 3, 0, 0, 0, 65535, 1)
    cap = BulkCapture()
    cap.feed(capture)
    assert [getattr(i, "kind", None) for i in cap.batches()] == ["bad_version"]


def test_windows_pad_past_the_end() -> None:
    """Windows that run past the buffer are zero-padded, the rest are plain slices."""
    data = np.arange(10, dtype=np.uint8)
    got = bulk.windows(data, np.array([0, 6, 9]), 4)
    assert got.tolist() == [[0, 1, 2, 3], [6, 7, 8, 9], [9, 0, 0, 0]]


def v6_jumbo(payload: bytes) -> bytes:
    """An IPv6 header whose payload length says 0 (a jumbogram, RFC 2675)."""
    frame = ipv6(payload)
    return frame[:4] + b"\x00\x00" + frame[6:]


V6_FRAMES = [
    (1, eth(ipv6(udp(RTP, 4000, 5000)), ethertype=0x86DD)),
    (1, eth(ipv6(udp(RTP, 4000, 5000)), ethertype=0x86DD, vlans=((0x8100, 7),))),
    (113, sll(ipv6(udp(RTP, 1, 2)), proto=0x86DD)),
    (276, sll2(ipv6(udp(RTP, 1, 2)), proto=0x86DD)),
    (101, ipv6(udp(RTP, 1, 2))),
    (229, ipv6(udp(RTP, 1, 2), src="::1", dst="fe80::1:2")),
    (1, eth(ipv6(udp(b"", 1, 2)), ethertype=0x86DD)),  # an empty datagram
    (1, eth(ipv6(udp(RTP, 1, 2)), ethertype=0x86DD) + bytes(6)),  # link-layer padding
    (1, eth(ipv6(udp(RTP, 1, 2), nh=0, ext=ext_opts(17)), ethertype=0x86DD)),  # hop-by-hop
    (1, eth(ipv6(udp(RTP, 1, 2), nh=44, ext=ext_frag(17, 0, False, 5)), ethertype=0x86DD)),
    (1, eth(v6_jumbo(udp(RTP, 1, 2)), ethertype=0x86DD)),
    (1, eth(ipv6(udp(RTP, 1, 2)), ethertype=0x86DD)[:70]),  # cut inside the payload
    (1, eth(ipv6(udp(RTP, 1, 2, length=200)), ethertype=0x86DD)),  # UDP length beyond IP
    (1, eth(ipv6(udp(RTP, 1, 2, length=4)), ethertype=0x86DD)),  # UDP length below 8
    (1, eth(ipv6(tcp(RTP, 1, 2), nh=6), ethertype=0x86DD)),
    (228, ipv6(udp(RTP, 1, 2))),  # an IPv4-only link
    (0, null(ipv6(udp(RTP, 1, 2)), 24)),  # NULL: left to the decoder
]


def test_plain_udp_over_ipv6_is_what_the_frame_decoder_makes() -> None:
    """IPv6 frames marked plain decode per record to that datagram, addresses included;
    extension headers, jumbograms, bad lengths and cut frames are left to the decoder."""
    book = Addresses()
    batch = batch_of(V6_FRAMES)
    cols = classify_udp(batch, book)
    assert cols.plain.tolist() == [True] * 8 + [False] * 9
    assert classify_udp(batch).plain.tolist() == [False] * len(V6_FRAMES)  # IPv4 only
    for i, (link, frame) in enumerate(V6_FRAMES[:8]):
        decoded = FrameDecoder().decode(
            CaptureRecord(number=1, ts=0.0, interface=0, link_type=link, orig_len=0, data=frame)
        )
        at, size = int(cols.payload[i]), int(cols.length[i])
        if size == 0:
            assert decoded == []
            continue
        (packet,) = decoded
        assert isinstance(packet, Packet) and batch.data[at : at + size] == packet.payload
        assert (book.text(int(cols.src[i])), book.text(int(cols.dst[i]))) == (
            packet.src_ip, packet.dst_ip)  # fmt: skip
        assert (int(cols.sport[i]), int(cols.dport[i])) == (packet.src_port, packet.dst_port)


def test_ipv6_address_ids() -> None:
    """IPv6 ids start at 2**32 in order of first sight and are never reused; a full table
    leaves new addresses to the per-record path (-1); text look-ups go both ways."""
    book = Addresses(limit=2)
    raw = np.zeros((3, 16), dtype=np.uint8)
    raw[1, 15], raw[2, 15] = 1, 2
    assert book.ids(raw[:2]).tolist() == [V6_BASE, V6_BASE + 1]
    assert book.ids(raw[::-1]).tolist() == [-1, V6_BASE + 1, V6_BASE]
    assert (book.text(V6_BASE + 1), book.text(0xC0000201)) == ("::1", "192.0.2.1")
    assert (book.lookup("::1"), book.lookup("::2"), book.lookup("192.0.2.1")) == (
        V6_BASE + 1, None, 0xC0000201)  # fmt: skip
    assert book.lookup("not an address") is None
