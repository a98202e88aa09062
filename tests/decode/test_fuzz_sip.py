"""Fuzz invariant for the SIP/SDP decoders: any input decodes or raises DecodeError.

Hypothesis runs ~200 examples per property; bench/fuzz_sip.py is the long run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from calltrace.decode.sdp import parse_sdp
from calltrace.decode.sip import looks_like_sip, parse_sip
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
from calltrace.errors import DecodeError
from calltrace.model import Packet

SEED = (
    b"INVITE sip:bob@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b'From: "A \\"x\\"" <sip:a@example.com>;tag=1\r\n'
    b"To: sip:bob@example.com\r\n"
    b"Call-ID: k@h\r\nCSeq: 1 INVITE\r\n"
    b"Contact: <sip:a@192.0.2.1;transport=tcp>;expires=60\r\n"
    b"Content-Type: application/sdp\r\nContent-Length: 62\r\n\r\n"
    b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\n"
)
TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=120) | st.sampled_from(
    ["<", ">", '"', "sip:", "[::1]", ";", ",", "\\", "%", "@", ":", "?", "="]
).flatmap(
    lambda s: st.lists(st.sampled_from([s, "a", " ", "sip:x@y", '"', "<", ">"]), max_size=20).map(
        "".join
    )
)


def _decodes_or_raises(func: Callable[[], object]) -> None:
    with contextlib.suppress(DecodeError):
        func()


def _pkt(data: bytes) -> Packet:
    return Packet(
        number=1,
        ts=0.0,
        src_ip="a",
        src_port=1,
        dst_ip="b",
        dst_port=2,
        transport="udp",
        payload=data,
    )


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """The seed message with byte flips, cuts, duplicated lines or changed line ends."""
    data = bytearray(SEED)
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["flip", "cut", "dup", "lf", "insert"]))
        if op == "flip" and data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
        elif op == "cut":
            data = data[: draw(st.integers(0, len(data)))]
        elif op == "dup":
            lines = bytes(data).split(b"\r\n")
            i = draw(st.integers(0, len(lines) - 1))
            lines.insert(i, lines[i])
            data = bytearray(b"\r\n".join(lines))
        elif op == "lf":
            data = bytearray(
                bytes(data).replace(
                    b"\r\n", draw(st.sampled_from([b"\n", b"\r", b"\r\n ", b"\n\t"]))
                )
            )
        else:
            i = draw(st.integers(0, len(data)))
            data[i:i] = draw(st.sampled_from([b"\x00", b";", b",", b'"', b"<", b" ", b"%"]))
    return bytes(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_parse_sip_arbitrary_bytes(data: bytes) -> None:
    """parse_sip and looks_like_sip on any bytes: a message, or DecodeError."""
    assert isinstance(looks_like_sip(data), bool)
    _decodes_or_raises(lambda: parse_sip(_pkt(data)))


@settings(max_examples=200, deadline=None)
@given(mutated())
def test_parse_sip_mutated(data: bytes) -> None:
    """Mutations of a valid message decode or raise DecodeError, and the decoded
    structured values do the same."""
    try:
        message = parse_sip(_pkt(data))
    except DecodeError:
        return
    for _, value in message.headers:
        _decodes_or_raises(lambda v=value: parse_name_addr(v))  # type: ignore[misc]
        _decodes_or_raises(lambda v=value: parse_via(v))  # type: ignore[misc]
    _decodes_or_raises(lambda: parse_sdp(message.body))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400) | mutated().map(lambda b: b[b.find(b"\r\n\r\n") + 4 :]))
def test_parse_sdp_any(body: bytes) -> None:
    """parse_sdp on arbitrary and mutated bodies: an Sdp, or DecodeError."""
    _decodes_or_raises(lambda: parse_sdp(body))


PARSERS: list[Callable[[str], object]] = [
    parse_uri,
    parse_name_addr,
    parse_via,
    parse_cseq,
    parse_auth,
    split_values,
    user_part,
    parse_p_asserted_identity,
    parse_remote_party_id,
    parse_identity,
    parse_diversion,
    parse_history_info,
    lambda t: parse_multipart(t.encode("utf-8", "replace"), "multipart/mixed;boundary=b"),
]


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_sipvalues_arbitrary_text(text: str) -> None:
    """Every structured-value parser on arbitrary text: a value, or DecodeError."""
    for parser in PARSERS:
        _decodes_or_raises(lambda p=parser: p(text))  # type: ignore[misc]


@settings(max_examples=100, deadline=None)
@given(
    method=st.sampled_from(["INVITE", "BYE", "OPTIONS", "X-CUSTOM.1"]),
    user=st.from_regex(r"\+?[0-9]{3,15}", fullmatch=True),
    tag=st.from_regex(r"[A-Za-z0-9.\-]{1,20}", fullmatch=True),
    cseq=st.integers(0, 2**32 - 1),
    body=st.binary(max_size=64),
)
def test_generated_message_round_trips(
    method: str, user: str, tag: str, cseq: int, body: bytes
) -> None:
    """A generated valid message gives back exactly the fields it was built from."""
    raw = (
        f"{method} sip:{user}@example.com SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK{tag}\r\nMax-Forwards: 70\r\n"
        f"From: <sip:a@example.com>;tag={tag}\r\nTo: <sip:{user}@example.com>\r\n"
        f"Call-ID: {tag}@host\r\nCSeq: {cseq} {method}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    m = parse_sip(_pkt(raw))
    assert (m.method, m.cseq, m.from_tag, m.branch) == (method, cseq, tag, "z9hG4bK" + tag)
    assert (m.call_id, m.body, m.defects) == (f"{tag}@host", body, ())
    assert parse_uri(m.request_uri or "").user == user
