"""Threat level of a B-number from its recent history (``/acm/threat``, ``/acm/threats``).

Two things raise a B-number's level, and the higher one wins:

- its masking window now: ``distinct_a_count`` against ``threshold`` (>= 2x threshold:
  critical, >= threshold: high, >= 60 %: medium, >= 40 %: low), so a burst building up is
  visible before it fires;
- its risk score (calltrace.detect.scoring: the alerts on it, decaying with a half-life):
  >= 80 critical, >= 50 high, >= 20 medium, >= 1 low.

"Now" is event time, the newest event the service has seen (the engine's clock), so the
answer for a replayed day is the same as it was live. ``recent_alerts`` counts the stored
alerts on the number whose evidence reaches into the last 24 hours of wall-clock time.
"""

from __future__ import annotations

import math
import time
from typing import Any

from starlette.concurrency import run_in_threadpool

from calltrace.api.service import AcmService
from calltrace.store.acm import recent_alert_counts

LEVELS = ("none", "low", "medium", "high", "critical")
RECENT_SECONDS = 86_400.0


def level(distinct: int, threshold: int, risk: int) -> str:
    """The level of a window count and a risk score.

    >>> level(0, 5, 0), level(2, 5, 0), level(3, 5, 0), level(5, 5, 0), level(10, 5, 0)
    ('none', 'low', 'medium', 'high', 'critical')
    >>> level(0, 5, 55)
    'high'
    """
    by_window = 0
    if distinct >= 2 * threshold:
        by_window = 4
    elif distinct >= threshold:
        by_window = 3
    elif distinct >= math.ceil(0.6 * threshold):
        by_window = 2
    elif distinct >= math.ceil(0.4 * threshold):
        by_window = 1
    by_risk = 4 if risk >= 80 else 3 if risk >= 50 else 2 if risk >= 20 else 1 if risk >= 1 else 0
    return LEVELS[max(by_window, by_risk)]


async def threat(service: AcmService, b_number: str) -> dict[str, Any]:
    """One B-number's threat."""
    recent = await _recent_alerts(service, b_number)
    return _threat(service, b_number, recent.get(b_number, (0, None)))


async def threats(service: AcmService) -> list[dict[str, Any]]:
    """Every B-number above ``none``, highest level and score first."""
    recent = await _recent_alerts(service, None)
    masking = service.masking
    candidates = set(masking.active_keys() if masking is not None else ())
    candidates.update(r.entity for r in service.engine.risk.all() if r.entity_type == "b_number")
    found = [_threat(service, b, recent.get(b, (0, None))) for b in sorted(candidates)]
    found = [t for t in found if t["level"] != "none"]
    found.sort(key=lambda t: (-LEVELS.index(t["level"]), -t["risk_score"], t["b_number"]))
    return found


def _threat(service: AcmService, b_number: str, recent: tuple[int, str | None]) -> dict[str, Any]:
    acm = service.settings.acm
    masking = service.masking
    calls, distinct = (0, 0) if masking is None else masking.window_counts(b_number)
    now = masking.newest() if masking is not None else None
    risk = service.engine.risk.get("b_number", b_number, at=now).score
    return {
        "b_number": b_number,
        "level": level(distinct, acm.threshold, risk),
        "risk_score": risk,
        "call_count": calls,
        "distinct_a_count": distinct,
        "window_seconds": acm.window_seconds,
        "threshold": acm.threshold,
        "recent_alerts": recent[0],
        "last_alert_id": recent[1],
    }


async def _recent_alerts(
    service: AcmService, b_number: str | None
) -> dict[str, tuple[int, str | None]]:
    """Per B-number: alerts of the last day and the newest one's id."""
    since = time.time() - RECENT_SECONDS
    return await run_in_threadpool(
        service.store.read, lambda conn: recent_alert_counts(conn, since=since, entity=b_number)
    )
