"""``auth_bruteforce``: failed digest authentications per source IP and per user.

A password guesser (svcrack, and the REGISTER floods of the sip-attacks corpus) sends
credentials that the server rejects: 401/407 again, or 403 (RFC 3261 §22.2). The trace
layer turns each rejected credential into an ``AUTH_FAILURE`` call event (every guess of
svcrack counts, even on one CSeq); event files and CDRs give them too. The defaults are
fail2ban's (``maxretry = 5`` within ``findtime = 10m``): five failures within ten minutes
are not a user mistyping once. Counted two ways:

- per source IP: one address guessing (the usual attack);
- per user (the account, else the A-number): a guess at one user spread over many
  addresses, each under the per-source threshold. The alert then names the source of the
  failure that crossed the threshold, with every source in the evidence; each further
  source of the same campaign gets its own alert. (Partitioned by source IP, this half
  only sees its partition's share of a user: documented in docs/rules.md.)

High from ``max_failures``, critical from ``critical_failures`` (50).
"""

from __future__ import annotations

from calltrace.detect.base import Item
from calltrace.detect.registry import register
from calltrace.detect.rules._signalling import WindowedRule, capped, graded, tally
from calltrace.detect.windows import SlidingWindow
from calltrace.model import Alert, CallEvent, CallEventType

_FAILURE = CallEventType.AUTH_FAILURE


@register
class AuthBruteforce(WindowedRule):
    """>= ``max_failures`` failed authentications from one source IP, or against one
    user, within ``window`` seconds (fail2ban's 5 in 10 min); critical from
    ``critical_failures``.

    >>> from calltrace.model import CallEvent, CallEventType
    >>> rule = AuthBruteforce()
    >>> alerts = [a for i in range(5) for a in rule.observe(CallEvent(
    ...     type=CallEventType.AUTH_FAILURE, ts=60.0 * i, a_number="1000",
    ...     source_ip="203.0.113.9", status=401, call_id=f"r{i}"))]
    >>> [(a.entity, a.severity, a.evidence["failures"], a.evidence["scope"]) for a in alerts]
    [('203.0.113.9', 'high', 5, 'source')]
    """

    rule_id = "auth_bruteforce"
    doc = (
        "Digest authentication brute force (svcrack): at least max_failures failed "
        "authentications (AUTH_FAILURE events, REGISTER and INVITE) from one source IP, or "
        "against one user from several sources, within window seconds (fail2ban: 5 in 10 "
        "min); critical from critical_failures. Entity: the source IP."
    )
    entity_type = "source_ip"
    severity = "high"
    cooldown = 600.0
    _window_names = ("_by_source", "_by_user")

    def __init__(
        self,
        *,
        max_failures: int = 5,
        critical_failures: int = 50,
        window: float = 600.0,
        allowed_lateness: float = 1.0,
    ) -> None:
        self.max_failures = max_failures
        self.critical_failures = critical_failures
        self.window = window
        self.allowed_lateness = allowed_lateness
        self._by_source: SlidingWindow | None = None
        self._by_user: SlidingWindow | None = None

    def partition_key(self, item: Item) -> str | None:
        if type(item) is CallEvent and item.type is _FAILURE:
            return item.source_ip
        return None

    def observe(self, item: Item) -> list[Alert]:
        if type(item) is not CallEvent or item.type is not _FAILURE or not item.source_ip:
            return []
        source, user, ts = item.source_ip, item.account or item.a_number, item.ts
        failure = (user, item.call_id, item.status)
        by_source = self.sliding("_by_source", self.window, distinct=False)
        count = by_source.add(source, ts, user, failure)
        if count >= self.max_failures and self._due(source, ts, count):
            alert = self._alert(source, "source", by_source.last_entries())
        else:
            alert = None
        if user:  # counted either way, so a user's share is never missed
            by_user = self.sliding("_by_user", self.window, distinct=False)
            count = by_user.add(user, ts, source, failure)
            if alert is None and count >= self.max_failures and self._due(source, ts, count):
                alert = self._alert(source, "user", by_user.last_entries())
        return [] if alert is None else [alert]

    def _due(self, source: str, ts: float, count: int) -> bool:
        """Once per window per source and level: reaching critical alerts again."""
        level = "critical" if count >= self.critical_failures else "high"
        return self.due(f"{source}\x1f{level}", ts, self.window)

    def _alert(self, source: str, scope: str, entries: list[tuple[float, object, object]]) -> Alert:
        failures = [f for _, _, f in entries if isinstance(f, tuple)]
        count = len(entries)
        call_ids = tuple(dict.fromkeys(str(f[1]) for f in failures if f[1] is not None))
        critical = count >= self.critical_failures
        target = f"user {failures[-1][0]}" if scope == "user" else source
        return self.alert(
            entity=source,
            first_seen=entries[0][0],
            last_seen=entries[-1][0],
            title=f"{count} failed authentications ({target}) within {self.window:g} s",
            score=graded(count, self.max_failures, self.critical_failures, low=70, high=100),
            severity="critical" if critical else None,
            call_ids=tuple(capped(call_ids)),
            evidence={
                "scope": scope,
                "failures": count,
                "users": tally(f[0] for f in failures if f[0]),
                "sources": tally(v for _, v, _ in entries) if scope == "user" else {source: count},
                "statuses": tally(f[2] for f in failures),
                "max_failures": self.max_failures,
                "critical_failures": self.critical_failures,
                "window": self.window,
            },
        )
