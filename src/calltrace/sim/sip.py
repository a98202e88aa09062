"""SIP and SDP text (pure): render requests, responses and SDP bodies from parameters.

Messages follow RFC 3261 §7 (start line, headers, empty line, body) with CRLF line
ends and a Content-Length that always matches the body (§20.14); the generator never
writes a wrong one on purpose (fault injection is a scenario's job, later). SDP
follows RFC 4566 §5 with the static payload types of RFC 3551 §6 and dynamic ones
for Opus (RFC 7587) and telephone-event (RFC 4733).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

Headers = Sequence[tuple[str, str]]

REASONS: Final[dict[int, str]] = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    183: "Session Progress",
    200: "OK",
    202: "Accepted",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    500: "Server Internal Error",
    503: "Service Unavailable",
    603: "Decline",
}


def request(method: str, uri: str, headers: Headers, body: bytes = b"") -> bytes:
    """A request (RFC 3261 §7.1); Content-Length is appended from ``body``."""
    head = [f"{method} {uri} SIP/2.0"]
    head.extend(f"{name}: {value}" for name, value in headers)
    head.append(f"Content-Length: {len(body)}\r\n\r\n")
    return "\r\n".join(head).encode() + body


def response(status: int, headers: Headers, body: bytes = b"", reason: str | None = None) -> bytes:
    """A response (RFC 3261 §7.2); the reason phrase defaults to the RFC's."""
    phrase = reason if reason is not None else REASONS.get(status, "Unknown")
    head = [f"SIP/2.0 {status} {phrase}"]
    head.extend(f"{name}: {value}" for name, value in headers)
    head.append(f"Content-Length: {len(body)}\r\n\r\n")
    return "\r\n".join(head).encode() + body


@dataclass(frozen=True, slots=True, kw_only=True)
class Codec:
    """An RTP payload format as SDP announces it and as RTP carries it."""

    name: str
    pt: int
    clock: int
    payload_bytes: int  # per 20 ms packet
    channels: int = 1
    fmtp: str | None = None

    @property
    def rtpmap(self) -> str:
        suffix = f"/{self.channels}" if self.channels > 1 else ""
        return f"{self.pt} {self.name}/{self.clock}{suffix}"

    @property
    def ts_step(self) -> int:
        """RTP timestamp increment per 20 ms packet (RFC 3551 §4.5.2: G.722 clocks at 8000)."""
        return self.clock // 50


PCMU: Final = Codec(name="PCMU", pt=0, clock=8000, payload_bytes=160)
PCMA: Final = Codec(name="PCMA", pt=8, clock=8000, payload_bytes=160)
G722: Final = Codec(name="G722", pt=9, clock=8000, payload_bytes=160)
G729: Final = Codec(name="G729", pt=18, clock=8000, payload_bytes=20, fmtp="annexb=no")
OPUS: Final = Codec(
    name="opus", pt=111, clock=48000, payload_bytes=72, channels=2,
    fmtp="minptime=10;useinbandfec=1",
)  # fmt: skip
TELEPHONE_EVENT: Final = Codec(
    name="telephone-event", pt=101, clock=8000, payload_bytes=4, fmtp="0-16"
)
CODECS: Final[dict[str, Codec]] = {c.name: c for c in (PCMU, PCMA, G722, G729, OPUS)}


def sdp(
    *,
    ip: str,
    port: int,
    codecs: Sequence[Codec],
    session_id: int,
    version: int = 1,
    user: str = "-",
    session_name: str = "-",
    direction: str = "sendrecv",
    dtmf: bool = True,
) -> bytes:
    """An SDP body with one audio m= line (RFC 4566 §5, RFC 3264 offer/answer)."""
    family = "IP6" if ":" in ip else "IP4"
    formats = list(codecs) + ([TELEPHONE_EVENT] if dtmf else [])
    lines = [
        "v=0",
        f"o={user} {session_id} {version} IN {family} {ip}",
        f"s={session_name}",
        f"c=IN {family} {ip}",
        "t=0 0",
        f"m=audio {port} RTP/AVP {' '.join(str(c.pt) for c in formats)}",
    ]
    for codec in formats:
        lines.append(f"a=rtpmap:{codec.rtpmap}")
        if codec.fmtp:
            lines.append(f"a=fmtp:{codec.pt} {codec.fmtp}")
    lines.append("a=ptime:20")
    lines.append(f"a={direction}")
    lines.append("")
    return "\r\n".join(lines).encode()


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def digest_response(
    *,
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    cnonce: str,
    nc: str = "00000001",
) -> str:
    """The MD5 digest ``response`` with qop=auth (RFC 2617 §3.2.2.1, RFC 3261 §22.4)."""
    ha1 = _md5(f"{username}:{realm}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    return _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")


def challenge(realm: str, nonce: str) -> str:
    """Value of a WWW-Authenticate / Proxy-Authenticate header (RFC 3261 §22.1)."""
    return f'Digest realm="{realm}", nonce="{nonce}", algorithm=MD5, qop="auth"'


def credentials(
    *, username: str, realm: str, password: str, method: str, uri: str, nonce: str, cnonce: str
) -> str:
    """Value of an Authorization / Proxy-Authorization header answering :func:`challenge`."""
    resp = digest_response(
        username=username, realm=realm, password=password, method=method, uri=uri,
        nonce=nonce, cnonce=cnonce,
    )  # fmt: skip
    return (
        f'Digest username="{username}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
        f'response="{resp}", algorithm=MD5, cnonce="{cnonce}", qop=auth, nc=00000001'
    )
