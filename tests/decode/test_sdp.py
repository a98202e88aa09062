"""SDP parsing (RFC 8866) on hand-written bodies; the tracker's lean view held to it."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calltrace.decode.sdp import _read, media_security, media_summary, parse_sdp
from calltrace.errors import MalformedInput
from calltrace.model import SipMessage

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


# --- media_summary: the tracker's lean view, held to parse_sdp ---------------------------


def _view(body: bytes) -> object:
    """parse_sdp's media as media_summary tuples, or the kind of error it raised."""
    try:
        sdp = parse_sdp(body)
        return tuple(
            (m.media, m.connection_ip, m.port, m.proto, m.codecs, m.direction,
             tuple(m.rtpmap.items()), m.rtcp_port, m.rtcp_mux, media_security(sdp, m))
            for m in sdp.media
        )  # fmt: skip
    except MalformedInput as exc:
        return ("raises", exc.kind)


def _summary(body: bytes) -> object:
    try:
        return _read(body)  # the reader itself, not media_summary's one-entry memo
    except MalformedInput as exc:
        return ("raises", exc.kind)


EDGE_BODIES = [
    OFFER,
    b"",
    b"hello",
    b"v=0\r\n",  # SDP without media
    b"m=audio 4000 RTP/AVP 0\nm =video 1 RTP/AVP 31\n",  # m= first, LF only
    b"v=0\r\na=sendonly\r\nc=IN IP4 1.1.1.1\r\nm=audio 1 RTP/AVP 0\r\n",  # session direction
    b"c=IN IP4 1.1.1.1\r\nm=audio 1 RTP/AVP 0\r\nc=\r\nc=IN IP4 2.2.2.2\r\n",  # empty c= skipped
    b"c= /x\r\nc=IN IP4 3.3.3.3\r\nm=audio 1 RTP/AVP 0\r\nc=IN IP5 /9\r\n",  # "" addresses
    b"m=audio 1 RTP/AVP 0 08 008 0008 18 x\r\na=rtpmap:8 X/1\r\na=rtpmap:8 Y/2\r\n",  # PT forms
    b"m=audio 1 RTP/AVP 101\r\na=rtpmap:101  tel/8000 \r\na= recvonly \r\na=inactive:\r\n",
    b"m=audio 99999/2 RTP/AVP 0\r\nm=audio x RTP/AVP 0\r\nm=audio 5\r\nm=\r\na=sendonly\r\n",
    b"a=sendonly\nm=audio 1 RTP/AVP 0\r\na=recvonly\nm=video 2 RTP/AVP 31\n",  # inheritance
    b"v=0\r\nm=audio \xef\xbc\x91 RTP/AVP 0\r\nm=audio 7 RTP/AVP \xc2\xb2 9\r\n",  # not ASCII
    b"v=0\r\nm=audio 7 RTP/AVP 0\r\n\xff\xfe\r\nc=IN IP6 ::1\r\n",  # invalid UTF-8
    b"v=0\rm=audio 7 RTP/AVP 0\r",  # CR-only line ends: one line
]


@pytest.mark.parametrize("body", EDGE_BODIES)
def test_media_summary_matches_parse_sdp_edge_cases(body: bytes) -> None:
    """media_summary gives parse_sdp's media fields (or its error) on odd bodies."""
    assert _summary(body) == _view(body)


def test_media_summary_fields() -> None:
    """Each usable m= block gives (media, ip, port, proto, codecs, direction) first."""
    assert [m[:6] for m in media_summary(OFFER)] == [
        ("audio", "198.51.100.7", 49170, "RTP/SAVP",
         ("PCMU/8000", "PCMA/8000", "telephone-event/8000"), "sendonly"),
        ("video", "198.51.100.7", 0, "RTP/AVP", ("H261/90000",), "sendonly"),
        ("audio", "2001:db8::5", 51372, "RTP/AVP", ("G729/8000",), "recvonly"),
    ]  # fmt: skip


def test_media_summary_media_finding_fields() -> None:
    """Payload map, RTCP port, rtcp-mux and encryption come out for the media tracker."""
    audio, video, second = media_summary(OFFER)
    assert audio.payloads == ((101, "telephone-event/8000"), (0, "PCMU/8000"), (8, "PCMA/8000"))
    assert (audio.rtcp_port, audio.rtcp_mux, audio.security) == (49171, True, ("srtp", "sdes"))
    assert (video.payloads, video.rtcp_port, video.rtcp_mux, video.security) == (
        ((31, "H261/90000"),),
        None,
        False,
        (),
    )
    assert second.security == ("dtls",)  # a=fingerprint on a plain RTP/AVP line


@pytest.mark.parametrize(
    ("body", "security"),
    [
        (b"v=0\r\nc=IN IP4 1.1.1.1\r\nm=audio 1 UDP/TLS/RTP/SAVPF 0\r\n", ("srtp", "dtls")),
        (b"v=0\r\na=fingerprint:sha-1 AA\r\nm=audio 1 RTP/SAVP 0\r\n", ("srtp", "dtls")),
        (b"v=0\r\na=zrtp-hash:1.10 ab\r\nm=audio 1 RTP/AVP 0\r\n", ("zrtp",)),
        (b"v=0\r\nm=audio 1 RTP/AVP 0\r\na=zrtp-hash:1.10 ab\r\n", ("zrtp",)),
        (b"v=0\r\nm=audio 1 RTP/AVP 0\r\n", ()),
    ],
)
def test_media_security_tokens(body: bytes, security: tuple[str, ...]) -> None:
    """Secure profiles, session or media fingerprints and zrtp-hash become tokens."""
    sdp = parse_sdp(body)
    assert media_security(sdp, sdp.media[0]) == security
    assert media_summary(body)[0].security == security


def test_media_summary_answers_the_same_body_object_once() -> None:
    """A second ask for the same body object is the same result object (read once)."""
    body = bytes(OFFER)
    first = media_summary(body)
    assert media_summary(body) is first
    assert media_summary(bytes(bytearray(OFFER))) == first


def test_media_summary_memo_does_not_leak_ports_or_addresses() -> None:
    """Two bodies sharing a media block text keep their own port, address and direction."""
    block = b"m=audio %d RTP/AVP 0 8\r\na=rtpmap:8 PCMA/8000\r\n"
    one = b"c=IN IP4 1.1.1.1\r\n" + block % 1000
    two = b"c=IN IP4 2.2.2.2\r\na=inactive\r\n" + block % 2000
    assert [m[:6] for m in media_summary(one)] == [("audio", "1.1.1.1", 1000, "RTP/AVP",
                                   ("PCMU/8000", "PCMA/8000"), "sendrecv")]  # fmt: skip
    assert [m[:6] for m in media_summary(two)] == [("audio", "2.2.2.2", 2000, "RTP/AVP",
                                   ("PCMU/8000", "PCMA/8000"), "inactive")]  # fmt: skip


def _bodies(messages: Iterable[SipMessage]) -> list[bytes]:
    return list(dict.fromkeys(m.body for m in messages if m.body))


def test_media_summary_matches_parse_sdp_on_corpus(corpus: Path) -> None:
    """On every message body of every corpus capture the two views agree."""
    from tests.trace.test_corpus import CAPTURES, messages

    bodies = _bodies(m for path in CAPTURES for m in messages(path))
    assert len(bodies) > 50
    assert [_summary(b) for b in bodies] == [_view(b) for b in bodies]


@pytest.mark.parametrize("scenario", ["carrier", "office", "demo"])
def test_media_summary_matches_parse_sdp_on_generated(scenario: str, tmp_path: Path) -> None:
    """On every SDP the traffic generator writes the two views agree."""
    from calltrace.sim.engine import SimConfig
    from calltrace.sim.scenarios import simulation
    from calltrace.sources.pcapwriter import write_pcap
    from tests.trace.test_corpus import messages

    path = tmp_path / "sim.pcap"
    config = SimConfig(seed=5, duration=30, max_messages=1500)
    write_pcap(path, simulation(scenario, config))
    bodies = _bodies(messages(path))
    assert len(bodies) > 10
    assert [_summary(b) for b in bodies] == [_view(b) for b in bodies]


_PIECES = [b"a=rtcp:", b"a=rtcp-mux", b"a=crypto:1 x", b"a=fingerprint:s X", b"a=zrtp-hash",
           b"RTP/SAVP", b"UDP/TLS/RTP/SAVPF", b"\r\n", b"\n", b"\r", b"m=", b"c=", b"a=", b" ",
           b"\t", b"/", b":", b"0", b"101",
           b"a=sendonly", b"a=rtpmap:", b"8 PCMA/8000", b"c=IN IP4 1.2.3.4", b"\xff", b"\xc2\x85",
           b"m=audio 0 RTP/AVP 0", b"a=recvonly:", b"c= /x", b"0008"]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([OFFER, *EDGE_BODIES[4:]]),
    st.lists(st.tuples(st.integers(0, 400), st.integers(0, 6), st.sampled_from(_PIECES)),
             max_size=6),
)  # fmt: skip
def test_media_summary_matches_parse_sdp_mutated(
    body: bytes, edits: list[tuple[int, int, bytes]]
) -> None:
    """On bodies with pieces cut out and SDP tokens spliced in the two views agree."""
    data = bytearray(body)
    for at, cut, piece in edits:
        at = at % (len(data) + 1)
        data[at : at + cut] = piece
    assert _summary(bytes(data)) == _view(bytes(data))
