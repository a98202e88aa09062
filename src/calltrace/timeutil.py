"""Turning what a user types for a time into event-time seconds.

>>> parse_time("2026-01-05T09:00:00Z")
1767603600.0
>>> parse_time("2026-01-05 09:00")
1767603600.0
>>> parse_time("1767603600.5")
1767603600.5
"""

from __future__ import annotations

from datetime import UTC, datetime


def parse_time(text: str) -> float:
    """Epoch seconds, or ISO 8601 (a time without a zone is taken as UTC).

    Raises ValueError with a message a user can act on.
    """
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        raise ValueError(
            f"not a time: {text!r} (use ISO 8601 like 2026-01-05T09:00:00Z, or epoch seconds)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
