"""SIPVicious against a real Kamailio registrar on loopback, with a legitimate SIPp client.

Issue 4's real-attack check: svmap sweeps 127.0.0.1-15 with OPTIONS, svwar enumerates
extensions 990-1030 (registrar.cfg has 1000-1004 and answers 404 for the rest), svcrack
guesses the password of 1000; SIPp registers users 1000 and 1001 properly before and
after. The capture off ``lo`` is analyzed like any other; what the trace layer must see
of each party is pinned here, and the alerts of the real pipeline: sip_scan and
scanner_user_agent (svmap), extension_enumeration (svwar), auth_bruteforce (svcrack) name
the attacker, and nothing at all names the legitimate client or the registrar.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from calltrace.model import (
    Alert,
    CallEventType,
    SipMessage,
)
from calltrace.pipeline import Analysis, Sink, analyze_chunks
from calltrace.sources.pcapfile import read_chunks
from calltrace.trace.calls import CallTracker
from tests.integration import peers

pytestmark = pytest.mark.skipif(peers.missing() is not None, reason=str(peers.missing()))


class Collect(Sink):
    """A sink that keeps the SIP messages (the JSON document does not list them)."""

    def __init__(self) -> None:
        self.messages: list[SipMessage] = []

    def add_messages(self, messages: list[SipMessage]) -> None:
        self.messages.extend(messages)


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
    assert len(client) >= 6 and all(r.outcome == "registered" for r in client)
    assert {r.user_agent for r in client} == {"Yealink SIP-T46S 66.86.0.15"}

    attacker = [r for r in regs if r.src_ip == peers.ATTACKER]
    # svwar: every extension of the range probed, the missing ones answered 404 (plus
    # the random users svwar tries, to learn how the server answers a stranger: one, or
    # more when an answer is slow)
    not_found = {r.user for r in attacker if r.final_status == 404}
    expected = {str(n) for n in range(990, 1031)} - set(peers.USERS)
    assert expected <= not_found
    assert all(user.isdigit() and len(user) >= 8 for user in not_found - expected)
    # svcrack: failed registrations of 1000 holding every guess (one Call-ID, or more when
    # a slow answer makes it start over: seen on a loaded machine)
    cracks = [r for r in attacker if r.user == "1000" and r.outcome == "failed"]
    assert sum(r.attempts for r in cracks) >= 61
    assert all(r.final_status == 401 for r in cracks)

    failures = _events(sink.messages, CallEventType.AUTH_FAILURE)
    assert failures[peers.ATTACKER] >= 61 and peers.CLIENT not in failures

    _check_alerts(analysis.alerts)


def _check_alerts(alerts: list[Alert]) -> None:
    """svmap, svwar and svcrack each give their alerts on the attacker; no alert of any
    rule names the client or the registrar."""
    on_attacker = {a.rule for a in alerts if a.entity == peers.ATTACKER}
    assert {"sip_scan", "scanner_user_agent"} & on_attacker
    assert {"extension_enumeration", "auth_bruteforce"} <= on_attacker
    named = {a.entity for a in alerts}
    assert peers.CLIENT not in named and peers.REGISTRAR not in named
    (scan,) = [a for a in alerts if a.rule == "sip_scan"]
    assert scan.evidence["distinct_targets"] >= 10
    enum = [a for a in alerts if a.rule == "extension_enumeration"]
    probed = {str(n) for n in range(990, 1031)}
    users = set().union(*(a.evidence["users"] for a in enum))
    assert len(users) >= 10  # plus the random strangers svwar tries first:
    assert all(u.isdigit() and len(u) >= 8 for u in users - probed)
    brute = [a for a in alerts if a.rule == "auth_bruteforce"]
    assert brute[0].evidence["users"] == {"1000": brute[0].evidence["failures"]}


def _events(messages: list[SipMessage], kind: CallEventType) -> Counter[str | None]:
    """How many events of ``kind`` each source caused, replaying the messages."""
    tracker = CallTracker()
    events = [e for m in messages if m.call_id for e in tracker.observe(m)]
    return Counter(e.source_ip for e in events if e.type is kind)
