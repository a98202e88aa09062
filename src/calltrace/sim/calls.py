"""Call flows (pure): one INVITE dialog from attempt to hang-up, as RFC 3261 lays it out.

Each outcome is a short recipe over a :class:`CallBuilder`; the builder keeps the
dialog state (tags, CSeq, route target) so a recipe reads like the ladder diagram it
produces. Timings are drawn from the flow's own ``random.Random``: post-dial delay of
tens to hundreds of ms, ringing of seconds, talk time lognormal (median about a
minute), so durations span seconds to many minutes as in real traffic.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Final

from calltrace.sim import sip
from calltrace.sim.dialog import (
    MS,
    NS,
    Endpoint,
    Ids,
    MediaStream,
    Plan,
    Request,
    contact,
    name_addr,
    via,
)

# outcome -> the state a correct tracer reports (model.Call.state)
OUTCOME_STATE: Final[dict[str, str]] = {
    "answered": "completed",
    "hold": "completed",
    "auth_answered": "completed",
    "early_media": "completed",
    "retransmitted": "completed",
    "busy": "rejected",
    "not_found": "rejected",
    "forbidden": "rejected",
    "unavailable": "rejected",
    "no_answer": "cancelled",
}
_REJECT: Final = {"busy": 486, "not_found": 404, "forbidden": 403, "unavailable": 503}
T1_NS: Final = 500 * MS  # RFC 3261 §17.1.1.1: first INVITE retransmission after T1
# Outcome mix of normal traffic (weights).
CALL_MIX: Final[dict[str, int]] = {
    "answered": 52, "hold": 4, "auth_answered": 6, "early_media": 4, "retransmitted": 3,
    "busy": 8, "no_answer": 11, "not_found": 5, "forbidden": 2, "unavailable": 5,
}  # fmt: skip
_OUTCOMES: Final = list(CALL_MIX)
_WEIGHTS: Final = list(CALL_MIX.values())


@dataclass(frozen=True, slots=True, kw_only=True)
class CallSpec:
    """What the scenario decided about a call; the recipe decides the timings."""

    caller: Endpoint  # the UAC on the wire
    callee: Endpoint  # the UAS on the wire
    a_number: str
    b_number: str
    outcome: str
    start: int  # ns
    transport: str = "udp"
    latency: int = 2 * MS  # one-way network delay
    media: bool = False
    max_talk_s: float | None = None  # cap on talk time (keeps a sample small)
    a_display: str | None = None
    # Scripted timings and headers for attack scenarios (sim/attacks_*.py); None draws
    # them at random as before, so existing scenarios keep their bytes.
    ring_s: float | None = None  # ringing before answer or CANCEL
    talk_s: float | None = None  # exact talk time
    extra: tuple[tuple[str, str], ...] = ()  # more INVITE headers (P-Asserted-Identity...)


class CallBuilder:
    """Dialog state of one call from the caller's side, and the plan it fills."""

    def __init__(self, rng: random.Random, spec: CallSpec) -> None:
        self.rng = rng
        self.ids = Ids(rng)
        self.spec = spec
        self.a, self.b = spec.caller, spec.callee
        self.t = spec.start
        self.plan = Plan(kind="call", outcome=spec.outcome, transport=spec.transport)
        self.call_id = self.ids.call_id(self.a)
        self.from_tag = self.ids.tag(self.a)
        self.to_tag: str | None = None
        self.cseq = rng.randrange(1, 200) if self.a.style == "numeric" else 1
        host = self.b.domain or self.b.host
        self.uri = f"sip:{spec.b_number}@{host}"
        if spec.b_number.startswith("+"):
            self.uri += ";user=phone"
        self.from_ = name_addr(spec.a_number, self.a.domain or self.a.host, spec.a_display)
        self.to = f"<{self.uri}>"
        self.a_rtp = self.ids.rtp_port()
        self.b_rtp = self.ids.rtp_port()
        self.sdp_id = rng.randrange(1, 2**31)
        self.sdp_version = 1
        self.codec = _negotiate(self.a.codecs, self.b.codecs)
        self.auth: tuple[tuple[str, str], ...] = ()

    # ---- time
    def wait(self, low_ms: float, high_ms: float) -> int:
        self.t += int(self.rng.uniform(low_ms, high_ms) * MS)
        return self.t

    def hop(self) -> int:
        """One network crossing plus a little processing."""
        self.t += self.spec.latency + self.rng.randrange(200_000, 3 * MS)
        return self.t

    # ---- messages
    def invite(self, direction: str = "sendrecv") -> Request:
        offer = sip.sdp(
            ip=self.a.ip, port=self.a_rtp, session_id=self.sdp_id, version=self.sdp_version,
            codecs=[sip.CODECS[name] for name in self.a.codecs], direction=direction,
        )  # fmt: skip
        return Request(
            method="INVITE", uri=self.uri, via=via(self.a, self.spec.transport, self.ids.branch()),
            from_=f"{self.from_};tag={self.from_tag}", to=self._to(), call_id=self.call_id,
            cseq=self.cseq, contact=contact(self.a, self.spec.a_number, self.spec.transport),
            extra=(*self.auth, ("Allow", _ALLOW), ("Supported", "replaces, timer"),
                   *self.spec.extra),
            body=offer,
        )  # fmt: skip

    def answer_sdp(self, direction: str = "sendrecv", fork: int = 0) -> bytes:
        return sip.sdp(
            ip=self.b.ip, port=self.b_rtp + 2 * fork, session_id=self.sdp_id + 7 + fork,
            version=self.sdp_version, codecs=[self.codec], direction=direction,
        )  # fmt: skip

    def _to(self) -> str:
        return f"{self.to};tag={self.to_tag}" if self.to_tag else self.to

    def in_dialog(self, method: str, *, reverse: bool = False, body: bytes = b"") -> Request:
        """A request inside the dialog (RFC 3261 §12.2.1.1), from either side."""
        tag = self.to_tag or ""
        if reverse:  # callee to caller: its own CSeq space, From/To swapped
            return Request(
                method=method, uri=f"sip:{self.spec.a_number}@{self.a.hostport}",
                via=via(self.b, self.spec.transport, self.ids.branch()),
                from_=f"{self.to};tag={tag}", to=f"{self.from_};tag={self.from_tag}",
                call_id=self.call_id, cseq=self.rng.randrange(100, 30000), body=body,
            )  # fmt: skip
        if method != "ACK":
            self.cseq += 1
        return Request(
            method=method, uri=f"sip:{self.spec.b_number}@{self.b.hostport}",
            via=via(self.a, self.spec.transport, self.ids.branch()),
            from_=f"{self.from_};tag={self.from_tag}", to=self._to(), call_id=self.call_id,
            cseq=self.cseq, body=body,
            contact=contact(self.a, self.spec.a_number, self.spec.transport) if body else None,
        )  # fmt: skip

    def hop_ack(self, inv: Request) -> None:
        """ACK of a non-2xx final response: same branch as the INVITE (§17.1.1.3)."""
        ack = Request(
            method="ACK", uri=inv.uri, via=inv.via, from_=inv.from_, to=self._to(),
            call_id=self.call_id, cseq=inv.cseq,
        )  # fmt: skip
        self.plan.send_request(self.hop(), self.a, self.b, ack)

    def b_contact(self) -> tuple[tuple[str, str], ...]:
        return (("Contact", contact(self.b, self.spec.b_number, self.spec.transport)),)


_ALLOW: Final = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REFER, NOTIFY, UPDATE, PRACK"


def _negotiate(offer: tuple[str, ...], supported: tuple[str, ...]) -> sip.Codec:
    """First offered codec the answerer supports (RFC 3264 §6.1), PCMU as last resort."""
    for name in offer:
        if name in supported:
            return sip.CODECS[name]
    return sip.PCMU


def _lognormal_s(
    rng: random.Random, median_s: float, sigma: float, low: float, high: float
) -> float:
    return min(high, max(low, rng.lognormvariate(math.log(median_s), sigma)))


def plan_call(rng: random.Random, spec: CallSpec) -> Plan:
    """Every message of one call with outcome ``spec.outcome`` (see OUTCOME_STATE)."""
    cb = CallBuilder(rng, spec)
    outcome = spec.outcome
    plan = cb.plan
    inv = cb.invite()
    plan.send_request(cb.t, cb.a, cb.b, inv)
    if outcome == "auth_answered":
        inv = _challenge(cb, inv)
    if outcome == "retransmitted":
        cb.t += T1_NS  # the 100 Trying never came back in time: resend, byte for byte
        plan.messages.append((cb.t, cb.a, cb.b, plan.messages[-1][3]))
        plan.requests["INVITE"] += 1
        plan.resent += 1
    if not (outcome == "unavailable" and rng.random() < 0.5):
        plan.send_response(cb.hop(), cb.b, cb.a, inv, 100)
    cb.to_tag = cb.ids.tag(cb.b)
    plan.detail.update(
        call_id=cb.call_id, caller=spec.a_number, callee=spec.b_number, start=spec.start,
        transport=spec.transport, state=OUTCOME_STATE[outcome],
    )  # fmt: skip
    if outcome in _REJECT:
        cb.wait(20, 900)
        plan.send_response(cb.hop(), cb.b, cb.a, inv, _REJECT[outcome], to_tag=cb.to_tag)
        cb.hop_ack(inv)
        plan.detail.update(final_status=_REJECT[outcome], hangup_by=None)
        return plan
    cb.wait(30, 400)
    if outcome == "early_media":
        ringing_at = _forked_early_media(cb, inv)
    else:
        plan.send_response(cb.hop(), cb.b, cb.a, inv, 180, to_tag=cb.to_tag, extra=cb.b_contact())
        ringing_at = cb.t
    if outcome == "no_answer":
        _cancel(cb, inv)
        return plan
    ring = spec.ring_s if spec.ring_s is not None else _lognormal_s(rng, 5.0, 0.6, 0.8, 30.0)
    cb.t += int(ring * NS)
    _answer_and_talk(cb, inv, ringing_at)
    return plan


def _challenge(cb: CallBuilder, inv: Request) -> Request:
    """407 then a retry with Proxy-Authorization and CSeq + 1 (RFC 3261 §22.2-§22.3)."""
    nonce = cb.ids.nonce()
    realm = cb.b.realm
    cb.to_tag = cb.ids.tag(cb.b)
    cb.plan.send_response(
        cb.hop(), cb.b, cb.a, inv, 407, to_tag=cb.to_tag,
        extra=(("Proxy-Authenticate", sip.challenge(realm, nonce)),),
    )  # fmt: skip
    cb.hop_ack(inv)
    cb.to_tag = None
    cb.t += int(cb.rng.uniform(5, 40) * MS)
    cb.cseq += 1
    cb.auth = ((
        "Proxy-Authorization",
        sip.credentials(
            username=_account(cb), realm=realm, password="s3cr3t",
            method="INVITE", uri=cb.uri, nonce=nonce, cnonce=cb.ids.nonce()[:16],
        ),
    ),)  # fmt: skip
    retry = cb.invite()
    cb.plan.send_request(cb.t, cb.a, cb.b, retry)
    cb.plan.detail["auth_challenged"] = True
    return retry


def _account(cb: CallBuilder) -> str:
    """The digest username: the caller's account on the server (a trunk's or PBX's own,
    a phone's extension), else the A-number without ``+``."""
    return cb.a.user or cb.spec.a_number.lstrip("+")


def _forked_early_media(cb: CallBuilder, inv: Request) -> int:
    """Two forks ring with early media (183 + SDP, RFC 3960); the second one answers."""
    first = cb.ids.tag(cb.b)
    cb.plan.send_response(
        cb.hop(), cb.b, cb.a, inv, 183, to_tag=first, extra=cb.b_contact(),
        body=cb.answer_sdp(fork=1),
    )  # fmt: skip
    ringing_at = cb.t
    cb.wait(50, 800)
    cb.plan.send_response(
        cb.t, cb.b, cb.a, inv, 183, to_tag=cb.to_tag, extra=cb.b_contact(),
        body=cb.answer_sdp(),
    )  # fmt: skip
    cb.plan.detail["forks"] = (first, cb.to_tag)
    return ringing_at


def _cancel(cb: CallBuilder, inv: Request) -> None:
    """Nobody answers: CANCEL, its 200, the 487 and the ACK (RFC 3261 §9.1, §9.2)."""
    ring = cb.spec.ring_s
    cb.t += int((ring if ring is not None else _lognormal_s(cb.rng, 18.0, 0.4, 4.0, 60.0)) * NS)
    cancel = Request(
        method="CANCEL", uri=inv.uri, via=inv.via, from_=inv.from_, to=inv.to,
        call_id=inv.call_id, cseq=inv.cseq,
    )  # fmt: skip
    cb.plan.send_request(cb.t, cb.a, cb.b, cancel)
    cb.plan.send_response(cb.hop(), cb.b, cb.a, cancel, 200, to_tag=cb.to_tag)
    cb.plan.send_response(cb.wait(0.1, 2), cb.b, cb.a, inv, 487, to_tag=cb.to_tag)
    cb.hop_ack(inv)
    cb.plan.detail.update(final_status=487, hangup_by="caller")


def _answer_and_talk(cb: CallBuilder, inv: Request, ringing_at: int) -> None:
    """200 OK with the SDP answer, ACK, talk (maybe a hold), BYE from either side."""
    plan, spec, rng = cb.plan, cb.spec, cb.rng
    answer_sdp = cb.answer_sdp()
    plan.send_response(cb.t, cb.b, cb.a, inv, 200, to_tag=cb.to_tag, extra=cb.b_contact(),
                       body=answer_sdp)  # fmt: skip
    answered = cb.t
    ack = cb.in_dialog("ACK")
    plan.send_request(cb.hop(), cb.a, cb.b, ack)
    talk_s = spec.talk_s if spec.talk_s is not None else _lognormal_s(rng, 60.0, 1.1, 2.0, 3600.0)
    if spec.max_talk_s is not None:
        talk_s = min(talk_s, spec.max_talk_s)
    end = answered + int(talk_s * NS)
    held: tuple[int, int] | None = None
    if spec.outcome == "hold":
        held = _hold(cb, answered, end)
    cb.t = max(cb.t, end)
    by_callee = rng.random() < 0.45
    bye = cb.in_dialog("BYE", reverse=by_callee)
    src, dst = (cb.b, cb.a) if by_callee else (cb.a, cb.b)
    plan.send_request(cb.t, src, dst, bye)
    bye_at = cb.t
    plan.send_response(cb.hop(), dst, src, bye, 200)
    plan.detail.update(
        final_status=200, hangup_by="callee" if by_callee else "caller",
        ringing=ringing_at, answered=answered, ended=bye_at,
    )  # fmt: skip
    if spec.media:
        _media(cb, answered, bye_at, held)


def _hold(cb: CallBuilder, answered: int, end: int) -> tuple[int, int] | None:
    """re-INVITE a=sendonly, later a=sendrecv again (RFC 3264 §8.4); None if too short."""
    span = end - answered
    if span < 6 * NS:
        return None
    plan = cb.plan
    on = answered + span // 4
    off = answered + span // 2
    for at, (mine, theirs) in ((on, ("sendonly", "recvonly")), (off, ("sendrecv", "sendrecv"))):
        cb.t = at
        cb.sdp_version += 1
        offer = sip.sdp(
            ip=cb.a.ip, port=cb.a_rtp, session_id=cb.sdp_id, version=cb.sdp_version,
            codecs=[cb.codec], direction=mine,
        )  # fmt: skip
        reinv = cb.in_dialog("INVITE", body=offer)
        plan.send_request(cb.t, cb.a, cb.b, reinv)
        plan.send_response(cb.hop(), cb.b, cb.a, reinv, 200, extra=cb.b_contact(),
                           body=cb.answer_sdp(theirs))  # fmt: skip
        plan.send_request(cb.hop(), cb.a, cb.b, cb.in_dialog("ACK"))
    return (on, off)


def _media(cb: CallBuilder, answered: int, ended: int, held: tuple[int, int] | None) -> None:
    """RTP both ways from the answer to the BYE; the held party stops while on hold."""
    rng = cb.rng
    a_periods = ((answered + cb.spec.latency, ended),)
    b_periods: tuple[tuple[int, int], ...] = ((answered, ended),)
    if held is not None:
        b_periods = ((answered, held[0]), (held[1], ended))
    for src, sport, dst, dport, periods in (
        (cb.a, cb.a_rtp, cb.b, cb.b_rtp, a_periods),
        (cb.b, cb.b_rtp, cb.a, cb.a_rtp, b_periods),
    ):
        cb.plan.media.append(
            MediaStream(
                src=src, src_port=sport, dst=dst, dst_port=dport, codec=cb.codec,
                intervals=periods, ssrc=rng.getrandbits(32), seq=rng.getrandbits(16),
                timestamp=rng.getrandbits(32),
            )
        )  # fmt: skip


def pick_outcome(rng: random.Random, *, transport: str, challenges: bool) -> str:
    """An outcome from CALL_MIX that the call can have: a retransmitted INVITE needs UDP
    (RFC 3261 §17.1.1.2: no retransmission over reliable transports), a 407 needs a
    server that challenges; otherwise "answered"."""
    outcome = rng.choices(_OUTCOMES, weights=_WEIGHTS)[0]
    return outcome if compatible(outcome, transport=transport, challenges=challenges) else (
        "answered")  # fmt: skip


def compatible(outcome: str, *, transport: str, challenges: bool) -> bool:
    """Whether a call over ``transport`` to a (non-)challenging server can have ``outcome``."""
    if outcome == "retransmitted":
        return transport == "udp"
    return outcome != "auth_answered" or challenges
