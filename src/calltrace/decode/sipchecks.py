"""Defect checks run by :func:`calltrace.decode.sip.parse_sip` on the eager fields.

Each check is a few ``str`` operations on a header value that is already split out;
anything needing a real grammar (URIs, Via parameters) lives in :mod:`.sipvalues` and
runs on demand. Every token appended here is documented in docs/sip-defects.md with the
rule it breaks; the RFC 4475 torture tests (§3.1.2, §3.3) are the reference cases.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "check_request_headers",
    "check_request_uri",
    "check_response_headers",
    "check_values",
    "digits",
    "valid_sip_date",
]

_U32: Final = 2**32 - 1
_TOKEN_CHARS: Final = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~"
)
_WKDAY: Final = frozenset({"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"})
_MONTH: Final = frozenset(
    {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
)


def digits(text: str) -> int | None:
    """Non-negative decimal or None, capped at 2**32 so no huge conversions happen."""
    if not (text.isdigit() and text.isascii()):
        return None
    digits = text.lstrip("0")
    if len(digits) > 10:
        return _U32 + 1
    return int(digits) if digits else 0


def check_request_uri(uri: str, defects: list[str]) -> str:
    """Request-URI defects (RFC 3261 §25.1, §19.1.1); returns the URI to keep.

    ``<uri>`` (RFC 4475 §3.1.2.7) is unwrapped; headers in a SIP Request-URI
    (§3.1.2.11, RFC 3261 §19.1.1 table: "not allowed") and unbracketed IPv6 hosts
    (RFC 5118 §4.2) are flagged.
    """
    if uri.startswith("<") and uri.endswith(">"):
        defects.append("request_uri_in_angle_brackets")
        uri = uri[1:-1].strip()
    scheme, sep, rest = uri.partition(":")
    if not sep or not scheme:
        defects.append("request_uri_without_scheme")
        return uri
    if scheme.lower() not in ("sip", "sips"):
        return uri
    at = rest.rfind("@")
    hostpart = rest[at + 1 :]
    if "?" in hostpart:
        defects.append("escaped_headers_in_request_uri")
    for stop in (";", "?"):
        cut = hostpart.find(stop)
        if cut >= 0:
            hostpart = hostpart[:cut]
    if hostpart.count(":") > 1 and "[" not in hostpart:
        defects.append("unbracketed_ipv6_in_request_uri")
    return uri


def check_request_headers(first: dict[str, str], defects: list[str]) -> None:
    """Mandatory request headers (RFC 3261 §8.1.1) and the Max-Forwards range (§20.22)."""
    for name in ("to", "from", "via"):
        if name not in first:
            defects.append("missing_" + name)
    value = first.get("max-forwards")
    if value is None:
        defects.append("missing_max_forwards")
        return
    hops = digits(value)
    if hops is None:
        defects.append("invalid_max_forwards")
    elif hops > 255:
        defects.append("max_forwards_out_of_range")


def check_response_headers(first: dict[str, str], defects: list[str]) -> None:
    """Headers every response copies from its request (RFC 3261 §8.2.6.2)."""
    for name in ("to", "from", "via"):
        if name not in first:
            defects.append("missing_" + name)


def check_values(first: dict[str, str], headers: list[tuple[str, str]], defects: list[str]) -> None:
    """Value-level checks on From/To/Contact/Via and the scalar headers present."""
    via = first.get("via")
    if via is not None and _empty_params(via):
        defects.append("empty_header_parameter")
    for name in ("from", "to"):
        value = first.get(name)
        if value is not None:
            _check_address(value, defects)
    contact = first.get("contact")
    if contact is not None:
        _check_address(contact, defects)
        if "xpires" in contact or "XPIRES" in contact:
            for key, value in headers:
                if key == "contact":
                    _check_contact_expires(value, defects)
    if "expires" in first or "retry-after" in first or "warning" in first or "date" in first:
        _check_scalars(first, defects)


def _check_scalars(first: dict[str, str], defects: list[str]) -> None:
    """Expires/Retry-After ranges (RFC 3261 §20.19, §20.33), Warning code (§20.43),
    Date (§20.17: rfc1123-date in GMT only)."""
    expires = first.get("expires")
    if expires is not None:
        seconds = digits(expires)
        if seconds is None:
            defects.append("invalid_expires")
        elif seconds > _U32:
            defects.append("expires_out_of_range")
    retry = first.get("retry-after")
    if retry is not None:
        parts = retry.split(None, 1)
        seconds = digits(parts[0].split(";")[0]) if parts else None
        if seconds is None:
            defects.append("invalid_retry_after")
        elif seconds > _U32:
            defects.append("retry_after_out_of_range")
    warning = first.get("warning")
    if warning is not None:
        code = warning.split(None, 1)[0] if warning.strip() else ""
        if len(code) != 3 or not code.isdigit():
            defects.append("invalid_warning_code")
    date = first.get("date")
    if date is not None and not valid_sip_date(date):
        defects.append("invalid_date")


def valid_sip_date(value: str) -> bool:
    """RFC 3261 §20.17 SIP-date: ``Wkd, DD Mon YYYY HH:MM:SS GMT`` (RFC 1123 form)."""
    parts = value.split()
    if len(parts) != 6 or parts[5] != "GMT":
        return False
    wkday, day, month, year, clock = parts[0], parts[1], parts[2], parts[3], parts[4]
    if not wkday.endswith(",") or wkday[:-1] not in _WKDAY or month not in _MONTH:
        return False
    if len(day) != 2 or not day.isdigit() or len(year) != 4 or not year.isdigit():
        return False
    hms = clock.split(":")
    if len(hms) != 3 or not all(len(x) == 2 and x.isdigit() for x in hms):
        return False
    return 1 <= int(day) <= 31 and int(hms[0]) < 24 and int(hms[1]) < 60 and int(hms[2]) < 61


def _empty_params(value: str) -> bool:
    """Extraneous separators (RFC 4475 §3.1.2.1): ``;;``, ``;,``, ``,,`` or a trailing one."""
    if ";;" in value or ";," in value or ",," in value or ",;" in value:
        return True
    if value.endswith((";", ",")):
        return True
    if " " in value or "\t" in value:
        squeezed = "".join(value.split())
        return ";;" in squeezed or ";," in squeezed or ",," in squeezed or ",;" in squeezed
    return False


def quotes_balanced(value: str) -> bool:
    """True when every quoted-string in ``value`` is closed (RFC 3261 §25.1 quoted-pair)."""
    if "\\" not in value:
        return value.count('"') % 2 == 0
    inside = False
    escaped = False
    for char in value:
        if escaped:
            escaped = False
        elif inside and char == "\\":
            escaped = True
        elif char == '"':
            inside = not inside
    return not inside


def _check_address(value: str, defects: list[str]) -> None:
    """name-addr / addr-spec checks (RFC 3261 §20.10, §25.1; RFC 4475 §3.1.2.6, .13-.15)."""
    gt = value.rfind(">")
    if _empty_params(value[gt + 1 :] if gt >= 0 else value):
        defects.append("empty_header_parameter")
    if '"' in value and not quotes_balanced(value):
        defects.append("unterminated_quoted_string")
        return
    lt = value.find("<")
    if lt < 0:
        spec = value.split(";", 1)[0].strip()
        if " " in spec or "\t" in spec:
            defects.append("whitespace_in_addr_spec")
        if "?" in spec:
            defects.append("unenclosed_uri_with_reserved_chars")
        return
    gt = value.find(">", lt)
    if gt < 0:
        defects.append("unterminated_angle_bracket")
        return
    inner = value[lt + 1 : gt]
    if inner != inner.strip():
        defects.append("whitespace_in_addr_spec")
    display = value[:lt].strip()
    if display and not display.startswith('"'):
        for word in display.split():
            if not _TOKEN_CHARS.issuperset(word):
                defects.append("invalid_display_name")
                break


def _check_contact_expires(value: str, defects: list[str]) -> None:
    """Contact ``expires`` parameter range (RFC 3261 §20.10, RFC 4475 §3.1.2.4)."""
    low = value.lower()
    at = low.find("expires")
    if at < 0:
        return
    gt = low.rfind(">")
    tail = low[gt + 1 :] if gt >= 0 else low
    for part in tail.split(";")[1:]:
        key, _, val = part.partition("=")
        if key.strip() == "expires":
            seconds = digits(val.strip())
            if seconds is None:
                defects.append("invalid_expires")
            elif seconds > _U32:
                defects.append("expires_out_of_range")
