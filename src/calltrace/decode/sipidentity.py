"""Caller-identity and redirection headers, parsed on demand.

P-Asserted-Identity (RFC 3325 §9.1), Remote-Party-ID (draft-ietf-sip-privacy-04, still
common on trunks), Identity (RFC 8224 §4.1: a token plus parameters), Diversion
(RFC 5806 §4) and History-Info (RFC 7044 §4). Each parser raises
:class:`MalformedInput` (``layer="sip"``) on unreadable input, nothing else.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from calltrace.decode.sipvalues import (
    NameAddr,
    Params,
    param,
    parse_name_addr,
    parse_params,
    split_outside,
    split_values,
)
from calltrace.errors import MalformedInput

__all__ = [
    "DiversionEntry",
    "HistoryEntry",
    "Identity",
    "RemotePartyId",
    "parse_diversion",
    "parse_history_info",
    "parse_identity",
    "parse_p_asserted_identity",
    "parse_remote_party_id",
    "passport_orig_tn",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class RemotePartyId:
    """One Remote-Party-ID entry: the address and its party/screen/privacy parameters."""

    address: NameAddr
    party: str | None  # "calling" | "called"
    screen: str | None  # "yes" | "no"
    privacy: str | None  # "full" | "name" | "uri" | "off" ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Identity:
    """RFC 8224 Identity: the signed token (a PASSporT JWS, or an RFC 4474 signature)
    and its parameters (``info``, ``alg``, ``ppt``)."""

    token: str
    params: Params

    @property
    def info(self) -> str | None:
        """The certificate URL of ``info=<...>``, brackets removed."""
        value = param(self.params, "info")
        return value[1:-1] if value and value.startswith("<") and value.endswith(">") else value


@dataclass(frozen=True, slots=True, kw_only=True)
class DiversionEntry:
    """One Diversion entry (RFC 5806): who diverted, why and how many times."""

    address: NameAddr
    reason: str | None
    counter: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryEntry:
    """One History-Info entry (RFC 7044): target, index, and the Reason carried as an
    escaped URI header (``?Reason=SIP%3Bcause%3D302``), unescaped."""

    address: NameAddr
    index: str | None
    reason: str | None


def _bad(detail: str, kind: str) -> MalformedInput:
    return MalformedInput(detail, layer="sip", kind=kind)


def parse_p_asserted_identity(value: str) -> list[NameAddr]:
    """All identities of one P-Asserted-Identity value (RFC 3325: up to one SIP/SIPS and
    one TEL URI)."""
    return [parse_name_addr(item) for item in split_values(value)]


def parse_remote_party_id(value: str) -> list[RemotePartyId]:
    """Remote-Party-ID entries, each with its ``party``, ``screen`` and ``privacy``."""
    out = []
    for item in split_values(value):
        address = parse_name_addr(item)
        out.append(
            RemotePartyId(
                address=address,
                party=param(address.params, "party"),
                screen=param(address.params, "screen"),
                privacy=param(address.params, "privacy"),
            )
        )
    return out


def parse_identity(value: str) -> Identity:
    """RFC 8224 §4.1 ``Identity: signed-identity-digest *(SEMI ident-info-params)``; the
    RFC 4474 form with a quoted signature is accepted too."""
    parts = split_outside(value.strip(), ";")
    token = parts[0].strip().strip('"')
    if not token:
        raise _bad("Identity header without a token", "invalid_identity")
    return Identity(token=token, params=parse_params(";".join(parts[1:])))


def parse_diversion(value: str) -> list[DiversionEntry]:
    """Diversion entries in header order (RFC 5806 §4: the most recent first)."""
    out = []
    for item in split_values(value):
        address = parse_name_addr(item)
        counter = param(address.params, "counter")
        reason = param(address.params, "reason")
        out.append(
            DiversionEntry(
                address=address,
                reason=reason.strip('"') if reason else reason,
                counter=int(counter)
                if counter and counter.isdigit() and len(counter) < 10
                else None,
            )
        )
    return out


def parse_history_info(value: str) -> list[HistoryEntry]:
    """History-Info entries (RFC 7044 §4.2) with their ``index`` and Reason."""
    out = []
    for item in split_values(value):
        address = parse_name_addr(item)
        reason = None
        for name, header_value in address.uri.headers:
            if name.lower() == "reason":
                reason = header_value
                break
        out.append(
            HistoryEntry(address=address, index=param(address.params, "index"), reason=reason)
        )
    return out


def passport_orig_tn(token: str) -> str | None:
    """The calling number a PASSporT asserts: its payload's ``orig.tn`` (RFC 8225 §5.2.1).

    The token is a compact JWS ``header.payload.signature``, base64url without padding
    (RFC 7515 §7.1). RFC 8224 §4.1 lets the payload be left out (``header..signature``,
    rebuilt by the verifier from the SIP headers); then, and for an ``orig.uri`` (not a
    number), this is None. The signature is not verified: this is what the token claims.

    >>> claims = base64.urlsafe_b64encode(b'{"orig":{"tn":"12155550112"}}').rstrip(b"=")
    >>> passport_orig_tn("eyJhbGciOiJFUzI1NiJ9." + claims.decode() + ".sig")
    '12155550112'
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise _bad("PASSporT is not a compact JWS", "invalid_passport")
    if not parts[1]:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError, RecursionError):
        raise _bad("PASSporT payload is not base64url JSON", "invalid_passport") from None
    orig = claims.get("orig") if isinstance(claims, dict) else None
    tn = orig.get("tn") if isinstance(orig, dict) else None
    return tn if isinstance(tn, str) and tn else None
