"""Transaction matching and retransmission detection (RFC 3261 §17).

A SIP transaction is named by the branch of the top Via plus the method (§17.1.3,
§17.2.3): a response carries the request's top Via back, so ``(branch, CSeq method)``
finds the request. Two requests break the rule of "one method, one transaction":
the ACK for a non-2xx final response and the CANCEL reuse the INVITE's branch; the
ACK belongs to the INVITE transaction, the CANCEL is a transaction of its own that
points at the INVITE with the same branch. Peers older than RFC 3261 (RFC 2543) put
no ``z9hG4bK`` magic cookie in the branch, so there the key falls back to the CSeq
number and method (the Call-ID is implied: every table here lives inside one call).

A *retransmission* is the same message sent again on the same hop: a request with the
same branch, method and CSeq, or a response with the same status, To tag and
transaction, between the same two addresses (§17.1.1.2 Timer A, §17.2.1 2xx
retransmissions, §13.3.1.4). The same message captured at two hops travels between
different addresses: it is a hop, not a retransmission, and both copies are kept.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from calltrace.decode.sipvalues import parse_auth, parse_name_addr, parse_uri, split_values
from calltrace.errors import DecodeError
from calltrace.model import SipMessage

MAGIC_COOKIE: Final = "z9hG4bK"  # RFC 3261 §8.1.1.7

_CREDENTIALS: Final = frozenset({"authorization", "proxy-authorization"})

TxnKey = tuple[str | int | None, str]


def transaction_key(msg: SipMessage) -> TxnKey:
    """The key of the transaction ``msg`` belongs to (request or response).

    The ACK for a non-2xx shares the INVITE transaction (same branch, §17.1.1.3); an
    ACK for a 2xx has a branch of its own, so it simply finds no INVITE with it.
    """
    method = msg.method if msg.is_request else (msg.cseq_method or msg.method)
    if method == "ACK":
        method = "INVITE"
    branch = msg.branch
    if branch is not None and branch.startswith(MAGIC_COOKIE):
        return (branch, method)
    return (msg.cseq, method)  # RFC 2543 peer: CSeq number + method (§17.2.3, last paragraph)


def fingerprint(msg: SipMessage) -> int:
    """What makes two captured messages "the same message on the same hop", hashed.

    Kept as a 64-bit hash, not the tuple: a call holds one per message, and ints cost the
    garbage collector nothing. Two different messages of one call colliding is a 2**-64
    event (it would count one message as a retransmission)."""
    p = msg.packet
    if msg.is_request:
        return hash((msg.method, msg.cseq, msg.branch, msg.to_tag, p.src_ip, p.src_port,
                     p.dst_ip, p.dst_port))  # fmt: skip
    return hash((msg.status, msg.cseq, msg.cseq_method, msg.branch, msg.to_tag, p.src_ip,
                 p.src_port, p.dst_ip, p.dst_port))  # fmt: skip


# What the tracker remembers of a client transaction, as bit flags in one int (a call
# holds one per request it saw; an int costs no object and nothing to the collector).
TXN_SEEN: Final = 0  # a request was captured (a response finding it is not an orphan)
TXN_INITIAL: Final = 1  # an INVITE outside any dialog (no To tag): it creates the call
TXN_CREDENTIALS: Final = 2  # carried Authorization / Proxy-Authorization (RFC 3261 §22.2)


def transaction_flags(msg: SipMessage) -> int:
    """The TXN_* flags of a request."""
    flags = TXN_CREDENTIALS if has_credentials(msg) else TXN_SEEN
    if msg.method == "INVITE" and msg.to_tag is None:
        flags |= TXN_INITIAL
    return flags


def has_credentials(msg: SipMessage) -> bool:
    """Whether a request carries digest credentials (RFC 3261 §22.2, §22.3)."""
    for key, _ in msg.headers:  # noqa: SIM110 (a loop beats any() over a generator here)
        if key in _CREDENTIALS:
            return True
    return False


def credentials(msg: SipMessage) -> str | None:
    """The first Authorization or Proxy-Authorization value of a request (None: none)."""
    for key, value in msg.headers:
        if key in _CREDENTIALS:
            return value
    return None


def first_headers(msg: SipMessage, names: frozenset[str]) -> dict[str, str]:
    """The first value of each header in ``names``, in one pass over the headers."""
    found: dict[str, str] = {}
    for key, value in msg.headers:
        if key in names and key not in found:
            found[key] = value
    return found


# --- header values -------------------------------------------------------------------
# The decoder's value parsers raise DecodeError on bad values; the tracker records what
# it can and falls back to None (a record is never lost for a bad header).


def user_of(value: str | None) -> str | None:
    """User part of a name-addr / addr-spec header value (From, To, PAI), or None."""
    return user_and_uri(value)[0]


def host_of(value: str | None) -> str | None:
    """Host part of a name-addr header value, or None."""
    if not value:
        return None
    return _host_of(value)


@lru_cache(maxsize=4096)
def _host_of(value: str) -> str | None:
    """host_of, memoised: a REGISTER's To (no tag) repeats with every refresh and every
    guess of a brute force, and the full name-addr parser is not cheap."""
    try:
        return parse_name_addr(value).uri.host or None
    except DecodeError:
        return None


_NOT_PLAIN_USER: Final = frozenset(":;%?")


def _plain_sip(value: str) -> tuple[str | None, str] | None:
    """Fast path for the common ``["Name"] <sip:user@host...>;tag=...`` value: the user and
    URI text, or None when anything unusual (escapes, a password, a quoted ``<``, another
    scheme) needs the full parser. Called once or twice per call, on the hot path."""
    lt = value.find("<")
    if lt < 0 or '"' in value[lt:]:
        return None
    gt = value.find(">", lt)
    uri = value[lt + 1 : gt]
    if gt < 0 or not (uri.startswith("sip:") or uri.startswith("sips:")):
        return None
    at = uri.rfind("@")  # as the parser does: the host follows the last "@"
    if at < 0 or at == len(uri) - 1:
        return None
    user = uri[uri.index(":") + 1 : at]
    if not user.isalnum() and not _NOT_PLAIN_USER.isdisjoint(user):
        return None
    return user or None, uri


def user_and_uri(value: str | None) -> tuple[str | None, str | None]:
    """User part and URI text of a From/To value with one parse (see ``user_of``)."""
    if not value:
        return None, None
    plain = _plain_sip(value)
    if plain is not None:
        return plain
    try:
        uri = parse_name_addr(value).uri
    except DecodeError:
        return None, value.strip()
    return uri.user or None, uri.raw


def uri_user(uri: str | None) -> str | None:
    """User part of a bare URI (the Request-URI), or None."""
    if not uri:
        return None
    return _uri_user(uri)


@lru_cache(maxsize=4096)
def _uri_user(uri: str) -> str | None:
    """uri_user, memoised: the Request-URIs of OPTIONS pings and of INVITEs without a To
    user repeat (the same few probes and trunks), and the full URI parser is not cheap."""
    try:
        return parse_uri(uri).user or None
    except DecodeError:
        return None


def auth_param(value: str | None, name: str) -> str | None:
    """One parameter (``realm``, ``username``...) of a challenge or credentials header."""
    return auth_params(value).get(name)


def auth_params(value: str | None) -> dict[str, str]:
    """Every parameter of a challenge or credentials header ({} when absent or bad):
    one parse for callers that want several."""
    if not value:
        return {}
    try:
        return parse_auth(value).params
    except DecodeError:
        return {}


def split_header(values: list[str]) -> tuple[str, ...]:
    """Every comma-separated element of a list of header values, in order (§7.3.1)."""
    out: list[str] = []
    for value in values:
        if "," not in value:
            out.append(value.strip())  # one element: nothing to split (the usual case)
            continue
        try:
            out.extend(split_values(value))
        except DecodeError:
            out.append(value)
    return tuple(out)
