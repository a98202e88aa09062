"""IP intelligence: address scope, country, ASN and AS organisation, offline.

Scope comes from the IANA special-purpose registries through ``ipaddress`` plus the
ranges that matter apart in VoIP investigations: RFC 1918/RFC 4193 private space, RFC
6598 carrier-grade NAT (a subscriber behind a CGN, not a LAN), RFC 5737/RFC 3849
documentation ranges (what the traffic generator and examples use), link-local,
loopback, multicast, everything else not globally routable ``reserved``. Only ``public``
addresses are looked up in a database.

Where an address is, and whose network it is, comes from one of two offline sources:

- by default the database that the ``geoip2fast`` package ships (MIT; built from MaxMind
  GeoLite2 Country and ASN, 2024-06-18, IPv4 and IPv6): country and AS organisation name.
  It carries no AS *number*, so ``asn`` is None from it (docs/enrichment.md says why it
  was chosen all the same);
- a MaxMind GeoLite2/GeoIP2 file when the user has one: ``country_db`` (a Country or City
  mmdb, env ``CALLTRACE_GEOIP_DB``) and ``asn_db`` (a GeoLite2-ASN mmdb, env
  ``CALLTRACE_ASN_DB``), read with the ``maxminddb`` package. Each given file replaces the
  default for what it holds; with both, the bundled database is never loaded.

Databases open on the first public address (loading geoip2fast's takes ~0.3 s), answers
are cached per address (bounded LRU), so detectors may ask at event rate.

>>> intel = IpIntel()
>>> intel.lookup("10.1.2.3").scope, intel.lookup("100.64.0.7").scope
('private', 'cgnat')
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from calltrace.enrich._common import CachedLookup

#: Scopes, checked in this order; the first network that holds the address wins.
SCOPE_NETWORKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("loopback", ("127.0.0.0/8", "::1/128")),
    ("unspecified", ("0.0.0.0/32", "::/128")),
    ("private", ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")),
    ("cgnat", ("100.64.0.0/10",)),
    ("link_local", ("169.254.0.0/16", "fe80::/10")),
    ("multicast", ("224.0.0.0/4", "ff00::/8")),
    ("documentation", ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")),
)
_SCOPES = tuple(
    (scope, tuple(ipaddress.ip_network(n) for n in networks)) for scope, networks in SCOPE_NETWORKS
)
#: The geoip2fast data file with country and ASN for IPv4 and IPv6.
GEOIP2FAST_FILE = "geoip2fast-asn-ipv6.dat.gz"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True, kw_only=True)
class GeoConfig:
    """Which databases to use: MaxMind files when given, else the bundled one."""

    country_db: str | None = None
    asn_db: str | None = None
    bundled: bool = True  # False: no bundled database (scope only, unless files are given)
    cache_size: int = 65536

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> GeoConfig:
        """``CALLTRACE_GEOIP_DB`` and ``CALLTRACE_ASN_DB`` name MaxMind files."""
        env = os.environ if environ is None else environ
        return cls(
            country_db=env.get("CALLTRACE_GEOIP_DB") or None,
            asn_db=env.get("CALLTRACE_ASN_DB") or None,
            **kwargs,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class IpInfo:
    """What an address is. ``network`` is the database's prefix holding it (the AS
    prefix when known, else the country block); ``source`` names the database."""

    ip: str
    version: int | None = None
    scope: str = "invalid"
    country: str | None = None
    asn: int | None = None
    as_org: str | None = None
    network: str | None = None
    source: str | None = None

    @property
    def public(self) -> bool:
        return self.scope == "public"

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (the ``enrichment`` of a call, docs/json.md)."""
        return {
            "scope": self.scope,
            "country": self.country,
            "asn": self.asn,
            "as_org": self.as_org,
            "network": self.network,
        }


@dataclass(frozen=True, slots=True)
class Answer:
    """One database's answer for one address (every field optional)."""

    country: str | None = None
    asn: int | None = None
    as_org: str | None = None
    network: str | None = None


class Backend(Protocol):
    """A database: ``country`` and/or ``asn`` answers for a public address."""

    name: str

    def country(self, ip: IPAddress) -> Answer: ...
    def asn(self, ip: IPAddress) -> Answer: ...


def scope_of(address: IPAddress) -> str:
    """The scope of an address (IPv4-mapped IPv6 is judged by its IPv4 address).

    >>> scope_of(ipaddress.ip_address("2001:db8::5")), scope_of(ipaddress.ip_address("8.8.8.8"))
    ('documentation', 'public')
    """
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for scope, networks in _SCOPES:
        for network in networks:
            if address.version == network.version and address in network:
                return scope
    return "public" if address.is_global else "reserved"


class MaxMindBackend:
    """A MaxMind DB file (GeoLite2/GeoIP2 Country, City or ASN) read with ``maxminddb``."""

    name = "maxmind"

    def __init__(self, path: str) -> None:
        import maxminddb

        self.path = path
        self._reader = maxminddb.open_database(path)

    def _get(self, ip: IPAddress) -> tuple[dict[str, Any], str | None]:
        record, prefix_len = self._reader.get_with_prefix_len(ip)
        if not isinstance(record, dict):
            return {}, None
        network = ipaddress.ip_network(f"{ip}/{prefix_len}", strict=False)
        return record, str(network)

    def country(self, ip: IPAddress) -> Answer:
        record, network = self._get(ip)
        place = record.get("country") or record.get("registered_country") or {}
        code = place.get("iso_code") if isinstance(place, dict) else None
        return Answer(country=code, network=network) if code else Answer()

    def asn(self, ip: IPAddress) -> Answer:
        record, network = self._get(ip)
        number = record.get("autonomous_system_number")
        org = record.get("autonomous_system_organization")
        if number is None and org is None:
            return Answer()
        return Answer(asn=number, as_org=org, network=network)


class Geoip2FastBackend:
    """The database the ``geoip2fast`` package ships (GeoLite2-derived, country + AS name).

    geoip2fast answers an address in a gap between ranges with the range before it
    (45.0.0.1 came back with the 44.224.0.0/11 AS name), so an answer is only taken when
    its prefix really holds the address.
    """

    name = "geoip2fast"

    def __init__(self) -> None:
        from geoip2fast import GeoIP2Fast

        self._db = GeoIP2Fast(geoip2fast_data_file=GEOIP2FAST_FILE, verbose=False)
        self._last: tuple[IPAddress | None, Any] = (None, None)

    def _result(self, ip: IPAddress) -> Any:
        # country() and asn() of one address come one after the other: one search for both
        if self._last[0] != ip:
            self._last = (ip, self._db.lookup(str(ip)))
        return self._last[1]

    def country(self, ip: IPAddress) -> Answer:
        result = self._result(ip)
        code = result.country_code
        if len(code) != 2 or code == "--" or not _holds(result.cidr, ip):
            return Answer()
        return Answer(country=code, network=result.cidr)

    def asn(self, ip: IPAddress) -> Answer:
        result = self._result(ip)
        if not result.asn_name or not _holds(result.asn_cidr, ip):
            return Answer()
        return Answer(as_org=result.asn_name, network=result.asn_cidr)


def _holds(cidr: str, ip: IPAddress) -> bool:
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False
    return ip.version == network.version and ip in network


class IpIntel(CachedLookup[IpInfo]):
    """Scope, country, ASN and AS organisation of addresses, cached per address."""

    def __init__(self, config: GeoConfig | None = None) -> None:
        self.config = config or GeoConfig()
        self._backends: tuple[Backend | None, Backend | None] | None = None
        self._init_cache(self.config.cache_size, self.config)

    def lookup(self, ip: str | None) -> IpInfo | None:
        """What ``ip`` is (None for no address). An unparseable one has scope ``invalid``."""
        return self._get(ip)

    def databases(self) -> dict[str, str | None]:
        """Which database answers country and which ASN questions (for docs and --help)."""
        country, asn = self._open()
        return {
            "country": None if country is None else country.name,
            "asn": None if asn is None else asn.name,
        }

    def _open(self) -> tuple[Backend | None, Backend | None]:
        if self._backends is None:
            cfg = self.config
            country: Backend | None = MaxMindBackend(cfg.country_db) if cfg.country_db else None
            asn: Backend | None = MaxMindBackend(cfg.asn_db) if cfg.asn_db else None
            if cfg.bundled and (country is None or asn is None):
                bundled = Geoip2FastBackend()
                country = country or bundled
                asn = asn or bundled
            self._backends = (country, asn)
        return self._backends

    def _lookup(self, text: str) -> IpInfo:
        try:
            address = ipaddress.ip_address(text.strip().strip("[]"))
        except ValueError:
            return IpInfo(ip=text)
        scope = scope_of(address)
        if scope != "public":
            return IpInfo(ip=text, version=address.version, scope=scope)
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        country_db, asn_db = self._open()
        where = country_db.country(address) if country_db else Answer()
        whose = asn_db.asn(address) if asn_db else Answer()
        names = {
            db.name for db, a in ((country_db, where), (asn_db, whose)) if db and a != Answer()
        }
        return IpInfo(
            ip=text,
            version=address.version,
            scope=scope,
            country=where.country,
            asn=whose.asn,
            as_org=whose.as_org,
            network=whose.network or where.network,
            source="+".join(sorted(names)) or None,
        )


__all__ = ["GeoConfig", "IpInfo", "IpIntel", "MaxMindBackend", "scope_of"]
