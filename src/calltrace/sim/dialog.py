"""Building blocks of a flow (pure): endpoints, identifiers and SIP message assembly.

A *flow* is everything one SIP exchange puts on the wire (a call, a registration, an
OPTIONS ping): a :class:`Plan` holding the timed messages in order plus the media
streams to generate later. Plans are made eagerly (a call is a dozen messages) while
their frames, and above all their RTP, are made lazily by :mod:`calltrace.sim.wire`.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Final

from calltrace.sim import sip
from calltrace.sim.frames import pack_ip

NS: Final = 1_000_000_000
MS: Final = 1_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Endpoint:
    """A SIP element on the wire: a phone, a PBX, an SBC or a proxy.

    ``mac`` is the address seen on the capture link (a router's for remote hosts).
    ``style`` selects how the product spells its Call-IDs and tags.
    """

    ip: str
    port: int
    mac: bytes
    agent: str
    server: bool = False  # answers as a server (``Server:``) rather than a UA
    user: str | None = None
    display: str | None = None
    domain: str | None = None
    transport: str = "udp"
    codecs: tuple[str, ...] = ("PCMU", "PCMA")
    style: str = "hex"  # "hex" | "uuid" | "numeric"
    packed: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "packed", pack_ip(self.ip))

    @property
    def host(self) -> str:
        """Host part for URIs and Via: IPv6 literals go in brackets (RFC 3261 §19.1.1)."""
        return f"[{self.ip}]" if ":" in self.ip else self.ip

    @property
    def hostport(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def realm(self) -> str:
        return self.domain or self.ip


Wire = tuple[int, Endpoint, Endpoint, bytes]  # (ts ns, source, destination, SIP bytes)


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaStream:
    """One direction of RTP: where from, where to, what codec, when it flows."""

    src: Endpoint
    src_port: int
    dst: Endpoint
    dst_port: int
    codec: sip.Codec
    intervals: tuple[tuple[int, int], ...]  # [start, end) ns, sending periods
    ssrc: int
    seq: int
    timestamp: int


@dataclass(slots=True, kw_only=True)
class Plan:
    """One flow, decided in full: its messages in time order and what it amounts to."""

    kind: str  # "call" | "register" | "options"
    outcome: str
    transport: str = "udp"
    messages: list[Wire] = field(default_factory=list)
    media: list[MediaStream] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)
    responses: Counter[int] = field(default_factory=Counter)
    resent: int = 0
    detail: dict[str, object] = field(default_factory=dict)

    @property
    def start(self) -> int:
        return self.messages[0][0]

    @property
    def end(self) -> int:
        return self.messages[-1][0]

    def send_request(self, ts: int, src: Endpoint, dst: Endpoint, req: Request) -> None:
        """Put a request on the wire and count it under its method."""
        self.messages.append((ts, src, dst, req.render(src)))
        self.requests[req.method] += 1

    def send_response(
        self,
        ts: int,
        src: Endpoint,
        dst: Endpoint,
        req: Request,
        status: int,
        *,
        to_tag: str | None = None,
        extra: sip.Headers = (),
        body: bytes = b"",
    ) -> None:
        """Answer ``req`` (headers copied per RFC 3261 §8.2.6.2) and count the status."""
        self.messages.append((ts, src, dst, req.respond(src, status, to_tag, extra, body)))
        self.responses[status] += 1


@dataclass(slots=True, kw_only=True)
class Request:
    """A request's parts, kept so that responses, CANCEL and ACK can copy them."""

    method: str
    uri: str
    via: str
    from_: str
    to: str
    call_id: str
    cseq: int
    contact: str | None = None
    extra: sip.Headers = ()
    body: bytes = b""
    max_forwards: int = 70

    def render(self, src: Endpoint) -> bytes:
        """Header order as phones and PBXs commonly send them."""
        headers: list[tuple[str, str]] = [
            ("Via", self.via),
            ("Max-Forwards", str(self.max_forwards)),
            ("From", self.from_),
            ("To", self.to),
            ("Call-ID", self.call_id),
            ("CSeq", f"{self.cseq} {self.method}"),
        ]
        if self.contact:
            headers.append(("Contact", self.contact))
        headers.extend(self.extra)
        headers.append(("User-Agent", src.agent))
        if self.body:
            headers.append(("Content-Type", "application/sdp"))
        return sip.request(self.method, self.uri, headers, self.body)

    def respond(
        self, src: Endpoint, status: int, to_tag: str | None, extra: sip.Headers, body: bytes
    ) -> bytes:
        to = f"{self.to};tag={to_tag}" if to_tag and ";tag=" not in self.to else self.to
        headers: list[tuple[str, str]] = [
            ("Via", self.via),
            ("From", self.from_),
            ("To", to),
            ("Call-ID", self.call_id),
            ("CSeq", f"{self.cseq} {self.method}"),
        ]
        headers.extend(extra)
        headers.append(("Server" if src.server else "User-Agent", src.agent))
        if body:
            headers.append(("Content-Type", "application/sdp"))
        return sip.response(status, headers, body)


class Ids:
    """Identifiers in the spelling of the product that makes them (deterministic)."""

    __slots__ = ("rng",)

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def branch(self) -> str:
        """A branch starting with the RFC 3261 §8.1.1.7 magic cookie."""
        return f"z9hG4bK{self.rng.getrandbits(48):012x}"

    def tag(self, ep: Endpoint) -> str:
        if ep.style == "numeric":
            return str(self.rng.getrandbits(31) + 1)
        if ep.style == "uuid":
            return f"{self.rng.getrandbits(40):010x}"
        return f"{self.rng.getrandbits(32):08x}"

    def call_id(self, ep: Endpoint) -> str:
        bits = self.rng.getrandbits(128)
        if ep.style == "uuid":
            h = f"{bits:032x}"
            return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        if ep.style == "numeric":
            return f"{bits & 0x7FFFFFFF}@{ep.host}"
        return f"{bits:032x}@{ep.host}"

    def nonce(self) -> str:
        return f"{self.rng.getrandbits(96):024x}"

    def rtp_port(self) -> int:
        return 10000 + 2 * self.rng.randrange(5000)


def via(ep: Endpoint, transport: str, branch: str) -> str:
    """Top Via with rport (RFC 3581), as nearly every product sends it."""
    return f"SIP/2.0/{transport.upper()} {ep.hostport};branch={branch};rport"


def name_addr(user: str, host: str, display: str | None = None, tag: str | None = None) -> str:
    """``"Display" <sip:user@host>;tag=...`` (RFC 3261 §20.20 and §20.39)."""
    out = f'"{display}" <sip:{user}@{host}>' if display else f"<sip:{user}@{host}>"
    return f"{out};tag={tag}" if tag else out


def contact(ep: Endpoint, user: str, transport: str) -> str:
    suffix = ";transport=tcp" if transport == "tcp" else ""
    return f"<sip:{user}@{ep.hostport}{suffix}>"
