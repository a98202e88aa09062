"""``device_inconsistency``: one account used from different kinds of SIP device.

A stolen SIP password is used from the attacker's tool or softswitch, not from the
victim's desk phone: the account's REGISTERs and calls suddenly come with a User-Agent of
another SIP stack. The family compared is the enrichment's ``stack`` (Asterisk and
FreePBX are one family, a firmware upgrade keeps the family), else the vendor, else the
product token: so versions of one product are one family.
"""

from __future__ import annotations

from calltrace.detect.base import Detector, Item
from calltrace.detect.identity import Subscribers, account_of, rule_enricher, severity_for
from calltrace.detect.registry import register
from calltrace.detect.windows import SlidingWindow
from calltrace.enrich.useragent import UserAgentParser
from calltrace.model import Alert, CallEvent


@register
class DeviceInconsistency(Detector):
    """>= ``min_families`` user-agent families on one account within ``window`` seconds.

    >>> from calltrace.model import CallEventType
    >>> rule = DeviceInconsistency()
    >>> events = [CallEvent(type=CallEventType.REGISTER, ts=t, a_number="1001",
    ...                     user_agent=ua, call_id=f"r{t}")
    ...           for t, ua in [(0.0, "Yealink SIP-T46S 66.86.0.15"),
    ...                         (60.0, "Yealink SIP-T46S 66.86.0.20"),
    ...                         (120.0, "friendly-scanner")]]
    >>> [(a.entity, a.evidence["families"]) for e in events for a in rule.observe(e)]
    [('1001', ['yealink', 'scanner:sipvicious'])]
    """

    rule_id = "device_inconsistency"
    doc = (
        "One account seen with user agents of different SIP stack families (versions of "
        "one product are one family) within window seconds: a stolen password used from "
        "another device. Entity: the account, else the A-number (REGISTER: the user)."
    )
    entity_type = "account"
    severity = "medium"
    cooldown = 3600.0

    def __init__(
        self, *, min_families: int = 2, window: float = 3600.0, allowed_lateness: float = 1.0
    ) -> None:
        self.min_families = min_families
        self.window = window
        self.allowed_lateness = allowed_lateness
        self._seen: SlidingWindow | None = None
        self._parser: UserAgentParser | None = None
        self._subscribers: Subscribers | None = None

    def partition_key(self, item: Item) -> str | None:
        if type(item) is CallEvent and item.user_agent:
            return account_of(item)
        return None

    def state_size(self) -> int:
        subscribers = len(self._subscribers) if self._subscribers is not None else 0
        return subscribers + (0 if self._seen is None else self._seen.size)

    def late_events(self) -> int:
        return 0 if self._seen is None else self._seen.late

    def observe(self, item: Item) -> list[Alert]:
        if type(item) is not CallEvent or not item.user_agent:
            return []
        if self._subscribers is None:
            self._subscribers = Subscribers()
        account = self._subscribers.of(item)
        if not account:
            return []
        if self._seen is None or self._parser is None:
            self._seen = SlidingWindow(
                self.window, allowed_lateness=self.allowed_lateness, distinct=True
            )
            self._parser = rule_enricher().user_agents
        family = self._family(self._parser, item.user_agent)
        if self._seen.add(account, item.ts, family, item) < self.min_families:
            return []
        entries = self._seen.last_entries()
        families = list(dict.fromkeys(str(f) for _, f, _ in entries))
        agents: dict[str, list[str]] = {}
        for _, fam, event in entries:
            agents.setdefault(str(fam), [])
            if event.user_agent not in agents[str(fam)]:
                agents[str(fam)].append(event.user_agent)
        score = min(100, 60 + 15 * (len(families) - self.min_families))
        if any(f.startswith("scanner") for f in families):
            score = min(100, score + 20)
        return [
            self.alert(
                entity=account,
                first_seen=entries[0][0],
                last_seen=entries[-1][0],
                title=f"{account} used from {len(families)} device families: "
                + ", ".join(families),
                score=score,
                severity=severity_for(score),
                call_ids=tuple(dict.fromkeys(e.call_id for _, _, e in entries if e.call_id)),
                evidence={
                    "families": families,
                    "user_agents": agents,
                    "source_ips": list(
                        dict.fromkeys(e.source_ip for _, _, e in entries if e.source_ip)
                    ),
                    "window": self.window,
                },
            )
        ]

    @staticmethod
    def _family(parser: UserAgentParser, raw: str) -> str:
        info = parser.parse(raw)
        if info is None:
            return "unknown"
        if info.scanner:
            return f"scanner:{info.scanner}"
        if info.stack != "unknown":
            return info.stack
        return (info.vendor or info.product or raw).lower()
