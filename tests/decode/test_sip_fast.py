"""The native SIP fast path (_sipfast.c) gives exactly what the pure-Python parser gives.

Every comparison runs both ``parse_sip_pure`` and the native module on the same packet:
fields, headers, body, defects, or the same DecodeError class and kind. ``parse_fast``
is the native path alone (None where it defers to Python), so the tests also pin that
the common messages really take it. Skipped when the extension is not built.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calltrace.decode import sip
from calltrace.decode.frames import FrameDecoder
from calltrace.decode.pcap import CaptureReader
from calltrace.errors import DecodeError
from calltrace.model import CaptureRecord, Packet, SipMessage
from calltrace.sim.engine import SimConfig
from calltrace.sim.scenarios import simulation
from tests.conftest import CORPUS

native = pytest.importorskip(
    "calltrace.decode._sipfast", reason="the native extension is not built (pip install -e .)"
)
assert sip.setup_native(native)

SDP = (
    b"v=0\r\no=alice 2890844526 2890844526 IN IP4 198.51.100.7\r\ns=-\r\n"
    b"c=IN IP4 198.51.100.7\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 8 101\r\n"
    b"a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
)
DIALOG = (
    b"Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK776asdhds;rport\r\n"
    b'From: "Alice" <sip:+14155550100@pbx.example.com>;tag=1928301774\r\n'
    b"To: <sip:+4930123456@carrier.example.net>;tag=a6c85cf\r\n"
    b"Call-ID: a84b4c76e66710@pbx.example.com\r\n"
)
INVITE = (
    b"INVITE sip:+4930123456@carrier.example.net SIP/2.0\r\n"
    + DIALOG.replace(b";tag=a6c85cf", b"")
    + b"Max-Forwards: 70\r\nCSeq: 314159 INVITE\r\n"
    b"Contact: <sip:+14155550100@198.51.100.7:5060>\r\n"
    b"Allow: INVITE, ACK, CANCEL, OPTIONS, BYE\r\nSupported: replaces, timer\r\n"
    b"User-Agent: Asterisk PBX 18.10.0\r\nContent-Type: application/sdp\r\n"
    b"Content-Length: " + str(len(SDP)).encode() + b"\r\n\r\n" + SDP
)
TYPICAL = {
    "invite": INVITE,
    "100": b"SIP/2.0 100 Trying\r\n"
    + DIALOG.replace(b";tag=a6c85cf", b"")
    + b"CSeq: 314159 INVITE\r\nContent-Length: 0\r\n\r\n",
    "200": b"SIP/2.0 200 OK\r\n" + DIALOG + b"CSeq: 314159 INVITE\r\n"
    b"Contact: <sip:+4930123456@203.0.113.9>\r\nServer: SBC\r\nContent-Length: 0\r\n\r\n",
    "ack": b"ACK sip:+4930123456@203.0.113.9 SIP/2.0\r\n"
    + DIALOG
    + b"Max-Forwards: 70\r\nCSeq: 314159 ACK\r\nContent-Length: 0\r\n\r\n",
    "bye": b"BYE sip:+4930123456@203.0.113.9 SIP/2.0\r\n"
    + DIALOG
    + b"Max-Forwards: 70\r\nCSeq: 314160 BYE\r\nContent-Length: 0\r\n\r\n",
    "register": b"REGISTER sip:example.net SIP/2.0\r\n"
    + DIALOG.replace(b";tag=a6c85cf", b"")
    + b"Max-Forwards: 70\r\nCSeq: 2 REGISTER\r\n"
    b"Contact: <sip:alice@192.0.2.4>;expires=3600\r\nExpires: 3600\r\n"
    b"Date: Sat, 13 Nov 2010 23:29:00 GMT\r\nl: 0\r\n\r\n",
}


def _pkt(payload: bytes, transport: str = "udp") -> Packet:
    return Packet(
        number=3,
        ts=2.5,
        src_ip="198.51.100.7",
        src_port=5060,
        dst_ip="203.0.113.9",
        dst_port=5060,
        transport=transport,
        payload=payload,
    )


def _outcome(parse: object, packet: Packet) -> tuple[object, ...]:
    try:
        return ("message", parse(packet))  # type: ignore[operator]
    except DecodeError as err:
        return ("error", type(err), err.layer, err.kind)


def same(packet: Packet) -> bool:
    """Assert fast == pure on one packet; True when the native path took it itself."""
    pure = _outcome(sip.parse_sip_pure, packet)
    fast = native.parse_fast(packet)
    if fast is not None:
        assert pure == ("message", fast), packet.payload[:400]
    assert _outcome(native.parse_sip, packet) == pure, packet.payload[:400]
    assert native.looks_like_sip(packet.payload) == sip.looks_like_sip_pure(packet.payload)
    return fast is not None


@pytest.mark.parametrize("name", sorted(TYPICAL))
def test_typical_messages_take_the_fast_path(name: str) -> None:
    """The everyday messages are parsed natively, identical to the pure parser."""
    assert same(_pkt(TYPICAL[name])) and same(_pkt(TYPICAL[name], "tcp"))


def test_native_message_equals_dataclass_init() -> None:
    """The natively built message equals SipMessage(...) field for field and stays frozen."""
    msg = native.parse_fast(_pkt(INVITE))
    assert msg is not None and type(msg) is SipMessage
    rebuilt = SipMessage(**{f.name: getattr(msg, f.name) for f in dataclasses.fields(msg)})
    assert rebuilt == msg and hash(rebuilt.headers) == hash(msg.headers)
    assert (msg.method, msg.cseq, msg.from_tag, msg.to_tag, msg.body) == (
        "INVITE",
        314159,
        "1928301774",
        None,
        SDP,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        msg.method = "BYE"  # type: ignore[misc]


def test_setup_refuses_another_layout() -> None:
    """setup() says False for a layout or a single-use header the native code cannot serve."""
    args = (sip.parse_sip_pure, sip.COMPACT_FORMS, (), ())
    assert not native.setup(SipMessage, sip._FIELDS[::-1], *args)
    assert not native.setup(Packet, sip._FIELDS, *args)
    single = (*sip._SINGLE, "x-untracked")
    assert not native.setup(SipMessage, sip._FIELDS, sip.parse_sip_pure, {}, (), single)


def test_env_var_forces_the_pure_path() -> None:
    """CALLTRACE_PURE_PYTHON=1 leaves FAST False and parse_sip the Python function."""
    code = "from calltrace.decode import sip; print(sip.FAST, sip.parse_sip is sip.parse_sip_pure)"
    env = dict(os.environ, CALLTRACE_PURE_PYTHON="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.split() == ["False", "True"]
    assert sip.FAST is (os.environ.get("CALLTRACE_PURE_PYTHON", "") in ("", "0"))


EDGES = {
    # (payload edit on the INVITE, does the native path keep it?)
    "compact forms": ((b"Call-ID:", b"i:"), (b"Via:", b"v:")),
    "odd case and space before colon": ((b"Call-ID:", b"cALL-iD :"),),
    "folded header": ((b"Supported: replaces,", b"Supported: replaces,\r\n "),),
    "second call-id": ((b"CSeq:", b"i: other\r\nCSeq:"),),
    "second content-type": ((b"CSeq:", b"c: text/plain\r\nCSeq:"),),
    "bare lf": ((b"Max-Forwards: 70\r\n", b"Max-Forwards: 70\n"),),
    "contact expires too big": ((b"5060>", b"5060>;expires=99999999999"),),
    "retry-after": ((b"CSeq:", b"Retry-After: 5;duration=9 (lunch)\r\nCSeq:"),),
    "bad retry-after": ((b"CSeq:", b"Retry-After: soon\r\nCSeq:"),),
    "warning": ((b"CSeq:", b'Warning: 399 sbc "x y"\r\nCSeq:'),),
    "bad warning": ((b"CSeq:", b'Warning: 39 sbc "x"\r\nCSeq:'),),
    "bad date": ((b"CSeq:", b"Date: Sat, 13 Nov 2010 23:29:00 CET\r\nCSeq:"),),
    "no from tag": ((b";tag=1928301774", b""),),
    "empty tag": ((b";tag=1928301774", b";tag="),),
    "short branch": ((b"z9hG4bK776asdhds", b"z9hG4bK"),),
    "utf-8 display name": ((b'"Alice"', '"Alicé"'.encode()),),
    "invalid utf-8": ((b'"Alice"', b'"Alic\xe9"'),),
    "no-break space ends a value": ((b"replaces, timer", "replaces, timer\u00a0".encode()),),
    "control byte": ((b"replaces,", b"replaces,\x1c"),),
    "body longer than content-length": ((b"a=sendrecv\r\n", b"a=sendrecv\r\nx"),),
    "method mismatch": ((b"CSeq: 314159 INVITE", b"CSeq: 314159 BYE"),),
    "lower-case version": ((b"SIP/2.0\r\n", b"sip/2.0\r\n"),),
    "ipv6 request-uri": ((b"@carrier.example.net SIP", b"@2001:db8::1 SIP"),),
    "leading crlf": ((b"INVITE sip:", b"\r\nINVITE sip:"),),
    "cseq too big": ((b"CSeq: 314159", b"CSeq: 4294967296"),),
}
KEPT = {
    "compact forms",
    "odd case and space before colon",
    "lower-case version",
    "utf-8 display name",
    "retry-after",
    "warning",
}


@pytest.mark.parametrize("name", sorted(EDGES))
def test_edge_cases_match(name: str) -> None:
    """Unusual messages give the pure result, natively only when no defect is possible."""
    payload = INVITE
    for old, new in EDGES[name]:
        assert old in payload
        payload = payload.replace(old, new, 1)
    assert same(_pkt(payload)) is (name in KEPT)


@cache
def _torture() -> tuple[bytes, ...]:
    files = sorted((CORPUS / "rfc4475").glob("*.dat")) + sorted((CORPUS / "rfc5118").glob("*"))
    return tuple(p.read_bytes() for p in files if p.suffix != ".tsv")


@pytest.mark.corpus
def test_rfc4475_and_5118_messages(corpus: Path) -> None:
    """Every torture-test message, over UDP and TCP, decodes the same on both paths."""
    assert len(_torture()) > 50
    taken = sum(same(_pkt(raw, transport)) for raw in _torture() for transport in ("udp", "tcp"))
    assert taken > 0


def _capture_packets(data: bytes) -> list[Packet]:
    reader, frames, out = CaptureReader(), FrameDecoder(), []
    try:
        reader.feed(data)
        for event in reader.events():
            if isinstance(event, CaptureRecord):
                out.extend(frames.decode(event))
    except DecodeError:
        pass  # a deliberately broken capture: compare what came before
    out.extend(frames.flush())
    return [p for p in out if isinstance(p, Packet)]


CAPTURES = sorted(p for p in (CORPUS / "pcap").glob("*/*") if p.is_file()) or [
    CORPUS / "pcap" / "absent"
]


@pytest.mark.corpus
@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_capture(corpus: Path, path: Path) -> None:
    """Every payload of every corpus capture (pcap + frames, no tshark) decodes the same."""
    for packet in _capture_packets(path.read_bytes()):
        same(packet)


@pytest.mark.parametrize("scenario", ["carrier", "office", "demo"])
def test_generator_messages(scenario: str) -> None:
    """The generator's messages decode the same, and nearly all of them natively."""
    config = SimConfig(seed=3, rate=5, duration=120, max_messages=1500)
    packets: list[Packet] = []
    frames = FrameDecoder()
    for number, (ts, frame) in enumerate(simulation(scenario, config), 1):
        record = CaptureRecord(
            number=number, ts=ts / 1e9, interface=0, link_type=1, orig_len=len(frame), data=frame
        )
        packets.extend(p for p in frames.decode(record) if isinstance(p, Packet))
    sips = [p for p in packets if sip.looks_like_sip_pure(p.payload)]
    taken = sum(same(p) for p in sips)
    assert len(sips) > 100 and taken >= 0.95 * len(sips)


SEEDS = [*TYPICAL.values()]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOKENS = [
    b"\r\n", b"\n", b"\r", b"\x00", b" ", b"\t", b";", b",", b"<", b">", b'"', b"\\", b"=",
    b"?", b":", b"@", b"[", b"\xff", b"\xc3\xa9", b";tag=", b";branch=", b"z9hG4bK",
    b";expires=", b"9" * 12, b"SIP/2.0", b"\r\n ", b"i: x\r\n", b"CSeq: 2 ACK\r\n",
    b"Content-Length: 5\r\n", b"Date: x\r\n", b"x" * 70000,
]  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A typical message with a few byte flips, insertions, cuts, duplicated lines or
    CRLF->LF: the cases where the native path must defer exactly when Python would."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["flip", "insert", "delete", "cut", "dup", "lf"]))
        if op == "flip" and data:
            data[min(at, len(data) - 1)] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.sampled_from(TOKENS) | st.binary(max_size=8))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 12))]
        elif op == "cut":
            del data[at:]
        elif op == "dup":
            lines = bytes(data).split(b"\r\n")
            pick = draw(st.integers(0, len(lines) - 1))
            lines.insert(pick, lines[pick])
            data = bytearray(b"\r\n".join(lines))
        else:
            data = bytearray(bytes(data).replace(b"\r\n", b"\n", draw(st.integers(1, 3))))
    return bytes(data)


@FUZZ
@given(mutated(), st.sampled_from(["udp", "tcp"]))
def test_mutated_messages(payload: bytes, transport: str) -> None:
    """Mutated messages give the same message, defects or error kind on both paths."""
    same(_pkt(payload, transport))


@FUZZ
@given(st.binary(max_size=300) | st.builds(bytes.__add__, st.sampled_from(SEEDS), st.binary()))
def test_random_bytes(payload: bytes) -> None:
    """Arbitrary bytes (and messages with junk appended) decode or fail the same way."""
    same(_pkt(payload))


@FUZZ
@given(
    st.sampled_from([b"", b"\r\n", b"\x00\x00", b" \t"]),
    st.sampled_from([b"SIP/2.0 ", b"INVITE ", b"X-Y.z ", b"\x80\x00", b"BAD\x01 "]),
    st.binary(max_size=80),
)
def test_looks_like_sip_matches(lead: bytes, start: bytes, rest: bytes) -> None:
    """The native content check answers exactly as the Python one on start-line shapes."""
    payload = lead + start + rest
    assert native.looks_like_sip(payload) == sip.looks_like_sip_pure(payload)
