"""The Alert record and its deterministic id."""

from __future__ import annotations

import hashlib

from calltrace.model import alert_id


def test_alert_id_is_a_hash_of_rule_entity_and_microseconds() -> None:
    """The id is the first 16 hex digits of SHA-256 over rule, entity and first_seen in µs."""
    text = "multicall_masking\x1f+15550999\x1f1767603600250000"
    expected = hashlib.sha256(text.encode()).hexdigest()[:16]
    assert alert_id("multicall_masking", "+15550999", 1767603600.25) == expected


def test_alert_id_changes_with_each_part() -> None:
    """Another rule, entity or first-seen microsecond gives another id."""
    base = alert_id("r", "e", 1.0)
    assert (
        len(
            {base, alert_id("r2", "e", 1.0), alert_id("r", "e2", 1.0), alert_id("r", "e", 1.000001)}
        )
        == 4
    )
