"""RFC 4475 SIP torture tests: every message of the archive, by INDEX.tsv.

The expected outcome of each message is decided from the RFC text (§3.1.1 valid,
§3.1.2 invalid, §3.2-3.4 parse with care); docs/sip-defects.md explains each token.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from calltrace.decode.sdp import parse_sdp
from calltrace.decode.sip import looks_like_sip, parse_sip
from calltrace.decode.sipvalues import (
    parse_auth,
    parse_multipart,
    parse_name_addr,
    parse_uri,
    parse_via,
    split_values,
)
from calltrace.errors import DecodeError, MalformedInput
from calltrace.model import Packet, SipMessage

# file -> the exact defect set parse_sip must report, or ("error", kind) when rejected.
EXPECTED: dict[str, frozenset[str] | tuple[str, str]] = {
    # 3.1.1 valid; wsinv and longreq carry RFC 2543-style branches (valid but unusual),
    # dblreq carries extra datagram octets that RFC 3261 §18.3 says to discard.
    "wsinv": frozenset({"branch_without_magic_cookie"}),
    "intmeth": frozenset(),
    "esc01": frozenset(),
    "escnull": frozenset(),
    "esc02": frozenset(),
    "lwsdisp": frozenset(),
    "longreq": frozenset({"missing_via_branch"}),
    "dblreq": frozenset({"trailing_bytes"}),
    "semiuri": frozenset(),
    "transports": frozenset(),
    "mpart01": frozenset(),
    "unreason": frozenset(),
    "noreason": frozenset(),
    # 3.1.2 invalid: kept, with the defect naming the problem
    "badinv01": frozenset({"empty_header_parameter", "missing_via_branch"}),
    "clerr": frozenset({"content_length_exceeds_body"}),
    "ncl": frozenset({"negative_content_length"}),
    "scalar02": frozenset(
        {"cseq_out_of_range", "max_forwards_out_of_range", "expires_out_of_range"}
    ),
    "scalarlg": frozenset(
        {"cseq_out_of_range", "retry_after_out_of_range", "invalid_warning_code"}
    ),
    "quotbal": frozenset({"unterminated_quoted_string"}),
    "ltgtruri": frozenset({"request_uri_in_angle_brackets", "missing_via_branch"}),
    "lwsruri": frozenset({"whitespace_in_request_uri"}),
    "lwsstart": frozenset({"extra_whitespace_in_request_line"}),
    "trws": frozenset({"trailing_whitespace_in_request_line"}),
    "escruri": frozenset({"escaped_headers_in_request_uri"}),
    "baddate": frozenset({"invalid_date"}),
    "regbadct": frozenset({"unenclosed_uri_with_reserved_chars"}),
    "badaspec": frozenset({"whitespace_in_addr_spec"}),
    "baddn": frozenset({"invalid_display_name", "missing_empty_line"}),
    "badvers": frozenset({"unknown_sip_version"}),
    "mismatch01": frozenset({"cseq_method_mismatch"}),
    "mismatch02": frozenset({"cseq_method_mismatch"}),
    "bigcode": frozenset({"status_code_out_of_range"}),
    # 3.2 transaction layer
    "badbranch": frozenset({"empty_branch_after_magic_cookie"}),
    # 3.3 application layer: kept (it was sent, tshark and Zeek count such messages) with
    # every missing header named; tracing skips a message without a Call-ID
    "insuf": frozenset({"missing_call_id", "missing_to", "missing_from", "missing_max_forwards"}),
    "unkscm": frozenset(),
    "novelsc": frozenset(),
    "unksm2": frozenset(),
    "bext01": frozenset(),
    "invut": frozenset(),
    "regaut01": frozenset(),
    "multi01": frozenset(
        {
            "multiple_call_id",
            "multiple_cseq",
            "multiple_to",
            "multiple_from",
            "multiple_max_forwards",
        }
    ),
    "mcl01": frozenset({"multiple_content_length", "trailing_bytes"}),
    "bcast": frozenset(),
    "zeromf": frozenset(),
    "cparam01": frozenset(),
    "cparam02": frozenset(),
    "regescrt": frozenset(),
    "sdp01": frozenset(),
    # 3.4 RFC 2543 syntax: no Max-Forwards, no branch, no From tag
    "inv2543": frozenset({"missing_max_forwards", "missing_via_branch", "missing_from_tag"}),
    # not in any section: a request line without SIP-Version
    "test": ("error", "bad_request_line"),
}


def _index(corpus: Path) -> list[tuple[str, str, str]]:
    rows = (corpus / "rfc4475" / "INDEX.tsv").read_text().splitlines()
    return [tuple(row.split("\t")) for row in rows if row.strip()]  # type: ignore[misc]


def _load(corpus: Path, name: str) -> bytes:
    return (corpus / "rfc4475" / f"{name}.dat").read_bytes()


def _parse(corpus: Path, name: str, transport: str = "udp") -> SipMessage:
    payload = _load(corpus, name)
    packet = Packet(
        number=1,
        ts=0.0,
        src_ip="192.0.2.1",
        src_port=5060,
        dst_ip="192.0.2.2",
        dst_port=5060,
        transport=transport,
        payload=payload,
    )
    return parse_sip(packet)


def test_index_is_fully_covered(corpus: Path) -> None:
    """Every message listed in INDEX.tsv has a decided outcome, and no outcome is stale."""
    names = {row[0] for row in _index(corpus)}
    assert names == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_outcome(corpus: Path, name: str) -> None:
    """Each torture message is kept with exactly its defects, or rejected with its kind."""
    expected = EXPECTED[name]
    if isinstance(expected, tuple):
        with pytest.raises(MalformedInput) as info:
            _parse(corpus, name)
        assert info.value.layer == "sip"
        assert info.value.kind == expected[1]
        return
    message = _parse(corpus, name)
    assert set(message.defects) == expected
    assert message.raw == _load(corpus, name)


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if n != "test"))
def test_looks_like_sip_accepts_every_message(corpus: Path, name: str) -> None:
    """The content check says SIP for every torture message with a SIP start line."""
    assert looks_like_sip(_load(corpus, name))


def test_wsinv_folding_and_whitespace(corpus: Path) -> None:
    """§3.1.1.1: folded values are unfolded, odd spellings canonical, LWS around '/' read."""
    m = _parse(corpus, "wsinv")
    assert (m.method, m.cseq, m.cseq_method) == ("INVITE", 9, "INVITE")
    assert m.header("max-forwards") == "0068"
    assert m.header("subject") == ""
    assert m.header("newfangledheader") == "newfangled value continued newfangled value"
    assert m.header("unknownheaderwithunusualvalue") == ";;,,;;,;"
    assert (m.from_tag, m.to_tag) == ("98asjd8", "1918181833n")
    assert m.branch == "390skdjuw"
    vias = [via for value in m.header_all("via") for via in parse_via(value)]
    assert [(v.transport, v.host, v.branch) for v in vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    contact = parse_name_addr(m.header("contact") or "")
    assert contact.display == 'Quoted string ""'
    assert dict(contact.params) == {"newparam": "newvalue", "secondparam": None, "q": "0.33"}
    from_ = parse_name_addr(m.header("from") or "")
    assert from_.display == 'J Rosenberg \\"'
    assert len(m.body) == 150
    assert [x.media for x in parse_sdp(m.body).media] == ["audio", "video"]


def test_intmeth_unusual_characters(corpus: Path) -> None:
    """§3.1.1.2: every token character in method, URI user, password, tags and Call-ID."""
    m = _parse(corpus, "intmeth")
    assert m.method == "!interesting-Method0123456789_*+`.%indeed'~"
    assert m.cseq_method == m.method
    assert m.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    assert m.from_tag == "_token~1'+`*%!-."
    uri = parse_uri(m.request_uri or "")
    assert uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert uri.host == "example.com"
    to = parse_name_addr(m.header("to") or "")
    assert to.display == "BEL:\x07 NUL:\x00 DEL:\x7f"
    # RFC 4475 §3.1.1.2 shows the value as octets EF BB BF E5 A4 A7 E5 81 9C E9 9B BB
    utf8 = bytes.fromhex("EFBBBF E5A4A7 E5819C E99BBB").decode("utf-8")
    assert m.header("extensionheader-!.%*+_`'~") == utf8
    assert parse_name_addr(m.header("from") or "").display == "token1~` token2'+_ token3*%!.-"


def test_esc01_percent_escapes(corpus: Path) -> None:
    """§3.1.1.3: %-escapes in URI user, parameters and values are resolved once."""
    m = _parse(corpus, "esc01")
    assert parse_uri(m.request_uri or "").user == "sips:user@example.com"
    assert parse_name_addr(m.header("to") or "").uri.user == "user"
    assert parse_name_addr(m.header("from") or "").uri.user == "I have spaces"
    contact = parse_name_addr(m.header("contact") or "").uri
    assert contact.user == "caller"
    assert contact.params == (("lr", None), ("name", "value%41"))
    assert m.header("content-type") == "application/sdp"
    assert m.call_id == "esc01.239409asdfakjkn23onasd0-3234"


def test_escnull_escaped_nulls(corpus: Path) -> None:
    """§3.1.1.4: %00 in a user part becomes a NUL character, not a terminator."""
    m = _parse(corpus, "escnull")
    assert parse_uri(m.header("to") or "").user == "null-\x00-null"
    users = [parse_name_addr(c).uri.user for c in m.header_all("contact")]
    assert users == ["\x00", "\x00\x00"]
    assert m.header("content-length") == "0"


def test_esc02_percent_not_an_escape(corpus: Path) -> None:
    """§3.1.1.5: % in a method, a branch and a header name is a plain token character."""
    m = _parse(corpus, "esc02")
    assert m.method == "RE%47IST%45R"
    assert m.branch == "z9hG4bK209%fzsnel234"
    assert len(m.header_all("contact")) == 2
    assert m.header("c%6fntact") == "<sip:alias2@host2.example.com>"
    assert parse_name_addr(m.header("to") or "").display == "%Z%45"


def test_lwsdisp_and_semiuri(corpus: Path) -> None:
    """§3.1.1.6/9: a display name glued to '<', and ';' inside a URI user part."""
    display = parse_name_addr(_parse(corpus, "lwsdisp").header("from") or "").display
    assert display == "caller"
    m = _parse(corpus, "semiuri")
    uri = parse_uri(m.request_uri or "")
    assert (uri.user, uri.host, uri.params) == ("user;par=u@example.net", "example.com", ())
    assert split_values(m.header("accept") or "") == [
        "application/sdp",
        "application/pkcs7-mime",
        "multipart/mixed",
        "multipart/signed",
        "message/sip",
        "message/sipfrag",
    ]


def test_longreq_long_values(corpus: Path) -> None:
    """§3.1.1.7: long values survive and 34 Vias in all name spellings are kept in order."""
    m = _parse(corpus, "longreq")
    vias = m.header_all("via")
    assert len(vias) == 34
    assert vias[0] == "SIP/2.0/TCP sip33.example.com"
    assert parse_via(vias[-1])[0].received == "192.0.2.5"
    assert m.from_tag is not None and len(m.from_tag) == 155
    assert len(m.body) == 150


def test_dblreq_trailing_request_ignored(corpus: Path) -> None:
    """§3.1.1.8: the second request in the datagram is not part of the REGISTER."""
    m = _parse(corpus, "dblreq")
    assert (m.method, m.body) == ("REGISTER", b"")
    assert m.call_id == "dblreq.0ha0isndaksdj99sdfafnl3lk233412"


def test_transports_unknown_transport(corpus: Path) -> None:
    """§3.1.1.10: UDP/SCTP/TLS/UNKNOWN/TCP transports all come out of parse_via."""
    m = _parse(corpus, "transports")
    transports = [parse_via(v)[0].transport for v in m.header_all("via")]
    assert transports == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]


def test_mpart01_multipart(corpus: Path) -> None:
    """§3.1.1.11: a two-part multipart/mixed body splits into text and binary parts."""
    m = _parse(corpus, "mpart01")
    assert len(m.body) == 553
    parts = parse_multipart(m.body, m.header("content-type") or "")
    assert [dict(h)["content-type"] for h, _ in parts] == ["text/plain", "application/octet-stream"]
    assert parts[0][1] == b"Hello"
    assert parts[1][1].startswith(b"0\x82\x01R") and len(parts[1][1]) == 342


def test_unusual_and_empty_reasons(corpus: Path) -> None:
    """§3.1.1.12/13: UTF-8 reason phrases decode; an empty phrase is ""."""
    unusual = _parse(corpus, "unreason")
    assert unusual.status == 200 and unusual.method == "INVITE"
    assert unusual.reason is not None and unusual.reason.startswith("= 2**3 * 5**2 \u043d\u043e")
    empty = _parse(corpus, "noreason")
    assert (empty.status, empty.reason, empty.to_tag) == (100, "", "902jndnke3")


def test_scalars_do_not_leak_huge_numbers(corpus: Path) -> None:
    """§3.1.2.4/5: overlarge CSeq numbers are dropped (None), never stored as huge ints."""
    assert _parse(corpus, "scalar02").cseq is None
    assert _parse(corpus, "scalarlg").cseq is None
    assert _parse(corpus, "bigcode").status == 4294967301


def test_content_length_cases(corpus: Path) -> None:
    """§3.1.2.2/3, §3.3.9: bodies never exceed the datagram, first Content-Length wins."""
    assert len(_parse(corpus, "clerr").body) == 154
    assert _parse(corpus, "ncl").body.startswith(b"v=0")
    assert _parse(corpus, "mcl01").body == b"There's no wa"


def test_request_uri_repairs(corpus: Path) -> None:
    """§3.1.2.7-8: <uri> is unwrapped; an URI with embedded LWS is kept whole."""
    assert _parse(corpus, "ltgtruri").request_uri == "sip:user@example.com"
    assert _parse(corpus, "lwsruri").request_uri == "sip:user@example.com; lr"
    assert _parse(corpus, "lwsstart").request_uri == "sip:user@example.com"


def test_display_name_problems_raise_in_sipvalues(corpus: Path) -> None:
    """§3.1.2.6: an unterminated quoted display name cannot be parsed as a name-addr."""
    with pytest.raises(MalformedInput):
        parse_name_addr(_parse(corpus, "quotbal").header("to") or "")


def test_unknown_schemes_and_auth(corpus: Path) -> None:
    """§3.3.2-4, §3.3.7: unknown URI and auth schemes are kept opaque, not rejected."""
    assert parse_uri(_parse(corpus, "unkscm").request_uri or "").scheme == "nobodyknowsthisscheme"
    assert parse_uri(_parse(corpus, "novelsc").request_uri or "").scheme == "soap.beep"
    m = _parse(corpus, "unksm2")
    assert parse_uri(m.header("to") or "").scheme == "isbn"
    assert parse_name_addr(m.header("from") or "").uri.scheme == "http"
    auth = parse_auth(_parse(corpus, "regaut01").header("authorization") or "")
    assert (auth.scheme, auth.params) == ("NoOneKnowsThisScheme", {"opaque-data": "here"})


def test_contact_parameter_placement(corpus: Path) -> None:
    """§3.3.12-14: addr-spec params belong to the header, <uri;param> ones to the URI."""
    c1 = parse_name_addr(_parse(corpus, "cparam01").header("contact") or "")
    assert (c1.params, c1.uri.params) == ((("unknownparam", None),), ())
    c2 = parse_name_addr(_parse(corpus, "cparam02").header("contact") or "")
    assert (c2.params, c2.uri.params) == ((), (("unknownparam", None),))
    c3 = parse_name_addr(_parse(corpus, "regescrt").header("contact") or "")
    assert c3.uri.headers == (("Route", "<sip:sip.example.com>"),)


def test_bcast_and_inv2543(corpus: Path) -> None:
    """§3.3.10, §3.4.1: the broadcast Via parses; RFC 2543 messages keep their fields."""
    vias = _parse(corpus, "bcast").header_all("via")
    assert parse_via(vias[1])[0].host == "255.255.255.255"
    m = _parse(corpus, "inv2543")
    assert (m.from_tag, m.branch, m.cseq) == (None, None, 56)
    assert parse_name_addr(m.header("to") or "").uri.param("user") is None
    assert parse_name_addr(m.header("to") or "").params == (("user", "phone"),)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_tcp_transport_decodes_or_raises(corpus: Path, name: str) -> None:
    """Over TCP the same messages decode or raise DecodeError, and nothing else."""
    try:
        message = _parse(corpus, name, transport="tcp")
    except DecodeError:
        return
    assert message.call_id or "missing_call_id" in message.defects
