"""``cli_spoofing``: caller-ID manipulation, judged call by call.

From an initial INVITE (the SIP message itself, so every identity header is at hand):
the From user against P-Asserted-Identity (RFC 3325) and against the number a signed
RFC 8224 Identity header asserts (the PASSporT's ``orig.tn``, RFC 8225); a From with a
display name and no user (what Metasploit's ``sip_invite_spoof`` sends: the "caller ID"
is only text for the phone's screen) or a display name that is a number other than the
From user. From a call event of an event file (numbers only), and from the INVITE too:
an A-number libphonenumber says is unallocated, A = B, and a CLI of the home region
arriving from a source address in another country. SIP-derived call events are skipped
(their INVITE was judged). Stateless: one call, one verdict.
"""

from __future__ import annotations

from typing import Any

from calltrace.decode.sipidentity import (
    parse_identity,
    parse_p_asserted_identity,
    passport_orig_tn,
)
from calltrace.decode.sipvalues import parse_name_addr
from calltrace.detect.base import Detector, Item
from calltrace.detect.identity import IdleMap, rule_enricher, severity_for
from calltrace.detect.registry import register
from calltrace.enrich.enricher import Enricher
from calltrace.enrich.numbers import split_user
from calltrace.enrich.validity import e164_valid
from calltrace.errors import MalformedInput
from calltrace.model import Alert, CallEvent, CallEventType, SipMessage
from calltrace.trace.transactions import uri_user, user_and_uri

_ATTEMPT = CallEventType.ATTEMPT
#: Score of each finding (the alert takes the highest, +10 per further finding).
SCORES = {
    "identity_mismatch": 80,
    "local_cli_from_abroad": 70,
    "from_pai_mismatch": 60,
    "display_number_mismatch": 60,
    "invalid_cli": 60,
    "a_equals_b": 60,
    "display_only": 50,
}


def same_number(a: str, b: str) -> bool:
    """Two users name one party: equal text, or digit strings where the shorter (>= 6
    digits, leading ``+``/zeros dropped) ends the longer (``+442079460000`` and
    ``02079460000``: the national and international forms of one number).

    >>> same_number("+442079460000", "tel:02079460000"), same_number("201", "202")
    (True, False)
    """
    if a == b:
        return True
    if a[:1] == "+" == b[:1] and a[1:].isdigit() and b[1:].isdigit():
        return False  # two E.164 forms: equal only when identical
    x, y = split_user(a)[0].lstrip("+0"), split_user(b)[0].lstrip("+0")
    if x.isdigit() and y.isdigit():
        short, long = sorted((x, y), key=len)
        return short == long or (len(short) >= 6 and long.endswith(short))
    return a.strip().lower() == b.strip().lower()


@register
class CliSpoofing(Detector):
    """Caller-ID manipulation per call; the evidence lists every finding.

    >>> rule = CliSpoofing()
    >>> event = CallEvent(type=CallEventType.ATTEMPT, ts=0.0, a_number="+442079460000",
    ...                   b_number="+442079460000", call_id="c1", source="events")
    >>> [(a.entity, [f["check"] for f in a.evidence["findings"]]) for a in rule.observe(event)]
    [('+442079460000', ['a_equals_b'])]
    """

    rule_id = "cli_spoofing"
    doc = (
        "Caller-ID manipulation, per call: From vs P-Asserted-Identity vs the RFC 8224 "
        "Identity's orig.tn, display-name-only or number-in-display callers, unallocated "
        "A-numbers, A = B, a home-region CLI from a foreign source address. Entity: the "
        "presented caller ID."
    )
    entity_type = "a_number"
    severity = "medium"
    cooldown = 300.0
    consumes = (CallEvent, SipMessage)

    def __init__(
        self, *, home_region: str = "", check_validity: bool = True, repeat: float = 300.0
    ) -> None:
        self.home_region = home_region
        self.check_validity = check_validity
        self.repeat = repeat
        self._enricher: Enricher | None = None
        self._fired: IdleMap | None = None

    def partition_key(self, item: Item) -> str | None:
        if type(item) is CallEvent:
            return item.a_number if item.type is _ATTEMPT and item.source != "sip" else None
        if type(item) is SipMessage and _initial_invite(item):
            return _from_user(item)[0] or item.packet.src_ip
        return None

    def state_size(self) -> int:
        return 0 if self._fired is None else len(self._fired)

    def observe(self, item: Item) -> list[Alert]:
        if type(item) is CallEvent:
            if item.type is not _ATTEMPT or item.source == "sip" or not item.a_number:
                return []
            a, b, ip = item.a_number, item.b_number, item.source_ip
            findings = self._number_findings(a, b, ip)
            return self._verdict(a, item.ts, item.call_id, findings) if findings else []
        if type(item) is not SipMessage or not _initial_invite(item):
            return []
        return self._invite(item)

    def _invite(self, msg: SipMessage) -> list[Alert]:
        user, display = _from_user(msg)
        findings: list[dict[str, Any]] = []
        if user is None and display:
            findings.append({"check": "display_only", "display": display})
        elif user is not None and display and _number_shown(display, user):
            findings.append({"check": "display_number_mismatch", "display": display, "from": user})
        asserted = _asserted(msg)
        anonymous = user is None or self._enrich().numbers.cli_status(user) == "anonymous"
        if asserted and not anonymous and not any(same_number(user or "", p) for p in asserted):
            findings.append({"check": "from_pai_mismatch", "from": user, "pai": asserted})
        orig = _orig_tn(msg)
        if orig is not None and not any(same_number(orig, u) for u in [user or "", *asserted]):
            findings.append({"check": "identity_mismatch", "orig_tn": orig, "from": user})
        if user is not None:
            findings += self._number_findings(user, _ruri_user(msg), msg.packet.src_ip)
        if not findings:
            return []
        return self._verdict(user or display or msg.packet.src_ip, msg.ts, msg.call_id, findings)

    def _number_findings(self, a: str, b: str | None, ip: str | None) -> list[dict[str, Any]]:
        """Checks that need only the numbers and the source: A = B, validity, home CLI
        from abroad."""
        out: list[dict[str, Any]] = []
        if b and same_number(a, b):
            out.append({"check": "a_equals_b", "a_number": a, "b_number": b})
        if self.check_validity and self._invalid(a):
            out.append({"check": "invalid_cli", "a_number": a})
        if ip:
            enricher = self._enrich()
            home = enricher.numbers.config.home
            where = enricher.ips.lookup(ip) if home else None
            if home and where and where.country and where.country != home.upper():
                number = enricher.numbers.lookup(a)
                if number is not None and number.valid and number.country == home.upper():
                    out.append(
                        {
                            "check": "local_cli_from_abroad",
                            "a_number": a,
                            "number_country": number.country,
                            "source_ip": ip,
                            "source_country": where.country,
                        }
                    )
        return out

    def _invalid(self, raw: str) -> bool:
        """Unallocated or impossible, judged only where the form says which country:
        international form, or a national number with a default region configured."""
        if raw[:1] == "+" and raw[1:].isdigit():
            return not e164_valid(raw)
        text = split_user(raw)[0]
        if text.startswith("+"):
            return text[1:].isdigit() and not e164_valid(text)
        numbers = self._enrich().numbers
        if not (numbers.config.default_region or text.startswith("00")):
            return False
        return numbers.cli_status(raw) == "invalid"

    def _verdict(
        self, entity: str, ts: float, call_id: str | None, findings: list[dict[str, Any]]
    ) -> list[Alert]:
        # A caller ID that fired is not alerted again for ``repeat`` seconds (the engine's
        # cooldown would drop it; not building it saves the cost on a stream of them).
        if self._fired is None:
            self._fired = IdleMap(self.repeat)
        fired = self._fired.get(entity)
        if fired is not None and 0.0 <= ts - fired < self.repeat:
            return []
        self._fired.put(entity, ts, ts)
        score = max(SCORES[f["check"]] for f in findings) + 10 * (len(findings) - 1)
        checks = ", ".join(f["check"] for f in findings)
        return [
            self.alert(
                entity=entity,
                first_seen=ts,
                last_seen=ts,
                title=f"caller ID {entity} looks manipulated: {checks}",
                score=score,
                severity=severity_for(score),
                call_ids=(call_id,) if call_id else (),
                evidence={"findings": findings},
            )
        ]

    def _enrich(self) -> Enricher:
        if self._enricher is None:
            self._enricher = rule_enricher(self.home_region)
        return self._enricher


def _initial_invite(msg: SipMessage) -> bool:
    return msg.is_request and msg.method == "INVITE" and msg.to_tag is None


def _from_user(msg: SipMessage) -> tuple[str | None, str | None]:
    """(user part, display name) of From; (None, None) when unreadable.

    Every initial INVITE pays this: the common ``["Name"] <sip:user@host>`` form takes the
    call tracker's fast user reader (``trace.transactions.user_and_uri``) and the text
    before ``<``; anything else (escapes in the display name, no ``<``) the full parser.
    """
    value = msg.header("from")
    if not value:
        return None, None
    lt = value.find("<")
    head = value[:lt].strip()
    quotes = head.count('"')
    # a display name without escapes, quoted whole or not at all (else a "<" may sit
    # inside the quotes: the parser decides)
    if lt >= 0 and "\\" not in head and (quotes == 0 or (quotes == 2 and head[0] == head[-1])):
        user, uri = user_and_uri(value)
        if uri is not None and uri.startswith(("sip:", "sips:")) and value.find(">", lt) > lt:
            return user, head.strip('" ') or None
    return _from_user_parsed(value)


def _from_user_parsed(value: str) -> tuple[str | None, str | None]:
    try:
        parsed = parse_name_addr(value)
    except MalformedInput:
        return None, None
    return parsed.uri.user or None, (parsed.display or "").strip('" ') or None


def _number_shown(display: str, user: str) -> bool:
    """The display name is a number (>= 6 digits) that is not the From user's."""
    shown = "".join(ch for ch in display if ch not in " -.()").lstrip("+")
    return len(shown) >= 6 and shown.isdigit() and not same_number(shown, user)


def _asserted(msg: SipMessage) -> list[str]:
    users: list[str] = []
    for value in msg.header_all("p-asserted-identity"):
        try:
            users += [a.uri.user for a in parse_p_asserted_identity(value) if a.uri.user]
        except MalformedInput:
            continue
    return users


def _orig_tn(msg: SipMessage) -> str | None:
    value = msg.header("identity")
    if not value:
        return None
    try:
        return passport_orig_tn(parse_identity(value).token)
    except MalformedInput:
        return None


def _ruri_user(msg: SipMessage) -> str | None:
    return uri_user(msg.request_uri)  # memoised: R-URIs repeat per B-number
