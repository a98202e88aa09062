"""Structured SIP header values, parsed on demand (RFC 3261 §19, §20, §25).

:func:`calltrace.decode.sip.parse_sip` leaves header values as text; these pure
functions turn one value into objects when a consumer asks. Each raises
:class:`MalformedInput` (``layer="sip"``) with a stable ``kind`` on input it cannot read;
nothing else escapes. Caller-identity headers (P-Asserted-Identity, Remote-Party-ID,
Identity, Diversion, History-Info) live in :mod:`.sipidentity` and are re-exported here.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote

from calltrace.errors import MalformedInput

__all__ = [
    "Challenge",
    "NameAddr",
    "Params",
    "Uri",
    "Via",
    "param",
    "parse_auth",
    "parse_cseq",
    "parse_host_port",
    "parse_multipart",
    "parse_name_addr",
    "parse_params",
    "parse_uri",
    "parse_via",
    "split_outside",
    "split_values",
    "unquote_string",
    "user_part",
]

Params = tuple[tuple[str, str | None], ...]

_SCHEME_CHARS: Final = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-."
)
_BAD_HOST_CHARS: Final = frozenset(' \t\r\n<>"\\,;?@[]{}|^`')
_U32: Final = 2**32 - 1


def _bad(detail: str, kind: str) -> MalformedInput:
    return MalformedInput(detail, layer="sip", kind=kind)


@dataclass(frozen=True, slots=True, kw_only=True)
class Uri:
    """A SIP/SIPS URI (RFC 3261 §19.1), a TEL URI (RFC 3966: ``user`` is the number,
    ``host`` is empty) or another scheme kept opaque (``raw`` only)."""

    scheme: str
    user: str | None
    password: str | None
    host: str  # IPv6 references without their brackets
    port: int | None
    params: Params
    headers: tuple[tuple[str, str], ...]
    raw: str
    defects: tuple[str, ...] = ()

    def param(self, name: str) -> str | None:
        """Value of URI parameter ``name`` (case-insensitive), "" for a bare flag."""
        return param(self.params, name)


@dataclass(frozen=True, slots=True, kw_only=True)
class NameAddr:
    """``[display] <uri> *(;param)`` or ``addr-spec *(;param)`` (RFC 3261 §20.10, §25.1)."""

    display: str | None
    uri: Uri
    params: Params

    @property
    def tag(self) -> str | None:
        return param(self.params, "tag")


@dataclass(frozen=True, slots=True, kw_only=True)
class Via:
    """One via-parm (RFC 3261 §20.42); ``host`` without IPv6 brackets."""

    protocol: str  # "SIP/2.0"
    transport: str  # upper-case: UDP, TCP, TLS, SCTP, WS, WSS or an unknown token
    host: str
    port: int | None
    params: Params

    @property
    def branch(self) -> str | None:
        return param(self.params, "branch")

    @property
    def received(self) -> str | None:
        """``received`` address, IPv6 brackets removed (RFC 5118 §4.5 accepts both)."""
        value = param(self.params, "received")
        if value and value.startswith("[") and value.endswith("]"):
            return value[1:-1]
        return value

    @property
    def rport(self) -> int | None:
        """``rport`` value (RFC 3581); None when absent or sent empty by the client."""
        value = param(self.params, "rport")
        return int(value) if value and value.isdigit() and value.isascii() else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Challenge:
    """An auth header: scheme and its parameters, quoted values unquoted (RFC 3261
    §20.7, §20.27, §20.44; RFC 7616 for Digest). A token68 credential (RFC 7235 §2.1)
    is kept under the key ``token68``."""

    scheme: str
    params: dict[str, str]


def param(params: Params, name: str) -> str | None:
    """First parameter ``name`` (lower-case) from ``params``; "" for a valueless one."""
    for key, value in params:
        if key == name:
            return "" if value is None else value
    return None


def unquote_string(text: str) -> str:
    """Content of a quoted-string with quoted-pairs resolved (RFC 3261 §25.1)."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        text = text[1:-1]
    if "\\" not in text:
        return text
    out: list[str] = []
    chars = iter(text)
    for char in chars:
        out.append(next(chars, "") if char == "\\" else char)
    return "".join(out)


def split_outside(value: str, sep: str) -> list[str]:
    """Split on ``sep`` outside quoted strings and ``<...>`` (escapes honoured)."""
    if '"' not in value and "<" not in value:
        return value.split(sep)
    items: list[str] = []
    start = 0
    quoted = escaped = False
    depth = 0
    for index, char in enumerate(value):
        if escaped:
            escaped = False
        elif quoted:
            if char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char == "<":
            depth += 1
        elif char == ">" and depth:
            depth -= 1
        elif char == sep and not depth:
            items.append(value[start:index])
            start = index + 1
    items.append(value[start:])
    return items


def split_values(value: str) -> list[str]:
    """Comma-separated header values (RFC 3261 §7.3.1), respecting quotes and ``<>``;
    empty elements are dropped."""
    return [item.strip() for item in split_outside(value, ",") if item.strip()]


def parse_params(text: str) -> Params:
    """``;name[=value]`` list (generic-param, §25.1); names lower-cased, LWS trimmed."""
    out: list[tuple[str, str | None]] = []
    for part in split_outside(text, ";"):
        name, sep, value = part.partition("=")
        name = name.strip().lower()
        if not name:
            continue
        out.append((name, value.strip() if sep else None))
    return tuple(out)


def _port(text: str, raw: str) -> int:
    if not (text.isdigit() and text.isascii()) or len(text) > 5 or int(text) > 65535:
        raise _bad(f"bad port {text[:20]!r} in {raw[:80]!r}", "invalid_port")
    return int(text)


def parse_host_port(text: str) -> tuple[str, int | None, tuple[str, ...]]:
    """``host[:port]`` with IPv6 references (RFC 3261 §25.1 as fixed by RFC 5954).

    Returns (host without brackets, port, defects). The RFC 3261 ABNF bug that allows
    three colons (``[2001:db8:::192.0.2.1]``, RFC 5118 §4.10) is accepted with the
    defect ``ipv6_reference_three_colons``; an unbracketed IPv6 host (RFC 5118 §4.2)
    cannot be told apart from a port and is rejected.
    """
    text = text.strip()
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise _bad(f"unterminated IPv6 reference {text[:80]!r}", "invalid_ipv6_reference")
        host = text[1:close]
        rest = text[close + 1 :].strip()
        defects: tuple[str, ...] = ()
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            if ":::" in host and _valid_v6(host.replace(":::", "::", 1)):
                defects = ("ipv6_reference_three_colons",)
            else:
                raise _bad(f"not an IPv6 address {host[:60]!r}", "invalid_ipv6_reference") from None
        if not rest:
            return host, None, defects
        if not rest.startswith(":"):
            raise _bad(f"junk after IPv6 reference {text[:80]!r}", "invalid_host")
        return host, _port(rest[1:].strip(), text), defects
    if text.count(":") > 1:
        raise _bad(f"unbracketed IPv6 address {text[:80]!r}", "unbracketed_ipv6")
    host, sep, port = text.partition(":")
    host = host.strip()
    if not host or not _BAD_HOST_CHARS.isdisjoint(host):
        raise _bad(f"bad host {text[:80]!r}", "invalid_host")
    return host, (_port(port.strip(), text) if sep else None), ()


def _valid_v6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def parse_uri(text: str) -> Uri:
    """A SIP/SIPS URI (RFC 3261 §19.1.1), TEL URI (RFC 3966) or opaque other scheme.

    User, password, parameters and headers are %-unescaped (RFC 3261 §19.1.2); the
    user part may hold ``;`` and ``?`` (RFC 4475 §3.1.1.2, §3.1.1.9), so the host is
    found after the last ``@``.
    """
    raw = text
    text = text.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1].strip()
    scheme, sep, rest = text.partition(":")
    if not sep or not scheme or not scheme[0].isalpha() or not _SCHEME_CHARS.issuperset(scheme):
        raise _bad(f"URI without a scheme: {raw[:80]!r}", "uri_without_scheme")
    scheme = scheme.lower()
    if scheme in ("sip", "sips"):
        return _sip_uri(scheme, rest, raw)
    if scheme == "tel":
        number, _, params = rest.partition(";")
        if not number.strip():
            raise _bad(f"TEL URI without a number: {raw[:80]!r}", "invalid_tel_uri")
        return Uri(
            scheme="tel",
            user=unquote(number.strip()),
            password=None,
            host="",
            port=None,
            params=_unescape_params(params),
            headers=(),
            raw=raw,
        )
    return Uri(
        scheme=scheme, user=None, password=None, host="", port=None, params=(), headers=(), raw=raw
    )


def _unescape_params(text: str) -> Params:
    if not text:
        return ()
    return tuple(
        (unquote(name), None if value is None else unquote(value))
        for name, value in parse_params(text)
    )


def _sip_uri(scheme: str, rest: str, raw: str) -> Uri:
    at = rest.rfind("@")
    user = password = None
    hostrest = rest
    if at >= 0:
        user_text, colon, pw_text = rest[:at].partition(":")
        user = unquote(user_text)
        password = unquote(pw_text) if colon else None
        hostrest = rest[at + 1 :]
    hostrest, qmark, header_text = hostrest.partition("?")
    hostport, semi, param_text = hostrest.partition(";")
    host, port, defects = parse_host_port(hostport)
    headers: tuple[tuple[str, str], ...] = ()
    if qmark:
        pairs = []
        for item in header_text.split("&"):
            name, _, value = item.partition("=")
            if name:
                pairs.append((unquote(name), unquote(value)))
        headers = tuple(pairs)
    return Uri(
        scheme=scheme,
        user=user,
        password=password,
        host=host,
        port=port,
        params=_unescape_params(param_text) if semi else (),
        headers=headers,
        raw=raw,
        defects=defects,
    )


def parse_name_addr(value: str) -> NameAddr:
    """From/To/Contact/Route/PAI value: name-addr or addr-spec form (RFC 3261 §20.10).

    In the addr-spec form every ``;param`` belongs to the header, not the URI.
    """
    text = value.strip()
    display: str | None = None
    if text.startswith('"'):
        end = _closing_quote(text)
        if end < 0:
            raise _bad(f"unterminated quoted display name: {value[:80]!r}", "unterminated_quote")
        display = unquote_string(text[: end + 1])
        text = text[end + 1 :].lstrip()
        if not text.startswith("<"):
            raise _bad(f"quoted display name without <uri>: {value[:80]!r}", "missing_angle_uri")
    lt = text.find("<")
    if lt >= 0:
        gt = text.find(">", lt)
        if gt < 0:
            raise _bad(f"unterminated <uri>: {value[:80]!r}", "unterminated_angle_bracket")
        if display is None:
            display = " ".join(text[:lt].split()) or None
        uri = parse_uri(text[lt + 1 : gt])
        return NameAddr(display=display, uri=uri, params=parse_params(text[gt + 1 :]))
    spec, _, params = text.partition(";")
    return NameAddr(display=None, uri=parse_uri(spec), params=parse_params(params))


def _closing_quote(text: str) -> int:
    """Index of the quote closing the quoted-string that starts at ``text[0]``, or -1."""
    index = 1
    while True:
        quote = text.find('"', index)
        if quote < 0:
            return -1
        backslashes = 0
        while text[quote - 1 - backslashes] == "\\":
            backslashes += 1
        if backslashes % 2 == 0:
            return quote
        index = quote + 1


def parse_via(value: str) -> list[Via]:
    """Every via-parm in one Via header value (RFC 3261 §20.42), LWS around ``/``
    allowed (RFC 4475 §3.1.1.1) and unknown transports kept (§3.1.1.10)."""
    vias = []
    for item in split_values(value):
        parts = item.split("/", 2)
        if len(parts) != 3:
            raise _bad(f"Via without sent-protocol: {item[:80]!r}", "invalid_via")
        name, version = parts[0].strip(), parts[1].strip()
        rest = parts[2].lstrip()
        words = rest.split(None, 1)
        if len(words) != 2 or not name or not version:
            raise _bad(f"Via without sent-by: {item[:80]!r}", "invalid_via")
        transport = words[0]
        sent_by, _, params = words[1].partition(";")
        host, port, _defects = parse_host_port(sent_by)
        vias.append(
            Via(
                protocol=f"{name}/{version}",
                transport=transport.upper(),
                host=host,
                port=port,
                params=parse_params(params),
            )
        )
    if not vias:
        raise _bad("empty Via", "invalid_via")
    return vias


def parse_cseq(value: str) -> tuple[int, str]:
    """``1*DIGIT LWS Method`` (RFC 3261 §20.16); the number must fit 32 bits."""
    parts = value.split()
    if len(parts) != 2 or not (parts[0].isdigit() and parts[0].isascii()):
        raise _bad(f"bad CSeq {value[:60]!r}", "invalid_cseq")
    digits = parts[0].lstrip("0")
    if len(digits) > 10 or (digits and int(digits) > _U32):
        raise _bad(f"CSeq number over 2**32-1: {value[:60]!r}", "cseq_out_of_range")
    return int(digits or "0"), parts[1]


def parse_auth(value: str) -> Challenge:
    """Authorization / Proxy-Authorization / WWW- / Proxy-Authenticate (RFC 3261 §22.4,
    §25.1): ``scheme`` then comma-separated ``name=value`` pairs; unknown schemes are
    kept (RFC 4475 §3.3.7)."""
    text = value.strip()
    words = text.split(None, 1)
    if not words:
        raise _bad("empty auth header", "invalid_auth")
    scheme = words[0]
    rest = words[1] if len(words) > 1 else ""
    params: dict[str, str] = {}
    if rest and "=" not in rest.rstrip("="):
        params["token68"] = rest.strip()
        return Challenge(scheme=scheme, params=params)
    for item in split_values(rest):
        name, sep, val = item.partition("=")
        if not sep:
            raise _bad(f"auth parameter without value: {item[:60]!r}", "invalid_auth")
        params.setdefault(name.strip().lower(), unquote_string(val.strip()))
    return Challenge(scheme=scheme, params=params)


def parse_multipart(
    body: bytes, content_type: str
) -> list[tuple[tuple[tuple[str, str], ...], bytes]]:
    """Body parts of a multipart body (RFC 2046 §5.1, RFC 5621): each as (headers with
    lower-case names, content). The CRLF before a delimiter belongs to the delimiter."""
    _, _, param_text = content_type.partition(";")
    boundary = param(parse_params(param_text), "boundary")
    if not boundary:
        raise _bad("multipart Content-Type without boundary", "missing_boundary")
    delimiter = b"--" + unquote_string(boundary).encode("utf-8", "replace")
    if body.startswith(delimiter):
        pos = 0
    else:
        pos = body.find(b"\n" + delimiter)
        if pos < 0:
            raise _bad("multipart body without its boundary", "missing_boundary")
        pos += 1
    parts: list[tuple[tuple[tuple[str, str], ...], bytes]] = []
    while True:
        after = pos + len(delimiter)
        if body.startswith(b"--", after):
            return parts
        line_end = body.find(b"\n", after)
        if line_end < 0:
            raise _bad("multipart body ends after a delimiter", "truncated_multipart")
        nxt = body.find(b"\n" + delimiter, line_end)
        if nxt < 0:
            raise _bad("multipart body without a closing delimiter", "truncated_multipart")
        chunk = body[line_end + 1 : nxt]
        chunk = chunk[:-1] if chunk.endswith(b"\r") else chunk
        parts.append(_body_part(chunk))
        pos = nxt + 1


def _body_part(chunk: bytes) -> tuple[tuple[tuple[str, str], ...], bytes]:
    """One part: MIME headers up to the first empty line, then the content."""
    if chunk.startswith(b"\r\n"):
        return (), chunk[2:]
    if chunk.startswith(b"\n"):
        return (), chunk[1:]
    end, size = chunk.find(b"\r\n\r\n"), 4
    if end < 0:
        end, size = chunk.find(b"\n\n"), 2
    if end < 0:
        return (), chunk
    headers = []
    text = chunk[:end].decode("utf-8", "replace").replace("\r\n", "\n")
    for line in text.replace("\n ", " ").replace("\n\t", " ").split("\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers.append((name.strip().lower(), value.strip()))
    return tuple(headers), chunk[end + size :]


def user_part(uri_or_name_addr: str) -> str | None:
    """The user (usually the number) of a From/To/Contact value or a bare URI; for a
    TEL URI the number. Convenience for consumers: None when unreadable, never raises."""
    try:
        return parse_name_addr(uri_or_name_addr).uri.user
    except MalformedInput:
        return None
