"""``header_anomaly``: SIP headers that a conforming stack would not send.

Crafted messages (scanners, spoofing tools, fuzzers, home-made toll-fraud scripts) give
themselves away in their headers. Per message, the rule looks for:

- ``private_via`` / ``private_contact``: a private (RFC 1918/4193, CGNAT) address in the
  top Via of a request or in the Contact, while the packet came from a public address:
  a client that never learnt its public address, or a forged header. (NATed phones
  without STUN do this too: weight 20.)
- ``duplicate_<header>``: two different values of Call-ID, CSeq, From or To (RFC 3261
  §7.3.1: these may appear once) — a way to slip one value past one parser and another
  past the next.
- Max-Forwards on requests (RFC 3261 §8.1.1.6, §20.22): ``max_forwards_missing``,
  ``max_forwards_invalid`` (not a number), ``max_forwards_zero``, and
  ``max_forwards_high`` (above 70, the value every origin must start with; proxies only
  decrement it).
- ``branch_without_magic_cookie``: the top Via branch of a request does not start with
  ``z9hG4bK`` (RFC 3261 §8.1.1.7; RFC 2543 stacks have been gone for twenty years).
- ``defect:<name>``: what the SIP decoder found wrong while still reading the message
  (``SipMessage.defects``, docs/sip-defects.md).

Responses are judged on their Contact and their own defects only: Via, From, To,
Call-ID and CSeq are copied from the request (RFC 3261 §8.2.6.2), so their faults are the
requester's. The score adds the findings' weights; the entity is the source IP.
"""

from __future__ import annotations

from typing import Final

from calltrace.decode.sipchecks import digits
from calltrace.detect.base import Detector, Item
from calltrace.detect.registry import register
from calltrace.detect.rules._signalling import capped, ip_scope
from calltrace.model import Alert, SipMessage
from calltrace.trace.transactions import MAGIC_COOKIE, host_of

#: Finding -> weight (the score is their sum, up to 100).
WEIGHTS: Final = {
    "private_via": 20,
    "private_contact": 20,
    "duplicate": 50,
    "max_forwards_missing": 30,
    "max_forwards_invalid": 40,
    "max_forwards_zero": 30,
    "max_forwards_high": 30,
    "branch_without_magic_cookie": 25,
    "defect": 15,
}
_SINGLE: Final = ("call-id", "cseq", "from", "to")
_INNER: Final = frozenset({"private", "cgnat"})
#: Decoder defects the rule reports in its own words on requests: not counted again.
_COVERED: Final = frozenset(
    {"branch_without_magic_cookie", "missing_via_branch", "missing_max_forwards",
     "invalid_max_forwards", "max_forwards_out_of_range"}
)  # fmt: skip
#: Defects a response may only have copied from its request (Via, From, To, Call-ID and
#: CSeq are copied, RFC 3261 §8.2.6.2): not the responder's doing.
_COPIED: Final = _COVERED | frozenset(
    {"missing_from_tag", "empty_branch_after_magic_cookie", "empty_header_parameter",
     "invalid_display_name", "unterminated_quoted_string", "unterminated_angle_bracket",
     "whitespace_in_addr_spec", "unenclosed_uri_with_reserved_chars", "missing_call_id",
     "missing_cseq", "invalid_cseq", "cseq_out_of_range", "missing_from", "missing_to",
     "missing_via", "multiple_call_id", "multiple_cseq", "multiple_from", "multiple_to"}
)  # fmt: skip


@register
class HeaderAnomaly(Detector):
    """Per SIP message: private Via/Contact from a public source, conflicting duplicates,
    odd Max-Forwards, a branch without the magic cookie, decoder defects. Score: the sum
    of the findings' weights (``WEIGHTS``); low under 40, medium, high from 70.

    >>> from calltrace.model import Packet, SipMessage
    >>> packet = Packet(number=1, ts=1.0, src_ip="93.184.216.34", src_port=5060,
    ...                 dst_ip="198.51.100.1", dst_port=5060, transport="udp", payload=b"")
    >>> msg = SipMessage(packet=packet, is_request=True, method="INVITE",
    ...     request_uri="sip:100@x", status=None, reason=None, call_id="c1", cseq=1,
    ...     cseq_method="INVITE", from_tag="t", to_tag=None, branch="1234",
    ...     headers=(("via", "SIP/2.0/UDP 192.168.1.5;branch=1234"), ("max-forwards", "70"),
    ...              ("call-id", "c1"), ("call-id", "c2")), body=b"", raw=b"")
    >>> (alert,) = HeaderAnomaly().observe(msg)
    >>> alert.evidence["findings"]
    ['private_via', 'branch_without_magic_cookie', 'duplicate_call_id']
    >>> alert.entity, alert.score, alert.severity
    ('93.184.216.34', 95, 'high')
    """

    rule_id = "header_anomaly"
    doc = (
        "Manipulated SIP headers, per message: a private-address Via/Contact from a public "
        "source, conflicting duplicate Call-ID/CSeq/From/To, missing, invalid, zero or "
        "over-70 Max-Forwards on a request, a top Via branch without the z9hG4bK cookie, "
        "decoder defects. Entity: the source IP; evidence lists the findings."
    )
    entity_type = "source_ip"
    severity = "medium"
    cooldown = 300.0
    consumes = (SipMessage,)

    def __init__(self, *, min_score: int = 15, check_private: bool = True) -> None:
        self.min_score = min_score
        self.check_private = check_private

    def partition_key(self, item: Item) -> str | None:
        return item.packet.src_ip if type(item) is SipMessage else None

    def observe(self, item: Item) -> list[Alert]:
        if type(item) is not SipMessage:
            return []
        findings = self.findings(item)
        if not findings:
            return []
        score = min(100, sum(_weight(f) for f in findings))
        if score < self.min_score:
            return []
        p = item.packet
        what = item.method if item.is_request else f"{item.status} ({item.method})"
        return [
            self.alert(
                entity=p.src_ip,
                first_seen=p.ts,
                last_seen=p.ts,
                title=f"{what} from {p.src_ip} with {', '.join(findings[:3])}",
                score=score,
                severity="high" if score >= 70 else "medium" if score >= 40 else "low",
                call_ids=(item.call_id,) if item.call_id else (),
                evidence={
                    "findings": findings,
                    "message": what,
                    "packet": p.number,
                    "call_id": item.call_id,
                },
            )
        ]

    def findings(self, msg: SipMessage) -> list[str]:
        """Every anomaly of one message, in a fixed order."""
        headers = msg.headers
        first = dict(reversed(headers))  # the first value of every header, in C
        found: list[str] = []
        public = self.check_private and ip_scope(msg.packet.src_ip) == "public"
        if msg.is_request:
            if public and _inner(host_of_via(first.get("via"))):
                found.append("private_via")
            branch = msg.branch
            if branch is None or not branch.startswith(MAGIC_COOKIE):
                found.append("branch_without_magic_cookie")
            hops = first.get("max-forwards")
            if hops != "70":
                found.extend(_max_forwards(hops))
        if public and _inner(host_of(first.get("contact"))):
            found.append("private_contact")
        defects = msg.defects
        if not msg.is_request:  # the rest is copied from the request
            if defects:
                found.extend("defect:" + d for d in capped(defects) if d not in _COPIED)
            return found
        covered = _COVERED
        if len(first) != len(headers):  # some header repeats: look for conflicts
            for name in _conflicting(headers):
                found.append("duplicate_" + name)
                covered = covered | {"multiple_" + name}
        if defects:
            found.extend("defect:" + d for d in capped(defects) if d not in covered)
        return found


def _conflicting(headers: tuple[tuple[str, str], ...]) -> list[str]:
    """Call-ID, CSeq, From, To headers present with two different values (as names
    with ``_``, in ``_SINGLE`` order)."""
    values: dict[str, set[str]] = {}
    for name, value in headers:
        if name in _SINGLE:
            values.setdefault(name, set()).add(value.strip())
    return [n.replace("-", "_") for n in _SINGLE if len(values.get(n, ())) > 1]


def host_of_via(value: str | None) -> str | None:
    """The sent-by host of the first via-parm (``SIP/2.0/UDP host:port;...``)."""
    if not value:
        return None
    parts = value.split(None, 1)
    if len(parts) < 2:
        return None
    sent_by = parts[1].split(";", 1)[0].split(",", 1)[0].strip()
    if sent_by.startswith("["):
        return sent_by[1 : sent_by.find("]")]
    return sent_by.rsplit(":", 1)[0] if sent_by.count(":") == 1 else sent_by


def _weight(finding: str) -> int:
    """``duplicate_call_id`` weighs as ``duplicate``, ``defect:x`` as ``defect``."""
    if finding.startswith("duplicate_"):
        return WEIGHTS["duplicate"]
    return WEIGHTS[finding.split(":", 1)[0]]


def _inner(host: str | None) -> bool:
    return host is not None and ip_scope(host) in _INNER


def _max_forwards(value: str | None) -> list[str]:
    if value is None:
        return ["max_forwards_missing"]
    hops = digits(value)
    if hops is None:
        return ["max_forwards_invalid"]
    if hops == 0:
        return ["max_forwards_zero"]
    return ["max_forwards_high"] if hops > 70 else []
