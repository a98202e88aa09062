"""``geo_anomaly``: an account used from somewhere it cannot be, or has never been.

Two findings on the country of the source address (offline IP database, public
addresses only; private, CGNAT and documentation ranges say nothing about a place):

- ``impossible_travel``: two different countries for one account within ``window``
  seconds (default 1 h: no flight changes country and logs in again that fast; a
  stolen password used abroad while the owner is at home does);
- ``new_country``: a country the account has not been seen from, once the account has
  been known for ``learning`` seconds (default 7 days). What is learnt is bounded: at most
  ``max_countries`` per account (the least recently seen is forgotten), and an account
  idle for ``memory`` seconds is forgotten altogether.
"""

from __future__ import annotations

from calltrace.detect.base import Detector, Item
from calltrace.detect.identity import (
    IdleMap,
    Subscribers,
    account_of,
    rule_enricher,
    severity_for,
)
from calltrace.detect.registry import register
from calltrace.detect.windows import SlidingWindow
from calltrace.enrich.geo import IpIntel
from calltrace.model import Alert, CallEvent


@register
class GeoAnomaly(Detector):
    """Source country of an account changing within ``window`` s, or new after learning.

    >>> from calltrace.model import CallEventType
    >>> rule = GeoAnomaly()
    >>> events = [CallEvent(type=CallEventType.REGISTER, ts=t, a_number="alice",
    ...                     source_ip=ip, call_id=f"r{t}")
    ...           for t, ip in [(0.0, "81.2.69.142"), (1200.0, "77.88.8.8")]]
    >>> [(a.entity, a.evidence["countries"]) for e in events for a in rule.observe(e)]
    [('alice', ['GB', 'RU'])]
    """

    rule_id = "geo_anomaly"
    doc = (
        "An account's source country (offline IP database) changes within window seconds "
        "(impossible travel), or a country new to the account appears after a learning "
        "period. Entity: the account, else the A-number."
    )
    entity_type = "account"
    severity = "high"
    cooldown = 3600.0

    def __init__(
        self,
        *,
        window: float = 3600.0,
        learning: float = 7 * 86400.0,
        memory: float = 30 * 86400.0,
        max_countries: int = 16,
        allowed_lateness: float = 1.0,
    ) -> None:
        self.window, self.learning, self.memory = window, learning, memory
        self.max_countries = max_countries
        self.allowed_lateness = allowed_lateness
        self._recent: SlidingWindow | None = None
        self._known: IdleMap | None = None
        self._ips: IpIntel | None = None
        self._subscribers: Subscribers | None = None

    def partition_key(self, item: Item) -> str | None:
        if type(item) is CallEvent and item.source_ip:
            return account_of(item)
        return None

    def state_size(self) -> int:
        if self._recent is None or self._known is None:
            return 0
        subscribers = len(self._subscribers) if self._subscribers is not None else 0
        return self._recent.size + sum(len(v[1]) for v in self._known.data.values()) + subscribers

    def late_events(self) -> int:
        return 0 if self._recent is None else self._recent.late

    def observe(self, item: Item) -> list[Alert]:
        if type(item) is not CallEvent or not item.source_ip:
            return []
        if self._subscribers is None:
            self._subscribers = Subscribers()
        account = self._subscribers.of(item)
        if not account:
            return []
        if self._recent is None or self._known is None or self._ips is None:
            self._recent = SlidingWindow(
                self.window, allowed_lateness=self.allowed_lateness, distinct=True
            )
            self._known = IdleMap(self.memory)
            self._ips = rule_enricher().ips
        where = self._ips.lookup(item.source_ip)
        country = where.country if where is not None else None
        if not country:
            return []
        findings: list[str] = []
        if self._recent.add(account, item.ts, country, item) >= 2:
            findings.append("impossible_travel")
        if self._learn(account, item.ts, country):
            findings.append("new_country")
        if not findings:
            return []
        return [self._alert(account, item, country, findings)]

    def _learn(self, account: str, ts: float, country: str) -> bool:
        """Remember ``country`` for ``account``; True when it is new after learning."""
        assert self._known is not None
        state = self._known.get(account)
        if state is None:
            state = (ts, {})
        since, countries = state
        new = country not in countries and bool(countries) and ts - since >= self.learning
        countries[country] = max(ts, countries.get(country, ts))
        if len(countries) > self.max_countries:
            del countries[min(countries, key=countries.__getitem__)]
        self._known.put(account, ts, (min(since, ts), countries))
        return new

    def _alert(self, account: str, item: CallEvent, country: str, findings: list[str]) -> Alert:
        if "impossible_travel" in findings:
            assert self._recent is not None
            entries = self._recent.last_entries()
        else:
            entries = [(item.ts, country, item)]
        events = [e for _, _, e in entries]
        score = 80 if len(findings) == 2 else 70 if findings[0] == "impossible_travel" else 50
        countries = list(dict.fromkeys(str(c) for _, c, _ in entries if c))
        return self.alert(
            entity=account,
            first_seen=entries[0][0],
            last_seen=entries[-1][0],
            title=f"{account} seen from " + ", ".join(countries or ["a new country"]),
            score=score,
            severity=severity_for(score),
            call_ids=tuple(dict.fromkeys(e.call_id for e in events if e.call_id)),
            evidence={
                "findings": findings,
                "countries": countries,
                "sources": [{"ts": e.ts, "source_ip": e.source_ip} for e in events],
                "window": self.window,
            },
        )
