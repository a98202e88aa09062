"""RTP through the whole pipeline: ``analyze --heuristic-rtp`` lists tshark's streams.

tests/corpus/test_corpus_rtp.py holds the media tracker's figures to tshark's stream by
stream; this test holds the wiring (frames -> SIP/SDP -> media tracker -> Analysis) to
the same outputs: every stream tshark lists, with its packets and losses, and no other.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from calltrace.pipeline import Analysis, Analyzer
from calltrace.sources.pcapfile import read_chunks
from tests.conftest import CORPUS
from tests.corpus.test_corpus_rtp import DIFFERENCES, EXPECTED, parse_rows


@cache
def _analyze(capture: Path) -> Analysis:
    analyzer = Analyzer(heuristic_rtp=True)
    analyzer.begin_file(str(capture))
    for chunk in read_chunks(capture):
        analyzer.feed(chunk)
    analyzer.end_file()
    return analyzer.finish()


@pytest.mark.corpus
@pytest.mark.parametrize("expected", EXPECTED, ids=[p.name for p in EXPECTED])
def test_pipeline_lists_tsharks_streams(expected: Path) -> None:
    """The streams of analyze --heuristic-rtp are tshark's, with its packets and losses."""
    name = expected.name.removesuffix(".rtp_streams.txt")
    capture = CORPUS / "pcap" / name.replace("__", "/")
    rows = {
        (r.src, r.sport, r.dst, r.dport, r.ssrc): (r.packets, r.lost)
        for r in parse_rows(expected.read_text())
        if (name, r.ssrc) not in DIFFERENCES
    }
    analysis = _analyze(capture)
    ours = {
        (s.src_ip, s.src_port, s.dst_ip, s.dst_port, s.ssrc): (s.packets, s.lost)
        for s in analysis.rtp_streams
        if (name, s.ssrc) not in DIFFERENCES
    }
    assert ours == rows
    assert analysis.stats.rtp_streams == len(analysis.rtp_streams)


@pytest.mark.corpus
def test_sdp_ties_streams_to_their_call(corpus: Path) -> None:
    """Without the heuristic, the G.711 sample's streams are found from SDP, with their call."""
    capture = corpus / "pcap" / "wireshark-samples" / "sip-rtp-g711.pcap"
    analyzer = Analyzer()
    analyzer.begin_file(str(capture))
    for chunk in read_chunks(capture):
        analyzer.feed(chunk)
    analyzer.end_file()
    analysis = analyzer.finish()
    call_ids = {c.call_id for c in analysis.calls}
    assert len(analysis.rtp_streams) == 2
    assert {s.source for s in analysis.rtp_streams} == {"sdp"}
    assert {s.call_id for s in analysis.rtp_streams} <= call_ids
    assert {s.codec for s in analysis.rtp_streams} == {"PCMU/8000", "PCMA/8000"}
