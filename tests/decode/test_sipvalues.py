"""Structured header values: URIs, name-addr, Via, CSeq, auth, multipart, identity."""

from __future__ import annotations

import pytest

from calltrace.decode.sipidentity import (
    parse_diversion,
    parse_history_info,
    parse_identity,
    parse_p_asserted_identity,
    parse_remote_party_id,
)
from calltrace.decode.sipvalues import (
    parse_auth,
    parse_cseq,
    parse_multipart,
    parse_name_addr,
    parse_uri,
    parse_via,
    split_values,
    user_part,
)
from calltrace.errors import MalformedInput


def test_sip_uri_parts() -> None:
    """A full SIP URI splits into user, password, host, port, params and headers."""
    uri = parse_uri(
        "sips:alice:secret@Atlanta.example.com:5061;transport=TCP;lr?subject=hi%20there&x=1"
    )
    assert (uri.scheme, uri.user, uri.password) == ("sips", "alice", "secret")
    assert (uri.host, uri.port) == ("Atlanta.example.com", 5061)
    assert uri.params == (("transport", "TCP"), ("lr", None))
    assert uri.param("lr") == "" and uri.param("maddr") is None
    assert uri.headers == (("subject", "hi there"), ("x", "1"))


def test_tel_and_opaque_uris() -> None:
    """TEL URIs put the number in user (RFC 3966); other schemes stay opaque."""
    tel = parse_uri("tel:+1-201-555-0123;phone-context=example.com")
    assert (tel.scheme, tel.user, tel.host) == ("tel", "+1-201-555-0123", "")
    assert tel.params == (("phone-context", "example.com"),)
    mailto = parse_uri("mailto:someone@example.com")
    assert (mailto.scheme, mailto.user, mailto.raw) == (
        "mailto",
        None,
        "mailto:someone@example.com",
    )


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("example.com", "uri_without_scheme"),
        ("sip:user@", "invalid_host"),
        ("sip:user@host:99999", "invalid_port"),
        ("sip:user@[2001:db8::1", "invalid_ipv6_reference"),
        ("sip:user@[zz::1]", "invalid_ipv6_reference"),
        ("sip:2001:db8::1", "unbracketed_ipv6"),
        ("tel:", "invalid_tel_uri"),
        ("sip:a b@host c", "invalid_host"),
    ],
)
def test_bad_uris(text: str, kind: str) -> None:
    """Unreadable URIs raise MalformedInput with a stable kind."""
    with pytest.raises(MalformedInput) as info:
        parse_uri(text)
    assert (info.value.layer, info.value.kind) == ("sip", kind)


def test_name_addr_forms() -> None:
    """Quoted, token and absent display names; header params after > or after addr-spec."""
    quoted = parse_name_addr('"Bob \\"B\\" Smith" <sip:bob@example.com;user=phone>;tag=x;q=0.5')
    assert quoted.display == 'Bob "B" Smith'
    assert quoted.uri.params == (("user", "phone"),)
    assert quoted.params == (("tag", "x"), ("q", "0.5")) and quoted.tag == "x"
    token = parse_name_addr("Bob   Smith<sip:bob@example.com>")
    assert token.display == "Bob Smith"
    spec = parse_name_addr("sip:bob@example.com;tag=1")
    assert (spec.display, spec.uri.params, spec.tag) == (None, (), "1")


@pytest.mark.parametrize(
    "text", ['"Bob <sip:bob@example.com>', "<sip:bob@example.com", '"Bob" sip:bob@example.com']
)
def test_bad_name_addr(text: str) -> None:
    """Unclosed quotes or brackets, or a quoted name without <uri>, are MalformedInput."""
    with pytest.raises(MalformedInput):
        parse_name_addr(text)


def test_split_values_respects_quotes_and_brackets() -> None:
    """Commas inside quotes, <...> and after escapes do not split; empties are dropped."""
    value = '"Doe, John" <sip:j@x;a=1,2>, <sip:k@y>,, "q\\",x" <sip:z@w>'
    assert split_values(value) == ['"Doe, John" <sip:j@x;a=1,2>', "<sip:k@y>", '"q\\",x" <sip:z@w>']


def test_via_fields() -> None:
    """Via gives protocol, transport, host, port and params with rport/received helpers."""
    via = parse_via("SIP/2.0/udp 192.0.2.1:5070;branch=z9hG4bK1;rport=6000;received=10.0.0.1")[0]
    assert (via.protocol, via.transport, via.host, via.port) == (
        "SIP/2.0",
        "UDP",
        "192.0.2.1",
        5070,
    )
    assert (via.branch, via.rport, via.received) == ("z9hG4bK1", 6000, "10.0.0.1")
    assert parse_via("SIP/2.0/UDP h;rport")[0].rport is None
    with pytest.raises(MalformedInput):
        parse_via("garbage")


def test_cseq() -> None:
    """CSeq parses to (number, method) and rejects overlarge or missing parts."""
    assert parse_cseq("  0042 INVITE ") == (42, "INVITE")
    for bad in ("INVITE", "1", "4294967296 INVITE", "-1 BYE"):
        with pytest.raises(MalformedInput):
            parse_cseq(bad)


def test_digest_auth() -> None:
    """Digest parameters are unquoted, with commas inside quotes kept."""
    ch = parse_auth('Digest realm="asterisk", nonce="1a,2b", algorithm=MD5, qop="auth,auth-int"')
    assert ch.scheme == "Digest"
    assert ch.params == {
        "realm": "asterisk",
        "nonce": "1a,2b",
        "algorithm": "MD5",
        "qop": "auth,auth-int",
    }
    assert parse_auth("Bearer abc.def==").params == {"token68": "abc.def=="}


def test_multipart_parts() -> None:
    """Multipart bodies split on the boundary; the CRLF before a delimiter is not content."""
    body = (
        b"--XyZ\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n\r\n"
        b"--XyZ\r\nContent-Type: application/isup\r\n\r\n\x01\x02\r\n--XyZ--\r\n"
    )
    parts = parse_multipart(body, 'multipart/mixed; boundary="XyZ"')
    assert parts == [
        ((("content-type", "application/sdp"),), b"v=0\r\n"),
        ((("content-type", "application/isup"),), b"\x01\x02"),
    ]
    with pytest.raises(MalformedInput):
        parse_multipart(body, "multipart/mixed")


def test_user_part() -> None:
    """user_part returns the user or TEL number, and None for unreadable values."""
    assert user_part('"A" <sip:+4930123@example.com>;tag=1') == "+4930123"
    assert user_part("tel:+15551234") == "+15551234"
    assert user_part("<sip:example.com>") is None
    assert user_part("garbage") is None


def test_identity_headers() -> None:
    """PAI, RPID, Identity, Diversion and History-Info give their entries and params."""
    pai = parse_p_asserted_identity('"Alice" <sip:+1555@example.com>, <tel:+1555>')
    assert [p.uri.user for p in pai] == ["+1555", "+1555"]
    rpid = parse_remote_party_id('"A" <sip:100@pbx>;party=calling;screen=no;privacy=off')[0]
    assert (rpid.party, rpid.screen, rpid.privacy) == ("calling", "no", "off")
    ident = parse_identity(
        "eyJhbGciOiJFUzI1NiJ9.eyJ9.sig;info=<https://cert.example.org/p.pem>;alg=ES256;ppt=shaken"
    )
    assert ident.token == "eyJhbGciOiJFUzI1NiJ9.eyJ9.sig"
    assert (ident.info, dict(ident.params)["ppt"]) == ("https://cert.example.org/p.pem", "shaken")
    div = parse_diversion(
        '<sip:200@pbx>;reason=unconditional;counter=2, <sip:300@pbx>;reason="no-answer"'
    )
    assert [(d.address.uri.user, d.reason, d.counter) for d in div] == [
        ("200", "unconditional", 2),
        ("300", "no-answer", None),
    ]
    hist = parse_history_info(
        "<sip:bob@example.com?Reason=SIP%3Bcause%3D302>;index=1.1, <sip:c@d>;index=1.2"
    )
    assert [(h.index, h.reason) for h in hist] == [("1.1", "SIP;cause=302"), ("1.2", None)]
