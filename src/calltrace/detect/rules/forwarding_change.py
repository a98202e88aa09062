"""``forwarding_change``: a line's calls are forwarded somewhere new.

Fraudsters who reach a PBX's or a carrier portal's settings forward a line to a premium
or international number and then call it (or let others call it): each call is billed
to the victim. Sources:

- ``config_change`` call events (event files: ``event=config_change``, ``a_number`` =
  the line whose setting changed, ``setting`` = which one, ``target`` = the new
  forwarding target (rows without either: ``b_number``), ``account`` = who changed
  it): a change of a
  forwarding setting, or of an unnamed one, is a change; a row whose ``setting`` names
  something else (a voicemail PIN, a ring time) is not this rule's business, nor is a
  forwarding switched off (no target);
- SIP: a 3xx answer to an INVITE with a Contact (RFC 3261 §21.3: the line redirects to
  the Contact), an initial INVITE with Diversion (RFC 5806: the first entry is the line
  that diverted most recently; the target is the Request-URI) or History-Info (RFC 7044:
  first entry -> last entry). A redirection is a change when the line's target differs
  from the last one seen (the first sighting counts: nothing was known before).

The score rises with what makes a forwarding costly: a public (external) target, an
international one, a premium-rate or high-risk destination, a change out of hours.
"""

from __future__ import annotations

from typing import Any, Final

from calltrace.decode.sipidentity import parse_diversion, parse_history_info
from calltrace.decode.sipvalues import NameAddr, parse_name_addr
from calltrace.detect.base import Detector, Item
from calltrace.detect.identity import (
    HoursCache,
    IdleMap,
    Schedule,
    number_zones,
    rule_enricher,
    severity_for,
    zone,
)
from calltrace.detect.registry import register
from calltrace.enrich.enricher import Enricher
from calltrace.errors import MalformedInput
from calltrace.model import Alert, CallEvent, CallEventType, SipMessage

_CHANGE = CallEventType.CONFIG_CHANGE


@register
class ForwardingChange(Detector):
    """Call-forwarding changes, scored by where calls now go and when.

    >>> rule = ForwardingChange(timezone="Europe/London", home_region="GB")
    >>> change = CallEvent(type=CallEventType.CONFIG_CHANGE, ts=1767574800.0,
    ...                    a_number="+442079460000", b_number="+881631412345",
    ...                    account="admin", source="events")
    >>> [(a.entity, a.score, a.evidence["reasons"]) for a in rule.observe(change)]
    [('admin', 100, ['external', 'international', 'high_risk', 'after_hours'])]
    """

    rule_id = "forwarding_change"
    doc = (
        "Call-forwarding changes: config_change events, SIP 3xx redirects and "
        "Diversion/History-Info on INVITEs to a new target; worse to external, "
        "international or premium/high-risk numbers and after hours. Entity: the account "
        "that changed it, else the forwarded line."
    )
    entity_type = "account"
    severity = "low"
    cooldown = 60.0
    consumes = (CallEvent, SipMessage)

    def __init__(
        self,
        *,
        home_region: str = "",
        timezone: str = "",
        days: str = "mon-fri",
        hours: str = "08:00-18:00",
        memory: float = 7 * 86400.0,
    ) -> None:
        self.home_region, self.timezone = home_region, timezone
        self.days, self.hours, self.memory = days, hours, memory
        Schedule(days=days, hours=hours)  # bad settings stop the run at start
        if timezone:
            zone(timezone)
        self._targets: IdleMap | None = None
        self._hours: HoursCache | None = None
        self._enricher: Enricher | None = None

    def partition_key(self, item: Item) -> str | None:
        found = _forwarding(item)
        return None if found is None else found[0]

    def state_size(self) -> int:
        return 0 if self._targets is None else len(self._targets)

    def observe(self, item: Item) -> list[Alert]:
        found = _forwarding(item)
        if found is None:
            return []
        line, target, how = found
        if self._targets is None:
            self._targets = IdleMap(self.memory)
        previous = self._targets.get(line)
        self._targets.put(line, item.ts, target)
        if how != "config_change" and previous == target:
            return []
        account = item.account if type(item) is CallEvent else None
        reasons = self._reasons(line, target, item.ts)
        score = min(100, 30 + sum(_WEIGHTS[r] for r in reasons))
        entity = account or line
        return [
            self.alert(
                entity=entity,
                first_seen=item.ts,
                last_seen=item.ts,
                title=f"calls to {line} forwarded to {target} ({how})",
                score=score,
                severity=severity_for(score),
                call_ids=(item.call_id,) if item.call_id else (),
                evidence={
                    "line": line,
                    "setting": item.setting if type(item) is CallEvent else None,
                    "target": target,
                    "previous_target": previous,
                    "how": how,
                    "reasons": reasons,
                },
            )
        ]

    def _reasons(self, line: str, target: str, ts: float) -> list[str]:
        if self._enricher is None:
            self._enricher = rule_enricher(self.home_region)
        numbers = self._enricher.numbers
        reasons: list[str] = []
        info = numbers.lookup(target)
        if info is not None and info.valid:
            reasons.append("external")
            home = numbers.config.home
            origin = numbers.lookup(line)
            reference = home.upper() if home else (origin.country if origin else None)
            if reference and info.country != reference:
                reasons.append("international")
        if info is not None and info.risk:
            reasons.append("high_risk")
        if self._after_hours(line, ts):
            reasons.append("after_hours")
        return reasons

    def _after_hours(self, line: str, ts: float) -> bool:
        zones = (self.timezone,) if self.timezone else number_zones(line) if line[:1] == "+" else ()
        if not zones:
            return False
        if self._hours is None:
            self._hours = HoursCache(Schedule(days=self.days, hours=self.hours))
        return self._hours.closed(ts, zones)


_WEIGHTS = {"external": 20, "international": 20, "high_risk": 30, "after_hours": 20}
#: Names of forwarding settings: 3GPP TS 22.082's supplementary services (CFU, CFB,
#: CFNRy, CFNRc; CFNA and CFA as switches spell them), any name with forward/divert/
#: redirect in it (Asterisk's and FreeSWITCH's call_forward_*, "diversion").
_FORWARD_CODES: Final = frozenset({"cfu", "cfb", "cfnry", "cfnrc", "cfnr", "cfna", "cfa"})
_FORWARD_WORDS: Final = ("forward", "divert", "diversion", "redirect")


def is_forwarding_setting(setting: str) -> bool:
    """Whether a config_change's ``setting`` names call forwarding.

    >>> is_forwarding_setting("call_forward_busy"), is_forwarding_setting("CFU")
    (True, True)
    >>> is_forwarding_setting("voicemail_pin")
    False
    """
    name = setting.strip().lower()
    return name in _FORWARD_CODES or any(word in name for word in _FORWARD_WORDS)


def _forwarding(item: Any) -> tuple[str, str, str] | None:
    """(line, target, how) when ``item`` shows a forwarding, else None."""
    if type(item) is CallEvent:
        if item.type is not _CHANGE or not item.a_number:
            return None
        # a row naming its setting names its target too (none: forwarding switched off);
        # a row of the older form has the target in b_number
        target = item.target if item.setting or item.target else item.b_number
        if not target or (item.setting and not is_forwarding_setting(item.setting)):
            return None
        return item.a_number, target, "config_change"
    if type(item) is not SipMessage or item.method != "INVITE":
        return None
    try:
        if not item.is_request:
            contact = item.header("contact")
            status = item.status or 0
            if 300 <= status < 400 and contact and (to := item.header("to")):
                return _pair(parse_name_addr(to), parse_name_addr(contact), "redirect_3xx")
            return None
        if item.to_tag is not None:
            return None
        diversion = item.header("diversion")
        if diversion and item.request_uri:
            first = parse_diversion(diversion)[0].address
            return _pair(first, parse_name_addr(item.request_uri), "diversion")
        history = item.header_all("history-info")
        if history:
            entries = [e for value in history for e in parse_history_info(value)]
            return _pair(entries[0].address, entries[-1].address, "history_info")
    except (MalformedInput, IndexError):
        return None
    return None


def _pair(line: NameAddr, target: NameAddr, how: str) -> tuple[str, str, str] | None:
    a = line.uri.user or line.uri.host
    b = target.uri.user or target.uri.host
    return (a, b, how) if a and b and a != b else None
