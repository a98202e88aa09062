"""Notifications against real receivers on loopback: HTTP kinds, e-mail, retries, counting."""

from __future__ import annotations

import asyncio
from email.message import Message

import pytest

from calltrace.notify.config import TargetConfig
from calltrace.notify.notifier import Delivery, Notifier
from calltrace.notify.targets import make_target
from tests.notify.conftest import HttpReceiver, SmtpReceiver, free_port, make_alert

ALERT = make_alert()
ALERT_ID = "b3e50dbe48ba4a30"  # model.alert_id's doctest value for this rule/entity/time


async def run(notifier: Notifier, *alerts: object) -> None:
    notifier.start()
    for alert in alerts:
        notifier.submit(alert)  # type: ignore[arg-type]
    await asyncio.wait_for(notifier.drain(), 10)
    await notifier.close()


class Waits:
    """A sleep that records the delays asked for and does not wait."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def http_target(kind: str, url: str, **kw: object) -> TargetConfig:
    return TargetConfig(kind=kind, name=kind, url=url, **kw)  # type: ignore[arg-type]


def test_webhook_receives_the_alert_as_the_json_document_lists_it(
    http_receiver: HttpReceiver,
) -> None:
    """The generic webhook POSTs the alert's id, rule, severity, score, entity and ISO times."""
    notifier = Notifier([make_target(http_target("webhook", http_receiver.url))])
    asyncio.run(run(notifier, ALERT))
    ((path, body),) = http_receiver.requests
    assert path == "/hook"
    assert body["event"] == "alert"
    alert = body["alert"]
    assert alert["id"] == ALERT_ID
    assert (alert["rule"], alert["severity"], alert["score"]) == ("multicall_masking", "high", 70)
    assert (alert["entity_type"], alert["entity"]) == ("b_number", "+15550100")
    assert alert["first_seen"] == "2026-01-05T09:00:00.000000Z"
    assert alert["last_seen"] == "2026-01-05T09:00:02.500000Z"
    assert alert["call_ids"] == ["c1", "c2"]
    assert alert["evidence"] == {"distinct_callers": 6}
    assert notifier.counters["webhook"].sent == 1


@pytest.mark.parametrize("kind", ["slack", "teams", "webex"])
def test_chat_kinds_carry_the_alert_fields(kind: str, http_receiver: HttpReceiver) -> None:
    """Slack, Teams and Webex messages name the alert id, rule, severity and B-number."""
    asyncio.run(run(Notifier([make_target(http_target(kind, http_receiver.url))]), ALERT))
    ((_, body),) = http_receiver.requests
    text = str(body)
    for field in (ALERT_ID, "multicall_masking", "+15550100", "2026-01-05T09:00:02.500000Z"):
        assert field in text
    if kind == "slack":
        assert body["text"] == "[CallTrace HIGH] multicall_masking: 6 callers to +15550100 in 5 s"
    elif kind == "teams":
        card = body["attachments"][0]
        assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
        assert card["content"]["type"] == "AdaptiveCard"
    else:
        assert body["markdown"].startswith("**[CallTrace HIGH] multicall_masking")


def test_failing_receiver_is_retried_with_backoff_then_given_up(
    http_receiver: HttpReceiver,
) -> None:
    """A receiver answering 503 gets 1 + retries attempts, waits doubling, then counts failed."""
    http_receiver.statuses = [503]
    waits, outcomes = Waits(), []
    target = make_target(http_target("webhook", http_receiver.url, retries=3))
    notifier = Notifier([target], backoff=0.5, sleep=waits, on_outcome=outcomes.append)
    asyncio.run(run(notifier, ALERT))
    assert len(http_receiver.requests) == 4
    assert waits.delays == [0.5, 1.0, 2.0]
    counters = notifier.counters["webhook"]
    assert (counters.sent, counters.failed, counters.retried) == (0, 1, 3)
    assert counters.last_error == "HTTP 503"
    assert outcomes == [
        Delivery(target="webhook", alert_id=ALERT_ID, ok=False, attempts=4, error="HTTP 503")
    ]


def test_a_receiver_that_recovers_gets_the_alert(http_receiver: HttpReceiver) -> None:
    """503, then 429, then 200: delivered on the third attempt, counted sent with two retries."""
    http_receiver.statuses = [503, 429, 200]
    waits = Waits()
    notifier = Notifier([make_target(http_target("webhook", http_receiver.url))], sleep=waits)
    asyncio.run(run(notifier, ALERT))
    counters = notifier.counters["webhook"]
    assert (counters.sent, counters.failed, counters.retried) == (1, 0, 2)
    assert waits.delays == [1.0, 2.0]


def test_a_client_error_is_not_retried(http_receiver: HttpReceiver) -> None:
    """A 404 (wrong URL) will never pass: one attempt, counted failed, no wait."""
    http_receiver.statuses = [404]
    waits = Waits()
    notifier = Notifier([make_target(http_target("webhook", http_receiver.url))], sleep=waits)
    asyncio.run(run(notifier, ALERT))
    assert len(http_receiver.requests) == 1 and waits.delays == []
    assert notifier.counters["webhook"].failed == 1


def test_an_unreachable_receiver_is_retried_then_given_up() -> None:
    """Connection refused is retryable: retries + 1 attempts, then failed."""
    url = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    waits = Waits()
    target = make_target(http_target("webhook", url, retries=2, timeout=2.0))
    notifier = Notifier([target], sleep=waits)
    asyncio.run(run(notifier, ALERT))
    counters = notifier.counters["webhook"]
    assert (counters.failed, counters.retried, len(waits.delays)) == (1, 2, 2)
    assert counters.last_error is not None and "ConnectError" in counters.last_error


def test_targets_get_only_the_severities_and_rules_they_want(http_receiver: HttpReceiver) -> None:
    """A high-and-up target for one rule skips a medium alert and another rule's alert."""
    config = http_target(
        "webhook", http_receiver.url, min_severity="high", rules=frozenset({"multicall_masking"})
    )
    notifier = Notifier([make_target(config)])
    others = (make_alert("medium"), make_alert("critical", rule="other_rule"))
    asyncio.run(run(notifier, make_alert("critical"), *others))
    assert [body["alert"]["severity"] for _, body in http_receiver.requests] == ["critical"]
    assert notifier.counters["webhook"].queued == 1


def test_submit_never_blocks_and_drops_when_the_queue_is_full(http_receiver: HttpReceiver) -> None:
    """With the worker not running and a queue of 2, the third alert is dropped and counted."""

    async def scenario() -> Notifier:
        notifier = Notifier([make_target(http_target("webhook", http_receiver.url))], queue_size=2)
        assert [notifier.submit(ALERT) for _ in range(3)] == [1, 1, 0]
        assert http_receiver.requests == []  # nothing sent on the caller's time
        notifier.start()
        await asyncio.wait_for(notifier.drain(), 10)
        await notifier.close()
        return notifier

    counters = asyncio.run(scenario()).counters["webhook"]
    assert (counters.queued, counters.sent, counters.dropped) == (2, 2, 1)
    assert len(http_receiver.requests) == 2


def test_a_slow_target_does_not_hold_back_another(http_receiver: HttpReceiver) -> None:
    """While one target waits to retry, the other target's alert is delivered."""
    gate = asyncio.Event()

    async def held(seconds: float) -> None:
        await gate.wait()

    async def scenario() -> None:
        dead = make_target(http_target("webhook", f"http://127.0.0.1:{free_port()}/", retries=1))
        live = make_target(TargetConfig(kind="webhook", name="live", url=http_receiver.url))
        notifier = Notifier([dead, live], sleep=held)
        notifier.start()
        notifier.submit(ALERT)
        for _ in range(200):
            if notifier.counters["live"].sent:
                break
            await asyncio.sleep(0.01)
        assert notifier.counters["live"].sent == 1 and notifier.counters["webhook"].failed == 0
        gate.set()
        await asyncio.wait_for(notifier.drain(), 10)
        await notifier.close()
        assert notifier.counters["webhook"].failed == 1

    asyncio.run(scenario())


def _text(message: Message) -> str:
    parts = message.walk() if message.is_multipart() else [message]
    plain = [p for p in parts if p.get_content_type() == "text/plain"]
    payload = plain[0].get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def test_email_arrives_with_the_alert_fields(smtp_receiver: SmtpReceiver) -> None:
    """apprise delivers to a real SMTP server: subject names rule and title, body the fields."""
    config = TargetConfig(
        kind="email",
        name="soc",
        addresses=("soc@example.org", "noc@example.org"),
        smtp=f"127.0.0.1:{smtp_receiver.port}",
        sender="calltrace@example.org",
        security="insecure",
    )
    notifier = Notifier([make_target(config)])
    asyncio.run(run(notifier, ALERT))
    assert notifier.counters["soc"].sent == 1
    recipients = sorted(r for rcpts, _ in smtp_receiver.messages for r in rcpts)
    assert recipients == ["noc@example.org", "soc@example.org"]
    message = smtp_receiver.messages[0][1]
    assert message["Subject"] == (
        "[CallTrace HIGH] multicall_masking: 6 callers to +15550100 in 5 s"
    )
    assert message["From"] == "calltrace@example.org"
    body = _text(message)
    for line in (
        f"Alert: {ALERT_ID}",
        "Score: 70",
        "b_number: +15550100",
        "First seen: 2026-01-05T09:00:00.000000Z",
        "Calls: c1, c2",
    ):
        assert line in body


def test_email_to_a_dead_server_is_retried_then_given_up() -> None:
    """No SMTP server listening: apprise fails, the notifier retries and counts it failed."""
    smtp = f"127.0.0.1:{free_port()}"
    config = TargetConfig(kind="email", name="soc", addresses=("soc@example.org",), smtp=smtp,
                          security="insecure", retries=1)  # fmt: skip
    waits = Waits()
    notifier = Notifier([make_target(config)], sleep=waits)
    asyncio.run(run(notifier, ALERT))
    assert (notifier.counters["soc"].failed, waits.delays) == (1, [1.0])
