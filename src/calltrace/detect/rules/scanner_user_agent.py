"""``scanner_user_agent``: requests whose User-Agent is a known scanner or attack tool.

Most SIP attack tools announce themselves: SIPVicious sends ``friendly-scanner``, toll-fraud
bots ``sipcli``, ``VaxSIPUserAgent``, ``pplsip``, or a fake ``Cisco-SIPGateway/IOS-12.x``.
The signatures live in enrich's data file (``enrich/data/useragents.toml``, scanners
first), so a new tool is a table entry. One request is enough (Zeek's
``SIP::BadUserAgent`` notice does the same). Only requests are read: a response's
headers describe the answering server, not the prober.
"""

from __future__ import annotations

from calltrace.detect.base import Item
from calltrace.detect.registry import register
from calltrace.detect.rules._signalling import WindowedRule, foreign_event
from calltrace.detect.windows import SlidingWindow
from calltrace.enrich.useragent import UserAgentParser
from calltrace.model import Alert, CallEvent, SipMessage

#: Tools that are also everyday admin tools: an alert on them is medium, not high.
_DUAL_USE = frozenset({"sipsak"})
#: Most user-agent verdicts kept in the detector's own cache.
_VERDICTS = 4096


@register
class ScannerUserAgent(WindowedRule):
    """Any request (or non-SIP call event) whose user agent matches a scanner signature;
    entity: the source IP. Alerts on a source at most once per ``window`` seconds; the
    evidence counts its requests within that window.

    >>> from calltrace.model import CallEvent, CallEventType
    >>> rule = ScannerUserAgent()
    >>> (alert,) = rule.observe(CallEvent(type=CallEventType.ATTEMPT, ts=5.0, a_number="100",
    ...     b_number="0046", source_ip="203.0.113.9", user_agent="friendly-scanner",
    ...     source="events"))
    >>> alert.entity, alert.evidence["tool"], alert.severity
    ('203.0.113.9', 'sipvicious', 'high')
    """

    rule_id = "scanner_user_agent"
    doc = (
        "Known scanner and attack-tool user agents (friendly-scanner/SIPVicious, sipcli, "
        "VaxSIPUserAgent, pplsip, sundayddr, iWar, the fake Cisco-SIPGateway/IOS-12.x...) "
        "from enrich's signature file: one request is enough. Entity: the source IP."
    )
    entity_type = "source_ip"
    severity = "high"
    cooldown = 3600.0
    consumes = (SipMessage, CallEvent)

    def __init__(
        self,
        *,
        window: float = 60.0,
        signatures_file: str | None = None,
        allowed_lateness: float = 1.0,
    ) -> None:
        self.window = window
        self.signatures_file = signatures_file
        self.allowed_lateness = allowed_lateness
        self._window: SlidingWindow | None = None
        self._parser: UserAgentParser | None = None
        self._verdicts: dict[str, str | None] | None = None

    def _tool(self, agent: str) -> str | None:
        """The tool of a user agent: a plain dict in front of the parser's LRU (most
        streams repeat a few strings; a dict hit is ~10x cheaper than the LRU call)."""
        verdicts = self._verdicts
        if verdicts is None:
            verdicts = self._verdicts = {}
        elif agent in verdicts:
            return verdicts[agent]
        parser = self._parser
        if parser is None:
            parser = self._parser = UserAgentParser(self.signatures_file)
        if len(verdicts) >= _VERDICTS:
            verdicts.clear()
        tool = verdicts[agent] = parser.is_scanner(agent)
        return tool

    def partition_key(self, item: Item) -> str | None:
        seen = _request(item)
        return None if seen is None else seen[0]

    def observe(self, item: Item) -> list[Alert]:
        seen = _request(item)
        if seen is None:
            return []
        source, agent, what = seen
        tool = self._tool(agent)
        if tool is None:
            return []
        ts = item.ts
        entries = self.tripped(source, ts, what, None, 1, distinct=False)
        if entries is None:
            return []
        requests = len(entries)
        dual = tool in _DUAL_USE
        return [
            self.alert(
                entity=source,
                first_seen=ts,
                last_seen=ts,
                title=f"{source} uses the attack tool {tool} ({agent})",
                score=50 if dual else 75,
                severity="medium" if dual else None,
                evidence={
                    "user_agent": agent,
                    "tool": tool,
                    "request": what,
                    "requests_in_window": requests,
                    "window": self.window,
                },
            )
        ]


def _request(item: Item) -> tuple[str, str, str] | None:
    """(source IP, user agent, what it sent) of a request with a User-Agent, else None."""
    if type(item) is SipMessage:
        if not item.is_request:
            return None
        agent = item.header("user-agent")
        if not agent:
            return None
        p = item.packet
        return p.src_ip, agent, f"{item.method} to {p.dst_ip}:{p.dst_port}"
    event = foreign_event(item)
    if event is None or not event.user_agent or not event.source_ip:
        return None
    return event.source_ip, event.user_agent, f"{event.type} to {event.dest_ip or '?'}"
