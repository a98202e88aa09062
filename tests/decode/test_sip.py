"""parse_sip and looks_like_sip on hand-built messages (RFC 3261 §7)."""

from __future__ import annotations

import dataclasses

import pytest

from calltrace.decode import sip
from calltrace.decode.sip import canonical_name, looks_like_sip, parse_sip
from calltrace.errors import MalformedInput, Truncated
from calltrace.model import Packet, SipMessage

BASE = (
    "INVITE sip:bob@example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc\r\n"
    "Max-Forwards: 70\r\n"
    'From: "Alice" <sip:alice@example.com>;tag=a1\r\n'
    "To: <sip:bob@example.com>\r\n"
    "Call-ID: c1@192.0.2.1\r\n"
    "CSeq: 1 INVITE\r\n"
    "Content-Length: 4\r\n\r\n"
    "body"
)


def _pkt(payload: bytes | str, transport: str = "udp") -> Packet:
    data = payload.encode() if isinstance(payload, str) else payload
    return Packet(
        number=7,
        ts=1.5,
        src_ip="192.0.2.1",
        src_port=5060,
        dst_ip="192.0.2.2",
        dst_port=5060,
        transport=transport,
        payload=data,
    )


def test_basic_request_fields() -> None:
    """A plain INVITE yields its eager fields, wire-order headers and exact body."""
    m = parse_sip(_pkt(BASE))
    assert (m.is_request, m.method, m.request_uri) == (True, "INVITE", "sip:bob@example.com")
    assert (m.call_id, m.cseq, m.cseq_method) == ("c1@192.0.2.1", 1, "INVITE")
    assert (m.from_tag, m.to_tag, m.branch) == ("a1", None, "z9hG4bKabc")
    assert [k for k, _ in m.headers] == [
        "via",
        "max-forwards",
        "from",
        "to",
        "call-id",
        "cseq",
        "content-length",
    ]
    assert (m.body, m.defects, m.raw, m.ts, m.number) == (b"body", (), BASE.encode(), 1.5, 7)


def test_fast_constructor_equals_dataclass_init() -> None:
    """The descriptor-based constructor builds exactly what SipMessage(...) builds."""
    m = parse_sip(_pkt(BASE))
    rebuilt = SipMessage(**{f.name: getattr(m, f.name) for f in dataclasses.fields(m)})
    assert rebuilt == m and hash(rebuilt.headers) == hash(m.headers)
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.method = "BYE"  # type: ignore[misc]


def test_response_method_is_cseq_method() -> None:
    """A response's method is its CSeq method; reason keeps inner spaces."""
    raw = BASE.replace("INVITE sip:bob@example.com SIP/2.0", "SIP/2.0 486 Busy Here")
    raw = raw.replace("To: <sip:bob@example.com>", "To: <sip:bob@example.com>;tag=b2")
    m = parse_sip(_pkt(raw))
    assert (m.is_request, m.status, m.reason, m.method, m.to_tag) == (
        False,
        486,
        "Busy Here",
        "INVITE",
        "b2",
    )
    assert m.request_uri is None and m.defects == ()


@pytest.mark.parametrize(
    ("short", "long"),
    [
        ("i", "call-id"),
        ("m", "contact"),
        ("e", "content-encoding"),
        ("f", "from"),
        ("l", "content-length"),
        ("c", "content-type"),
        ("s", "subject"),
        ("k", "supported"),
        ("t", "to"),
        ("v", "via"),
        ("o", "event"),
        ("r", "refer-to"),
        ("b", "referred-by"),
        ("u", "allow-events"),
        ("x", "session-expires"),
        ("y", "identity"),
        ("a", "accept-contact"),
        ("j", "reject-contact"),
        ("d", "request-disposition"),
        ("X", "session-expires"),
        ("Via", "via"),
        ("CALL-ID", "call-id"),
        ("Foo-Bar", "foo-bar"),
    ],
)
def test_compact_forms(short: str, long: str) -> None:
    """Compact header forms expand to their long names (RFC 3261 §7.3.3, RFC 3841...)."""
    assert canonical_name(short) == long


def test_compact_message_and_folding() -> None:
    """Compact names and folded (LWS-continued) values come out canonical and unfolded."""
    raw = (
        "OPTIONS sip:x@example.com SIP/2.0\r\nv: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"
        "f: <sip:a@b>;\r\n tag=9\r\nt: sip:x@example.com\r\ni: abc\r\n"
        "CSeq: 2\r\n\tOPTIONS\r\nMax-Forwards: 1\r\nSubject: one\r\n two\r\n  three\r\n"
        "l: 0\r\n\r\n"
    )
    m = parse_sip(_pkt(raw))
    assert (m.call_id, m.cseq, m.from_tag) == ("abc", 2, "9")
    assert m.header("subject") == "one two three"
    assert m.header("from") == "<sip:a@b>; tag=9"
    assert m.defects == ()


def test_bare_lf_and_mixed_line_ends() -> None:
    """Bare LF line ends parse and are flagged; a lone bare LF among CRLFs is flagged too."""
    m = parse_sip(_pkt(BASE.replace("\r\n", "\n")))
    assert m.body == b"body" and m.defects == ("bare_lf_line_endings",)
    mixed = BASE.replace("Max-Forwards: 70\r\n", "Max-Forwards: 70\n")
    m2 = parse_sip(_pkt(mixed))
    assert m2.header("max-forwards") == "70" and m2.defects == ("bare_lf_line_endings",)


def test_leading_crlf_is_fine_and_junk_is_flagged() -> None:
    """Leading CRLFs are ignored (§7.5); leading NULs (zeek junk capture) are a defect."""
    assert parse_sip(_pkt("\r\n\r\n" + BASE)).defects == ()
    junk = b"\x00\x00\x00\x00" + BASE.encode()
    m = parse_sip(_pkt(junk))
    assert m.defects == ("leading_junk",) and m.raw == junk
    assert looks_like_sip(junk)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (BASE.encode(), True),
        (b"SIP/2.0 200 OK\r\n", True),
        (b"REGISTER sip:example.com SIP/2.0\r\n", True),
        (b"\r\n\r\n", False),
        (b"\r\n", False),
        (b"", False),
        (b"hello", False),
        (b"\x80\x00\x12\x34" + bytes(160), False),  # RTP
        (b"\x00\x01\x00\x00\x21\x12\xa4\x42" + bytes(12), False),  # STUN binding
        (b"GET / HTTP/1.1\r\n", False),
        (b"SIP/2.0 2xx OK\r\n", False),
        (b"INVITE\r\nsip:x SIP/2.0", False),
    ],
)
def test_looks_like_sip(payload: bytes, expected: bool) -> None:
    """The content check accepts SIP start lines and rejects RTP, STUN, CRLFs and junk."""
    assert looks_like_sip(payload) is expected


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        (b"", "no_start_line"),
        (b"\r\n\r\n", "no_start_line"),
        (BASE.replace("CSeq: 1 INVITE", "CSeq: 1"), "invalid_cseq"),
        (BASE.replace(" SIP/2.0\r\n", "\r\n", 1), "bad_request_line"),
        (BASE.replace("INVITE sip", "INV<ITE sip", 1), "bad_request_line"),
        ("SIP/2.0 abc OK\r\nCall-ID: x\r\nCSeq: 1 BYE\r\n\r\n", "bad_status_line"),
        (b"\x80\x00\x12\x34garbage\r\nmore", "unterminated_header_section"),
    ],
)
def test_fatal_cases(payload: bytes | str, kind: str) -> None:
    """Messages that cannot be understood raise MalformedInput with a stable kind."""
    with pytest.raises(MalformedInput) as info:
        parse_sip(_pkt(payload))
    assert (info.value.layer, info.value.kind) == ("sip", kind)


@pytest.mark.parametrize(
    ("old", "defect"),
    [("Call-ID: c1@192.0.2.1\r\n", "missing_call_id"), ("CSeq: 1 INVITE\r\n", "missing_cseq")],
)
def test_missing_call_id_or_cseq_is_kept_with_a_defect(old: str, defect: str) -> None:
    """A message without Call-ID or CSeq was still sent: it is kept, empty, with the defect."""
    message = parse_sip(_pkt(BASE.replace(old, "")))
    assert defect in message.defects
    assert message.method == "INVITE"
    assert (message.call_id, message.cseq) in {("", 1), ("c1@192.0.2.1", None)}


def test_header_section_cut_mid_line_is_truncated() -> None:
    """A datagram ending inside a header line is Truncated, not a defect."""
    with pytest.raises(Truncated):
        parse_sip(_pkt(BASE[:60]))


@pytest.mark.parametrize(
    ("old", "new", "defect"),
    [
        ("Content-Length: 4", "Content-Length: 40", "content_length_exceeds_body"),
        ("Content-Length: 4", "Content-Length: -4", "negative_content_length"),
        ("Content-Length: 4", "Content-Length: four", "invalid_content_length"),
        ("Content-Length: 4", "Content-Length: 99999999999", "content_length_out_of_range"),
        ("Content-Length: 4", "Content-Length: 2", "trailing_bytes"),
        ("Max-Forwards: 70", "Max-Forwards: 256", "max_forwards_out_of_range"),
        ("Max-Forwards: 70", "Max-Forwards: x", "invalid_max_forwards"),
        ("Max-Forwards: 70\r\n", "", "missing_max_forwards"),
        ("To: <sip:bob@example.com>\r\n", "", "missing_to"),
        (";tag=a1", "", "missing_from_tag"),
        ("branch=z9hG4bKabc", "branch=abc", "branch_without_magic_cookie"),
        ("CSeq: 1 INVITE", "CSeq: 1 BYE", "cseq_method_mismatch"),
        ("CSeq: 1 INVITE", "CSeq: x INVITE", "invalid_cseq"),
        ("SIP/2.0\r\n", "SIP/3.0\r\n", "unknown_sip_version"),
        ("Call-ID: c1@192.0.2.1\r\n", "Call-ID: c1@192.0.2.1\r\ni: c2\r\n", "multiple_call_id"),
        ("Max-Forwards: 70\r\n", "Max-Forwards: 70\r\nbad line\r\n", "malformed_header_line"),
        ("Max-Forwards: 70\r\n", "Max-Forwards: 70\r\nDate: Mon, 1 Jan 2024\r\n", "invalid_date"),
        ('"Alice"', '"Alice', "unterminated_quoted_string"),
        ("sip:bob@example.com SIP", "sip:2001:db8::1 SIP", "unbracketed_ipv6_in_request_uri"),
        ("sip:bob@example.com SIP", "bob SIP", "request_uri_without_scheme"),
    ],
)
def test_defects(old: str, new: str, defect: str) -> None:
    """Each single departure from RFC 3261 produces its documented defect token."""
    raw = BASE.replace(old, new, 1)
    assert raw != BASE
    assert defect in parse_sip(_pkt(raw)).defects


def test_valid_date_has_no_defect() -> None:
    """A proper RFC 1123 GMT date is not flagged."""
    raw = BASE.replace(
        "Max-Forwards: 70\r\n", "Max-Forwards: 70\r\nDate: Sat, 13 Nov 2010 23:29:00 GMT\r\n"
    )
    assert parse_sip(_pkt(raw)).defects == ()


def test_tcp_without_content_length() -> None:
    """Over TCP a body without Content-Length is flagged (RFC 3261 §18.3); over UDP not."""
    raw = BASE.replace("Content-Length: 4\r\n", "")
    assert parse_sip(_pkt(raw, "tcp")).defects == ("missing_content_length",)
    assert parse_sip(_pkt(raw)).body == b"body"


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    """Invalid UTF-8 in headers decodes with U+FFFD and the invalid_utf8 defect."""
    raw = BASE.encode().replace(b"Alice", b"Al\xffce")
    m = parse_sip(_pkt(raw))
    assert "invalid_utf8" in m.defects
    assert m.header("from") == '"Al\ufffdce" <sip:alice@example.com>;tag=a1'


def test_missing_empty_line_at_datagram_end() -> None:
    """Headers ending with the datagram (no empty line) parse with missing_empty_line."""
    raw = BASE.replace("Content-Length: 4\r\n\r\nbody", "Content-Length: 0\r\n")
    assert parse_sip(_pkt(raw)).defects == ("missing_empty_line",)


def test_huge_scalars_are_capped() -> None:
    """A 5,000-digit CSeq is out of range without a quadratic int() conversion."""
    m = parse_sip(_pkt(BASE.replace("CSeq: 1 ", "CSeq: " + "9" * 5000 + " ")))
    assert m.cseq is None and "cseq_out_of_range" in m.defects
    assert sip.COMPACT_FORMS["i"] == "call-id"


def test_every_defect_token_is_documented() -> None:
    """Every defect token and error kind the SIP/SDP decoders emit is in docs/sip-defects.md."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    doc = (root / "docs" / "sip-defects.md").read_text()
    tokens: set[str] = set()
    for name in ("sip.py", "sipchecks.py", "sipvalues.py", "sipidentity.py", "sdp.py"):
        source = (root / "src" / "calltrace" / "decode" / name).read_text()
        tokens |= set(re.findall(r'defects\.append\("([a-z0-9_]+)"\)', source))
        tokens |= set(re.findall(r'kind="([a-z0-9_]+)"', source))
        tokens |= set(re.findall(r'_bad\([^)]*?"([a-z0-9_]+)"\)', source, re.S))
    tokens -= {"missing_", "multiple_"}
    assert len(tokens) > 40
    missing = sorted(t for t in tokens if f"`{t}`" not in doc)
    assert missing == []
