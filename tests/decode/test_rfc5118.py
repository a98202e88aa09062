"""RFC 5118 IPv6 torture tests: all twelve messages.

The corpus files carry bare LF line ends (the RFC text, not a capture), so each parses
with ``bare_lf_line_endings``; the two SDP messages' Content-Length counts CRLFs and
so also exceeds the LF body.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from calltrace.decode.sdp import parse_sdp
from calltrace.decode.sip import parse_sip
from calltrace.decode.sipvalues import parse_name_addr, parse_uri, parse_via
from calltrace.errors import MalformedInput
from calltrace.model import Packet, SipMessage

NAMES = [
    "ipv6-good",
    "ipv6-bad",
    "port-ambiguous",
    "port-unambiguous",
    "via-received-param-with-delim",
    "via-received-param-no-delim",
    "ipv6-in-sdp",
    "mult-ip-in-header",
    "mult-ip-in-sdp",
    "ipv4-mapped-ipv6",
    "ipv6-bug-abnf-3-colons",
    "ipv6-correct-abnf-2-colons",
]
LF_ONLY = {"bare_lf_line_endings"}


def _parse(corpus: Path, name: str) -> SipMessage:
    payload = (corpus / "rfc5118" / name).read_bytes()
    return parse_sip(
        Packet(
            number=1,
            ts=0.0,
            src_ip="2001:db8::9:1",
            src_port=5060,
            dst_ip="2001:db8::10",
            dst_port=5060,
            transport="udp",
            payload=payload,
        )
    )


def test_index_lists_the_twelve(corpus: Path) -> None:
    """INDEX.tsv names exactly the twelve messages tested here."""
    rows = (corpus / "rfc5118" / "INDEX.tsv").read_text().splitlines()
    assert sorted(row.split("\t")[0] for row in rows if row) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_every_message_parses(corpus: Path, name: str) -> None:
    """Each message yields Call-ID, CSeq and top branch, with LF ends as the only
    start-level defect."""
    m = _parse(corpus, name)
    assert m.call_id and m.cseq and m.branch and m.branch.startswith("z9hG4bK")
    assert "bare_lf_line_endings" in m.defects


def test_ipv6_good(corpus: Path) -> None:
    """§4.1: bracketed IPv6 hosts in the R-URI, Via and Contact."""
    m = _parse(corpus, "ipv6-good")
    assert set(m.defects) == LF_ONLY
    assert parse_uri(m.request_uri or "").host == "2001:db8::10"
    via = parse_via(m.header("via") or "")[0]
    assert (via.host, via.port) == ("2001:db8::9:1", None)
    assert parse_name_addr(m.header("contact") or "").uri.host == "2001:db8::1"


def test_ipv6_bad(corpus: Path) -> None:
    """§4.2: an unbracketed IPv6 R-URI is flagged by parse_sip and rejected by parse_uri."""
    m = _parse(corpus, "ipv6-bad")
    assert set(m.defects) == LF_ONLY | {"unbracketed_ipv6_in_request_uri"}
    with pytest.raises(MalformedInput) as info:
        parse_uri(m.request_uri or "")
    assert info.value.kind == "unbracketed_ipv6"


def test_port_ambiguity(corpus: Path) -> None:
    """§4.3/4.4: ':5070' inside the brackets is address, outside is the port."""
    inside = parse_uri(_parse(corpus, "port-ambiguous").request_uri or "")
    assert (inside.host, inside.port) == ("2001:db8::10:5070", None)
    outside = parse_uri(_parse(corpus, "port-unambiguous").request_uri or "")
    assert (outside.host, outside.port) == ("2001:db8::10", 5070)


def test_via_received_with_and_without_brackets(corpus: Path) -> None:
    """§4.5: received= gives the same address with or without IPv6 delimiters."""
    with_delim = parse_via(_parse(corpus, "via-received-param-with-delim").header("via") or "")
    no_delim = parse_via(_parse(corpus, "via-received-param-no-delim").header("via") or "")
    assert with_delim[0].received == no_delim[0].received == "2001:db8::9:255"
    assert with_delim[0].host == "2001:db8::9:1"


def test_ipv6_in_sdp(corpus: Path) -> None:
    """§4.6: c=IN IP6 and o= IPv6 addresses reach every media line."""
    m = _parse(corpus, "ipv6-in-sdp")
    assert set(m.defects) == LF_ONLY | {"content_length_exceeds_body"}
    sdp = parse_sdp(m.body)
    assert sdp.origin_ip == sdp.connection_ip == "2001:db8::20"
    assert [(x.media, x.port, x.connection_ip) for x in sdp.media] == [
        ("audio", 6000, "2001:db8::20"),
        ("video", 6024, "2001:db8::20"),
    ]
    assert sdp.media[0].codecs == ("G726-32/8000",)


def test_multiple_ips_in_headers(corpus: Path) -> None:
    """§4.7: IPv6 and IPv4 Vias mix; ports and received= are read per Via."""
    vias = [parse_via(v)[0] for v in _parse(corpus, "mult-ip-in-header").header_all("via")]
    assert [(v.transport, v.host, v.port) for v in vias] == [
        ("UDP", "2001:db8::9:1", 6050),
        ("UDP", "192.0.2.1", None),
        ("TCP", "2001:db8::9:255", None),
    ]
    assert vias[2].received == "192.0.2.200"


def test_multiple_ips_in_sdp(corpus: Path) -> None:
    """§4.8: each media line keeps its own c= (IPv4 audio, IPv6 video)."""
    sdp = parse_sdp(_parse(corpus, "mult-ip-in-sdp").body)
    assert sdp.connection_ip is None
    assert [m.connection_ip for m in sdp.media] == ["192.0.2.1", "2001:db8::1"]
    assert "empty_session_name" in sdp.defects


def test_ipv4_mapped(corpus: Path) -> None:
    """§4.9: IPv4-mapped IPv6 addresses in Via (with port), Contact and SDP."""
    m = _parse(corpus, "ipv4-mapped-ipv6")
    via = parse_via(m.header("via") or "")[0]
    assert (via.host, via.port) == ("::ffff:192.0.2.10", 19823)
    assert parse_name_addr(m.header("contact") or "").uri.host == "::ffff:192.0.2.2"
    assert parse_sdp(m.body).media[0].connection_ip == "::ffff:192.0.2.2"


def test_abnf_colons(corpus: Path) -> None:
    """§4.10: the 3-colon form is accepted with a defect, the 2-colon form is clean."""
    three = parse_uri(_parse(corpus, "ipv6-bug-abnf-3-colons").request_uri or "")
    assert (three.host, three.defects) == ("2001:db8:::192.0.2.1", ("ipv6_reference_three_colons",))
    two = parse_uri(_parse(corpus, "ipv6-correct-abnf-2-colons").request_uri or "")
    assert (two.host, two.defects) == ("2001:db8::192.0.2.1", ())
