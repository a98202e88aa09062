"""Transaction keys, retransmission fingerprints and header helpers (RFC 3261 §17)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from calltrace.decode.sipvalues import parse_name_addr
from calltrace.errors import DecodeError
from calltrace.trace.transactions import (
    _plain_sip,
    auth_param,
    fingerprint,
    has_credentials,
    transaction_key,
    uri_user,
    user_and_uri,
    user_of,
)
from tests.trace.factory import Leg

P = "10.0.0.9:5060"


def test_ack_and_cancel_share_the_invite_branch() -> None:
    """The non-2xx ACK joins the INVITE transaction; the CANCEL is its own (§17.1.1.3, §9.1)."""
    leg = Leg()
    inv = leg.invite(0.0)
    ack = leg.request("ACK", 1.0, branch="z9hG4bKinv1", to_tag="t")
    cancel = leg.request("CANCEL", 0.5, branch="z9hG4bKinv1")
    busy = leg.response(inv, 486, "Busy Here", 0.9, to_tag="t")
    assert transaction_key(inv) == ("z9hG4bKinv1", "INVITE")
    assert transaction_key(ack) == transaction_key(inv) == transaction_key(busy)
    assert transaction_key(cancel) == ("z9hG4bKinv1", "CANCEL")


def test_rfc2543_key_uses_cseq() -> None:
    """Without the magic cookie the key is the CSeq number and method."""
    leg = Leg()
    inv = leg.invite(0.0, cseq=7, branch="1234")
    assert transaction_key(inv) == (7, "INVITE")
    assert transaction_key(leg.response(inv, 200, "OK", 1.0, to_tag="t")) == (7, "INVITE")


def test_fingerprint_same_hop_vs_other_hop() -> None:
    """Resent bytes on the same hop share a fingerprint; the copy at another hop does not."""
    leg = Leg(b=P)
    inv = leg.invite(0.0)
    assert fingerprint(leg.again(inv, 0.5)) == fingerprint(inv)
    assert fingerprint(leg.hop(inv, 0.01, P, "10.0.0.2:5060")) != fingerprint(inv)


def test_response_fingerprint_includes_status_and_tag() -> None:
    """Two 180s from two forks, or a 180 and a 200, are different responses."""
    leg = Leg()
    inv = leg.invite(0.0)
    r1 = leg.response(inv, 180, "Ringing", 0.1, to_tag="a")
    r2 = leg.response(inv, 180, "Ringing", 0.2, to_tag="b")
    r3 = leg.response(inv, 200, "OK", 0.3, to_tag="a")
    assert len({fingerprint(r1), fingerprint(r2), fingerprint(r3)}) == 3


def test_credentials_detected() -> None:
    """Authorization or Proxy-Authorization marks a request as carrying credentials."""
    leg = Leg()
    assert not has_credentials(leg.invite(0.0))
    with_auth = leg.invite(0.0, extra='Proxy-Authorization: Digest username="u"\n')
    assert has_credentials(with_auth)


def test_header_helpers_parse_and_fall_back() -> None:
    """Helpers return the parsed part, or None (the raw text for URIs) on unreadable values."""
    assert user_of('"Bob" <sip:2002@b.example>;tag=x') == "2002"
    assert user_and_uri('"Bob" <sip:2002@b.example>;tag=x') == ("2002", "sip:2002@b.example")
    assert user_and_uri("Bob <sip:a%20b@h>") == ("a b", "sip:a%20b@h")  # full parser path
    assert uri_user("sip:+4930123@gw.example;user=phone") == "+4930123"
    assert auth_param('Digest realm="pbx", nonce="n"', "realm") == "pbx"
    assert user_of("<<<") is None and user_of(None) is None and uri_user("") is None
    assert user_and_uri(" <<< ") == (None, "<<<")
    assert auth_param("Digest username", "realm") is None


@given(
    st.sampled_from(['"Al" ', "", "Bob "]),
    st.sampled_from(["sip:", "sips:", "tel:", "http:"]),
    st.text(alphabet="ab1+-.%:;?@", max_size=6),
    st.text(alphabet="hx.:[]1;=", max_size=8),
    st.sampled_from([";tag=1", "", ">", '"']),
)
@settings(max_examples=300, deadline=None)
def test_fast_path_agrees_with_parser(display: str, scheme: str, user: str, host: str,
                                      tail: str) -> None:  # fmt: skip
    """Whenever the From/To fast path answers, it answers what parse_name_addr says."""
    value = f"{display}<{scheme}{user}@{host}>{tail}"
    fast = _plain_sip(value)
    try:
        uri = parse_name_addr(value).uri
    except DecodeError:
        return
    if fast is not None:
        assert fast == (uri.user or None, uri.raw)
