"""The tracker on real captures, held against tshark 4.0.17 (corpus/expected/tshark).

Messages come from the real decoders (pcap, frames, sip); the tracker is fed directly,
so these tests pin trace semantics, not the pipeline. Skipped when the corpus is absent.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

from calltrace.decode.frames import FrameDecoder
from calltrace.decode.pcap import CaptureReader
from calltrace.decode.sip import looks_like_sip, parse_sip
from calltrace.errors import DecodeError
from calltrace.model import Call, CaptureRecord, Packet, SipMessage
from calltrace.trace.calls import CALL_METHODS, CallTracker
from tests.conftest import CORPUS

pytestmark = pytest.mark.corpus

# One placeholder when the corpus is absent, so the skip carries its reason (_need_corpus).
CAPTURES = sorted(p for p in (CORPUS / "pcap").glob("*/*") if p.is_file()) or [
    CORPUS / "pcap" / "absent"
]


@cache
def messages(path: Path) -> tuple[SipMessage, ...]:
    """Every SIP message of a capture, in capture order."""
    reader = CaptureReader()
    reader.feed(path.read_bytes())
    frames = FrameDecoder()
    out: list[SipMessage] = []

    def take(items: list[Packet | DecodeError]) -> None:
        for item in items:
            if isinstance(item, Packet) and looks_like_sip(item.payload):
                with contextlib.suppress(DecodeError):
                    out.append(parse_sip(item))

    for event in reader.events():
        if isinstance(event, CaptureRecord):
            take(frames.decode(event))
    reader.close()
    take(frames.flush())
    return tuple(out)


@cache
def traced(path: Path) -> tuple[CallTracker, tuple[Call, ...]]:
    tracker = CallTracker()
    for msg in messages(path):
        tracker.observe(msg)
    calls = tuple(r for r in tracker.close() if isinstance(r, Call))
    return tracker, calls


def stat(path: Path) -> str:
    name = str(path.relative_to(CORPUS / "pcap")).replace("/", "__")
    return (CORPUS / "expected" / "tshark" / f"{name}.sip_stat.txt").read_text()


def number(text: str, label: str) -> int:
    found = re.search(label + r" (\d+)", text)
    assert found is not None, label
    return int(found.group(1))


def _id(path: Path) -> str:
    return str(path.relative_to(CORPUS / "pcap"))


@pytest.fixture(autouse=True)
def _need_corpus(corpus: Path) -> None:
    """Skip (with the reason) when the corpus is not on this machine."""


@pytest.mark.parametrize("path", CAPTURES, ids=_id)
def test_dialog_requests_all_land_in_calls(path: Path) -> None:
    """Every INVITE/ACK/BYE/CANCEL/PRACK tshark counts is counted in some Call's methods."""
    text = stat(path)
    if number(text, "Number of SIP messages:") != len(messages(path)):
        pytest.skip("tshark decodes a different set of messages (see tests/corpus)")
    expected = {
        method: int(count)
        for method, count in re.findall(r"^\s+([A-Z]+)\s+:\s+(\d+) Packets", text, re.M)
        if method in CALL_METHODS
    }
    got: dict[str, int] = {}
    for call in traced(path)[1]:
        for method, count in call.methods.items():
            if method in CALL_METHODS:
                got[method] = got.get(method, 0) + count
    assert got == expected


# tshark marks a final response or request resent; it does not mark resent 1xx, ACK or
# CANCEL (RFC 3261 §17.1.1.2 Timer E, §13.3.1.4 reliable 1xx), which we count too.
SAME_RESENT = [
    "heplify/erspan_sip_ipv4_udp.pcapng",
    "sip-attacks/SIP-212.32.250.134.pcap",
    "sip-attacks/SIP-Bruteforce-Single-IP.pcap",
    "sngrep/ipv6frag.pcap",
]


@pytest.mark.parametrize("path", CAPTURES, ids=_id)
def test_retransmissions_cover_tshark_resends(path: Path) -> None:
    """We count at least tshark's resent messages; as many where no 1xx/ACK/CANCEL is resent."""
    resent = number(stat(path), "Number of resent SIP messages:")
    ours = traced(path)[0].stats.retransmissions
    if _id(path) in SAME_RESENT:
        assert ours == resent
    else:
        assert ours >= resent


@pytest.mark.tshark
@pytest.mark.parametrize("name", ["sngrep/aaa.pcap", "heplify/sip_tcp_websocket.pcap"])
def test_tshark_resent_frames_are_ours(name: str, tshark: str) -> None:
    """Each frame tshark flags sip.resend is one we count as a retransmission."""
    path = CORPUS / "pcap" / name
    out = subprocess.run(
        [tshark, "-r", str(path), "-Y", "sip.resend==1", "-T", "fields", "-e", "frame.number"],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    flagged = {int(n) for n in out.split()}
    tracker = CallTracker()
    ours: set[int] = set()
    for msg in messages(path):
        before = tracker.stats.retransmissions
        tracker.observe(msg)
        if tracker.stats.retransmissions > before:
            ours.add(msg.packet.number)
    assert flagged <= ours


# Captures whose INVITE -> ACK times tshark reports (every ACK follows its INVITE on the
# same hop); see docs/call-states.md "How our setup time relates to tshark's".
SETUP_FILES = [
    "heplify/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap",
    "heplify/rtp_rtcp_sip_ipv4_udp.pcap",
    "sip-attacks/SIP-3700-unauthorized-401.pcap",
    "wireshark-samples/Asterisk_ZFONE_XLITE.pcap",
    "wireshark-samples/SIP_DTMF2.cap",
    "wireshark-samples/h263-over-rtp.pcap",
    "wireshark-samples/sip-rtp-g711.pcap",
    "wireshark-samples/sip-rtp-g722.pcap",
    "wireshark-samples/sip-rtp-g729a.pcap",
]


def invite_to_ack(msgs: tuple[SipMessage, ...]) -> list[float]:
    """tshark's measure: each ACK minus its INVITE (same Call-ID, CSeq and hop), seconds."""
    sent: dict[tuple[object, ...], float] = {}
    out: list[float] = []
    for m in msgs:
        p = m.packet
        key = (m.call_id, m.cseq, p.src_ip, p.src_port, p.dst_ip, p.dst_port)
        if m.is_request and m.method == "INVITE":
            sent.setdefault(key, p.ts)
        elif m.is_request and m.method == "ACK" and key in sent:
            out.append(p.ts - sent[key])
    return out


def first_ack(msgs: tuple[SipMessage, ...], call_id: str) -> float:
    """Time of the first ACK for the call's last initial INVITE (the answered one)."""
    cseq = max(
        m.cseq or 0
        for m in msgs
        if m.call_id == call_id and m.is_request and m.method == "INVITE" and not m.to_tag
    )
    return min(
        m.packet.ts
        for m in msgs
        if m.call_id == call_id and m.is_request and m.method == "ACK" and m.cseq == cseq
    )


@pytest.mark.parametrize("name", SETUP_FILES)
def test_setup_time_against_tshark(name: str) -> None:
    """tshark's setup times are INVITE->ACK; our answer (INVITE->2xx) comes before that ACK."""
    path = CORPUS / "pcap" / name
    text = stat(path)
    msgs = messages(path)
    millis = [int(v * 1000) for v in invite_to_ack(msgs)]  # tshark truncates to whole ms
    # within 2 ms: tshark truncates its nanosecond sums, we truncate each delta
    assert abs(min(millis) - number(text, "Min")) <= 2
    assert abs(max(millis) - number(text, "Max")) <= 2
    assert abs(sum(millis) / len(millis) - number(text, "Average setup time")) <= 2
    for call in traced(path)[1]:
        if call.setup_time is not None:
            assert call.setup_time >= 0
            assert call.start + call.setup_time <= first_ack(msgs, call.call_id)


def test_sip_rtp_g711_calls() -> None:
    """SIPp -> FreeSWITCH: one completed call hung up by the callee, one answered (tshark times)."""
    tracker, calls = traced(CORPUS / "pcap/wireshark-samples/sip-rtp-g711.pcap")
    by_id = {c.call_id: c for c in calls}
    done, open_ = by_id["1-1966@10.0.2.20"], by_id["1-1968@10.0.2.20"]
    # tshark frame times: INVITE 0.000000, 200 0.004350, BYE 8.503693 (from 10.0.2.15)
    assert done.state == "completed" and done.hangup_by == "callee"
    assert done.setup_time == pytest.approx(0.004350, abs=1e-6)
    assert done.duration == pytest.approx(8.503693 - 0.004350, abs=1e-6)
    assert done.codecs[0] == "PCMU/8000" and open_.codecs[0] == "PCMA/8000"
    assert open_.state == "answered" and open_.setup_time == pytest.approx(0.004668, abs=1e-6)
    assert (done.src_ip, done.dst_ip) == ("10.0.2.20", "10.0.2.15")
    assert tracker.stats.retransmissions == 0


def test_sctp_call_rejected() -> None:
    """INVITE/100/403/ACK over SCTP (OpenSIPS 2.4.5) is one rejected call."""
    _, (call,) = traced(CORPUS / "pcap/heplify/sip_sctp.pcap")
    assert call.state == "rejected" and call.final_status == 403
    assert call.transport == "sctp" and call.server == "OpenSIPS (2.4.5 (x86_64/linux))"
    assert call.methods == {"INVITE": 1, "ACK": 1}
