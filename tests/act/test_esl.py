"""The Event Socket client against a server speaking the documented ESL protocol
(tests/act/eslserver.py; FreeSWITCH itself is not packaged here)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from calltrace.act import calls_to_end
from calltrace.act.esl import EslClient, EslError
from calltrace.detect.rules.multicall_masking import MulticallMasking
from calltrace.model import CallEvent, CallEventType
from tests.act.eslserver import FakeSwitch

T0_US = 1767603600_000000  # 2026-01-05T09:00:00Z in µs, as Event-Date-Timestamp counts


def channel(uuid: str, a: str, *, us: int = T0_US, direction: str = "inbound") -> dict[str, str]:
    """CHANNEL_CREATE headers as FreeSWITCH sends them (values here before URL-encoding)."""
    return {
        "Event-Name": "CHANNEL_CREATE",
        "Core-UUID": "8b192020-7368-4498-9b11-cbe10f48a784",
        "FreeSWITCH-Hostname": "fs1.example.org",
        "FreeSWITCH-Switchname": "fs1",
        "Event-Date-Timestamp": str(us),
        "Unique-ID": uuid,
        "Call-Direction": direction,
        "Caller-Caller-ID-Name": "John Doe",
        "Caller-Caller-ID-Number": a,
        "Caller-Destination-Number": "+15550100",
        "Caller-Network-Addr": "192.0.2.10",
        "Caller-Username": "1000",
        "variable_sip_user_agent": "Zoiper rv2.10.11 (Linux)",
        "variable_sip_call_id": f"sip-{uuid}@192.0.2.10",
    }


def with_switch(
    body: Callable[[FakeSwitch, int], Awaitable[None]], password: str = "ClueCon"
) -> FakeSwitch:
    async def scenario() -> FakeSwitch:
        switch = FakeSwitch(password)
        port = await switch.start()
        try:
            await asyncio.wait_for(body(switch, port), 10)
        finally:
            await switch.stop()
        return switch

    return asyncio.run(scenario())


async def take(client: EslClient, n: int) -> list[CallEvent]:
    out: list[CallEvent] = []
    async for event in client.call_events():
        out.append(event)
        if len(out) == n:
            break
    return out


def test_connect_authenticates_and_subscribes_to_channel_events() -> None:
    """The client answers the greeting with the password and asks for the three events."""

    async def body(switch: FakeSwitch, port: int) -> None:
        client = await EslClient.connect("127.0.0.1", port, "s3cret")
        await client.close()

    switch = with_switch(body, password="s3cret")
    assert switch.commands == [
        "auth s3cret",
        "event plain CHANNEL_CREATE CHANNEL_ANSWER CHANNEL_HANGUP",
    ]


def test_a_wrong_password_is_refused() -> None:
    """-ERR invalid to auth raises EslError naming it."""

    async def body(switch: FakeSwitch, port: int) -> None:
        with pytest.raises(EslError, match="-ERR invalid"):
            await EslClient.connect("127.0.0.1", port, "wrong")

    with_switch(body)


def test_nothing_listening_raises_esl_error() -> None:
    """A refused connection is an EslError, not an OSError."""

    async def scenario() -> None:
        with pytest.raises(EslError, match="cannot connect"):
            await EslClient.connect("127.0.0.1", 9, timeout=2.0)

    asyncio.run(scenario())


def test_channel_events_become_call_events() -> None:
    """Create, answer, hangup of an inbound leg: attempt, answer, end with the fields
    decoded; the outbound leg of the bridge is not a second call."""
    seen: list[CallEvent] = []

    async def body(switch: FakeSwitch, port: int) -> None:
        client = await EslClient.connect("127.0.0.1", port)
        created = channel("u-1", "+15550201")
        await switch.emit(created)
        await switch.emit(channel("u-1b", "+15550201", direction="outbound"))
        answered = {**created, "Event-Name": "CHANNEL_ANSWER",
                    "Event-Date-Timestamp": str(T0_US + 2_000_000)}  # fmt: skip
        await switch.emit(answered)
        await switch.emit({**answered, "Event-Name": "CHANNEL_HANGUP",
                           "Event-Date-Timestamp": str(T0_US + 32_500_000),
                           "Caller-Channel-Answered-Time": str(T0_US + 2_000_000),
                           "Caller-Channel-Hangup-Time": str(T0_US + 32_500_000),
                           "Hangup-Cause": "NORMAL_CLEARING",
                           "variable_sip_term_status": "200"})  # fmt: skip
        seen.extend(await take(client, 3))
        await client.close()

    with_switch(body)
    attempt, answer, end = seen
    assert attempt == CallEvent(
        type=CallEventType.ATTEMPT, ts=1767603600.0, call_id="u-1", a_number="+15550201",
        b_number="+15550100", source_ip="192.0.2.10", user_agent="Zoiper rv2.10.11 (Linux)",
        switch_id="fs1", direction="inbound", account="1000", source="esl",
    )  # fmt: skip
    assert (answer.type, answer.ts) == (CallEventType.ANSWER, 1767603602.0)
    assert (end.type, end.ts, end.duration, end.status) == (
        CallEventType.END, 1767603632.5, 30.5, 200)  # fmt: skip


@pytest.mark.parametrize(
    ("cause", "extra", "expected"),
    [
        ("ORIGINATOR_CANCEL", {}, (CallEventType.CANCEL, None)),
        ("USER_BUSY", {"variable_sip_term_status": "486"}, (CallEventType.REJECT, 486)),
    ],
)
def test_unanswered_hangups_are_cancel_or_reject(
    cause: str, extra: dict[str, str], expected: tuple[Any, Any]
) -> None:
    """Unanswered: a cancel when the caller gave up, else a reject with its SIP status."""
    seen: list[CallEvent] = []

    async def body(switch: FakeSwitch, port: int) -> None:
        client = await EslClient.connect("127.0.0.1", port)
        await switch.emit({**channel("u-2", "+1"), "Event-Name": "CHANNEL_HANGUP",
                           "Hangup-Cause": cause, **extra})  # fmt: skip
        seen.extend(await take(client, 1))
        await client.close()

    with_switch(body)
    assert (seen[0].type, seen[0].status) == expected and seen[0].duration is None


def test_a_masking_burst_over_esl_is_detected_and_its_channels_killed() -> None:
    """Five callers to one number in 2 s over ESL: the rule fires, uuid_kill ends all five,
    each channel's hangup comes back; an unknown UUID is not found."""
    rule = MulticallMasking()
    results: dict[str, Any] = {}

    async def body(switch: FakeSwitch, port: int) -> None:
        client = await EslClient.connect("127.0.0.1", port)
        for i in range(5):
            await switch.emit(channel(f"u-{i}", f"+1555020{i}", us=T0_US + i * 500_000))
        alerts = [a for e in await take(client, 5) for a in rule.observe(e)]
        (alert,) = alerts
        results["alert"] = alert
        results["end"] = await client.end_calls([*calls_to_end(alert), "u-unknown"])
        hangups = await take(client, 5)
        results["hangups"] = sorted((e.call_id, e.type) for e in hangups)
        await client.close()

    switch = with_switch(body)
    uuids = [f"u-{i}" for i in range(5)]
    assert results["alert"].call_ids == tuple(uuids)
    assert results["end"].ended == tuple(uuids) and results["end"].not_found == ("u-unknown",)
    assert results["hangups"] == [(u, CallEventType.REJECT) for u in uuids]
    assert [c for c in switch.commands if c.startswith("api")] == [
        *(f"api uuid_kill {u} CALL_REJECTED" for u in uuids),
        "api uuid_kill u-unknown CALL_REJECTED",
    ]
    assert switch.channels == {}


def test_unknown_commands_raise() -> None:
    """An api command the switch refuses with -ERR raises EslError."""

    async def body(switch: FakeSwitch, port: int) -> None:
        client = await EslClient.connect("127.0.0.1", port)
        with pytest.raises(EslError, match="command not found"):
            await client.api("status")
        await client.close()

    with_switch(body)
