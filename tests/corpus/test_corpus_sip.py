"""Every real capture of the corpus, analysed end to end and held against tshark.

tshark's ``-z sip,stat`` outputs (corpus/expected/tshark) are the oracle for message
counts per method and status code; a live tshark run (when installed) is the oracle for
which Call-IDs are calls and which are registrations. Where we differ from the stored
outputs on purpose, ``DIFFERENCES`` names the file and the reason, and the comparison
is made against tshark told what it missed (``-d`` decode-as options).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import CORPUS
from tests.corpus._analyze import analyze, expected_name, parse_sip_stat

CAPTURES = sorted(p for p in (CORPUS / "pcap").glob("*/*") if p.is_file())

#: file -> (why tshark's stored count differs from ours, the tshark options that make it right)
DIFFERENCES: dict[str, tuple[str, list[str]]] = {
    "heplify__sip_ipv4_tcp_fragmented.pcap": (
        "SIP over TCP on port 6060: tshark only decodes SIP on 5060 unless told with -d,"
        " so its stored sip,stat shows 0 messages; we recognise SIP by content on any port",
        ["-d", "tcp.port==6060,sip"],
    ),
    "sip-attacks__SIP-Bruteforce-Single-IP.pcap": (
        "frames 1974-1979 come from UDP port 1293, which tshark gives to PacketCable (the lower"
        " port wins its heuristic), so it misses 3 REGISTERs and their 401s",
        ["-d", "udp.port==1293,sip"],
    ),
}

#: CSeq methods that only exist inside an INVITE dialog: a Call-ID with any of them is a
#: call, even when the capture started after its INVITE (a BYE alone is still a call).
DIALOG_METHODS = ("INVITE", "ACK", "BYE", "CANCEL", "PRACK", "UPDATE")

#: What the MANIFEST says the TCP stream-reassembly file holds (406 messages).
TCP_FRAGMENTED_MESSAGES = 406


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(CORPUS / "pcap")) for p in paths]


def _tshark_stat(tshark: str, capture: Path, options: list[str]) -> str:
    return subprocess.run(
        [tshark, "-r", str(capture), *options, "-q", "-z", "sip,stat"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout


#: Frames tshark lists as SIP but leaves out of its own sip,stat, as we do.
LEFT_OUT = {
    "pcapplusplus__sip_reqs.pcap": "frame.number != 4",  # a BYE cut inside its headers:
    # a decode error (sip.unterminated_header_section) for us, not counted by tshark
}
FIELDS = ["-e", "sip.CSeq.method", "-e", "sip.Call-ID", "-E", "occurrence=f"]


def _tshark_call_ids(
    tshark: str, capture: Path, options: list[str], left_out: str | None
) -> dict[str, set[str]]:
    """Call-IDs by CSeq method, as tshark decodes them."""
    display_filter = f"sip && {left_out}" if left_out else "sip"
    lines = subprocess.run(
        [tshark, "-r", str(capture), *options, "-Y", display_filter, "-T", "fields", *FIELDS],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.splitlines()
    by_method: dict[str, set[str]] = {}
    for line in lines:
        method, _, call_id = line.partition("\t")
        if method and call_id:
            by_method.setdefault(method, set()).add(call_id)
    return by_method


@pytest.mark.corpus
@pytest.mark.parametrize("capture", CAPTURES, ids=_ids(CAPTURES))
def test_message_counts_equal_tshark(corpus: Path, capture: Path) -> None:
    """SIP messages per method and per status code equal tshark's sip,stat for every capture."""
    name = expected_name(corpus, capture)
    expected = parse_sip_stat((corpus / "expected" / "tshark" / f"{name}.sip_stat.txt").read_text())
    analysis = analyze(capture)
    if name in DIFFERENCES:
        assert analysis.stats.sip_messages != expected.messages, "difference no longer holds"
        pytest.skip(DIFFERENCES[name][0] + " (compared live in test_differences_against_tshark)")
    assert dict(analysis.stats.methods) == expected.methods
    assert dict(analysis.stats.statuses) == expected.statuses
    assert analysis.stats.sip_messages == expected.messages


@pytest.mark.corpus
@pytest.mark.tshark
@pytest.mark.parametrize("name", sorted(DIFFERENCES))
def test_differences_against_tshark(corpus: Path, tshark: str, name: str) -> None:
    """Where the stored tshark output is wrong, tshark with decode-as options agrees with us."""
    capture = corpus / "pcap" / name.replace("__", "/")
    reason, options = DIFFERENCES[name]
    expected = parse_sip_stat(_tshark_stat(tshark, capture, options))
    analysis = analyze(capture)
    assert dict(analysis.stats.methods) == expected.methods, reason
    assert dict(analysis.stats.statuses) == expected.statuses, reason
    assert analysis.stats.sip_messages == expected.messages


@pytest.mark.corpus
def test_tcp_reassembly_finds_every_message(corpus: Path) -> None:
    """The split-and-merged TCP capture yields all 406 messages the MANIFEST lists."""
    analysis = analyze(corpus / "pcap" / "heplify" / "sip_ipv4_tcp_fragmented.pcap")
    assert analysis.stats.sip_messages == TCP_FRAGMENTED_MESSAGES
    assert analysis.stats.methods["UPDATE"] == 63
    assert analysis.stats.decode_errors == 0


@pytest.mark.corpus
@pytest.mark.tshark
@pytest.mark.parametrize("capture", CAPTURES, ids=_ids(CAPTURES))
def test_calls_and_registrations_match_tshark_call_ids(
    corpus: Path, tshark: str, capture: Path
) -> None:
    """Calls are the Call-IDs of INVITE dialogs (seen whole or mid-way), registrations the
    Call-IDs with REGISTER transactions."""
    name = expected_name(corpus, capture)
    options = DIFFERENCES.get(name, ("", []))[1]
    by_method = _tshark_call_ids(tshark, capture, options, LEFT_OUT.get(name))
    analysis = analyze(capture)
    dialogs = set().union(*(by_method.get(m, set()) for m in DIALOG_METHODS))
    assert {c.call_id for c in analysis.calls} == dialogs
    assert {r.call_id for r in analysis.registrations} == by_method.get("REGISTER", set())


@pytest.mark.corpus
@pytest.mark.parametrize("capture", CAPTURES, ids=_ids(CAPTURES))
def test_nothing_wrong_is_silent(capture: Path) -> None:
    """Every message kept with defects also appears in errors as a defect record."""
    analysis = analyze(capture)
    defect_records = [e for e in analysis.errors if e.kind == "defect"]
    assert len(defect_records) == analysis.stats.defects
    assert all(e.defects and e.call_id is not None for e in defect_records)
    assert analysis.stats.decode_errors == len(analysis.errors) - len(defect_records)
