"""SIP message decoding (RFC 3261 §7): one datagram's bytes in, a :class:`SipMessage` out.

Strategy (the fast path, measured by ``bench/bench_sip_parse.py``):

* find the header/body split with one ``bytes.find(b"\\r\\n\\r\\n")``; bare-LF messages
  take a slower path and are flagged (RFC 3261 §7 requires CRLF);
* decode the header block once, strict UTF-8 first (SIP text is UTF-8, RFC 3261 §7.1),
  falling back to ``errors="replace"`` with an ``invalid_utf8`` defect: never a crash,
  and never lone surrogates that would break a database later (``raw`` keeps the bytes);
* unfold continuation lines (§7.3.1) only when a line starts with SP/HTAB;
* map header names through a dict of compact and canonical forms (§7.3.3);
* pull out only Call-ID, CSeq, the tags and the top Via branch with ``str`` methods.
  URIs, Via parameters and the rest are parsed on demand by :mod:`.sipvalues`.

What is fatal: no valid start line, no Call-ID, no CSeq method, a header section that
stops in the middle of a line. Everything else is kept and named in ``defects``
(docs/sip-defects.md lists every token and the rule it breaks).

The native fast path (``_sipfast.c``, docs/performance.md) takes the well-formed common
message and builds the identical :class:`SipMessage` about ten times faster; at the
first sign of a defect it hands the whole message to :func:`parse_sip_pure`, which stays
the reference. ``FAST`` says whether it is active; ``CALLTRACE_PURE_PYTHON=1`` (or a
missing extension) keeps everything in Python.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from types import ModuleType
from typing import Final

from calltrace.decode import sipchecks
from calltrace.errors import MalformedInput, Truncated
from calltrace.model import Packet, SipMessage

__all__ = [
    "COMPACT_FORMS",
    "FAST",
    "canonical_name",
    "looks_like_sip",
    "looks_like_sip_pure",
    "parse_sip",
    "parse_sip_pure",
]

#: Compact header forms: RFC 3261 §7.3.3 and §20, RFC 3841 (a, d, j), RFC 4028 (x),
#: RFC 3515 (r), RFC 3892 (b), RFC 3265/6665 (o, u), RFC 4474 (y), RFC 3329-era (n).
COMPACT_FORMS: Final[dict[str, str]] = {
    "a": "accept-contact",
    "b": "referred-by",
    "c": "content-type",
    "d": "request-disposition",
    "e": "content-encoding",
    "f": "from",
    "i": "call-id",
    "j": "reject-contact",
    "k": "supported",
    "l": "content-length",
    "m": "contact",
    "n": "identity-info",
    "o": "event",
    "r": "refer-to",
    "s": "subject",
    "t": "to",
    "u": "allow-events",
    "v": "via",
    "x": "session-expires",
    "y": "identity",
}

_COMMON: Final = [
    "Via",
    "From",
    "To",
    "Call-ID",
    "CSeq",
    "Contact",
    "Max-Forwards",
    "Content-Type",
    "Content-Length",
    "User-Agent",
    "Server",
    "Allow",
    "Supported",
    "Expires",
    "Route",
    "Record-Route",
    "Authorization",
    "WWW-Authenticate",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Accept",
    "Date",
    "Require",
    "Session-Expires",
    "Min-SE",
    "P-Asserted-Identity",
    "Remote-Party-ID",
    "Privacy",
    "Reason",
    "Event",
    "Allow-Events",
    "Subscription-State",
    "Refer-To",
    "Referred-By",
    "Diversion",
    "History-Info",
    "Organization",
    "Subject",
    "Content-Disposition",
    "Timestamp",
    "Warning",
    "Retry-After",
    "Identity",
]

# Exact-spelling cache: the usual wire spellings hit one dict lookup.
_NAMES: dict[str, str] = {}
for _n in _COMMON:
    for _s in (_n, _n.lower(), _n.upper(), _n.title()):
        _NAMES[_s] = _n.lower()
for _c, _long in COMPACT_FORMS.items():
    _NAMES[_c] = _long
    _NAMES[_c.upper()] = _long
_NAMES["Call-Id"] = "call-id"
_NAMES["Cseq"] = "cseq"
_NAMES["WWW-Authenticate"] = "www-authenticate"

_TOKEN_EXTRA: Final = "-.!%*_+`'~"
_TOKEN_CHARS: Final = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" + _TOKEN_EXTRA
)
_TOKEN_BYTES: Final = bytes(sorted(ord(c) for c in _TOKEN_CHARS))
_LEADING: Final = b"\x00\r\n \t"
_MAX_LEADING: Final = 64
_MAX_FIRST_LINE: Final = 4096
_U32: Final = 2**32 - 1
#: Headers RFC 3261 §20 allows once only; a second copy is a defect (RFC 4475 §3.3.8).
_SINGLE: Final = frozenset(
    {"call-id", "cseq", "from", "to", "max-forwards", "content-length", "content-type"}
)


# SipMessage is a frozen dataclass: its generated __init__ pays one object.__setattr__
# per field (~3 µs for 16 fields here). Setting the slots through their member
# descriptors builds the identical object in half the time; the order is the dataclass
# field order, checked at import and pinned by tests/decode/test_sip.py.
_FIELDS: Final = tuple(f.name for f in dataclasses.fields(SipMessage))
_SETTERS: Final = tuple(getattr(SipMessage, name).__set__ for name in _FIELDS)
assert _FIELDS[:3] == ("packet", "is_request", "method") and _FIELDS[-1] == "defects"


def _message(*values: object) -> SipMessage:
    """A SipMessage from its field values in declaration order (see _SETTERS)."""
    message: SipMessage = object.__new__(SipMessage)
    for setter, value in zip(_SETTERS, values, strict=True):
        setter(message, value)
    return message


def is_token(text: str) -> bool:
    """True when ``text`` is a non-empty RFC 3261 §25.1 ``token``."""
    if text.isalnum() and text.isascii():
        return True
    return bool(text) and _TOKEN_CHARS.issuperset(text)


def canonical_name(name: str) -> str:
    """Lower-case long form of a header name (compact forms expanded, §7.3.3)."""
    known = _NAMES.get(name)
    if known is not None:
        return known
    low = name.strip().lower()
    return COMPACT_FORMS.get(low, low)


def _skip_leading(data: bytes) -> int:
    """Offset of the first byte after leading NUL/CR/LF/SP/HTAB (bounded).

    RFC 3261 §7.5 lets a receiver ignore CRLFs before the start line; NULs are seen in
    the wild (corpus zeek/sip-junk-before-request.pcap) and handled as a defect.
    """
    start = 0
    limit = min(len(data), _MAX_LEADING)
    while start < limit and data[start] in _LEADING:
        start += 1
    return start


def looks_like_sip_pure(payload: bytes) -> bool:
    """Cheap content check on the first bytes: a request line or a status line.

    Accepts ``token SP uri SP SIP/x.y`` and ``SIP/2.0 SP 3DIGIT``, after at most 64
    bytes of leading NUL/CRLF/whitespace. RTP (first byte 0x80), STUN (0x00 0x01),
    keep-alive CRLFs and short junk are rejected without scanning the datagram.
    """
    start = 0
    if payload[:1] in (b"\x00", b"\r", b"\n", b" ", b"\t"):
        start = _skip_leading(payload)
    if payload.startswith(b"SIP/2.0 ", start):
        code = payload[start + 8 : start + 11]
        return len(code) == 3 and code.isdigit()
    sp = payload.find(b" ", start, start + 64)
    if sp <= start:
        return False
    method = payload[start:sp]
    if not method.isalpha() and method.translate(None, _TOKEN_BYTES):
        return False
    if payload[sp + 1 : sp + 2] in (b"\r", b"\n", b""):
        return False
    eol = payload.find(b"\n", sp, sp + _MAX_FIRST_LINE)
    line = payload[sp:eol] if eol >= 0 else payload[sp : sp + _MAX_FIRST_LINE]
    return b" SIP/" in line


def _bad(detail: str, kind: str) -> MalformedInput:
    return MalformedInput(detail, layer="sip", kind=kind)


def parse_sip_pure(packet: Packet) -> SipMessage:
    """Decode one SIP message from ``packet.payload`` (RFC 3261 §7).

    Raises :class:`MalformedInput` (layer ``sip``) only when the message cannot be
    understood at all; every other departure from the RFC becomes a defect token.
    """
    data = packet.payload
    defects: list[str] = []
    start = 0
    if data[:1] in (b"\x00", b"\r", b"\n", b" ", b"\t"):
        start = _skip_leading(data)
        if data.find(b"\x00", 0, start) >= 0 or data.find(b" ", 0, start) >= 0:
            defects.append("leading_junk")
    end = data.find(b"\r\n\r\n", start)
    if end >= 0:
        text = _decode(data[start:end], defects)
        lines = text.split("\r\n")
        body_start = end + 4
        if text.count("\n") != len(lines) - 1:
            lines, body_start = _split_slow(data, start, defects)
    else:
        lines, body_start = _split_slow(data, start, defects)
    return _build(packet, lines, body_start, defects)


def _decode(head: bytes, defects: list[str]) -> str:
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError:
        defects.append("invalid_utf8")
        return head.decode("utf-8", "replace")


def _split_slow(data: bytes, start: int, defects: list[str]) -> tuple[list[str], int]:
    """Header lines when the block is not pure CRLF (bare LF, §7) or not terminated."""
    pos = start
    size = len(data)
    raw_lines: list[bytes] = []
    bare_lf = False
    while True:
        nl = data.find(b"\n", pos)
        if nl < 0:
            if pos < size:
                raise Truncated(
                    "header section ends inside a line",
                    layer="sip",
                    kind="unterminated_header_section",
                )
            defects.append("missing_empty_line")
            body_start = size
            break
        line = data[pos:nl]
        if line.endswith(b"\r"):
            line = line[:-1]
        else:
            bare_lf = True
        pos = nl + 1
        if not line:
            body_start = pos
            break
        raw_lines.append(line)
    if bare_lf:
        defects.append("bare_lf_line_endings")
    if not raw_lines:
        raise _bad("no start line", "no_start_line")
    return _decode(b"\n".join(raw_lines), defects).split("\n"), body_start


def _build(packet: Packet, lines: list[str], body_start: int, defects: list[str]) -> SipMessage:
    first_line = lines[0]
    headers: list[tuple[str, str]] = []
    first: dict[str, str] = {}
    append = headers.append
    names = _NAMES
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        key = names.get(name)
        if key is None:
            key = _slow_name(name, sep, line, defects, bool(headers))
            if key is None:
                if line[:1] in (" ", "\t") and headers:
                    _unfold(headers, first, line)
                continue
        value = value.strip()
        append((key, value))
        if key not in first:
            first[key] = value
        elif key in _SINGLE:
            defects.append("multiple_" + key.replace("-", "_"))
    if first_line.startswith("SIP/"):
        return _response(packet, first_line, headers, first, body_start, defects)
    return _request(packet, first_line, headers, first, body_start, defects)


def _unfold(headers: list[tuple[str, str]], first: dict[str, str], line: str) -> None:
    """Append a continuation line to the previous header (RFC 3261 §7.3.1: LWS)."""
    key, old = headers[-1]
    value = (old + " " + line.strip()).strip()
    headers[-1] = (key, value)
    if first.get(key) is old:
        first[key] = value


def _slow_name(
    name: str, sep: str, line: str, defects: list[str], headers_seen: bool
) -> str | None:
    """Canonical name of an unusual header line, or None (with a defect) to skip it."""
    if line[:1] in (" ", "\t"):
        if not headers_seen:
            defects.append("continuation_without_header")
        return None
    stripped = name.rstrip(" \t")
    if not sep or not is_token(stripped):
        defects.append("malformed_header_line")
        return None
    low = stripped.lower()
    return COMPACT_FORMS.get(low, low)


def _request(
    packet: Packet,
    line: str,
    headers: list[tuple[str, str]],
    first: dict[str, str],
    body_start: int,
    defects: list[str],
) -> SipMessage:
    parts = line.split(" ")
    if len(parts) == 3 and parts[1]:
        method, uri, version = parts
    else:
        method, uri, version = _request_line_slow(line, defects)
    if not is_token(method):
        raise _bad(f"request method is not a token: {method[:40]!r}", "bad_request_line")
    if not version.upper().startswith("SIP/"):
        raise _bad(f"request line without SIP version: {line[:80]!r}", "bad_request_line")
    if version.upper() != "SIP/2.0":
        defects.append("unknown_sip_version")
    uri = sipchecks.check_request_uri(uri, defects)
    call_id, cseq, cseq_method = _common(first, defects)
    if cseq_method != method:
        defects.append("cseq_method_mismatch")
    sipchecks.check_request_headers(first, defects)
    return _finish(packet, True, method, uri, None, None, call_id, cseq, cseq_method,
                   headers, first, body_start, defects)  # fmt: skip


def _request_line_slow(line: str, defects: list[str]) -> tuple[str, str, str]:
    """Request-Line with irregular whitespace (RFC 4475 §3.1.2.8-3.1.2.10)."""
    tokens = line.split()
    if len(tokens) < 3:
        raise _bad(f"request line needs method, URI and version: {line[:80]!r}", "bad_request_line")
    if line != line.rstrip():
        defects.append("trailing_whitespace_in_request_line")
    core = line.strip()
    method, version = tokens[0], tokens[-1]
    uri = core[len(method) : len(core) - len(version)].strip()
    if len(tokens) > 3:
        defects.append("whitespace_in_request_uri")
    elif "  " in core or "\t" in core:
        defects.append("extra_whitespace_in_request_line")
    return method, uri, version


def _response(
    packet: Packet,
    line: str,
    headers: list[tuple[str, str]],
    first: dict[str, str],
    body_start: int,
    defects: list[str],
) -> SipMessage:
    parts = line.split(" ", 2)
    if len(parts) < 2:
        raise _bad(f"status line without a code: {line[:80]!r}", "bad_status_line")
    version, code = parts[0], parts[1]
    if not (code.isdigit() and code.isascii() and len(code) <= 18):
        raise _bad(f"status code is not a number: {code[:20]!r}", "bad_status_line")
    if version.upper() != "SIP/2.0":
        defects.append("unknown_sip_version")
    status = int(code)
    if len(code) != 3 or status < 100 or status > 699:
        defects.append("status_code_out_of_range")
    if len(parts) == 2:
        defects.append("missing_reason_phrase_separator")
    reason = parts[2] if len(parts) == 3 else ""
    call_id, cseq, cseq_method = _common(first, defects)
    sipchecks.check_response_headers(first, defects)
    return _finish(packet, False, cseq_method, None, status, reason, call_id, cseq, cseq_method,
                   headers, first, body_start, defects)  # fmt: skip


def _finish(
    packet: Packet,
    is_request: bool,
    method: str,
    uri: str | None,
    status: int | None,
    reason: str | None,
    call_id: str,
    cseq: int | None,
    cseq_method: str,
    headers: list[tuple[str, str]],
    first: dict[str, str],
    body_start: int,
    defects: list[str],
) -> SipMessage:
    """What requests and responses share once their start line and required headers are
    checked: top branch, body, header values, tags, and the message itself (defects in
    first-seen order, each once)."""
    branch = _branch(first, defects)
    body = _body(packet, first, body_start, defects)
    sipchecks.check_values(first, headers, defects)
    from_tag = _tag(first.get("from"))
    if from_tag is None and "from" in first:
        defects.append("missing_from_tag")
    return _message(
        packet,
        is_request,
        method,
        uri,
        status,
        reason,
        call_id,
        cseq,
        cseq_method,
        from_tag,
        _tag(first.get("to")),
        branch,
        tuple(headers),
        body,
        packet.payload,
        tuple(dict.fromkeys(defects)) if defects else (),
    )


def _common(first: dict[str, str], defects: list[str]) -> tuple[str, int | None, str]:
    """Call-ID and CSeq (RFC 3261 §8.1.1.4-5).

    Without them a message belongs to no dialog or transaction, but it is still a SIP
    message that was sent (tshark and Zeek count it, and attack tools send such things):
    it is kept with ``call_id=""`` / ``cseq=None`` and the defect, and tracing skips it.
    """
    call_id = first.get("call-id")
    if not call_id:
        defects.append("missing_call_id")
        call_id = ""
    cseq_value = first.get("cseq")
    if cseq_value is None:
        defects.append("missing_cseq")
        return call_id, None, ""
    parts = cseq_value.split()
    if len(parts) != 2:
        if len(parts) < 2:
            raise _bad(f"CSeq without method: {cseq_value[:40]!r}", "invalid_cseq")
        defects.append("invalid_cseq")
    number, cseq_method = parts[0], parts[1]
    cseq = sipchecks.digits(number)
    if cseq is None:
        defects.append("invalid_cseq")
    elif cseq > _U32:
        defects.append("cseq_out_of_range")
        cseq = None
    return call_id, cseq, cseq_method


def _tag(value: str | None) -> str | None:
    """The ``tag`` header parameter of a From/To value (RFC 3261 §19.3)."""
    if value is None:
        return None
    gt = value.rfind(">")
    params = value[gt + 1 :] if gt >= 0 else value
    semi = params.find(";")
    if semi < 0:
        return None
    for part in params[semi + 1 :].split(";"):
        key, _, val = part.partition("=")
        if key.strip().lower() == "tag":
            return val.strip() or None
    return None


def _branch(first: dict[str, str], defects: list[str]) -> str | None:
    """Branch of the top Via (RFC 3261 §8.1.1.7); flags a missing magic cookie."""
    via = first.get("via")
    if via is None:
        return None
    comma = via.find(",")
    if comma >= 0:
        via = via[:comma]
    branch = None
    for part in via.split(";")[1:]:
        key, _, val = part.partition("=")
        if key.strip().lower() == "branch":
            branch = val.strip()
            break
    if not branch:
        defects.append("missing_via_branch")
        return None
    if not branch.startswith("z9hG4bK"):
        defects.append("branch_without_magic_cookie")
    elif len(branch) == 7:
        defects.append("empty_branch_after_magic_cookie")
    return branch


def _body(packet: Packet, first: dict[str, str], body_start: int, defects: list[str]) -> bytes:
    """The body per Content-Length (RFC 3261 §18.3, §20.14); the rest of the datagram
    when Content-Length is absent or unusable."""
    data = packet.payload
    value = first.get("content-length")
    if value is None:
        if packet.transport in ("tcp", "tls") and len(data) > body_start:
            defects.append("missing_content_length")
        return data[body_start:]
    length = sipchecks.digits(value)
    if length is None:
        if value.startswith("-") and sipchecks.digits(value[1:].strip()) is not None:
            defects.append("negative_content_length")
        else:
            defects.append("invalid_content_length")
        return data[body_start:]
    if length > _U32:
        defects.append("content_length_out_of_range")
    available = len(data) - body_start
    if length > available:
        defects.append("content_length_exceeds_body")
        return data[body_start:]
    if length < available:
        defects.append("trailing_bytes")
    return data[body_start : body_start + length]


def _load_native() -> tuple[Callable[[Packet], SipMessage], Callable[[bytes], bool]] | None:
    """The native parse_sip and looks_like_sip, or None to stay in pure Python.

    The extension is optional (``setup.py``: a failed build still installs), so its
    absence is normal. It receives its tables from this module (compact forms, names,
    single-use headers, the SipMessage field order) so the two paths cannot drift, and
    it refuses (returns False) when the SipMessage layout is not the one it writes.
    """
    if os.environ.get("CALLTRACE_PURE_PYTHON", "") not in ("", "0"):
        return None
    try:
        from calltrace.decode import _sipfast
    except ImportError:
        return None
    if not setup_native(_sipfast):
        return None
    return _sipfast.parse_sip, _sipfast.looks_like_sip


def setup_native(native: ModuleType) -> bool:
    """Hand the native module this module's tables; False when it refuses the layout."""
    common = tuple(name.lower() for name in _COMMON)
    return bool(native.setup(SipMessage, _FIELDS, parse_sip_pure, COMPACT_FORMS, common, _SINGLE))


_NATIVE: Final = _load_native()
#: True when the native fast path is active (built, set up, not disabled by the env var).
FAST: Final = _NATIVE is not None
#: Decode one SIP message (RFC 3261 §7): :func:`parse_sip_pure`, or the native path that
#: returns the identical SipMessage and falls back to it for anything unusual.
parse_sip: Final = _NATIVE[0] if _NATIVE is not None else parse_sip_pure
#: Cheap content check on the first bytes: :func:`looks_like_sip_pure`, natively if FAST.
looks_like_sip: Final = _NATIVE[1] if _NATIVE is not None else looks_like_sip_pure
