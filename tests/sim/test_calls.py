"""Call, registration and OPTIONS flows: the ladders RFC 3261 prescribes, header by header."""

from __future__ import annotations

import random

import pytest

from calltrace.sim.calls import OUTCOME_STATE, CallSpec, plan_call
from calltrace.sim.dialog import NS, Endpoint, Plan
from calltrace.sim.regs import RegisterSpec, plan_options, plan_register

PHONE = Endpoint(ip="10.0.0.5", port=5060, mac=b"\x02" * 6, agent="Yealink SIP-T46S 66.86.0.15",
                 user="2001", codecs=("G722", "PCMU"), style="numeric")  # fmt: skip
PBX = Endpoint(ip="10.0.0.1", port=5060, mac=b"\x04" * 6, agent="Asterisk PBX 20.5.2",
               server=True, domain="pbx.example", codecs=("PCMU", "PCMA"),
               style="uuid")  # fmt: skip
T0 = 1_767_603_600 * NS


def _call(outcome: str, seed: int = 1, **kw: object) -> Plan:
    spec = CallSpec(caller=PHONE, callee=PBX, a_number="2001", b_number="+442079460123",
                    outcome=outcome, start=T0, **kw)  # type: ignore[arg-type]  # fmt: skip
    return plan_call(random.Random(seed), spec)


def _ladder(plan: Plan) -> list[str]:
    """'>' caller to callee, '<' back; then the start line's method or status."""
    out = []
    for _, src, _, raw in plan.messages:
        first = raw.split(b"\r\n", 1)[0].decode()
        word = first.split()[1] if first.startswith("SIP/2.0") else first.split()[0]
        out.append(("> " if src is PHONE else "< ") + word)
    return out


def _headers(raw: bytes) -> dict[str, str]:
    head = raw.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")[1:]
    return dict(line.split(": ", 1) for line in head)


LADDERS = {
    "busy": ["> INVITE", "< 100", "< 486", "> ACK"],
    "not_found": ["> INVITE", "< 100", "< 404", "> ACK"],
    "no_answer": ["> INVITE", "< 100", "< 180", "> CANCEL", "< 200", "< 487", "> ACK"],
    "auth_answered": ["> INVITE", "< 407", "> ACK", "> INVITE", "< 100", "< 180", "< 200",
                      "> ACK"],
    "early_media": ["> INVITE", "< 100", "< 183", "< 183", "< 200", "> ACK"],
    "retransmitted": ["> INVITE", "> INVITE", "< 100", "< 180", "< 200", "> ACK"],
    "answered": ["> INVITE", "< 100", "< 180", "< 200", "> ACK"],
}  # fmt: skip


@pytest.mark.parametrize("outcome", sorted(LADDERS))
def test_ladder_per_outcome(outcome: str) -> None:
    """Each outcome produces RFC 3261's message sequence (answered calls then end with BYE/200)."""
    ladder = _ladder(_call(outcome))
    want = LADDERS[outcome]
    assert ladder[: len(want)] == want
    if OUTCOME_STATE[outcome] == "completed":
        assert ladder[len(want) :] in (["> BYE", "< 200"], ["< BYE", "> 200"])


def test_hold_sends_two_reinvites() -> None:
    """A hold call re-INVITEs with a=sendonly and later a=sendrecv, each answered and ACKed."""
    for seed in range(20):
        plan = _call("hold", seed=seed)
        invites = [raw for _, _, _, raw in plan.messages if raw.startswith(b"INVITE")]
        if len(invites) == 3:
            break
    assert b"a=sendonly" in invites[1] and b"a=sendrecv" in invites[2]
    cseqs = [_headers(raw)["CSeq"] for raw in invites]
    assert cseqs == [
        f"{n} INVITE" for n in range(int(cseqs[0].split()[0]), int(cseqs[0].split()[0]) + 3)
    ]


def test_every_message_has_a_true_content_length() -> None:
    """Content-Length equals the body size in every message of every outcome."""
    for outcome in OUTCOME_STATE:
        for _, _, _, raw in _call(outcome).messages:
            head, body = raw.split(b"\r\n\r\n", 1)
            assert int(_headers(raw)["Content-Length"]) == len(body), (outcome, head[:40])


def test_non_2xx_ack_and_cancel_reuse_the_invite_branch() -> None:
    """ACK of a 487 and the CANCEL carry the INVITE's Via branch (RFC 3261 §9.1, §17.1.1.3)."""
    msgs = [raw for _, _, _, raw in _call("no_answer").messages]
    branch = _headers(msgs[0])["Via"]
    assert branch.split("branch=")[1].startswith("z9hG4bK")
    assert _headers(msgs[3])["Via"] == branch and _headers(msgs[-1])["Via"] == branch
    assert _headers(msgs[3])["CSeq"].split()[0] == _headers(msgs[0])["CSeq"].split()[0]


def test_2xx_ack_is_a_new_transaction() -> None:
    """The ACK of a 200 has a new branch and the 200's To tag (RFC 3261 §13.2.2.4)."""
    msgs = [raw for _, _, _, raw in _call("answered").messages]
    ok, ack = _headers(msgs[3]), _headers(msgs[4])
    assert ack["Via"] != _headers(msgs[0])["Via"]
    assert ack["To"] == ok["To"] and ";tag=" in ack["To"]


def test_retry_after_407_has_credentials_and_next_cseq() -> None:
    """The second INVITE adds Proxy-Authorization for the 407's realm and nonce, CSeq + 1."""
    msgs = [raw for _, _, _, raw in _call("auth_answered").messages]
    challenge, retry = _headers(msgs[1])["Proxy-Authenticate"], _headers(msgs[3])
    nonce = challenge.split('nonce="')[1].split('"')[0]
    assert f'nonce="{nonce}"' in retry["Proxy-Authorization"]
    assert int(retry["CSeq"].split()[0]) == int(_headers(msgs[0])["CSeq"].split()[0]) + 1


def test_retransmission_is_byte_identical_after_t1() -> None:
    """The resent INVITE is the same bytes 500 ms (T1) later."""
    plan = _call("retransmitted")
    (t1, _, _, a), (t2, _, _, b) = plan.messages[:2]
    assert a == b and t2 - t1 == 500_000_000 and plan.resent == 1


def test_messages_are_in_time_order_and_counted() -> None:
    """Plans are time-ordered and their request/response counters match their messages."""
    for outcome in OUTCOME_STATE:
        plan = _call(outcome, media=True)
        times = [m[0] for m in plan.messages]
        assert times == sorted(times)
        assert sum(plan.requests.values()) + sum(plan.responses.values()) == len(plan.messages)


def test_register_challenge_then_ok_then_refresh() -> None:
    """REGISTER, 401, REGISTER with Authorization, 200 with Contact expires; refreshes follow."""
    spec = RegisterSpec(client=PHONE, registrar=PBX, user="2001", start=T0, expires=120,
                        until=T0 + 200 * NS)  # fmt: skip
    plan = plan_register(random.Random(3), spec)
    words = [
        raw.split(b" ", 2)[1 if raw.startswith(b"SIP") else 0] for _, _, _, raw in plan.messages
    ]
    assert words[:4] == [b"REGISTER", b"401", b"REGISTER", b"200"]
    assert len(words) > 4 and words[-1] == b"200"
    assert "Authorization" in _headers(plan.messages[2][3])
    assert "expires=120" in _headers(plan.messages[3][3])["Contact"]
    assert len({_headers(raw)["Call-ID"] for _, _, _, raw in plan.messages}) == 1


def test_register_with_wrong_password_ends_in_403() -> None:
    """A failing registration is challenged, retried, and refused with 403."""
    spec = RegisterSpec(client=PHONE, registrar=PBX, user="2001", start=T0, outcome="failed")
    plan = plan_register(random.Random(3), spec)
    assert [raw[:12] for _, _, _, raw in plan.messages][-1] == b"SIP/2.0 403 "
    assert plan.responses == {401: 1, 403: 1}


def test_options_ping_and_answer() -> None:
    """OPTIONS gets a 200 with Allow from the pinged element."""
    plan = plan_options(random.Random(1), PBX, PHONE, T0)
    assert plan.messages[0][3].startswith(b"OPTIONS sip:10.0.0.5:5060 SIP/2.0\r\n")
    assert "Allow" in _headers(plan.messages[1][3])
    assert plan.messages[1][3].startswith(b"SIP/2.0 200 OK")
