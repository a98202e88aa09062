"""What each kind of target is sent for one alert: pure builders, alert in, payload out.

Every payload carries the alert's id, rule, severity, score, entity and times, so a
person reading a chat message or an e-mail can find the alert in CallTrace, and a
program reading the webhook gets the alert exactly as the JSON document lists it
(report/jsondoc.py ``alert_json``, docs/json.md).

- webhook: ``{"event": "alert", "text": ..., "alert": {...}}`` (the JSON document's alert).
- Slack: an incoming-webhook message, ``text`` plus Block Kit ``blocks`` (Slack API,
  "Sending messages using incoming webhooks").
- Teams: a message with one Adaptive Card attachment, the format of Teams' Workflows
  ("Post to a channel when a webhook request is received"), which replaces the retired
  Office 365 connectors' MessageCard.
- Webex: ``{"markdown": ...}``, the body of a Webex incoming webhook.
- e-mail: a subject and a plain-text body.

>>> from calltrace.model import Alert
>>> alert = Alert(id="b3e50dbe48ba4a30", rule="multicall_masking", severity="high",
...               score=60, title="5 callers to +15550999 in 5 s", entity_type="b_number",
...               entity="+15550999", first_seen=1767603600.0, last_seen=1767603602.0)
>>> subject(alert)
'[CallTrace HIGH] multicall_masking: 5 callers to +15550999 in 5 s'
"""

from __future__ import annotations

from typing import Any

from calltrace.model import Alert
from calltrace.report.jsondoc import alert_json, iso

#: Colours of severities in chat cards (Slack attachments' hex, Adaptive Card styles).
_TEAMS_STYLE = {"critical": "attention", "high": "attention", "medium": "warning", "low": "good"}


def subject(alert: Alert) -> str:
    """One line: severity, rule and title (an e-mail subject, a chat message's first line)."""
    return f"[CallTrace {alert.severity.upper()}] {alert.rule}: {alert.title}"


def facts(alert: Alert) -> list[tuple[str, str]]:
    """The alert's fields a person needs, as (label, value) in reading order."""
    rows = [
        ("Alert", alert.id),
        ("Rule", alert.rule),
        ("Severity", alert.severity),
        ("Score", str(alert.score)),
        (alert.entity_type, alert.entity),
        ("First seen", iso(alert.first_seen) or ""),
        ("Last seen", iso(alert.last_seen) or ""),
    ]
    if alert.call_ids:
        shown = ", ".join(alert.call_ids[:10])
        more = len(alert.call_ids) - 10
        rows.append(("Calls", shown + (f" (+{more} more)" if more > 0 else "")))
    return rows


def text(alert: Alert) -> str:
    """Plain text: the subject, then one ``label: value`` line per fact."""
    return "\n".join([subject(alert), *(f"{k}: {v}" for k, v in facts(alert))])


def webhook_payload(alert: Alert) -> dict[str, Any]:
    return {"event": "alert", "text": subject(alert), "alert": alert_json(alert)}


def slack_payload(alert: Alert) -> dict[str, Any]:
    fields = [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in facts(alert)]
    return {
        "text": subject(alert),  # the notification text, and the fallback
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": subject(alert)[:150]}},
            # Block Kit allows at most 10 fields in a section
            {"type": "section", "fields": fields[:10]},
        ],
    }


def teams_payload(alert: Alert) -> dict[str, Any]:
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": subject(alert),
                "weight": "Bolder",
                "wrap": True,
                "color": _TEAMS_STYLE.get(alert.severity, "default"),
            },
            {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in facts(alert)]},
        ],
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
        ],
    }


def webex_payload(alert: Alert) -> dict[str, Any]:
    lines = [f"**{subject(alert)}**", *(f"- **{k}**: {v}" for k, v in facts(alert))]
    return {"markdown": "\n".join(lines)}


#: The JSON body for each HTTP kind of target.
PAYLOADS = {
    "webhook": webhook_payload,
    "slack": slack_payload,
    "teams": teams_payload,
    "webex": webex_payload,
}
