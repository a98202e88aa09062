"""The blocklist and IOC queries: alerts read from the store, feeds built by
report/feeds.py (the decisions are there).

SQL selects the alerts that can matter (by time, and not triaged false positive); the
evidence is JSON whose shape is each rule's own, so the IPs, numbers and user agents in
it are picked out in Python, identically on SQLite and PostgreSQL.

``now`` is the caller's: the wall clock for a live feed (alerts of a live service carry
event times close to it), or the newest event time when the alerts come from an old
capture (else every entry would have expired long ago).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from calltrace.report.feeds import DEFAULT_TTL, BlockEntry, Ioc, build_blocklist, build_iocs
from calltrace.store import schema


def _alerts(
    engine: sa.Engine,
    *,
    since: float | None,
    until: float | None,
    rules: Sequence[str] | None,
) -> list[dict[str, Any]]:
    alerts = schema.alerts
    query = (
        sa.select(alerts)
        .where(alerts.c.status != "false_positive")
        .order_by(alerts.c.last_seen, alerts.c.id)
    )
    if since is not None:
        query = query.where(alerts.c.last_seen >= since)
    if until is not None:
        query = query.where(alerts.c.first_seen < until)
    if rules:
        query = query.where(alerts.c.rule.in_(list(rules)))
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def blocklist(
    engine: sa.Engine,
    *,
    now: float,
    ttl: float = DEFAULT_TTL,
    exclude: Sequence[str] = (),
    rules: Sequence[str] | None = None,
) -> list[BlockEntry]:
    """Addresses blocked at ``now``: from alerts seen within ``ttl`` before it."""
    rows = _alerts(engine, since=now - ttl, until=None, rules=rules)
    return build_blocklist(rows, now=now, ttl=ttl, exclude=exclude)


def iocs(
    engine: sa.Engine,
    *,
    since: float | None = None,
    until: float | None = None,
    rules: Sequence[str] | None = None,
) -> list[Ioc]:
    """Indicators named by the alerts active in [since, until) (all when unbounded)."""
    return build_iocs(_alerts(engine, since=since, until=until, rules=rules))
