"""Feeds built from alerts: a blocklist of attacking IPs and the indicators (IOCs).

Pure builders: alerts in (stored rows or ``record_dict(alert)``: mappings with the
fields of :class:`~calltrace.model.Alert`, plus ``status`` when stored), feeds out.
``store/feeds.py`` reads the alerts; the API serves the text.

Blocklist decisions (issue 5's auto-block):

- **Which IPs**: the entity of an alert whose ``entity_type`` is ``source_ip``, and every
  IP its evidence gives under a key that names a *source* (:data:`SOURCE_IP_KEYS`, at any
  depth, in lists too). Destination addresses in evidence are never taken: they are the
  victim (your PBX), and blocking them would finish the attacker's work. Values that are
  not IP addresses are skipped; addresses are written canonically (``ipaddress``).
- **Expiry**: an entry lasts ``ttl`` seconds after the newest ``last_seen`` of its
  alerts (default one day); a new alert on the same IP extends it. An alert triaged as
  ``false_positive`` never blocks.
- **Never blocked**: addresses inside ``exclude`` (CIDR networks: your own SBCs,
  carriers' interconnects, monitoring).
- **Plain text**: one address per line, sorted (IPv4 before IPv6, numerically), nothing
  else: what ``ipset restore``-style scripts, fail2ban's blocklist actions and Kamailio's
  ``permissions``/``htable`` loaders read without a parser.

IOC decisions: an indicator is an IP (the same source keys), a user agent (``user_agent``,
``user_agents``) or a number (``a_number(s)``, ``b_number(s)``, ``number(s)``, and the
entity of alerts keyed by a number or account), each once with the rules, alert ids and
times of the alerts that name it.

>>> rows = [{"id": "a1", "rule": "scan", "severity": "high", "score": 80,
...          "entity_type": "source_ip", "entity": "192.0.2.7", "first_seen": 10.0,
...          "last_seen": 20.0, "evidence": {"calls": [{"src_ip": "2001:db8::0001"}]}}]
>>> blocklist_text(build_blocklist(rows, now=30.0, ttl=60.0))
'192.0.2.7\\n2001:db8::1\\n'
>>> build_blocklist(rows, now=81.0, ttl=60.0)
[]
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from calltrace.model import SEVERITIES

SOURCE_IP_KEYS: Final = frozenset(
    {"source_ip", "source_ips", "src_ip", "src_ips", "attacker_ip", "attacker_ips"}
)
USER_AGENT_KEYS: Final = frozenset({"user_agent", "user_agents"})
NUMBER_KEYS: Final = frozenset(
    {"a_number", "a_numbers", "b_number", "b_numbers", "number", "numbers"}
)
NUMBER_ENTITIES: Final = frozenset({"a_number", "b_number", "number", "account"})
DEFAULT_TTL: Final = 86400.0

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True, kw_only=True)
class BlockEntry:
    """One blocked address and why: its alerts, their rules, until when."""

    ip: str
    first_seen: float
    last_seen: float
    expires: float
    rules: tuple[str, ...]
    alert_ids: tuple[str, ...]
    severity: str  # the most urgent of its alerts
    score: int  # the highest of its alerts


@dataclass(frozen=True, slots=True, kw_only=True)
class Ioc:
    """One indicator of compromise named by alerts."""

    type: str  # "ip" | "user_agent" | "number"
    value: str
    rules: tuple[str, ...]
    alert_ids: tuple[str, ...]
    first_seen: float
    last_seen: float


def _walk(value: Any, keys: frozenset[str]) -> Iterator[str]:
    """Strings found under any of ``keys`` anywhere in ``value`` (dicts and lists)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key in keys:
                if isinstance(item, str):
                    yield item
                elif isinstance(item, list | tuple):
                    yield from (x for x in item if isinstance(x, str))
            else:
                yield from _walk(item, keys)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _walk(item, keys)


def _address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def source_ips(alert: Mapping[str, Any]) -> list[Address]:
    """The attacking addresses an alert names (entity and evidence), each once."""
    texts = list(_walk(alert.get("evidence") or {}, SOURCE_IP_KEYS))
    if alert.get("entity_type") == "source_ip":
        texts.insert(0, str(alert.get("entity", "")))
    found = (_address(t) for t in texts)
    return list(dict.fromkeys(a for a in found if a is not None))


def _rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def build_blocklist(
    alerts: Iterable[Mapping[str, Any]],
    *,
    now: float,
    ttl: float = DEFAULT_TTL,
    exclude: Sequence[str] = (),
) -> list[BlockEntry]:
    """The addresses blocked at ``now``, sorted (see the module's decisions)."""
    networks = [ipaddress.ip_network(n, strict=False) for n in exclude]
    merged: dict[Address, list[Mapping[str, Any]]] = {}
    for alert in alerts:
        if alert.get("status") == "false_positive" or alert["last_seen"] + ttl <= now:
            continue
        for ip in source_ips(alert):
            if not any(ip.version == n.version and ip in n for n in networks):
                merged.setdefault(ip, []).append(alert)
    entries = []
    for ip in sorted(merged, key=lambda a: (a.version, int(a))):
        group = merged[ip]
        last = max(a["last_seen"] for a in group)
        entries.append(
            BlockEntry(
                ip=str(ip),
                first_seen=min(a["first_seen"] for a in group),
                last_seen=last,
                expires=last + ttl,
                rules=tuple(sorted({a["rule"] for a in group})),
                alert_ids=tuple(dict.fromkeys(a["id"] for a in group)),
                severity=min((a["severity"] for a in group), key=_rank),
                score=max(a["score"] for a in group),
            )
        )
    return entries


def blocklist_text(entries: Iterable[BlockEntry]) -> str:
    """One address per line (empty text for an empty list)."""
    return "".join(f"{e.ip}\n" for e in entries)


def blocklist_json(entries: Sequence[BlockEntry], *, now: float, ttl: float) -> dict[str, Any]:
    """The JSON feed: when it was made, the ttl, and each entry with ISO times."""
    from calltrace.report.jsondoc import iso

    return {
        "generated": iso(now),
        "ttl": ttl,
        "count": len(entries),
        "entries": [
            {
                "ip": e.ip,
                "first_seen": iso(e.first_seen),
                "last_seen": iso(e.last_seen),
                "expires": iso(e.expires),
                "rules": list(e.rules),
                "alert_ids": list(e.alert_ids),
                "severity": e.severity,
                "score": e.score,
            }
            for e in entries
        ],
    }


def _indicators(alert: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for ip in source_ips(alert):
        yield "ip", str(ip)
    evidence = alert.get("evidence") or {}
    for agent in _walk(evidence, USER_AGENT_KEYS):
        yield "user_agent", agent
    if alert.get("entity_type") == "user_agent":
        yield "user_agent", str(alert["entity"])
    if alert.get("entity_type") in NUMBER_ENTITIES:
        yield "number", str(alert["entity"])
    for number in _walk(evidence, NUMBER_KEYS):
        yield "number", number


def build_iocs(alerts: Iterable[Mapping[str, Any]]) -> list[Ioc]:
    """Every indicator the alerts name, sorted by type then value (false positives out)."""
    found: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for alert in alerts:
        if alert.get("status") == "false_positive":
            continue
        for key in dict.fromkeys(_indicators(alert)):
            if key[1]:
                found.setdefault(key, []).append(alert)
    return [
        Ioc(
            type=kind,
            value=value,
            rules=tuple(sorted({a["rule"] for a in group})),
            alert_ids=tuple(dict.fromkeys(a["id"] for a in group)),
            first_seen=min(a["first_seen"] for a in group),
            last_seen=max(a["last_seen"] for a in group),
        )
        for (kind, value), group in sorted(found.items())
    ]


def iocs_json(iocs: Iterable[Ioc]) -> list[dict[str, Any]]:
    from calltrace.report.jsondoc import iso

    return [
        {
            "type": i.type,
            "value": i.value,
            "rules": list(i.rules),
            "alert_ids": list(i.alert_ids),
            "first_seen": iso(i.first_seen),
            "last_seen": iso(i.last_seen),
        }
        for i in iocs
    ]
