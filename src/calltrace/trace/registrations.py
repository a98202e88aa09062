"""REGISTER flows (RFC 3261 §10) turned into :class:`Registration` records.

One record per REGISTER Call-ID per *contiguous flow*: the requests and responses of
one Call-ID from the first REGISTER until a success (2xx), or until the Call-ID goes
silent for ``registration_idle_timeout`` seconds. A phone that refreshes with the same
Call-ID (as §10.2.4 recommends) therefore yields one record per refresh cycle: the
REGISTER that follows a 2xx starts a new record, so memory stays bounded however long
the phone lives, and a REGISTER / 401 / REGISTER+credentials / 200 exchange is one
record with ``challenged=True``. A brute force that keeps one Call-ID and never
succeeds stays one record whose ``attempts`` grows: exactly what a detector wants.

Outcome, from the last final response of the flow:
``registered`` (2xx), ``unregistered`` (2xx to a REGISTER asking for expiry 0 or
``Contact: *``, §10.2.2), ``challenged`` (401/407 to a request without credentials,
never anything after), ``failed`` (any other 3xx-6xx, or 401/403/407 to a request that
carried credentials), ``no_response`` (no final response at all).
"""

from __future__ import annotations

from typing import Final

from calltrace.decode._construct import unrolled_constructor
from calltrace.model import CallEvent, CallEventType, Registration, SipMessage
from calltrace.trace.transactions import (
    auth_param,
    auth_params,
    fingerprint,
    host_of,
    user_of,
)

_new_event: Final = unrolled_constructor(CallEvent)


def _expires_param(contact: str | None) -> int | None:
    """The ``expires=`` parameter of a Contact value (§10.2.1.1), or None."""
    if not contact:
        return None
    at = contact.lower().find("expires=")
    if at < 0:
        return None
    digits = contact[at + 8 :].lstrip(" \"'")
    end = 0
    while end < len(digits) and digits[end].isdigit():
        end += 1
    return int(digits[:end]) if 0 < end < 11 else None


def _expires_header(value: str | None) -> int | None:
    """The Expires header value (§20.19) as seconds, or None."""
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isdigit() and len(value) < 11 else None


class RegistrationFlow:
    """Mutable accumulator of one REGISTER flow; ``record()`` freezes it."""

    __slots__ = (
        "attempt_keys",
        "auth_username",
        "branches",
        "call_id",
        "challenged",
        "contact",
        "domain",
        "dst_ip",
        "dst_port",
        "end",
        "event_keys",
        "expires",
        "final_status",
        "last_final_creds",
        "outcome_hint",
        "packets",
        "realm",
        "requests",
        "seen",
        "src_ip",
        "src_port",
        "start",
        "succeeded",
        "transport",
        "user",
        "user_agent",
    )  # fmt: skip

    def __init__(self, msg: SipMessage) -> None:
        p = msg.packet
        self.call_id = msg.call_id
        self.start = self.end = p.ts
        to = msg.header("to")
        self.user = user_of(to)
        self.domain = host_of(to)
        self.realm: str | None = None
        self.challenged = False
        self.succeeded = False
        self.final_status: int | None = None
        self.last_final_creds = False  # the request answered by final_status had credentials
        self.outcome_hint: str | None = None  # "unregistered" when the 2xx'd request asked expiry 0
        self.user_agent: str | None = None
        self.contact: str | None = None
        self.expires: int | None = None
        self.auth_username: str | None = None
        self.src_ip: str | None = None
        self.src_port: int | None = None
        self.dst_ip: str | None = None
        self.dst_port: int | None = None
        self.transport: str | None = None
        self.packets: list[int] = []
        self.seen: set[int] = set()
        # An attempt is one REGISTER sent by the client: its CSeq *and* its credentials.
        # A copy of it captured at another hop has both (and another top Via branch);
        # a password-guessing tool such as SIPVicious' svcrack resends CSeq 2 with a new
        # guess (new Authorization, new branch) every time, and each guess is an attempt.
        # attempt key (cseq, credentials) -> index into ``requests``
        self.attempt_keys: dict[tuple[int | None, str | None], int] = {}
        # per attempt: (cseq, carried credentials, asked for expiry 0)
        self.requests: list[tuple[int | None, bool, bool]] = []
        # top Via branch of every copy of a request -> its attempt (responses carry it back)
        self.branches: dict[str | None, int] = {}
        self.event_keys: set[tuple[int, int]] = set()

    def observe(self, msg: SipMessage) -> tuple[bool, list[CallEvent]]:
        """Take one message of this Call-ID; returns (was a retransmission, events)."""
        self.end = max(self.end, msg.packet.ts)
        self.packets.append(msg.packet.number)
        key = fingerprint(msg)
        if key in self.seen:
            return True, []
        self.seen.add(key)
        if msg.is_request:
            return False, self._request(msg)
        return False, self._response(msg)

    def wants_new_record(self, msg: SipMessage) -> bool:
        """A REGISTER with a new CSeq after a success starts the next refresh cycle."""
        return (
            self.succeeded
            and msg.is_request
            and msg.method == "REGISTER"
            and all(cseq != msg.cseq for cseq, _, _ in self.requests)
        )

    def _request(self, msg: SipMessage) -> list[CallEvent]:
        if msg.method != "REGISTER":
            return []
        heads = dict(reversed(msg.headers))  # the first value of every header, in C
        creds = heads.get("authorization") or heads.get("proxy-authorization")
        key = (msg.cseq, creds)
        known = self.attempt_keys.get(key)
        if known is not None:  # the same attempt captured at another hop
            self.branches.setdefault(msg.branch, known)
            return []
        self.attempt_keys[key] = self.branches[msg.branch] = len(self.requests)
        p = msg.packet
        contact = heads.get("contact")
        if self.src_ip is None:
            self.src_ip, self.src_port = p.src_ip, p.src_port
            self.dst_ip, self.dst_port, self.transport = p.dst_ip, p.dst_port, p.transport
            self.user_agent = heads.get("user-agent")
            self.contact = contact
        if creds is not None:
            params = auth_params(creds)
            self.auth_username = params.get("username") or self.auth_username
            self.realm = self.realm or params.get("realm")
        zero = _expires_header(heads.get("expires")) == 0 or _expires_param(contact) == 0
        zero = zero or (contact is not None and contact.strip() == "*")
        self.requests.append((msg.cseq, creds is not None, zero))
        return [self._event(CallEventType.REGISTER, msg, None)]

    def _response(self, msg: SipMessage) -> list[CallEvent]:
        status = msg.status or 0
        if status < 200 or msg.cseq_method != "REGISTER":
            return []
        attempt = self._attempt_of(msg)
        _, creds, zero = self.requests[attempt] if attempt >= 0 else (None, False, False)
        self.final_status = status
        self.last_final_creds = creds
        events: list[CallEvent] = []
        if status < 300:
            self.succeeded = True
            self.outcome_hint = "unregistered" if zero else None
            found = _expires_param(msg.header("contact"))
            self.expires = found if found is not None else _expires_header(msg.header("expires"))
        elif status in (401, 407):
            self.challenged = True
            header = "www-authenticate" if status == 401 else "proxy-authenticate"
            self.realm = auth_param(msg.header(header), "realm") or self.realm
            events.append(self._event(CallEventType.AUTH_CHALLENGE, msg, status))
        if creds and status in (401, 403, 407):
            events.append(self._event(CallEventType.AUTH_FAILURE, msg, status))
        key = (attempt, status)
        if key in self.event_keys:
            return []  # the same answer captured at another hop: reported once
        self.event_keys.add(key)
        return events

    def _attempt_of(self, msg: SipMessage) -> int:
        """The attempt a response answers: by its top Via branch (RFC 3261 §17.1.3), else
        the latest attempt with its CSeq, else -1 (a response to a request not captured)."""
        attempt = self.branches.get(msg.branch)
        if attempt is not None:
            return attempt
        for index in range(len(self.requests) - 1, -1, -1):
            if self.requests[index][0] == msg.cseq:
                return index
        return -1

    def _event(self, kind: CallEventType, msg: SipMessage, status: int | None) -> CallEvent:
        """An event about this flow; the source is the registering client."""
        p = msg.packet
        known = self.src_ip is not None
        return _new_event(  # == CallEvent(...) with every field in order
            kind,
            p.ts,
            self.call_id,
            self.user,  # a_number
            None,  # b_number
            self.src_ip if known else p.dst_ip,  # source_ip
            self.src_port if known else p.dst_port,  # source_port
            self.dst_ip if known else p.src_ip,  # dest_ip
            self.user_agent,
            status,
            None,  # duration
            None,  # switch_id
            None,  # direction
            self.auth_username,  # account: the digest username, once a request carried one
            None,  # setting
            None,  # target
            "sip",  # source
            p.number,  # packet
        )

    def outcome(self) -> str:
        status = self.final_status
        if status is None:
            return "no_response"
        if status < 300:
            return self.outcome_hint or "registered"
        if status in (401, 407) and not self.last_final_creds:
            return "challenged"
        return "failed"

    def record(self) -> Registration:
        return Registration(
            call_id=self.call_id,
            user=self.user,
            domain=self.domain,
            realm=self.realm,
            outcome=self.outcome(),
            start=self.start,
            end=self.end,
            attempts=len(self.requests),  # one entry per attempt
            challenged=self.challenged,
            final_status=self.final_status,
            user_agent=self.user_agent,
            contact=self.contact,
            expires=self.expires,
            src_ip=self.src_ip,
            src_port=self.src_port,
            dst_ip=self.dst_ip,
            dst_port=self.dst_port,
            transport=self.transport,
            auth_username=self.auth_username,
            packets=tuple(self.packets),
        )
