"""SIPVicious against a real Kamailio registrar on loopback, with a legitimate SIPp client.

Issue 4's real-attack check: svmap sweeps 127.0.0.1-15 with OPTIONS, svwar enumerates
extensions 990-1030 (registrar.cfg has 1000-1004 and answers 404 for the rest), svcrack
guesses the password of 1000; SIPp registers users 1000 and 1001 properly before and
after. The capture off ``lo`` is analyzed like any other; what the trace layer must see
of each party is pinned here (the detection rules' alerts on this capture join it when
they land).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from calltrace.model import (
    Alert,
    Call,
    CallEventType,
    DecodeErrorRecord,
    Registration,
    RtpStream,
    SipMessage,
)
from calltrace.pipeline import Analysis, FileResult, analyze_chunks
from calltrace.sources.pcapfile import read_chunks
from calltrace.trace.calls import CallTracker
from tests.integration import peers

pytestmark = pytest.mark.skipif(peers.missing() is not None, reason=str(peers.missing()))


class Collect:
    """A sink that keeps the SIP messages (the JSON document does not list them)."""

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


def play_attack(workdir: Path) -> Path:
    """Run the registrar, the client and the three attacks; return the capture."""
    with peers.dumpcap(workdir / "attack.pcapng") as capture, peers.registrar(workdir):
        peers.register_legitimately("1000", 3)
        crack = peers.sipvicious("svcrack", "-u1000", "-r100000-100060", peers.REGISTRAR)
        peers.finish(peers.sipvicious("svmap", "127.0.0.1-127.0.0.15"))
        peers.finish(peers.sipvicious("svwar", "-e990-1030", peers.REGISTRAR))
        peers.register_legitimately("1001", 2)
        peers.finish(crack)
        peers.register_legitimately("1000", 1)
    return capture


def test_sipvicious_against_kamailio(tmp_path: Path) -> None:
    """The capture shows svmap's sweep, svwar's 404s, svcrack's failed guesses, a clean client."""
    capture = play_attack(tmp_path)
    sink = Collect()
    analysis: Analysis = analyze_chunks([(str(capture), read_chunks(capture))], sink)
    assert analysis.stats.decode_errors == 0

    by_source = Counter(m.packet.src_ip for m in sink.messages if m.is_request)
    assert set(by_source) <= {peers.ATTACKER, peers.CLIENT, "127.0.0.5"}  # 127.0.0.5: readiness

    # svmap: OPTIONS from the attacker to every address of the sweep, as friendly-scanner
    swept = {
        m.packet.dst_ip
        for m in sink.messages
        if m.is_request and m.method == "OPTIONS" and m.packet.src_ip == peers.ATTACKER
    }
    assert len(swept) == 15
    agents = {m.header("user-agent") for m in sink.messages if m.packet.src_ip == peers.ATTACKER}
    assert "friendly-scanner" in agents

    regs = analysis.registrations
    client = [r for r in regs if r.src_ip == peers.CLIENT]
    assert len(client) == 6 and all(r.outcome == "registered" for r in client)
    assert {r.user_agent for r in client} == {"Yealink SIP-T46S 66.86.0.15"}

    attacker = [r for r in regs if r.src_ip == peers.ATTACKER]
    # svwar: every extension of the range probed, the missing ones answered 404 (plus
    # the random user svwar tries first, to learn how the server answers a stranger)
    not_found = {r.user for r in attacker if r.final_status == 404}
    expected = {str(n) for n in range(990, 1031)} - set(peers.USERS)
    assert expected <= not_found and len(not_found - expected) <= 1
    # svcrack: one failed registration of 1000 holding every guess
    (crack,) = [r for r in attacker if r.user == "1000" and r.attempts > 50]
    assert crack.outcome == "failed" and crack.final_status == 401

    failures = _events(sink.messages, CallEventType.AUTH_FAILURE)
    assert failures[peers.ATTACKER] >= 61 and peers.CLIENT not in failures


def _events(messages: list[SipMessage], kind: CallEventType) -> Counter[str | None]:
    """How many events of ``kind`` each source caused, replaying the messages."""
    tracker = CallTracker()
    events = [e for m in messages if m.call_id for e in tracker.observe(m)]
    return Counter(e.source_ip for e in events if e.type is kind)
