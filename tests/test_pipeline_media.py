"""The pipeline's media path on hand-built captures: SDP offer/answer changes, NAT,
encryption, RTCP, and the per-call media summary (docs/media.md)."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest

from calltrace.model import Packet, SipMessage
from calltrace.pipeline import analyze_chunks
from calltrace.report.jsondoc import document
from calltrace.store.db import open_engine
from calltrace.store.queries import find_rtcp, find_streams, get_call
from calltrace.store.writer import StoreSink
from calltrace.trace.callmedia import summarize
from tests.decode._build import eth, ipv4, pcap_file, udp
from tests.trace.factory import Leg, sdp

T0 = 1767603600.0
CALLER, CALLEE = "10.0.0.1", "10.0.0.2"


def rtp(seq: int, ts: int, pt: int = 0, ssrc: int = 0x1111) -> bytes:
    """An RTP header (RFC 3550 §5.1) and 160 bytes of media."""
    return struct.pack("!BBHII", 0x80, pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + bytes(160)


def datagram(at: float, src: str, dst: str, payload: bytes) -> Packet:
    """A UDP datagram ``at`` seconds after T0 between ``ip:port`` endpoints."""
    (sip_, sport), (dip, dport) = (x.rsplit(":", 1) for x in (src, dst))
    return Packet(number=0, ts=T0 + at, src_ip=sip_, src_port=int(sport), dst_ip=dip,
                  dst_port=int(dport), transport="udp", payload=payload)  # fmt: skip


def talk(src: str, dst: str, start: float, end: float, *, pt: int = 0, ssrc: int = 0x1111,
         seq0: int = 1) -> list[Packet]:  # fmt: skip
    """20 ms G.711-style packets from ``start`` (inclusive) to ``end`` (exclusive)."""
    count = round((end - start) / 0.02)
    return [datagram(start + 0.02 * i, src, dst, rtp(seq0 + i, 160 * i, pt, ssrc))
            for i in range(count)]  # fmt: skip


def capture(items: list[SipMessage | Packet]) -> bytes:
    """A libpcap file of the items in time order (SIP messages by their own packets)."""
    packets = sorted((i.packet if isinstance(i, SipMessage) else i for i in items),
                     key=lambda p: p.ts)  # fmt: skip
    records = []
    for p in packets:
        frame = eth(ipv4(udp(p.payload, p.src_port, p.dst_port), p.src_ip, p.dst_ip))
        micros = round((p.ts % 1) * 1e6)
        records.append((int(p.ts), micros, frame))
    return pcap_file(records)


def analyze(items: list[SipMessage | Packet]) -> dict[str, Any]:
    return document(analyze_chunks([("hand.pcap", [capture(items)])]))


def call_flow(leg: Leg, offer: str, answer: str, *, bye_at: float = 10.0) -> list[SipMessage]:
    """INVITE (offer) at 0, 200 (answer) at 0.5, ACK, and BYE from the caller at ``bye_at``."""
    invite = leg.invite(T0, body=offer)
    ok = leg.response(invite, 200, "OK", T0 + 0.5, to_tag="btag", body=answer)
    ack = leg.request("ACK", T0 + 0.6, to_tag="btag", branch="z9hG4bKack")
    bye = leg.request("BYE", T0 + bye_at, cseq=3, to_tag="btag", branch="z9hG4bKbye")
    return [invite, ok, ack, bye, leg.response(bye, 200, "OK", T0 + bye_at + 0.01)]


def reinvite(leg: Leg, at: float, offer: str, answer: str) -> list[SipMessage]:
    """A re-INVITE inside the dialog (RFC 3261 §14) with its answer."""
    invite = leg.invite(T0 + at, cseq=2, to_tag="btag", branch="z9hG4bKre", body=offer)
    return [invite, leg.response(invite, 200, "OK", T0 + at + 0.1, body=answer)]


PCMU = (0, "PCMU/8000")
G729 = (18, "G729/8000")


def test_reinvite_moves_media_and_changes_codec() -> None:
    """RTP to the ports a re-INVITE moved to is tied to the call with the new codec."""
    leg = Leg("move@a")
    items: list[SipMessage | Packet] = [
        *call_flow(leg, sdp(CALLER, 4000, PCMU), sdp(CALLEE, 5000, PCMU)),
        *talk(f"{CALLER}:4000", f"{CALLEE}:5000", 1.0, 3.0),
        *reinvite(leg, 3.0, sdp(CALLER, 4002, G729), sdp(CALLEE, 5002, G729)),
        *talk(f"{CALLER}:4002", f"{CALLEE}:5002", 3.2, 5.0, pt=18, ssrc=0x2222),
    ]
    doc = analyze(items)
    streams = {s["ssrc"]: s for s in doc["rtp_streams"]}
    assert (streams[0x1111]["codec"], streams[0x1111]["dst_port"]) == ("PCMU/8000", 5000)
    assert (streams[0x2222]["codec"], streams[0x2222]["dst_port"]) == ("G729/8000", 5002)
    assert {s["call_id"] for s in streams.values()} == {"move@a"}
    (call,) = doc["calls"]
    assert call["media_summary"]["codecs"] == ["PCMU/8000", "G729/8000"]
    assert call["media_summary"]["parties"][0]["sdp"] == ["10.0.0.1:4000", "10.0.0.1:4002"]


def test_codec_change_on_the_same_port_names_the_new_payload() -> None:
    """A re-INVITE that keeps the port but maps a new dynamic PT names it on the stream."""
    leg = Leg("codec@a")
    opus = (96, "opus/48000/2")
    items: list[SipMessage | Packet] = [
        *call_flow(leg, sdp(CALLER, 4000, PCMU), sdp(CALLEE, 5000, PCMU)),
        *talk(f"{CALLER}:4000", f"{CALLEE}:5000", 1.0, 2.0),
        *reinvite(leg, 2.0, sdp(CALLER, 4000, opus), sdp(CALLEE, 5000, opus)),
        *talk(f"{CALLER}:4000", f"{CALLEE}:5000", 2.2, 3.0, pt=96, seq0=51),
    ]
    (stream,) = analyze(items)["rtp_streams"]
    assert stream["payload_names"] == ["g711U", "opus"]


def test_hold_with_zero_address_is_not_expected_and_is_reported() -> None:
    """c=0.0.0.0 (RFC 3264 §8.4) registers no media address; the summary says on hold."""
    leg = Leg("hold@a")
    items: list[SipMessage | Packet] = [
        *call_flow(leg, sdp(CALLER, 4000, PCMU), sdp(CALLEE, 5000, PCMU)),
        *talk(f"{CALLER}:4000", f"{CALLEE}:5000", 1.0, 3.0),
        *talk(f"{CALLEE}:5000", f"{CALLER}:4000", 1.0, 3.0, ssrc=0x3333),
        *reinvite(leg, 3.0, sdp("0.0.0.0", 4000, PCMU), sdp(CALLEE, 5000, PCMU)),
        datagram(4.0, "10.0.0.9:7000", "0.0.0.0:4000", rtp(1, 0, ssrc=0x4444)),
    ]
    doc = analyze(items)
    assert {s["ssrc"] for s in doc["rtp_streams"]} == {0x1111, 0x3333}
    summary = doc["calls"][0]["media_summary"]
    assert (summary["on_hold"], summary["one_way_audio"], summary["no_media"]) == (
        True, False, False)  # fmt: skip


def test_sendonly_hold_is_reported() -> None:
    """A re-INVITE with a=sendonly marks the call on hold."""
    leg = Leg("sendonly@a")
    items: list[SipMessage | Packet] = [
        *call_flow(leg, sdp(CALLER, 4000, PCMU), sdp(CALLEE, 5000, PCMU)),
        *reinvite(leg, 3.0, sdp(CALLER, 4000, PCMU, direction="sendonly"),
                  sdp(CALLEE, 5000, PCMU, direction="recvonly")),
    ]  # fmt: skip
    assert analyze(items)["calls"][0]["media_summary"]["on_hold"] is True


def test_nat_rewritten_source_is_tied_and_reported() -> None:
    """RTP from a NAT address reaches the callee's SDP port: tied; the return, latched."""
    leg = Leg("nat@a")
    public = "203.0.113.5:40000"
    items: list[SipMessage | Packet] = [
        *call_flow(leg, sdp(CALLER, 4000, PCMU), sdp(CALLEE, 5000, PCMU)),
        *talk(public, f"{CALLEE}:5000", 1.0, 3.0),
        *talk(f"{CALLEE}:5999", public, 1.01, 3.01, ssrc=0x5555),  # 100 packets
    ]
    doc = analyze(items)
    streams = {s["ssrc"]: s for s in doc["rtp_streams"]}
    assert (streams[0x1111]["source"], streams[0x1111]["call_id"]) == ("sdp", "nat@a")
    assert (streams[0x5555]["source"], streams[0x5555]["call_id"]) == ("latched", "nat@a")
    caller, callee = doc["calls"][0]["media_summary"]["parties"]
    assert (caller["sdp"], caller["rtp_from"], caller["nat"]) == (
        ["10.0.0.1:4000"], [public], True)  # fmt: skip
    assert (callee["rtp_from"], callee["packets"], callee["nat"]) == (["10.0.0.2:5999"], 100, True)


def test_one_way_audio_no_media_and_rtp_after_bye() -> None:
    """Only the caller talks and goes on 5 s past the BYE; a second call has no RTP."""
    leg = Leg("oneway@a")
    quiet = Leg("quiet@a", from_tag="ftag2")
    items: list[SipMessage | Packet] = [
        *call_flow(leg, sdp(CALLER, 4000, PCMU), sdp(CALLEE, 5000, PCMU), bye_at=3.0),
        *talk(f"{CALLER}:4000", f"{CALLEE}:5000", 1.0, 8.0),
        *call_flow(quiet, sdp(CALLER, 4100, PCMU), sdp(CALLEE, 5100, PCMU), bye_at=3.0),
    ]
    calls = {c["call_id"]: c["media_summary"] for c in analyze(items)["calls"]}
    oneway = calls["oneway@a"]
    assert (oneway["one_way_audio"], oneway["silent_party"]) == (True, "callee")
    (late,) = oneway["rtp_after_bye"]
    # last packet at 1.0 + 349 x 0.02 = 7.98 s, BYE at 3.0 s
    assert (late["ssrc"], late["src"]) == (0x1111, "10.0.0.1:4000")
    assert late["after_s"] == pytest.approx(4.98)
    assert (calls["quiet@a"]["no_media"], calls["quiet@a"]["one_way_audio"]) == (True, False)


def test_encryption_from_sdp_and_zrtp_on_the_media_path() -> None:
    """RTP/SAVP with a=crypto reads srtp+sdes; a ZRTP Hello on the port adds zrtp, no error."""
    leg = Leg("srtp@a")
    secure = sdp(CALLER, 4000, PCMU).replace("RTP/AVP", "RTP/SAVP") + "a=crypto:1 AES_CM x\n"
    zrtp_hello = bytes([0x10, 0, 0, 1]) + b"ZRTP" + struct.pack("!I", 0x1111) + bytes(80)
    stun = bytes([0, 1, 0, 0]) + bytes.fromhex("2112a442") + bytes(12)
    items: list[SipMessage | Packet] = [
        *call_flow(leg, secure, sdp(CALLEE, 5000, PCMU)),
        datagram(0.9, f"{CALLER}:4000", f"{CALLEE}:5000", zrtp_hello),
        datagram(0.95, f"{CALLER}:4000", f"{CALLEE}:5000", stun),
        *talk(f"{CALLER}:4000", f"{CALLEE}:5000", 1.0, 2.0),
    ]
    doc = analyze(items)
    assert doc["calls"][0]["media"][0]["security"] == ["srtp", "sdes"]
    assert doc["calls"][0]["media_summary"]["encryption"] == ["srtp", "sdes", "zrtp"]
    assert doc["rtp_streams"][0]["keying"] == ["zrtp"]
    assert doc["stats"]["decode_errors"] == 0


def _rtcp_items() -> list[SipMessage | Packet]:
    """A call, then an SR from the callee and an RR from the caller naming it.

    SR: SSRC 0x2222, NTP seconds 3,900,000,000 and half a second; the RR's block on
    0x2222: fraction 64/256, cumulative 2, jitter 80 units, LSR = the SR's middle 32
    bits, DLSR 8192/65536 s = 125 ms, sent 250 ms after the SR was captured.
    """
    leg = Leg("rtcp@a")
    ntp = (3_900_000_000 << 32) | (1 << 31)
    sr = struct.pack("!BBHIQIII", 0x80, 200, 6, 0x2222, ntp, 1600, 10, 1600)
    lsr = (ntp >> 16) & 0xFFFFFFFF
    block = struct.pack("!IB3sIIII", 0x2222, 64, (2).to_bytes(3, "big"), 12, 80, lsr, 8192)
    rr = struct.pack("!BBHI", 0x81, 201, 7, 0x1111) + block
    return [
        *call_flow(leg, sdp(CALLER, 4000, PCMU), sdp(CALLEE, 5000, PCMU)),
        *talk(f"{CALLEE}:5000", f"{CALLER}:4000", 1.0, 1.2, ssrc=0x2222),
        datagram(2.0, f"{CALLEE}:5001", f"{CALLER}:4001", sr),
        datagram(2.25, f"{CALLER}:4001", f"{CALLEE}:5001", rr),
    ]


def test_rtcp_reports_in_the_document_with_round_trip() -> None:
    """The RR block gives fraction 0.25, jitter 10 ms at 8 kHz and RTT 250 - 125 = 125 ms."""
    reports = analyze(_rtcp_items())["rtcp_reports"]
    sr, rr = reports
    assert (sr["kind"], sr["sender_ssrc"], sr["ssrc"], sr["sender_packets"]) == (
        "sr", 0x2222, None, 10)  # fmt: skip
    assert sr["ntp_time"] == pytest.approx(3_900_000_000 - 2_208_988_800 + 0.5)
    assert (rr["kind"], rr["sender_ssrc"], rr["ssrc"], rr["call_id"]) == (
        "rr", 0x1111, 0x2222, "rtcp@a")  # fmt: skip
    assert (rr["fraction_lost"], rr["cumulative_lost"], rr["jitter"]) == (0.25, 2, 80)
    assert rr["jitter_ms"] == pytest.approx(10.0)
    assert rr["dlsr_ms"] == pytest.approx(125.0)
    assert rr["rtt_ms"] == pytest.approx(125.0, abs=1e-3)


def test_rtcp_reports_and_summary_from_the_store(db_url: str, tmp_path: Path) -> None:
    """Stored RTCP rows read back equal; the summary from stored rows equals the document's."""
    engine = open_engine(db_url)
    sink = StoreSink(engine)
    analysis = analyze_chunks([("hand.pcap", [capture(_rtcp_items())])], sink)
    sink.close()
    rows = find_rtcp(engine, call_id="rtcp@a")
    assert [(r["kind"], r["ssrc"], r["fraction_lost"]) for r in rows] == [
        ("sr", None, None), ("rr", 0x2222, 0.25)]  # fmt: skip
    assert rows[1]["rtt_ms"] == pytest.approx(125.0, abs=1e-3)
    call = get_call(engine, "rtcp@a")
    assert call is not None
    stored = summarize(call, find_streams(engine, call_id="rtcp@a"))
    assert document(analysis)["calls"][0]["media_summary"]["parties"][1]["packets"] == 10
    assert stored.parties[1].packets == 10 and stored.one_way_audio


def test_bad_media_is_recorded_and_counted_never_a_crash() -> None:
    """On an announced port: a truncated header, versions 0 (not STUN/DTLS), 1 and 3, and
    padding that lies are each an error counted by kind; the good packets still make the
    stream, whose sequence wraps from 65535 to 0 without a loss."""
    leg = Leg("bad@a")
    up = (f"{CALLER}:4000", f"{CALLEE}:5000")
    good = [datagram(1.0 + 0.02 * i, *up, rtp(seq, 160 * i)) for i, seq in
            enumerate((65534, 65535, 0, 1))]  # fmt: skip
    header = bytearray(rtp(2, 640))
    lying = bytes([0xA0]) + bytes(header[1:-1]) + bytes([200])  # P bit, pad count 200
    bad = [
        datagram(2.0, *up, rtp(2, 640)[:8]),  # truncated: 8 of 12 header bytes
        datagram(2.1, *up, bytes([0x08]) + rtp(2, 640)[1:]),  # version 0, first octet 8
        datagram(2.2, *up, bytes([0x40]) + rtp(2, 640)[1:]),  # version 1
        datagram(2.3, *up, bytes([0xC0]) + rtp(2, 640)[1:]),  # version 3
        datagram(2.4, *up, lying),
    ]
    doc = analyze([*call_flow(leg, sdp(CALLER, 4000, PCMU), sdp(CALLEE, 5000, PCMU)),
                   *good, *bad])  # fmt: skip
    kinds = doc["stats"]["errors_by_kind"]
    assert (kinds["rtp.truncated"], kinds["rtp.bad_version"], kinds["rtp.bad_padding"]) == (
        1, 3, 1)  # fmt: skip
    (stream,) = doc["rtp_streams"]
    assert (stream["packets"], stream["expected"], stream["lost"]) == (4, 4, 0)
    assert stream["seq_errors"] == 0


def test_ssrc_collision_makes_two_streams() -> None:
    """Two senders using one SSRC toward one receiver (RFC 3550 §8.2) stay two streams."""
    leg = Leg("collide@a")
    items: list[SipMessage | Packet] = [
        *call_flow(leg, sdp(CALLER, 4000, PCMU), sdp(CALLEE, 5000, PCMU)),
        *talk(f"{CALLER}:4000", f"{CALLEE}:5000", 1.0, 1.2, ssrc=0x77),
        *talk("10.0.0.66:4000", f"{CALLEE}:5000", 1.0, 1.4, ssrc=0x77, seq0=900),
    ]
    streams = sorted((s["src_ip"], s["packets"], s["lost"]) for s in analyze(items)["rtp_streams"])
    assert streams == [("10.0.0.1", 10, 0), ("10.0.0.66", 20, 0)]
