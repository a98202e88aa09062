"""One entry point for enrichment: a call or a call event in, number/IP/device facts out.

``Enricher`` holds the three intelligence sources (numbers, IPs, user agents), each with
its own bounded cache, so enriching the events of one caller, trunk or device costs a
few dictionary look-ups after the first. Detectors call :meth:`Enricher.event` (a frozen
record, no dict built) at event rate; the JSON document and ``calltrace show`` call
:meth:`Enricher.call_dict`.

Configuration (``EnrichConfig``): ``default_region`` reads national numbers,
``home_region`` decides what is international (default: the default region), the
high-risk list and MaxMind files are optional. From the environment:
``CALLTRACE_DEFAULT_REGION``, ``CALLTRACE_HOME_REGION``, ``CALLTRACE_GEOIP_DB``,
``CALLTRACE_ASN_DB``; from a TOML ``[enrich]`` table: :meth:`EnrichConfig.from_mapping`.

>>> enricher = Enricher(EnrichConfig(numbers=NumberConfig(default_region="GB")))
>>> facts = enricher.event(CallEvent(type=CallEventType.ATTEMPT, ts=0.0,
...                                  a_number="02079460000", b_number="+881631412345"))
>>> facts.a_number.country, facts.b_number.type, facts.b_number.international
('GB', 'satellite', True)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from calltrace.enrich.geo import GeoConfig, IpInfo, IpIntel
from calltrace.enrich.numbers import NumberConfig, NumberInfo, NumberIntel
from calltrace.enrich.useragent import UserAgentInfo, UserAgentParser
from calltrace.model import Call, CallEvent, CallEventType

__all__ = ["CallEventType", "EnrichConfig", "Enricher", "Enrichment", "default_enricher"]


@dataclass(frozen=True, slots=True, kw_only=True)
class EnrichConfig:
    """Settings of the three sources (all optional)."""

    numbers: NumberConfig = field(default_factory=NumberConfig)
    geo: GeoConfig = field(default_factory=GeoConfig)
    useragents_file: str | None = None

    @classmethod
    def from_mapping(cls, table: Mapping[str, Any]) -> EnrichConfig:
        """From a TOML ``[enrich]`` table: ``default_region``, ``home_region``,
        ``international_prefixes``, ``risk_file``, ``geoip_db``, ``asn_db``,
        ``useragents_file``, ``bundled_geo`` (bool)."""
        prefixes = table.get("international_prefixes")
        return cls(
            numbers=NumberConfig(
                default_region=table.get("default_region"),
                home_region=table.get("home_region"),
                international_prefixes=None if prefixes is None else tuple(prefixes),
                risk_file=table.get("risk_file"),
            ),
            geo=GeoConfig(
                country_db=table.get("geoip_db"),
                asn_db=table.get("asn_db"),
                bundled=bool(table.get("bundled_geo", True)),
            ),
            useragents_file=table.get("useragents_file"),
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> EnrichConfig:
        env = os.environ if environ is None else environ
        return cls.from_mapping(
            {
                "default_region": env.get("CALLTRACE_DEFAULT_REGION") or None,
                "home_region": env.get("CALLTRACE_HOME_REGION") or None,
                "geoip_db": env.get("CALLTRACE_GEOIP_DB") or None,
                "asn_db": env.get("CALLTRACE_ASN_DB") or None,
            }
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Enrichment:
    """The facts about one call or event; a field is None when the input had no value."""

    caller: NumberInfo | None = None
    callee: NumberInfo | None = None
    src_ip: IpInfo | None = None
    user_agent: UserAgentInfo | None = None

    # the CallEvent vocabulary, for rules that think in A- and B-numbers
    @property
    def a_number(self) -> NumberInfo | None:
        return self.caller

    @property
    def b_number(self) -> NumberInfo | None:
        return self.callee

    @property
    def source_ip(self) -> IpInfo | None:
        return self.src_ip

    def as_dict(self) -> dict[str, Any]:
        """The ``enrichment`` object of a call in the JSON document (docs/json.md)."""
        return {
            "caller": None if self.caller is None else self.caller.as_dict(),
            "callee": None if self.callee is None else self.callee.as_dict(),
            "src_ip": None if self.src_ip is None else self.src_ip.as_dict(),
            "user_agent": None if self.user_agent is None else self.user_agent.as_dict(),
        }


class Enricher:
    """Numbers, addresses and user agents of calls and events, cached per value."""

    def __init__(self, config: EnrichConfig | None = None) -> None:
        self.config = config or EnrichConfig()
        self.numbers = NumberIntel(self.config.numbers)
        self.ips = IpIntel(self.config.geo)
        self.user_agents = UserAgentParser(self.config.useragents_file)

    def __reduce__(self) -> tuple[object, ...]:
        return (Enricher, (self.config,))

    def number(self, raw: str | None) -> NumberInfo | None:
        return self.numbers.lookup(raw)

    def ip(self, raw: str | None) -> IpInfo | None:
        return self.ips.lookup(raw)

    def user_agent(self, raw: str | None) -> UserAgentInfo | None:
        return self.user_agents.parse(raw)

    def facts(
        self,
        caller: str | None,
        callee: str | None,
        src_ip: str | None,
        user_agent: str | None,
    ) -> Enrichment:
        return Enrichment(
            caller=self.numbers.lookup(caller),
            callee=self.numbers.lookup(callee),
            src_ip=self.ips.lookup(src_ip),
            user_agent=self.user_agents.parse(user_agent),
        )

    def event(self, event: CallEvent) -> Enrichment:
        """The facts of a call event (A-number, B-number, source IP, user agent)."""
        return self.facts(event.a_number, event.b_number, event.source_ip, event.user_agent)

    def call(self, call: Call | Mapping[str, Any]) -> Enrichment:
        """The facts of a rebuilt call, or of a stored call row (``calltrace show``)."""
        if isinstance(call, Call):
            return self.facts(call.caller, call.callee, call.src_ip, call.user_agent)
        return self.facts(
            call.get("caller"), call.get("callee"), call.get("src_ip"), call.get("user_agent")
        )

    def call_dict(self, call: Call | Mapping[str, Any]) -> dict[str, Any]:
        return self.call(call).as_dict()


_DEFAULT: Enricher | None = None


def default_enricher() -> Enricher:
    """One shared enricher configured from the environment (made on first use)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Enricher(EnrichConfig.from_env())
    return _DEFAULT
