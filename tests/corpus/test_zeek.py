"""Zeek's sip.log on the Wireshark sample agrees with our request/response pairs."""

from __future__ import annotations

from pathlib import Path

import pytest

from calltrace.model import Alert, Call, DecodeErrorRecord, Registration, RtpStream, SipMessage
from calltrace.pipeline import Analyzer, FileResult
from calltrace.sources.pcapfile import read_chunks


class ListSink:
    """Keeps every message the pipeline hands out (the store's interface, in memory)."""

    def __init__(self) -> None:
        self.messages: list[SipMessage] = []

    def begin_file(self, path: str) -> None: ...
    def add_messages(self, messages: list[SipMessage]) -> None:
        self.messages.extend(messages)

    def add_records(self, records: list[Call | Registration]) -> None: ...
    def add_errors(self, errors: list[DecodeErrorRecord]) -> None: ...
    def add_streams(self, streams: list[RtpStream]) -> None: ...
    def add_alerts(self, alerts: list[Alert]) -> None: ...
    def end_file(self, result: FileResult) -> None: ...


def _zeek_rows(log: Path) -> list[dict[str, str]]:
    fields: list[str] = []
    rows = []
    for line in log.read_text().splitlines():
        if line.startswith("#fields"):
            fields = line.split("\t")[1:]
        elif line and not line.startswith("#"):
            rows.append(dict(zip(fields, line.split("\t"), strict=True)))
    return rows


@pytest.mark.corpus
def test_zeek_pairs_are_our_pairs(corpus: Path) -> None:
    """Every (Call-ID, CSeq, method, status) pair in Zeek's sip.log is one we decoded."""
    sink = ListSink()
    analyzer = Analyzer(sink)
    capture = corpus / "pcap" / "zeek" / "wireshark.pcap"
    analyzer.begin_file(str(capture))
    for chunk in read_chunks(capture):
        analyzer.feed(chunk)
    analyzer.end_file()
    analyzer.finish()
    requests = {(m.call_id, m.cseq, m.method) for m in sink.messages if m.is_request}
    responses = {
        (m.call_id, m.cseq, m.cseq_method, m.status) for m in sink.messages if not m.is_request
    }
    rows = _zeek_rows(corpus / "expected" / "zeek_wireshark.sip.log")
    assert len(rows) == 36
    for row in rows:
        number, method = row["seq"].split()
        key = (row["call_id"], int(number), method)
        assert key in requests, row
        assert row["method"] == method
        if row["status_code"] != "-":
            assert (*key, int(row["status_code"])) in responses, row
