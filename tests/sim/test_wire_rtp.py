"""Generated calls with known loss, reordering and jitter: analyze's stream figures equal
figures computed here by hand from the frames the generator put on the wire.

The hand computation reads the generator's schedule (every RTP frame's arrival time,
sequence number and timestamp, parsed here with ``struct``, not by our decoders) and
applies the rules written in docs/media.md (RFC 3550 A.8 jitter with tshark's reference
rules). Loss, swaps and their sequence errors are also checked against what the
generator says it did.
"""

from __future__ import annotations

import itertools
import struct
from collections import defaultdict
from pathlib import Path

import pytest

from calltrace.model import RtpStream
from calltrace.pipeline import Analyzer
from calltrace.sim.engine import SimConfig
from calltrace.sim.scenarios import simulation
from calltrace.sim.sip import CODECS
from calltrace.sim.wire import WireOptions
from calltrace.sources.pcapwriter import write_pcap

CLOCK = {c.pt: c.clock for c in CODECS.values()}
Arrival = tuple[float, int, int, bool, int]  # (ms, seq, timestamp, marker, pt)
Key = tuple[str, int, str, int, int]
Generated = tuple[dict[Key, list[Arrival]], dict[Key, RtpStream], int]


def _schedule(frames: list[tuple[int, bytes]]) -> dict[Key, list[Arrival]]:
    """RTP arrivals per (src, sport, dst, dport, SSRC), from Ethernet/IPv4/UDP frames."""
    out: dict[Key, list[Arrival]] = defaultdict(list)
    for ts_ns, frame in frames:
        if frame[12:14] != b"\x08\x00" or frame[23] != 17:
            continue  # not IPv4/UDP (the office site is IPv4 only; TCP is SIP)
        ihl = (frame[14] & 0x0F) * 4
        udp = 14 + ihl
        sport, dport = struct.unpack_from("!HH", frame, udp)
        payload = frame[udp + 8 :]
        if 5060 in (sport, dport) or len(payload) < 12 or payload[0] != 0x80:
            continue
        b1, seq, ts, ssrc = struct.unpack_from("!BHII", payload, 1)
        src = ".".join(map(str, frame[26:30]))
        dst = ".".join(map(str, frame[30:34]))
        out[(src, sport, dst, dport, ssrc)].append(
            (ts_ns / 1e6, seq, ts, bool(b1 & 0x80), b1 & 0x7F)
        )
    return out


def _signed(diff: int, bits: int) -> int:
    diff &= (1 << bits) - 1
    return diff - (1 << bits) if diff >= 1 << (bits - 1) else diff


def _by_hand(arrivals: list[Arrival]) -> dict[str, float]:
    """docs/media.md's rules, step by step: reference arrival/timestamp move on in-time
    packets only; J += (D - J)/16 with D against the reference (RFC 3550 A.8); marker
    and out-of-time packets stay out of min/max/mean; tshark's running means."""
    r0, seq0, ts0, _, pt = arrivals[0]
    per_ms = CLOCK[pt] // 1000
    ref_r, ref_ts, ref_seq = r0, ts0, seq0
    seqx, tsx, last_seq, last_ts = seq0, ts0, seq0, ts0
    jitter = mean_j = mean_d = 0.0
    max_j = max_d = 0.0
    errors = wrong = 0
    for n, (r, seq, ts, marker, _) in enumerate(arrivals[1:], start=1):
        seqx += _signed(seq - last_seq, 16)
        tsx += _signed(ts - last_ts, 32)
        last_seq, last_ts = seq, ts
        in_time = tsx >= ref_ts
        wrong += not in_time
        if in_time and seqx == ref_seq + 1:
            ref_seq = seqx
        elif in_time and seqx > ref_seq + 1:
            errors, ref_seq = errors + 1, seqx
        else:
            errors += 1
        d = abs(r - (ref_r + (tsx - ref_ts) / per_ms))
        jitter += (d - jitter) / 16
        delta = r - ref_r
        if in_time and not marker:
            max_d, max_j = max(max_d, delta), max(max_j, jitter)
            mean_d = (mean_d * (n - 1) + delta) / n
            mean_j = (mean_j * (n - 1) + jitter) / n
        if in_time:
            ref_r, ref_ts = r, tsx
    expected = seqx - seq0 + 1  # the last packet's number, unwrapped, as docs/media.md says
    return {"packets": len(arrivals), "expected": expected, "lost": expected - len(arrivals),
            "seq_errors": errors, "wrong_timestamps": wrong, "max_delta_ms": max_d,
            "mean_delta_ms": mean_d, "max_jitter_ms": max_j, "mean_jitter_ms": mean_j}  # fmt: skip


def _swaps_and_gaps(arrivals: list[Arrival]) -> tuple[int, int, int]:
    """From the sequence numbers alone: lost, late packets, forward jumps.

    Lost is what the network lost between the first and the last packet to *arrive*
    (tshark's span, docs/media.md): the numbers missing from the whole run, less those
    outside that span (a swapped first or last packet)."""
    seqs = [a[1] for a in arrivals]
    unwrapped = [seqs[0]]
    for prev, seq in itertools.pairwise(seqs):
        unwrapped.append(unwrapped[-1] + _signed(seq - prev, 16))
    low, high = min(unwrapped), max(unwrapped)
    missing = high - low + 1 - len(set(unwrapped))
    missing -= (high - unwrapped[-1]) + (unwrapped[0] - low)
    late = sum(1 for i in range(1, len(unwrapped)) if unwrapped[i] < max(unwrapped[:i]))
    jumps = sum(1 for i in range(1, len(unwrapped))
                if unwrapped[i] > max(unwrapped[:i]) + 1)  # fmt: skip
    return missing, late, jumps


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    """An office run with 2 % loss, 1 % swaps and up to 12 ms of jitter, analysed."""
    wire = WireOptions(rtp_jitter_ms=12.0, rtp_loss=0.02, rtp_reorder=0.01)
    config = SimConfig(seed=31, duration=40, rate=0.4, rtp=True, max_talk_s=8, wire=wire)
    sim = simulation("office", config)
    frames = list(sim)
    path: Path = tmp_path_factory.mktemp("wire") / "calls.pcap"
    write_pcap(path, frames)
    analyzer = Analyzer()
    analyzer.begin_file(str(path))
    analyzer.feed(path.read_bytes())
    analyzer.end_file()
    streams = {(s.src_ip, s.src_port, s.dst_ip, s.dst_port, s.ssrc): s
               for s in analyzer.finish().rtp_streams}  # fmt: skip
    reordered = int(sim.truth.get("rtp_reordered", 0))
    return _schedule(frames), streams, reordered


def test_the_run_has_loss_swaps_and_jitter(generated: Generated) -> None:
    """The generated capture holds several streams with losses and swaps to check."""
    schedule, streams, reordered = generated
    assert len(schedule) >= 4 and set(schedule) == set(streams)
    assert reordered >= 3
    assert sum(_swaps_and_gaps(a)[0] for a in schedule.values()) >= 3


def test_loss_and_sequence_errors_match_the_generator(generated: Generated) -> None:
    """Lost = numbers never sent on; a swap costs two sequence errors and one wrong
    timestamp, a gap one sequence error; swaps total what the generator made."""
    schedule, streams, reordered = generated
    late_total = 0
    for key, arrivals in schedule.items():
        missing, late, jumps = _swaps_and_gaps(arrivals)
        s = streams[key]
        assert (s.packets, s.lost) == (len(arrivals), missing), key
        assert (s.seq_errors, s.wrong_timestamps) == (jumps + late, late), key
        late_total += late
    assert late_total == reordered


@pytest.mark.parametrize(
    "field",
    ["packets", "expected", "lost", "seq_errors", "wrong_timestamps", "max_delta_ms",
     "mean_delta_ms", "max_jitter_ms", "mean_jitter_ms"],
)  # fmt: skip
def test_stream_figures_equal_the_hand_computation(generated: Generated, field: str) -> None:
    """Every stream's figure equals the one computed by hand from its arrivals (1 µs)."""
    schedule, streams, _ = generated
    for key, arrivals in schedule.items():
        expected = _by_hand(arrivals)[field]
        assert getattr(streams[key], field) == pytest.approx(expected, abs=1e-3), (key, field)
