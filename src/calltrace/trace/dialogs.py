"""The call state machine: one table, read (and drawn) from data, not from branches.

An INVITE dialog (RFC 3261 §12-13) is driven by a handful of *stimuli*: the initial
INVITE, a provisional 18x, a 2xx, a 401/407 challenge, a 487, another final 3xx-6xx,
a 408, a CANCEL, a BYE, and the tracker's own eviction when the capture goes silent.
``TRANSITIONS`` maps ``(state, stimulus) -> state``; a pair that is missing leaves the
state unchanged (a late 180 after the 200, a CANCEL that crossed the 200, a second
BYE seen at another hop). ``ENTRY_EVENTS`` says which :class:`CallEventType` entering
a state emits. docs/call-states.md draws the same table; a test holds the two together.

>>> next_state(DialogState.CALLING, Stimulus.PROVISIONAL)
<DialogState.EARLY: 'early'>
>>> PUBLIC_STATE[DialogState.EARLY]
'in_progress'
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from calltrace.decode._construct import unrolled_constructor
from calltrace.decode.sdp import media_summary
from calltrace.errors import DecodeError
from calltrace.model import Call, CallEventType, MediaDescription, SipMessage
from calltrace.trace.transactions import (
    TxnKey,
    first_headers,
    split_header,
    uri_user,
    user_and_uri,
)


class DialogState(StrEnum):
    """Internal call states; finer than ``Call.state`` (see ``PUBLIC_STATE``)."""

    NEW = "new"  # nothing decisive seen yet (a call first seen mid-way)
    CALLING = "calling"  # initial INVITE sent, no 18x yet (RFC 3261 §17.1.1 "Calling")
    EARLY = "early"  # an 18x: early dialog(s), the far end is alerting (§12.1)
    CANCELLING = "cancelling"  # CANCEL sent, no final answer yet (§9.1)
    # 401/407 to the latest INVITE; a retry with credentials may follow (§22.2)
    CHALLENGED = "challenged"
    ANSWERED = "answered"  # 2xx to the initial INVITE: confirmed dialog (§13.2.2.4)
    COMPLETED = "completed"  # BYE after (or instead of seeing) the answer (§15)
    CANCELLED = "cancelled"  # 487 Request Terminated, or CANCEL and then silence (§9.2)
    REJECTED = "rejected"  # a final 3xx-6xx to the initial INVITE
    FAILED = "failed"  # 408, or no final answer before the capture went silent (Timer B, §17.1.1.2)


class Stimulus(StrEnum):
    """What a message (or the tracker) does to the dialog."""

    INVITE = "invite"  # an initial INVITE (no To tag), new transaction
    PROVISIONAL = "18x"  # 180-189 to the current initial INVITE
    SUCCESS = "2xx"  # 2xx to the current initial INVITE
    CHALLENGE = "401/407"  # auth challenge to the current initial INVITE
    TERMINATED = "487"  # Request Terminated (the INVITE was cancelled)
    TIMEOUT = "408"  # Request Timeout
    REJECT = "3xx-6xx"  # any other final non-2xx
    CANCEL = "CANCEL"  # a CANCEL request
    BYE = "BYE"  # a BYE request (or the 2xx to a BYE that was not captured)
    EVICT = "evict"  # the tracker closes the call (idle, or end of input)


S = DialogState
E = Stimulus

_PRE_ANSWER: Final = (S.NEW, S.CALLING, S.EARLY)

_FROM_PRE_ANSWER: Final[dict[Stimulus, DialogState]] = {
    E.PROVISIONAL: S.EARLY,
    E.SUCCESS: S.ANSWERED,
    E.CHALLENGE: S.CHALLENGED,
    E.TERMINATED: S.CANCELLED,
    E.TIMEOUT: S.FAILED,
    E.REJECT: S.REJECTED,
    E.CANCEL: S.CANCELLING,
    E.BYE: S.COMPLETED,  # the 2xx was not captured: the dialog was confirmed anyway
    E.EVICT: S.FAILED,
}


def _build_table() -> dict[tuple[DialogState, Stimulus], DialogState]:
    table: dict[tuple[DialogState, Stimulus], DialogState] = {}
    for state in _PRE_ANSWER:
        for stimulus, target in _FROM_PRE_ANSWER.items():
            if target is not state:
                table[(state, stimulus)] = target
    table[(S.NEW, E.INVITE)] = S.CALLING
    table.update(
        {
            # the 200 crossed the CANCEL on the wire: the call is answered (RFC 3261 §9.1)
            (S.CANCELLING, E.SUCCESS): S.ANSWERED,
            (S.CANCELLING, E.TERMINATED): S.CANCELLED,
            (S.CANCELLING, E.REJECT): S.REJECTED,
            (S.CANCELLING, E.CHALLENGE): S.REJECTED,
            (S.CANCELLING, E.TIMEOUT): S.FAILED,
            (S.CANCELLING, E.BYE): S.COMPLETED,
            (S.CANCELLING, E.EVICT): S.CANCELLED,  # the caller gave up; the 487 was not captured
            # a retry with credentials after 401/407 is the same call (RFC 3261 §22.2)
            (S.CHALLENGED, E.INVITE): S.CALLING,
            (S.CHALLENGED, E.EVICT): S.REJECTED,  # never retried: the 401/407 was final
            # answers to a retry whose INVITE was not captured
            (S.CHALLENGED, E.PROVISIONAL): S.EARLY,
            (S.CHALLENGED, E.SUCCESS): S.ANSWERED,
            (S.ANSWERED, E.BYE): S.COMPLETED,
            # a new INVITE with the same Call-ID after a redirect or timeout (RFC 3261 §8.1.3.4)
            (S.REJECTED, E.INVITE): S.CALLING,
            (S.FAILED, E.INVITE): S.CALLING,
            # another hop or fork answered after this one gave up (RFC 3261 §16.7 forking)
            (S.REJECTED, E.SUCCESS): S.ANSWERED,
            (S.FAILED, E.SUCCESS): S.ANSWERED,
        }
    )
    return table


TRANSITIONS: Final[dict[tuple[DialogState, Stimulus], DialogState]] = _build_table()

# Entering a state emits this event (at most once per call for RINGING, ANSWER, END and
# CANCEL: the tracker guards it). Eviction (EVICT) never emits: it is not on the wire.
ENTRY_EVENTS: Final[dict[DialogState, CallEventType]] = {
    S.EARLY: CallEventType.RINGING,
    S.ANSWERED: CallEventType.ANSWER,
    S.COMPLETED: CallEventType.END,
    S.CANCELLING: CallEventType.CANCEL,
    S.REJECTED: CallEventType.REJECT,
    S.FAILED: CallEventType.REJECT,
}

PUBLIC_STATE: Final[dict[DialogState, str]] = {
    S.NEW: "in_progress",
    S.CALLING: "in_progress",
    S.EARLY: "in_progress",
    S.CANCELLING: "in_progress",
    S.CHALLENGED: "in_progress",
    S.ANSWERED: "answered",
    S.COMPLETED: "completed",
    S.CANCELLED: "cancelled",
    S.REJECTED: "rejected",
    S.FAILED: "failed",
}

# States after which only in-dialog traffic and retransmissions are expected: the
# tracker evicts them after ``ended_linger`` seconds of silence (64*T1, RFC 3261 §17.1.1.2).
ENDED_STATES: Final = frozenset({S.COMPLETED, S.CANCELLED, S.REJECTED, S.FAILED})
# Confirmed but not ended: evicted after ``call_idle_timeout``.
CONFIRMED_STATES: Final = frozenset({S.ANSWERED})


def next_state(state: DialogState, stimulus: Stimulus) -> DialogState:
    """The state after ``stimulus``; unchanged when the table has no entry."""
    return TRANSITIONS.get((state, stimulus), state)


def response_stimulus(status: int) -> Stimulus | None:
    """Classify a response to the initial INVITE (RFC 3261 §21); None for 100-179, 190-199."""
    if status < 200:
        return Stimulus.PROVISIONAL if 180 <= status < 190 else None
    if status < 300:
        return Stimulus.SUCCESS
    if status in (401, 407):
        return Stimulus.CHALLENGE
    if status == 487:
        return Stimulus.TERMINATED
    if status == 408:
        return Stimulus.TIMEOUT
    return Stimulus.REJECT


def table_markdown() -> str:
    """The transition table as a Markdown table (docs/call-states.md embeds it)."""
    lines = ["| state | stimulus | next state | event on entry |", "| --- | --- | --- | --- |"]
    states, stimuli = list(DialogState), list(Stimulus)
    rows = sorted(
        TRANSITIONS.items(), key=lambda r: (states.index(r[0][0]), stimuli.index(r[0][1]))
    )
    for (state, stimulus), target in rows:
        event = ENTRY_EVENTS.get(target)
        shown = event.value.upper() if event and stimulus is not Stimulus.EVICT else "-"
        lines.append(f"| {state.value} | {stimulus.value} | {target.value} | {shown} |")
    return "\n".join(lines)


_new_call: Final = unrolled_constructor(Call)
_new_media: Final = unrolled_constructor(MediaDescription)

_CALLER_ONLY: Final = frozenset({"INVITE", "ACK", "CANCEL", "PRACK"})  # requests a UAC sends
_PARTY_HEADERS: Final = frozenset({"from", "to"})


class CallFlow:
    """Everything gathered about one call so far; ``record()`` freezes it into a Call.

    Mutable and slotted: one per live Call-ID, touched by every message of the call, so
    it holds plain attributes and no per-message objects beyond the frame number.
    """

    __slots__ = ("account", "answered", "auth_challenged", "bye_ts", "call_id", "callee", "caller",
                 "cancel_ts", "codecs", "contact", "defects", "dst_ip", "dst_port", "emitted",
                 "final_cseq", "final_reason", "final_status", "final_ts", "forks", "from_tag",
                 "from_uri", "hangup_by", "has_invite", "invite_cseq", "last", "media",
                 "media_keys", "messages", "methods", "once", "packets", "pai", "request_uri",
                 "retransmissions", "ringing", "seen", "server", "src_ip", "src_port", "start",
                 "state", "statuses", "to_tag", "to_uri", "transport", "txns", "user_agent",
                 "via")  # fmt: skip

    def __init__(self, msg: SipMessage) -> None:
        self.call_id = msg.call_id
        self.state = DialogState.NEW
        self.start = self.last = msg.packet.ts
        self.ringing: float | None = None
        self.answered: float | None = None
        self.bye_ts: float | None = None
        self.cancel_ts: float | None = None
        self.final_status: int | None = None
        self.final_reason: str | None = None
        self.final_cseq: int | None = None
        self.final_ts: float | None = None
        self.invite_cseq: int | None = None  # CSeq of the latest initial INVITE
        self.hangup_by: str | None = None
        self.request_uri: str | None = None
        self.pai: str | None = None
        self.to_tag: str | None = None
        self.user_agent: str | None = None
        self.server: str | None = None
        self.via: tuple[str, ...] = ()
        self.contact: str | None = None
        self.codecs: list[str] = []
        self.media: list[MediaDescription] = []
        # descriptions and (party, body hash) pairs already recorded; made on the first SDP
        self.media_keys: set[tuple[object, ...]] | None = None
        self.auth_challenged = False
        # The digest username of the first INVITE with credentials (RFC 3261 §22.2-§22.3):
        # the account events name from then on (docs/rules.md, "Accounts").
        self.account: str | None = None
        self.has_invite = False
        self.messages = 0
        self.retransmissions = 0
        self.methods: dict[str, int] = {}
        self.statuses: dict[str, int] = {}
        self.forks: list[str] = []
        self.packets: list[int] = []
        self.defects: list[str] | None = None  # made on the first defect
        self.txns: dict[TxnKey, int] = {}  # transaction -> TXN_* flags
        self.seen: set[int] = set()  # fingerprints (transactions.fingerprint)
        self.once = 0  # bits of the once-per-call events already emitted (ONCE_BITS)
        self.emitted: set[tuple[object, ...]] | None = None  # (kind, CSeq, status) emitted
        if not (msg.is_request and msg.method == "INVITE" and msg.to_tag is None):
            self._parties(msg)  # an initial INVITE fills them at once (fill_from_invite)

    def _parties(self, msg: SipMessage, heads: dict[str, str] | None = None) -> None:
        """Caller/callee and addresses as this message tells them (§8.1.1.3: From is the
        UAC, on requests and on their responses alike)."""
        p = msg.packet
        if heads is None:
            heads = first_headers(msg, _PARTY_HEADERS)
        self.caller, self.from_uri = user_and_uri(heads.get("from"))
        self.callee, self.to_uri = user_and_uri(heads.get("to"))
        # A BYE (and its response) may come from either side: its From tag says nothing
        # about the caller; INVITE, ACK, CANCEL and PRACK only go caller -> callee.
        self.from_tag = msg.from_tag if msg.method in _CALLER_ONLY else None
        if msg.is_request:
            self.src_ip, self.src_port, self.dst_ip, self.dst_port = (
                p.src_ip, p.src_port, p.dst_ip, p.dst_port)  # fmt: skip
        else:
            self.src_ip, self.src_port, self.dst_ip, self.dst_port = (
                p.dst_ip, p.dst_port, p.src_ip, p.src_port)  # fmt: skip
        self.transport = p.transport

    def fill_from_invite(self, msg: SipMessage) -> None:
        """The initial INVITE names the parties, the path and the caller's device."""
        self.has_invite = True
        heads = dict(reversed(msg.headers))  # the first value of every header, in C
        self._parties(msg, heads)
        self.request_uri = msg.request_uri
        if self.callee is None:
            self.callee = uri_user(msg.request_uri)
        self.pai = heads.get("p-asserted-identity")
        self.user_agent = heads.get("user-agent")
        self.contact = heads.get("contact")
        self.via = split_header([value for key, value in msg.headers if key == "via"])

    def add_defects(self, defects: tuple[str, ...]) -> None:
        """Keep each defect token once, in first-seen order."""
        known = self.defects
        if known is None:
            known = self.defects = []
        for defect in defects:
            if defect not in known:
                known.append(defect)

    def first_time(self, key: tuple[object, ...]) -> bool:
        """True the first time an event key is offered (one event per CSeq and status)."""
        emitted = self.emitted
        if emitted is None:
            self.emitted = {key}
            return True
        if key in emitted:
            return False
        emitted.add(key)
        return True

    def current_invite(self, cseq: int | None) -> bool:
        """Whether a response with this CSeq answers the latest initial INVITE."""
        if cseq is None:
            return True
        if self.invite_cseq is None or cseq > self.invite_cseq:
            self.invite_cseq = cseq  # its INVITE was not captured
        return cseq == self.invite_cseq

    def takes_final(self, status: int, cseq: int | None) -> bool:
        """Whether a final response becomes the call's final status: the first final of
        the latest INVITE, but a 2xx beats a refusal seen at another hop or fork and a
        refusal never replaces a 2xx (RFC 3261 §16.7 step 6, §13.2.2.4)."""
        current = self.final_status
        if current is None:
            return True
        if current < 300:
            return False
        return status < 300 or (cseq is not None and cseq != self.final_cseq)

    def note_response(self, msg: SipMessage, status: int) -> None:
        """Provisional and 2xx answers: ringing time, forks (§12.1 early dialogs), server."""
        to_tag = msg.to_tag
        if to_tag is None:
            return  # a 100 Trying from a proxy: no dialog, no UAS speaking
        if 100 < status < 300 and to_tag not in self.forks:
            self.forks.append(to_tag)
        if 180 <= status < 190 and self.ringing is None:
            self.ringing = msg.packet.ts
        if self.to_tag is None and status < 300:
            self.to_tag = to_tag
        if self.server is None:
            self.server = msg.header("server") or msg.header("user-agent")

    def add_media(self, msg: SipMessage, content_type: str | None) -> bool:
        """Record the SDP of ``msg`` (RFC 3264 offer/answer); False when it did not decode.

        ``content_type`` is the message's first Content-Type value (None: absent)."""
        if content_type is None or "sdp" not in content_type.lower():
            return True
        same_side = self.from_tag is None or msg.from_tag is None or msg.from_tag == self.from_tag
        party = "caller" if msg.is_request == same_side else "callee"
        keys = self.media_keys
        if keys is None:
            keys = self.media_keys = set()
        body_key = (party, hash(msg.body))
        if body_key in keys:
            return True  # the same SDP again (another hop, an auth retry, 183 then 200)
        keys.add(body_key)
        try:
            summary = media_summary(msg.body)
        except DecodeError:
            return False
        number = msg.packet.number
        for m in summary:  # decode.sdp.MediaLine
            head = m[:6]  # (media, ip, port, proto, codecs, direction)
            key = (party, head, m.security)
            if key in keys:
                continue  # an identical description already recorded
            keys.add(key)
            media, ip, port, proto, codecs, direction = head
            self.media.append(
                # MediaDescription(party, media, ip, port, proto, codecs, direction, packet,
                #                  security)
                _new_media(party, media, ip, port, proto, codecs, direction, number,
                           m.security)
            )  # fmt: skip
            known = self.codecs
            for codec in codecs:
                if codec not in known:
                    known.append(codec)
        return True

    def end_time(self) -> float | None:
        """BYE time; for calls that never connected, the final answer (or the CANCEL)."""
        if self.bye_ts is not None:
            return self.bye_ts
        if self.state in (S.REJECTED, S.FAILED, S.CANCELLED):
            if self.final_ts is not None and (self.final_status or 0) >= 300:
                return self.final_ts
            return self.cancel_ts
        return None

    def pdd(self) -> float | None:
        """Post-dial delay: first 18x, else the answer, else the final refusal (RFC 6076 §4.1)."""
        for mark in (self.ringing, self.answered):
            if mark is not None:
                return mark - self.start
        if self.final_ts is not None and (self.final_status or 0) >= 300:
            return self.final_ts - self.start
        return None

    def record(self) -> Call:
        end = self.end_time()
        answered = self.answered
        start = self.start
        defects = self.defects
        return _new_call(  # == Call(...) with every field in order, see unrolled_constructor
            self.call_id,
            PUBLIC_STATE[self.state],
            start,
            self.ringing,
            answered,
            end,
            end - answered if end is not None and answered is not None else None,  # duration
            answered - start if answered is not None else None,  # setup_time
            self.pdd(),
            self.final_status,
            self.final_reason,
            self.hangup_by,
            self.caller,
            self.callee,
            self.from_uri,
            self.to_uri,
            self.request_uri,
            self.pai,
            self.from_tag,
            self.to_tag,
            self.src_ip,
            self.src_port,
            self.dst_ip,
            self.dst_port,
            self.transport,
            self.user_agent,
            self.server,
            self.via,
            self.contact,
            tuple(self.codecs),
            tuple(self.media),
            self.auth_challenged,
            self.messages,
            dict(self.methods),
            dict(self.statuses),
            self.retransmissions,
            tuple(self.forks),
            tuple(self.packets),
            tuple(defects) if defects else (),
        )
