"""The call tracker: SIP messages in, call events and rebuilt calls out (sans I/O).

:class:`CallTracker` sorts each message by Call-ID into one of three flows:

* a **call** (RFC 3261 §12-17): a Call-ID with an INVITE (or, for a capture that starts
  mid-call, with an ACK, BYE, CANCEL, PRACK or UPDATE, or a response to one of those): its
  state follows the table in :mod:`calltrace.trace.dialogs`;
* a **registration** (§10): a Call-ID of REGISTERs, see :mod:`.registrations`;
* an **out-of-dialog** request (OPTIONS, MESSAGE, SUBSCRIBE/NOTIFY, PUBLISH, INFO...):
  counted per method and kept as a short :class:`OutOfDialog` summary.

Time is capture time only: flows are evicted when the timestamps of later messages
show them silent for long enough, so memory depends on the window, never on the length
of the run. docs/call-states.md explains each field.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field, fields
from typing import Final

from calltrace.model import Call, CallEvent, CallEventType, Registration, SipMessage
from calltrace.trace.dialogs import (
    CONFIRMED_STATES,
    ENDED_STATES,
    ENTRY_EVENTS,
    TRANSITIONS,
    CallFlow,
    DialogState,
    Stimulus,
    response_stimulus,
)
from calltrace.trace.registrations import RegistrationFlow
from calltrace.trace.transactions import (
    MAGIC_COOKIE,
    TXN_CREDENTIALS,
    TXN_INITIAL,
    TxnKey,
    auth_params,
    credentials,
    fingerprint,
    first_headers,
    transaction_flags,
    uri_user,
    user_of,
)

# CallEvent is a frozen dataclass: its __init__ pays one object.__setattr__ per field.
# Setting the slots through their member descriptors builds the same object for less;
# the field order is checked here at import and pinned by tests/trace/test_calls.py.
_EVENT_FIELDS: Final = (
    "type", "ts", "call_id", "a_number", "b_number", "source_ip", "source_port", "dest_ip",
    "user_agent", "status", "duration", "switch_id", "direction", "account", "setting",
    "target", "source", "packet",
)  # fmt: skip
if tuple(f.name for f in fields(CallEvent)) != _EVENT_FIELDS:  # pragma: no cover
    raise ImportError("calltrace.model.CallEvent fields changed: update _EVENT_FIELDS")
(_S_TYPE, _S_TS, _S_CALL_ID, _S_A, _S_B, _S_SRC_IP, _S_SRC_PORT, _S_DST_IP, _S_UA, _S_STATUS,
 _S_DURATION, _S_SWITCH, _S_DIRECTION, _S_ACCOUNT, _S_SETTING, _S_TARGET, _S_SOURCE,
 _S_PACKET) = (
    getattr(CallEvent, name).__set__ for name in _EVENT_FIELDS)  # fmt: skip


def new_event(
    kind: CallEventType, ts: float, call_id: str | None, a_number: str | None,
    b_number: str | None, source_ip: str | None, source_port: int | None,
    dest_ip: str | None, user_agent: str | None, status: int | None, duration: float | None,
    packet: int | None, account: str | None = None,
) -> CallEvent:  # fmt: skip
    """A SIP CallEvent (no switch or direction), unrolled: 2.5x the dataclass's speed."""
    e: CallEvent = object.__new__(CallEvent)
    _S_TYPE(e, kind)
    _S_TS(e, ts)
    _S_CALL_ID(e, call_id)
    _S_A(e, a_number)
    _S_B(e, b_number)
    _S_SRC_IP(e, source_ip)
    _S_SRC_PORT(e, source_port)
    _S_DST_IP(e, dest_ip)
    _S_UA(e, user_agent)
    _S_STATUS(e, status)
    _S_DURATION(e, duration)
    _S_SWITCH(e, None)
    _S_DIRECTION(e, None)
    _S_ACCOUNT(e, account)
    _S_SETTING(e, None)
    _S_TARGET(e, None)
    _S_SOURCE(e, "sip")
    _S_PACKET(e, packet)
    return e


# Methods that only make sense inside an INVITE dialog: a Call-ID first seen with one of
# them is a call whose start the capture missed.
#: Methods that exist only inside an INVITE dialog (UPDATE: RFC 3311 §1, PRACK: RFC 3262):
#: a Call-ID first seen with one of them is a call the capture caught mid-way.
CALL_METHODS: Final = frozenset({"INVITE", "ACK", "BYE", "CANCEL", "PRACK", "UPDATE"})
# Events emitted at most once per call, as bits of CallFlow.once.
_ONCE_BITS: Final = {
    CallEventType.RINGING: 1,
    CallEventType.ANSWER: 2,
    CallEventType.END: 4,
    CallEventType.CANCEL: 8,
}
_OPTIONS_HEADERS: Final = frozenset({"from", "to", "user-agent"})
# Status codes as Call.statuses keys, made once instead of str() per response.
_STATUS_TEXT: Final = {code: str(code) for code in range(100, 700)}
_SWEEP_EVERY: Final = 1.0  # seconds of capture time between eviction sweeps


@dataclass(slots=True)
class TraceStats:
    """Counters of the tracker (mutable; read them at any time)."""

    messages: int = 0
    calls: int = 0
    registrations: int = 0
    retransmissions: int = 0
    orphan_responses: int = 0  # responses whose request was not captured
    out_of_dialog: dict[str, int] = field(default_factory=dict)  # method -> requests
    out_of_dialog_dropped: int = 0  # summaries dropped beyond ``max_out_of_dialog``
    evicted_idle: int = 0  # flows closed by silence (capture time)
    evicted_overflow: int = 0  # calls closed early because ``max_calls`` was reached
    sdp_errors: int = 0  # SDP bodies that did not decode


@dataclass(frozen=True, slots=True, kw_only=True)
class OutOfDialog:
    """A request outside any call or registration (OPTIONS, MESSAGE, SUBSCRIBE...)."""

    call_id: str
    method: str
    ts: float
    from_user: str | None
    to_user: str | None
    request_uri: str | None
    src_ip: str
    src_port: int
    dst_ip: str
    dst_port: int
    transport: str
    user_agent: str | None
    status: int | None  # final status (or last provisional) seen; None: no answer
    packet: int


class _Pending:
    """An out-of-dialog request waiting for its final response."""

    __slots__ = ("fp", "last", "msg", "status")

    def __init__(self, msg: SipMessage, fp: int, now: float) -> None:
        self.msg = msg
        self.fp = fp
        self.status: int | None = None
        self.last = now


class CallTracker:
    """Rebuild calls and registrations from SIP messages fed in capture order.

    >>> tracker = CallTracker()
    >>> tracker.close()
    []
    """

    def __init__(
        self,
        *,
        call_idle_timeout: float = 3600.0,
        ended_linger: float = 32.0,
        registration_idle_timeout: float = 300.0,
        max_calls: int = 1_000_000,
        setup_timeout: float = 300.0,
        max_out_of_dialog: int = 10_000,
    ) -> None:
        self.call_idle_timeout = call_idle_timeout
        self.ended_linger = ended_linger
        self.registration_idle_timeout = registration_idle_timeout
        self.max_calls = max_calls
        self.setup_timeout = setup_timeout
        self.max_out_of_dialog = max_out_of_dialog
        self.stats = TraceStats()
        self.out_of_dialog: list[OutOfDialog] = []
        self._calls: dict[str, CallFlow] = {}
        # Flows in order of last activity, one bucket per idle timeout: the oldest is first,
        # so eviction only looks at the front (RFC 3261 Timer B/F lengths for the short ones).
        self._setup: OrderedDict[str, CallFlow] = OrderedDict()
        self._confirmed: OrderedDict[str, CallFlow] = OrderedDict()
        self._ended: OrderedDict[str, CallFlow] = OrderedDict()
        self._regs: OrderedDict[str, RegistrationFlow] = OrderedDict()
        # state -> the bucket its calls live in (ended, confirmed, else setup)
        self._buckets: dict[DialogState, OrderedDict[str, CallFlow]] = {
            state: self._ended if state in ENDED_STATES
            else self._confirmed if state in CONFIRMED_STATES
            else self._setup
            for state in DialogState
        }  # fmt: skip
        self._pending: OrderedDict[tuple[str, int | None, str], _Pending] = OrderedDict()
        self._finished: list[Call | Registration] = []
        self._now = float("-inf")
        self._next_sweep = float("-inf")

    # --- public API -------------------------------------------------------------------

    def observe(self, msg: SipMessage) -> list[CallEvent]:
        """Take the next message (capture order); return the events it caused."""
        self.stats.messages += 1
        ts = msg.packet.ts
        if ts > self._now:
            self._now = ts
            if ts >= self._next_sweep:
                self._sweep(ts)
        cid = msg.call_id
        flow = self._calls.get(cid)
        if flow is not None:
            return self._on_call(flow, msg)
        method = msg.method
        reg = self._regs.get(cid)
        if reg is not None or method == "REGISTER":
            return self._on_register(reg, msg)
        if method in CALL_METHODS:
            return self._on_call(self._new_call(msg), msg)
        return self._on_out_of_dialog(msg)

    def pop_finished(self) -> list[Call | Registration]:
        """Records whose flow is over (by capture time); each is returned once."""
        done, self._finished = self._finished, []
        return done

    def pop_out_of_dialog(self) -> list[OutOfDialog]:
        """Drain the out-of-dialog summaries gathered so far."""
        done, self.out_of_dialog = self.out_of_dialog, []
        return done

    def close(self) -> list[Call | Registration]:
        """End of input: every flow still open, as records (unanswered calls fail)."""
        for bucket in (self._setup, self._confirmed, self._ended):
            while bucket:
                self._finish_call(bucket.popitem(last=False)[1])
        while self._regs:
            self._finished.append(self._regs.popitem(last=False)[1].record())
            self.stats.registrations += 1
        while self._pending:
            self._finish_pending(self._pending.popitem(last=False)[1])
        return self.pop_finished()

    @property
    def open_flows(self) -> int:
        """Calls, registrations and out-of-dialog requests held in memory now."""
        return len(self._calls) + len(self._regs) + len(self._pending)

    # --- eviction ---------------------------------------------------------------------

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + _SWEEP_EVERY
        setup = min(self.setup_timeout, self.call_idle_timeout)
        for bucket, timeout in (
            (self._setup, setup),
            (self._confirmed, self.call_idle_timeout),
            (self._ended, self.ended_linger),
        ):
            limit = now - timeout
            while bucket:
                flow = next(iter(bucket.values()))
                if flow.last > limit:
                    break
                del bucket[flow.call_id]
                self.stats.evicted_idle += 1
                self._finish_call(flow)
        limit = now - self.registration_idle_timeout
        while self._regs:
            reg = next(iter(self._regs.values()))
            if reg.end > limit:
                break
            del self._regs[reg.call_id]
            self.stats.evicted_idle += 1
            self.stats.registrations += 1
            self._finished.append(reg.record())
        limit = now - self.ended_linger
        while self._pending:
            pending = next(iter(self._pending.values()))
            if pending.last > limit:
                break
            self._pending.popitem(last=False)
            self._finish_pending(pending)

    def _finish_call(self, flow: CallFlow) -> None:
        del self._calls[flow.call_id]
        flow.state = TRANSITIONS.get((flow.state, Stimulus.EVICT), flow.state)
        self._finished.append(flow.record())

    # --- calls ------------------------------------------------------------------------

    def _new_call(self, msg: SipMessage) -> CallFlow:
        if len(self._calls) >= self.max_calls:
            for bucket in (self._ended, self._setup, self._confirmed):
                if bucket:
                    self.stats.evicted_overflow += 1
                    self._finish_call(bucket.popitem(last=False)[1])
                    break
        flow = CallFlow(msg)
        self._calls[msg.call_id] = flow
        self._setup[msg.call_id] = flow
        self.stats.calls += 1
        return flow

    def _on_call(self, flow: CallFlow, msg: SipMessage) -> list[CallEvent]:
        """The hot path: count, drop retransmissions, apply, keep the bucket order.

        Most messages of a call (ACK, 100 Trying, a retransmission, the 200 to a BYE)
        change nothing but counters, so this is written out flat: the counters (every
        captured copy, retransmissions and hops included), the hash of
        ``transactions.fingerprint`` and the key of ``transactions.transaction_key``
        inline, an ACK never looked up (it opens no transaction), the bucket of a state
        found in one dict."""
        state = flow.state
        flow.last = self._now
        p = msg.packet
        flow.messages += 1
        flow.packets.append(p.number)
        is_request = msg.is_request
        if is_request:
            method = msg.method
            methods = flow.methods
            methods[method] = methods.get(method, 0) + 1
            fp = hash((method, msg.cseq, msg.branch, msg.to_tag, p.src_ip, p.src_port,
                       p.dst_ip, p.dst_port))  # fmt: skip
        else:
            status = msg.status
            text = _STATUS_TEXT.get(status) if status is not None else None
            if text is None:
                text = str(status)
            statuses = flow.statuses
            statuses[text] = statuses.get(text, 0) + 1
            fp = hash((status, msg.cseq, msg.cseq_method, msg.branch, msg.to_tag, p.src_ip,
                       p.src_port, p.dst_ip, p.dst_port))  # fmt: skip
        if msg.defects:
            flow.add_defects(msg.defects)
        seen = flow.seen
        buckets = self._buckets
        if fp in seen:
            flow.retransmissions += 1
            self.stats.retransmissions += 1
            buckets[state].move_to_end(msg.call_id)
            return []
        seen.add(fp)
        events: list[CallEvent] = []
        if not is_request:
            self._call_response(flow, msg, events)
        elif method != "ACK":  # an ACK opens no transaction and moves no state
            self._call_request(flow, msg, method, events)
        if msg.body and not flow.add_media(msg, msg.header("content-type")):
            self.stats.sdp_errors += 1
        after = flow.state
        if after is state:
            buckets[state].move_to_end(msg.call_id)
        else:
            before = buckets[state]
            after_bucket = buckets[after]
            if after_bucket is before:
                before.move_to_end(msg.call_id)
            else:
                del before[msg.call_id]
                after_bucket[msg.call_id] = flow
        return events

    def _call_request(
        self, flow: CallFlow, msg: SipMessage, method: str, events: list[CallEvent]
    ) -> None:
        """A request other than ACK (``transactions.transaction_key``, written out)."""
        branch = msg.branch
        if branch is not None and branch.startswith(MAGIC_COOKIE):
            key: TxnKey = (branch, method)
        else:
            key = (msg.cseq, method)
        txns = flow.txns
        new = key not in txns
        if new:
            txns[key] = transaction_flags(msg)
        if method == "INVITE" and msg.to_tag is None:
            if flow.account is None and txns[key] & TXN_CREDENTIALS:
                flow.account = auth_params(credentials(msg)).get("username") or None
            if not flow.has_invite:
                flow.fill_from_invite(msg)
                events.append(self._event(flow, CallEventType.ATTEMPT, msg))
            # A new initial INVITE transaction (a higher CSeq, or a new branch with the same
            # CSeq from a client that does not increment it on an auth retry) restarts the
            # attempt; in calling/early states the table ignores it (a copy at another hop).
            cseq = msg.cseq
            prev = flow.invite_cseq
            if prev is None or (cseq is not None and (cseq > prev or (new and cseq == prev))):
                flow.invite_cseq = cseq
                self._stimulus(flow, Stimulus.INVITE, msg, events)
        elif method == "CANCEL":
            if flow.cancel_ts is None:
                flow.cancel_ts = msg.packet.ts
            self._stimulus(flow, Stimulus.CANCEL, msg, events)
        elif method == "BYE":
            self._bye(flow, msg, msg.packet.ts, events)

    def _bye(self, flow: CallFlow, msg: SipMessage, ts: float, events: list[CallEvent]) -> None:
        """A BYE (or the 2xx of a BYE not captured) ends the dialog (RFC 3261 §15.1)."""
        if flow.bye_ts is None:
            flow.bye_ts = ts
            if flow.from_tag is not None and msg.from_tag is not None:
                flow.hangup_by = "caller" if msg.from_tag == flow.from_tag else "callee"
        self._stimulus(flow, Stimulus.BYE, msg, events)

    def _call_response(self, flow: CallFlow, msg: SipMessage, events: list[CallEvent]) -> None:
        method = msg.cseq_method or msg.method
        branch = msg.branch  # the key of transactions.transaction_key, written out
        tmethod = "INVITE" if method == "ACK" else method
        if branch is not None and branch.startswith(MAGIC_COOKIE):
            key: TxnKey = (branch, tmethod)
        else:
            key = (msg.cseq, tmethod)
        txn = flow.txns.get(key)  # TXN_* flags, None: request not captured
        if txn is None:
            self.stats.orphan_responses += 1
        status = msg.status or 0
        if method == "INVITE":
            if txn is not None:
                initial = bool(txn & TXN_INITIAL)
            else:
                initial = flow.state not in CONFIRMED_STATES and flow.state != DialogState.COMPLETED
            if initial and flow.current_invite(msg.cseq):
                self._invite_response(flow, msg, status, txn, events)
                return
        elif method == "BYE" and 200 <= status < 300 and flow.bye_ts is None:
            self._bye(flow, msg, msg.packet.ts, events)
        if txn is not None and txn & TXN_CREDENTIALS and status in (401, 403, 407):
            self._keyed_event(flow, CallEventType.AUTH_FAILURE, msg, status, events)

    def _invite_response(
        self, flow: CallFlow, msg: SipMessage, status: int, txn: int | None,
        events: list[CallEvent],
    ) -> None:  # fmt: skip
        """A response to the current initial INVITE: times, forks, final status."""
        ts = msg.packet.ts
        to_tag = msg.to_tag
        flow.note_response(msg, status)
        if status >= 200 and flow.takes_final(status, msg.cseq):
            flow.final_status, flow.final_reason = status, msg.reason
            flow.final_cseq, flow.final_ts = msg.cseq, ts
        if 200 <= status < 300 and flow.answered is None:
            flow.answered = ts
            flow.to_tag = to_tag or flow.to_tag
        if status in (401, 407):
            flow.auth_challenged = True
            self._keyed_event(flow, CallEventType.AUTH_CHALLENGE, msg, status, events)
        if txn is not None and txn & TXN_CREDENTIALS and status in (401, 403, 407):
            self._keyed_event(flow, CallEventType.AUTH_FAILURE, msg, status, events)
        stimulus = response_stimulus(status)
        if stimulus is not None:
            self._stimulus(flow, stimulus, msg, events, status)

    def _stimulus(
        self, flow: CallFlow, stimulus: Stimulus, msg: SipMessage, events: list[CallEvent],
        status: int | None = None,
    ) -> None:  # fmt: skip
        """Apply the transition table and emit the entry event of the new state."""
        target = TRANSITIONS.get((flow.state, stimulus))
        if target is None:
            return
        flow.state = target
        kind = ENTRY_EVENTS.get(target)
        if kind is None:
            return
        bit = _ONCE_BITS.get(kind)
        if bit is not None:
            if flow.once & bit:
                return
            flow.once |= bit
        elif not flow.first_time((kind, msg.cseq, status)):
            return
        events.append(self._event(flow, kind, msg, status))

    def _keyed_event(
        self, flow: CallFlow, kind: CallEventType, msg: SipMessage, status: int,
        events: list[CallEvent],
    ) -> None:  # fmt: skip
        """Emit once per (kind, CSeq, status): the same answer seen at two hops is one."""
        if flow.first_time((kind, msg.cseq, status)):
            events.append(self._event(flow, kind, msg, status))

    def _event(
        self, flow: CallFlow, kind: CallEventType, msg: SipMessage, status: int | None = None
    ) -> CallEvent:
        """Every call event names the call's A/B numbers and its caller's address and UA."""
        duration = None
        if kind is CallEventType.END and flow.answered is not None and flow.bye_ts is not None:
            duration = flow.bye_ts - flow.answered
        p = msg.packet
        return new_event(kind, p.ts, flow.call_id, flow.caller, flow.callee, flow.src_ip,
                         flow.src_port, flow.dst_ip, flow.user_agent, status, duration,
                         p.number, flow.account)  # fmt: skip

    # --- registrations and out-of-dialog requests -------------------------------------

    def _on_register(self, reg: RegistrationFlow | None, msg: SipMessage) -> list[CallEvent]:
        cid = msg.call_id
        if reg is not None and reg.wants_new_record(msg):
            del self._regs[cid]
            self.stats.registrations += 1
            self._finished.append(reg.record())
            reg = None
        if reg is None:
            reg = RegistrationFlow(msg)
            self._regs[cid] = reg
        else:
            self._regs.move_to_end(cid)
        if not msg.is_request and not reg.requests:
            self.stats.orphan_responses += 1
        retransmission, events = reg.observe(msg)
        if retransmission:
            self.stats.retransmissions += 1
        return events

    def _on_out_of_dialog(self, msg: SipMessage) -> list[CallEvent]:
        key = (msg.call_id, msg.cseq, msg.method)
        pending = self._pending.get(key)
        fp = fingerprint(msg)
        if not msg.is_request:
            if pending is None:
                self.stats.orphan_responses += 1
                return []
            if fp == pending.fp:
                self.stats.retransmissions += 1
                return []
            pending.fp = fp
            pending.status = msg.status
            pending.last = self._now
            self._pending.move_to_end(key)
            return []
        if pending is not None and pending.fp == fp:
            self.stats.retransmissions += 1
            return []
        counts = self.stats.out_of_dialog
        counts[msg.method] = counts.get(msg.method, 0) + 1
        if pending is None:
            self._pending[key] = _Pending(msg, fp, self._now)
        if msg.method != "OPTIONS":
            return []
        p = msg.packet
        heads = first_headers(msg, _OPTIONS_HEADERS)
        a_number = user_of(heads.get("from"))
        b_number = uri_user(msg.request_uri) or user_of(heads.get("to"))
        ua = heads.get("user-agent")
        event = new_event(CallEventType.OPTIONS, p.ts, msg.call_id, a_number, b_number,
                          p.src_ip, p.src_port, p.dst_ip, ua, None, None, p.number)  # fmt: skip
        return [event]

    def _finish_pending(self, pending: _Pending) -> None:
        msg = pending.msg
        p = msg.packet
        self.out_of_dialog.append(
            OutOfDialog(
                call_id=msg.call_id,
                method=msg.method,
                ts=p.ts,
                from_user=user_of(msg.header("from")),
                to_user=user_of(msg.header("to")),
                request_uri=msg.request_uri,
                src_ip=p.src_ip,
                src_port=p.src_port,
                dst_ip=p.dst_ip,
                dst_port=p.dst_port,
                transport=p.transport,
                user_agent=msg.header("user-agent"),
                status=pending.status,
                packet=p.number,
            )
        )
        excess = len(self.out_of_dialog) - self.max_out_of_dialog
        if excess > self.max_out_of_dialog // 2:
            del self.out_of_dialog[:excess]
            self.stats.out_of_dialog_dropped += excess
