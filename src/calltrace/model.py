"""The one currency of CallTrace: the few event types every source ends in.

Packets become SIP messages, SIP messages become call events and calls; downstream
layers speak only these types (docs/architecture.md). They are frozen, slotted,
keyword-only dataclasses (the h11 style): cheap to make, safe to share, dispatched on
by type. Times are event times, float seconds since the Unix epoch, never the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final


class _NeedData:
    """Sentinel returned by stream decoders' ``next_event()`` when more bytes are needed."""

    _instance: _NeedData | None = None

    def __new__(cls) -> _NeedData:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NEED_DATA"

    def __reduce__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = _NeedData()


@dataclass(frozen=True, slots=True, kw_only=True)
class CaptureInfo:
    """What a capture file says about itself (pcap global header or pcapng SHB/IDBs)."""

    format: str  # "pcap" | "pcapng"
    nanosecond: bool = False
    link_types: tuple[int, ...] = ()  # one per interface, in interface order
    snaplen: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class CaptureRecord:
    """One captured frame, as the capture file holds it (before any link decoding)."""

    number: int  # 1-based frame number, as tshark counts
    ts: float
    interface: int
    link_type: int  # LINKTYPE_* value (pcap-linktype(7))
    orig_len: int
    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Packet:
    """One application payload with its addresses: a UDP datagram, an SCTP DATA chunk,
    a reassembled TCP message or a WebSocket message."""

    number: int  # capture frame that completed this payload
    ts: float
    src_ip: str
    src_port: int
    dst_ip: str
    dst_port: int
    transport: str  # "udp" | "tcp" | "sctp" | "ws" | "wss" | "tls"
    payload: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class SipMessage:
    """One SIP request or response (RFC 3261 §7).

    The handful of fields every consumer needs are decoded eagerly; everything else
    stays in ``headers`` as (canonical lower-case name, unfolded value) pairs in wire
    order, compact forms expanded (``i`` -> ``call-id``). Structured values (Via,
    name-addr, URIs, auth parameters) are parsed on demand by ``calltrace.decode.sip``.
    ``raw`` keeps the exact bytes; ``defects`` lists rules the message breaks while
    still being readable (RFC 4475 §3.1.2 style).
    """

    packet: Packet
    is_request: bool
    method: str  # request method; for a response, the CSeq method
    request_uri: str | None
    status: int | None
    reason: str | None
    call_id: str
    cseq: int | None
    cseq_method: str | None
    from_tag: str | None
    to_tag: str | None
    branch: str | None  # branch of the top Via
    headers: tuple[tuple[str, str], ...]
    body: bytes
    raw: bytes
    defects: tuple[str, ...] = ()

    @property
    def ts(self) -> float:
        return self.packet.ts

    @property
    def number(self) -> int:
        return self.packet.number

    def header(self, name: str) -> str | None:
        """First value of header ``name`` (canonical lower-case long form), or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def header_all(self, name: str) -> list[str]:
        """Every occurrence of header ``name`` in wire order (not comma-split)."""
        return [value for key, value in self.headers if key == name]


class CallEventType(StrEnum):
    """What happened, in the vocabulary every source shares (SIP, CDR, ESL, API)."""

    ATTEMPT = "attempt"
    RINGING = "ringing"
    ANSWER = "answer"
    END = "end"
    CANCEL = "cancel"
    REJECT = "reject"
    REGISTER = "register"
    AUTH_CHALLENGE = "auth_challenge"
    AUTH_FAILURE = "auth_failure"
    OPTIONS = "options"
    CONFIG_CHANGE = "config_change"


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEvent:
    """One thing that happened to a call, from any source. Detectors read these."""

    type: CallEventType
    ts: float
    call_id: str | None = None
    a_number: str | None = None
    b_number: str | None = None
    source_ip: str | None = None
    source_port: int | None = None
    dest_ip: str | None = None
    user_agent: str | None = None
    status: int | None = None
    duration: float | None = None
    switch_id: str | None = None
    direction: str | None = None
    account: str | None = None
    source: str = "sip"  # "sip" | "cdr" | "esl" | "api" | "events"
    packet: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaDescription:
    """One m= line as negotiated in SDP: where a party said it would receive media."""

    party: str  # "caller" | "callee"
    media: str  # "audio" | "video" | "image" ...
    ip: str | None
    port: int
    proto: str
    codecs: tuple[str, ...] = ()
    direction: str = "sendrecv"
    packet: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Call:
    """A rebuilt call: everything an investigator asks about one Call-ID.

    Timestamps are event-time seconds (None when not seen); durations are seconds.
    ``state`` is one of ``completed`` (answered and ended), ``answered`` (answered, no
    end seen), ``cancelled``, ``rejected`` (a final 3xx-6xx), ``failed`` (no final answer
    and no more traffic, or a transaction timeout), ``in_progress``.
    """

    call_id: str
    state: str
    start: float
    ringing: float | None = None
    answered: float | None = None
    end: float | None = None
    duration: float | None = None
    setup_time: float | None = None
    pdd: float | None = None
    final_status: int | None = None
    final_reason: str | None = None
    hangup_by: str | None = None  # "caller" | "callee" | None
    caller: str | None = None
    callee: str | None = None
    from_uri: str | None = None
    to_uri: str | None = None
    request_uri: str | None = None
    pai: str | None = None
    from_tag: str | None = None
    to_tag: str | None = None
    src_ip: str | None = None
    src_port: int | None = None
    dst_ip: str | None = None
    dst_port: int | None = None
    transport: str | None = None
    user_agent: str | None = None
    server: str | None = None
    via: tuple[str, ...] = ()
    contact: str | None = None
    codecs: tuple[str, ...] = ()
    media: tuple[MediaDescription, ...] = ()
    auth_challenged: bool = False
    messages: int = 0
    methods: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    retransmissions: int = 0
    forks: tuple[str, ...] = ()  # to-tags of early/confirmed dialogs (forking)
    packets: tuple[int, ...] = ()  # capture frame numbers of the call's messages
    defects: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Registration:
    """One REGISTER flow (a Call-ID's REGISTER transactions), RFC 3261 §10."""

    call_id: str
    user: str | None
    domain: str | None
    realm: str | None
    outcome: str  # "registered" | "unregistered" | "failed" | "challenged" | "no_response"
    start: float
    end: float
    attempts: int
    challenged: bool
    final_status: int | None
    user_agent: str | None = None
    contact: str | None = None
    expires: int | None = None
    src_ip: str | None = None
    src_port: int | None = None
    dst_ip: str | None = None
    dst_port: int | None = None
    transport: str | None = None
    auth_username: str | None = None
    packets: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class DecodeErrorRecord:
    """A recorded decode error or defect: nothing wrong on the wire is silent."""

    packet: int | None
    ts: float | None
    layer: str
    kind: str
    detail: str
    call_id: str | None = None
    defects: tuple[str, ...] = ()
