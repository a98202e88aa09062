"""Blocklist and IOC builders: which addresses, until when, in which shape."""

from __future__ import annotations

from typing import Any

from calltrace.report.feeds import (
    blocklist_json,
    blocklist_text,
    build_blocklist,
    build_iocs,
    iocs_json,
    source_ips,
)

T0 = 1767603600.0  # 2026-01-05T09:00:00Z


def row(
    id: str, rule: str, entity_type: str, entity: str, last: float, **kw: Any
) -> dict[str, Any]:
    return {"id": id, "rule": rule, "severity": kw.pop("severity", "high"),
            "score": kw.pop("score", 60), "entity_type": entity_type, "entity": entity,
            "first_seen": last - 10, "last_seen": last, "status": kw.pop("status", "new"),
            "evidence": kw.pop("evidence", {})}  # fmt: skip


def test_source_ips_come_from_the_entity_and_source_keys_only() -> None:
    """Entity and source-named evidence keys count; dest_ip (the victim) and junk do not."""
    alert = row("a", "scan", "source_ip", "198.51.100.9", T0, evidence={
        "dest_ip": "203.0.113.1",
        "attempts": [{"src_ip": "198.51.100.10"}, {"src_ip": "not-an-ip"}],
        "source_ips": ["198.51.100.9", "2001:DB8:0:0::7"],
    })  # fmt: skip
    assert [str(ip) for ip in source_ips(alert)] == ["198.51.100.9", "198.51.100.10", "2001:db8::7"]


def test_entries_merge_alerts_and_expire_ttl_after_the_newest() -> None:
    """Two alerts on one IP make one entry ending ttl after the later; an old one is gone."""
    alerts = [
        row("a1", "scan", "source_ip", "192.0.2.7", T0, score=50, severity="medium"),
        row("a2", "brute_force", "source_ip", "192.0.2.7", T0 + 100, score=90),
        row("a3", "scan", "source_ip", "192.0.2.8", T0 - 4000),
    ]
    (entry,) = build_blocklist(alerts, now=T0 + 200, ttl=3600)
    assert (entry.ip, entry.expires, entry.first_seen) == ("192.0.2.7", T0 + 3700, T0 - 10)
    assert (entry.rules, entry.alert_ids) == (("brute_force", "scan"), ("a1", "a2"))
    assert (entry.severity, entry.score) == ("high", 90)
    assert build_blocklist(alerts, now=T0 + 3700, ttl=3600) == []


def test_false_positives_and_excluded_networks_are_never_blocked() -> None:
    """A false-positive alert blocks nothing; an address inside exclude is left out."""
    alerts = [
        row("a1", "scan", "source_ip", "192.0.2.7", T0, status="false_positive"),
        row("a2", "scan", "source_ip", "10.1.2.3", T0),
        row("a3", "scan", "source_ip", "2001:db8::5", T0),
        row("a4", "scan", "source_ip", "192.0.2.200", T0),
    ]
    entries = build_blocklist(alerts, now=T0, exclude=["10.0.0.0/8", "2001:db8::/32"])
    assert [e.ip for e in entries] == ["192.0.2.200"]


def test_plain_text_sorts_numerically_ipv4_first() -> None:
    """One address per line: 9 before 10 (numeric, not text order), IPv4 before IPv6."""
    alerts = [row(f"a{ip}", "scan", "source_ip", ip, T0)
              for ip in ("2001:db8::1", "192.0.2.10", "192.0.2.9")]  # fmt: skip
    assert blocklist_text(build_blocklist(alerts, now=T0)) == "192.0.2.9\n192.0.2.10\n2001:db8::1\n"
    assert blocklist_text([]) == ""


def test_json_feed_lists_entries_with_iso_times() -> None:
    """The JSON feed carries generation time, ttl, count and each entry's ISO expiry."""
    entries = build_blocklist([row("a1", "scan", "source_ip", "192.0.2.7", T0)], now=T0, ttl=60)
    feed = blocklist_json(entries, now=T0, ttl=60)
    assert feed["generated"] == "2026-01-05T09:00:00.000000Z" and feed["count"] == 1
    assert feed["entries"][0] == {
        "ip": "192.0.2.7", "first_seen": "2026-01-05T08:59:50.000000Z",
        "last_seen": "2026-01-05T09:00:00.000000Z", "expires": "2026-01-05T09:01:00.000000Z",
        "rules": ["scan"], "alert_ids": ["a1"], "severity": "high", "score": 60,
    }  # fmt: skip


def test_iocs_name_ips_user_agents_and_numbers() -> None:
    """A masking alert gives its B-number and A-numbers; a scan its IP and user agent."""
    alerts = [
        row("m1", "multicall_masking", "b_number", "+15550100", T0,
            evidence={"a_numbers": ["+15550201", "+15550202"],
                      "calls": [{"a_number": "+15550201", "call_id": "c1"}]}),
        row("s1", "scan", "source_ip", "192.0.2.7", T0 + 5,
            evidence={"user_agent": "friendly-scanner"}),
    ]  # fmt: skip
    iocs = build_iocs(alerts)
    assert [(i.type, i.value, i.alert_ids) for i in iocs] == [
        ("ip", "192.0.2.7", ("s1",)),
        ("number", "+15550100", ("m1",)),
        ("number", "+15550201", ("m1",)),
        ("number", "+15550202", ("m1",)),
        ("user_agent", "friendly-scanner", ("s1",)),
    ]
    assert iocs_json(iocs[:1])[0]["last_seen"] == "2026-01-05T09:00:05.000000Z"
