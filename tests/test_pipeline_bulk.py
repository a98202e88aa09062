"""The bulk lane gives the per-record path's Analysis: corpus, generated and crafted captures."""

from __future__ import annotations

import doctest
import hashlib
import struct
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from calltrace.decode import bulk as bulk_module
from calltrace.decode import bulk6
from calltrace.model import CaptureRecord
from calltrace.pipeline import Analysis, Analyzer
from calltrace.pipeline_bulk import BackgroundHash
from calltrace.sim.engine import SimConfig
from calltrace.sim.scenarios import simulation
from calltrace.sim.wire import WireOptions
from calltrace.sources.pcapfile import read_chunks
from calltrace.sources.pcapwriter import write_simulation
from calltrace.trace import media_bulk, media_vec
from tests.conftest import CORPUS
from tests.decode._build import eth, ipv4, pcap_file, sip, udp
from tests.trace.test_media_bulk import assert_same as assert_same_streams

CAPTURES = sorted(p for p in (CORPUS / "pcap").rglob("*") if p.is_file())


def analyze(data: bytes, *, bulk: bool, heuristic: bool, chunk: int = 1 << 20) -> Analysis:
    analyzer = Analyzer(bulk=bulk, heuristic_rtp=heuristic)
    assert (analyzer.bulk is not None) == bulk
    analyzer.begin_file("capture")
    for i in range(0, len(data), chunk):
        analyzer.feed(data[i : i + chunk])
    analyzer.end_file()
    return analyzer.finish()


def assert_same(a: Analysis, b: Analysis) -> None:
    """Equal in everything; stream floats to 1e-9 (trace/media_vec.py sums in another order)."""
    assert a.files == b.files
    assert a.stats == b.stats
    assert a.calls == b.calls
    assert a.registrations == b.registrations
    assert a.errors == b.errors
    assert a.out_of_dialog == b.out_of_dialog
    assert_same_streams(a.rtp_streams, b.rtp_streams)


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cut classic pcap every ~40 kB, so captures span many batches."""
    monkeypatch.setattr(bulk_module, "BATCH_BYTES", 40_000)


@pytest.mark.corpus
@pytest.mark.parametrize("capture", CAPTURES, ids=[p.name for p in CAPTURES])
def test_corpus_capture_same_both_ways(capture: Path, small_batches: None) -> None:
    """Every corpus capture gives the same Analysis on both paths, heuristic RTP on and off."""
    data = capture.read_bytes()
    for heuristic in (False, True):
        assert_same(
            analyze(data, bulk=True, heuristic=heuristic, chunk=65536),
            analyze(data, bulk=False, heuristic=heuristic),
        )


def _generated(tmp_path: Path, scenario: str, config: SimConfig) -> bytes:
    path = tmp_path / f"{scenario}.pcap"
    write_simulation(simulation(scenario, config), path)
    return b"".join(read_chunks(path))


def test_generated_media_capture(tmp_path: Path, small_batches: None) -> None:
    """Calls with jitter, loss, holds (re-INVITEs, markers) give the same Analysis."""
    config = SimConfig(
        seed=4, rate=4.0, duration=1.0, rtp=True, max_talk_s=12.0,
        wire=WireOptions(rtp_jitter_ms=5.0, rtp_loss=0.02),
    )  # fmt: skip
    data = _generated(tmp_path, "media", config)
    for heuristic in (False, True):
        ours = analyze(data, bulk=True, heuristic=heuristic, chunk=30_000)
        assert_same(ours, analyze(data, bulk=False, heuristic=heuristic))
    assert ours.stats.rtp_streams == 8 and ours.stats.rtp_packets > 4000


def test_generated_carrier_capture(tmp_path: Path, small_batches: None) -> None:
    """SIP over UDP, TCP and IPv6 with media: the same calls, messages and streams."""
    config = SimConfig(seed=2, rate=5.0, duration=20.0, rtp=True, max_talk_s=3.0)
    data = _generated(tmp_path, "carrier", config)
    ours = analyze(data, bulk=True, heuristic=False, chunk=50_000)
    assert_same(ours, analyze(data, bulk=False, heuristic=False))
    assert ours.stats.calls > 50 and ours.stats.transports["tcp"] > 0


def test_ipv6_media_takes_the_bulk_path(
    tmp_path: Path, small_batches: None, monkeypatch: pytest.MonkeyPatch, tshark: str
) -> None:
    """IPv6 RTP (the carrier's IPv6 peers) is classified in bulk, never decoded frame by
    frame, and gives the per-record path's streams and tshark's packets and lost."""
    config = SimConfig(seed=2, rate=5.0, duration=20.0, rtp=True, max_talk_s=3.0)
    path = tmp_path / "carrier.pcap"
    write_simulation(simulation("carrier", config), path)
    data = path.read_bytes()
    seen: list[int] = []
    per_record = Analyzer._frame

    def frame(self: Analyzer, record: CaptureRecord) -> None:
        if record.data[12:14] == b"\x86\xdd" and record.data[20] == 17:  # IPv6, UDP
            seen.append(record.number)
        per_record(self, record)

    monkeypatch.setattr(Analyzer, "_frame", frame)
    ours = analyze(data, bulk=True, heuristic=True, chunk=50_000)
    assert seen == []
    monkeypatch.setattr(Analyzer, "_frame", per_record)
    assert_same(ours, analyze(data, bulk=False, heuristic=True))
    v6 = {(s.src_ip, s.src_port, s.dst_ip, s.dst_port, s.ssrc): s for s in ours.rtp_streams
          if ":" in s.src_ip}  # fmt: skip
    assert len(v6) >= 10
    out = subprocess.run(
        [tshark, "-q", "-o", "rtp.heuristic_rtp:TRUE", "-z", "rtp,streams", "-r", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rows = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) > 6 and ":" in f[2] and f[6].startswith("0x"):  # start, end, src, port...
            rows[(f[2], int(f[3]), f[4], int(f[5]), int(f[6], 16))] = (int(f[-9]), int(f[-8]))
    assert set(rows) == set(v6)
    assert all((v6[k].packets, v6[k].lost) == got for k, got in rows.items())


def test_fragments_expire_at_the_same_frame() -> None:
    """A fragment left waiting expires (an error) at the same later frame on both paths."""
    rtp = bytes.fromhex("80000001000000a000000007") + bytes(40)
    frames = [(0, 0, eth(ipv4(udp(b"x" * 64, 7000, 7002)[:32], more=True, ident=9)))]
    for i in range(50):  # RTP every second: the fragment times out after 30 s
        frames.append((i + 1, 0, eth(ipv4(udp(rtp[:4] + struct.pack("!I", i) + rtp[8:])))))
    frames.append((51, 0, eth(ipv4(udp(sip("OPTIONS"), 5060, 5060)))))
    data = pcap_file(frames)
    ours = analyze(data, bulk=True, heuristic=True)
    assert_same(ours, analyze(data, bulk=False, heuristic=True))
    assert [(e.layer, e.packet) for e in ours.errors] == [("ip", 32), ("sip", 52)]


def test_no_bulk_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """CALLTRACE_NO_BULK=1 makes the Analyzer take the per-record path."""
    monkeypatch.setenv("CALLTRACE_NO_BULK", "1")
    assert Analyzer().bulk is None
    monkeypatch.setenv("CALLTRACE_NO_BULK", "0")
    assert Analyzer().bulk is not None


def test_background_hash_is_sha256() -> None:
    """The worker-thread hash gives hashlib's digest of the chunks in order."""
    chunks = [bytes([i]) * (i * 1000) for i in range(20)]
    hasher = BackgroundHash(hashlib.sha256())
    for chunk in chunks:
        hasher.update(chunk)
    assert hasher.hexdigest() == hashlib.sha256(b"".join(chunks)).hexdigest()


@pytest.mark.parametrize(
    "module", [bulk_module, bulk6, media_vec, media_bulk], ids=lambda m: m.__name__
)
def test_docstring_examples(module: ModuleType) -> None:
    """The examples in the bulk lane's docstrings run and hold."""
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
