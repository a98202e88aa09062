"""``extension_enumeration``: one source probing many users and reading the answers.

svwar (SIPVicious) and its kin send REGISTER, INVITE or OPTIONS for user after user and
sort the answers: 404 means "no such user", 401/407 (challenged) or 403 means "exists".
The rule watches the *answers*: a response with one of ``statuses`` goes back to the
prober, so it counts, per response destination (``dst_ip``), the distinct users (the To
user, which a server copies from the request, RFC 3261 §8.2.6.2) answered that way. A
phone or PBX is answered for its own few users; ten users within a minute is a sweep.
Call events from other sources count too: a rejected or challenged attempt (its status
in ``statuses``) counts its B-number (REGISTER failures their A-number) for its source IP.
"""

from __future__ import annotations

from calltrace.detect.base import Item
from calltrace.detect.registry import register
from calltrace.detect.rules._signalling import WindowedRule, capped, foreign_event, tally
from calltrace.detect.windows import SlidingWindow
from calltrace.model import Alert, CallEvent, CallEventType, SipMessage
from calltrace.trace.transactions import user_of

_REGISTER_EVENTS = frozenset({CallEventType.AUTH_FAILURE, CallEventType.AUTH_CHALLENGE})


@register
class ExtensionEnumeration(WindowedRule):
    """>= ``min_users`` distinct users answered with a status in ``statuses`` to one
    prober (the responses' destination IP) within ``window`` seconds.

    >>> from calltrace.model import CallEvent, CallEventType
    >>> rule = ExtensionEnumeration()
    >>> alerts = [a for i in range(10) for a in rule.observe(CallEvent(
    ...     type=CallEventType.REJECT, ts=10.0 + i, a_number="x", b_number=str(990 + i),
    ...     source_ip="203.0.113.9", status=404, source="events"))]
    >>> [(a.entity, a.evidence["distinct_users"], a.evidence["statuses"]) for a in alerts]
    [('203.0.113.9', 10, {'404': 10})]
    """

    rule_id = "extension_enumeration"
    doc = (
        "Extension enumeration (svwar): one source is answered 404, 403, 401 or 407 for at "
        "least min_users distinct users (To user) within window seconds; responses are "
        "matched to the prober by their destination IP. Evidence lists the users and how "
        "each was answered (404: absent; 401/403/407: likely present)."
    )
    entity_type = "source_ip"
    severity = "medium"
    cooldown = 300.0
    consumes = (SipMessage, CallEvent)

    def __init__(
        self,
        *,
        min_users: int = 10,
        window: float = 60.0,
        statuses: tuple[int, ...] = (401, 403, 404, 407),
        allowed_lateness: float = 1.0,
    ) -> None:
        self.min_users = min_users
        self.window = window
        self.statuses = statuses
        self.allowed_lateness = allowed_lateness
        self._window: SlidingWindow | None = None

    def partition_key(self, item: Item) -> str | None:
        answer = self._answer(item)
        return None if answer is None else answer[0]

    def observe(self, item: Item) -> list[Alert]:
        answer = self._answer(item)
        if answer is None:
            return []
        prober, user, status = answer
        entries = self.tripped(prober, item.ts, user, status, self.min_users, distinct=True)
        return [] if entries is None else [self._alert(prober, entries)]

    def _answer(self, item: Item) -> tuple[str, str, int] | None:
        """(prober IP, user, status) of an answer that counts, else None."""
        if type(item) is SipMessage:
            status = item.status
            if item.is_request or status not in self.statuses:
                return None
            user = user_of(item.header("to"))
            return None if user is None else (item.packet.dst_ip, user, status)
        event = foreign_event(item)
        if event is None or event.status not in self.statuses or not event.source_ip:
            return None
        user = event.a_number if event.type in _REGISTER_EVENTS else event.b_number
        return None if not user else (event.source_ip, user, event.status)

    def _alert(self, prober: str, entries: list[tuple[float, object, object]]) -> Alert:
        answers = {str(user): status for _, user, status in entries}  # the latest per user
        count = len(answers)
        present = [u for u, s in answers.items() if s != 404]
        return self.window_alert(
            prober,
            entries,
            count=count,
            threshold=self.min_users,
            escalate=5,
            low=55,
            high=90,
            title=f"{prober} enumerated {count} users within {self.window:g} s",
            evidence={
                "distinct_users": count,
                "users": dict(capped(answers.items())),
                "statuses": tally(status for _, _, status in entries),
                "likely_present": capped(present),
                "min_users": self.min_users,
                "window": self.window,
            },
        )
