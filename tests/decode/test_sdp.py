"""SDP parsing (RFC 8866) on hand-written bodies."""

from __future__ import annotations

import pytest

from calltrace.decode.sdp import parse_sdp
from calltrace.errors import MalformedInput

OFFER = (
    b"v=0\r\no=alice 2890844526 2890842807 IN IP4 198.51.100.7\r\ns=call\r\n"
    b"c=IN IP4 198.51.100.7\r\nt=0 0\r\na=sendonly\r\n"
    b"a=ice-ufrag:F7gI\r\na=ice-pwd:x9cml/YzichV2+XlhiMu8g\r\n"
    b"m=audio 49170 RTP/SAVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n"
    b"a=fmtp:101 0-16\r\na=ptime:20\r\na=rtcp:49171\r\na=rtcp-mux\r\n"
    b"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n"
    b"a=candidate:1 1 UDP 2130706431 198.51.100.7 49170 typ host\r\n"
    b"m=video 0 RTP/AVP 31\r\n"
    b"m=audio 51372/2 RTP/AVP 18\r\nc=IN IP6 2001:db8::5\r\na=recvonly\r\n"
    b"a=fingerprint:sha-256 AB:CD\r\na=setup:actpass\r\n"
)


def test_offer_fields() -> None:
    """Origin, session c=, media ports, counts, codecs, ICE, SRTP and RTCP come out."""
    sdp = parse_sdp(OFFER)
    assert (sdp.version, sdp.origin_user, sdp.session_id, sdp.origin_ip) == (
        0,
        "alice",
        "2890844526",
        "198.51.100.7",
    )
    assert (sdp.session_name, sdp.connection_ip, sdp.defects) == ("call", "198.51.100.7", ())
    assert (sdp.ice_ufrag, sdp.ice_pwd) == ("F7gI", "x9cml/YzichV2+XlhiMu8g")
    audio, video, second = sdp.media
    assert audio.codecs == ("PCMU/8000", "PCMA/8000", "telephone-event/8000")
    assert (audio.fmtp, audio.ptime, audio.rtcp_port, audio.rtcp_mux) == (
        {101: "0-16"},
        20,
        49171,
        True,
    )
    assert audio.direction == "sendonly"  # inherited from the session
    assert audio.crypto[0].startswith("1 AES_CM_128_HMAC_SHA1_80")
    assert len(audio.ice_candidates) == 1
    assert (video.port, video.codecs, video.connection_ip) == (0, ("H261/90000",), "198.51.100.7")
    assert (second.port, second.port_count, second.connection_ip) == (51372, 2, "2001:db8::5")
    assert (second.direction, second.setup, second.fingerprint) == (
        "recvonly",
        "actpass",
        "sha-256 AB:CD",
    )
    assert second.codecs == ("G729/8000",)


def test_missing_lines_are_defects() -> None:
    """Absent v=/o=/s=/t= and c= are named, not fatal; LF-only lines are accepted."""
    sdp = parse_sdp(b"m=audio 4000 RTP/AVP 0\nm =video 1 RTP/AVP 31\n")
    assert set(sdp.defects) >= {
        "missing_version",
        "missing_origin",
        "missing_session_name",
        "missing_timing",
        "missing_connection",
        "malformed_line",
        "version_not_first",
    }
    assert sdp.media[0].codecs == ("PCMU/8000",)


@pytest.mark.parametrize(
    ("line", "defect"),
    [
        (b"m=audio x RTP/AVP 0", "invalid_media_line"),
        (b"m=audio 70000 RTP/AVP 0", "invalid_port"),
        (b"c=IN IP5 1.2.3.4", "invalid_connection"),
        (b"a=rtpmap:31 LPC", "invalid_rtpmap"),
        (b"m=audio 5000 RTP/AVP", "media_without_formats"),
        (b"m=audio 12x/AVP RTP/AVP 0", "invalid_media_line"),
    ],
)
def test_line_defects(line: bytes, defect: str) -> None:
    """Malformed media, connection and rtpmap lines produce their defect tokens."""
    body = b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\n"
    if not line.startswith(b"m="):
        body += b"m=audio 5000 RTP/AVP 0\r\n"
    assert defect in parse_sdp(body + line + b"\r\n").defects


@pytest.mark.parametrize("body", [b"", b"hello world", b"\x00\x01\x02", b"<xml/>"])
def test_not_sdp(body: bytes) -> None:
    """Bodies with no <type>=<value> line raise MalformedInput(layer='sdp')."""
    with pytest.raises(MalformedInput) as info:
        parse_sdp(body)
    assert (info.value.layer, info.value.kind) == ("sdp", "not_sdp")


def test_rfc4475_sdp_bodies_parse(corpus: object) -> None:
    """The SDP in the RFC 4475 INVITEs parses with the static PT 12 filled in."""
    from pathlib import Path

    data = (Path(str(corpus)) / "rfc4475" / "esc01.dat").read_bytes()
    sdp = parse_sdp(data[data.index(b"\r\n\r\n") + 4 :])
    assert sdp.media[0].codecs == ("PCMU/8000", "QCELP/8000")
    assert sdp.media[1].rtpmap == {31: "LPC"} and "invalid_rtpmap" in sdp.defects
