"""SIP and SDP rendering: framing, Content-Length, SDP lines, digest values."""

from __future__ import annotations

import hashlib

from calltrace.sim import sip


def _split(raw: bytes) -> tuple[list[str], bytes]:
    head, body = raw.split(b"\r\n\r\n", 1)
    return head.decode().split("\r\n"), body


def test_request_framing_and_content_length() -> None:
    """Start line, headers in order, CRLF CRLF, and a Content-Length equal to the body size."""
    raw = sip.request(
        "INVITE", "sip:bob@example.com", [("Call-ID", "x"), ("CSeq", "1 INVITE")], b"v=0\r\n"
    )
    lines, body = _split(raw)
    assert lines == [
        "INVITE sip:bob@example.com SIP/2.0",
        "Call-ID: x",
        "CSeq: 1 INVITE",
        "Content-Length: 5",
    ]
    assert body == b"v=0\r\n"


def test_response_default_reason_and_empty_body() -> None:
    """A 487 gets RFC 3261's reason phrase and Content-Length 0."""
    lines, body = _split(sip.response(487, [("CSeq", "1 INVITE")]))
    assert lines[0] == "SIP/2.0 487 Request Terminated"
    assert lines[-1] == "Content-Length: 0" and body == b""


def test_sdp_offer_lists_codecs_and_dtmf() -> None:
    """m= lists the payload types in order, each with its rtpmap; DTMF as 101 with fmtp."""
    body = sip.sdp(ip="10.0.0.5", port=4000, codecs=[sip.G722, sip.PCMU, sip.OPUS], session_id=42)
    lines = body.decode().split("\r\n")
    assert "m=audio 4000 RTP/AVP 9 0 111 101" in lines
    assert {"a=rtpmap:9 G722/8000", "a=rtpmap:0 PCMU/8000", "a=rtpmap:111 opus/48000/2",
            "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16"} <= set(lines)  # fmt: skip
    assert "c=IN IP4 10.0.0.5" in lines and "o=- 42 1 IN IP4 10.0.0.5" in lines
    assert body.endswith(b"a=sendrecv\r\n")


def test_sdp_ipv6_address_family() -> None:
    """An IPv6 media address is announced as IN IP6 (RFC 4566 §5.7)."""
    body = sip.sdp(ip="2001:db8::5", port=4000, codecs=[sip.PCMA], session_id=1, dtmf=False)
    assert b"c=IN IP6 2001:db8::5\r\n" in body and b"telephone-event" not in body


def test_digest_response_matches_rfc2617_formula() -> None:
    """response = MD5(HA1:nonce:nc:cnonce:auth:HA2) computed independently with hashlib."""

    def md5(s: str) -> str:
        return hashlib.md5(s.encode()).hexdigest()

    ha1 = md5("alice:atlanta.com:zanzibar")
    ha2 = md5("REGISTER:sip:atlanta.com")
    want = md5(f"{ha1}:abc:00000001:0a4f113b:auth:{ha2}")
    got = sip.digest_response(username="alice", realm="atlanta.com", password="zanzibar",
                              method="REGISTER", uri="sip:atlanta.com", nonce="abc",
                              cnonce="0a4f113b")  # fmt: skip
    assert got == want


def test_codec_timestamp_steps() -> None:
    """20 ms is 160 ticks at 8 kHz (G.722 included, RFC 3551 §4.5.2) and 960 for Opus."""
    assert [c.ts_step for c in (sip.PCMU, sip.G722, sip.G729, sip.OPUS)] == [160, 160, 160, 960]
