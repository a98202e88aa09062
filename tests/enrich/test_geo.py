"""IP intelligence: scopes, the bundled offline database, MaxMind files."""

from __future__ import annotations

import ipaddress
import pickle
from pathlib import Path

import pytest

from calltrace.enrich.geo import GeoConfig, IpIntel, scope_of

BUNDLED = IpIntel()
SCOPE_ONLY = IpIntel(GeoConfig(bundled=False))


@pytest.mark.parametrize(
    ("ip", "scope"),
    [
        ("10.0.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.10", "private"),
        ("172.32.0.1", "public"),  # just outside 172.16.0.0/12
        ("100.64.0.1", "cgnat"),  # RFC 6598
        ("100.128.0.1", "public"),  # just outside 100.64.0.0/10
        ("127.0.0.1", "loopback"),
        ("169.254.10.1", "link_local"),
        ("224.0.0.1", "multicast"),
        ("192.0.2.5", "documentation"),  # RFC 5737
        ("203.0.113.9", "documentation"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("198.18.0.1", "reserved"),  # RFC 2544 benchmarking
        ("::1", "loopback"),
        ("fe80::1", "link_local"),
        ("fd12:3456::1", "private"),  # RFC 4193 ULA
        ("2001:db8::1", "documentation"),  # RFC 3849
        ("ff02::1", "multicast"),
        ("2001:4860:4860::8888", "public"),
        ("::ffff:10.1.2.3", "private"),  # IPv4-mapped
        ("not-an-ip", "invalid"),
    ],
)
def test_scopes(ip: str, scope: str) -> None:
    """Every special-purpose range gets its scope, IPv4 and IPv6 alike."""
    info = SCOPE_ONLY.lookup(ip)
    assert info is not None and info.scope == scope


@pytest.mark.parametrize(
    ("ip", "country", "org"),
    [
        ("8.8.8.8", "US", "GOOGLE"),  # Google Public DNS, AS15169
        ("1.1.1.1", "AU", "CLOUDFLARENET"),  # Cloudflare, AS13335 (APNIC-registered block)
        ("193.0.6.139", "NL", "Reseaux IP Europeens Network Coordination Centre (RIPE NCC)"),
        ("2001:4860:4860::8888", "US", "GOOGLE"),
        ("::ffff:8.8.8.8", "US", "GOOGLE"),
    ],
)
def test_bundled_database_country_and_org(ip: str, country: str, org: str) -> None:
    """Stable public addresses get their country and AS organisation offline."""
    info = BUNDLED.lookup(ip)
    assert info is not None and info.scope == "public"
    assert (info.country, info.as_org, info.source) == (country, org, "geoip2fast")
    assert info.asn is None  # the bundled database carries no AS number


def test_bundled_database_gap_gives_no_org() -> None:
    """An address in a gap of the AS table gets no organisation (not its neighbour's)."""
    info = BUNDLED.lookup("45.0.0.1")
    assert info is not None and info.as_org is None


def test_private_addresses_are_not_looked_up() -> None:
    """Non-public addresses carry scope only, with no database answer."""
    info = BUNDLED.lookup("10.0.0.1")
    assert info is not None and (info.country, info.as_org, info.source) == (None, None, None)


def _mmdb(path: Path, database_type: str, records: dict[str, dict[str, object]]) -> str:
    from mmdb_writer import MmdbU32, MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type=database_type)
    for network, record in records.items():
        content = {k: MmdbU32(v) if isinstance(v, int) else v for k, v in record.items()}
        writer.insert_network(IPSet([network]), content)  # type: ignore[arg-type]
    writer.to_db_file(str(path))
    return str(path)


def test_maxmind_files_replace_the_bundled_database(tmp_path: Path) -> None:
    """With GeoLite2-style Country and ASN files, answers (and AS numbers) come from them."""
    country = _mmdb(
        tmp_path / "country.mmdb",
        "GeoLite2-Country",
        {
            "8.8.8.0/24": {"country": {"iso_code": "US"}},
            "2a00:1450::/32": {"country": {"iso_code": "IE"}},
        },
    )
    asn = _mmdb(
        tmp_path / "asn.mmdb",
        "GeoLite2-ASN",
        {
            "8.8.8.0/24": {
                "autonomous_system_number": 15169,
                "autonomous_system_organization": "GOOGLE",
            },
            "1.1.1.0/24": {
                "autonomous_system_number": 13335,
                "autonomous_system_organization": "CLOUDFLARENET",
            },
        },
    )
    intel = IpIntel(GeoConfig.from_env({"CALLTRACE_GEOIP_DB": country, "CALLTRACE_ASN_DB": asn}))
    google = intel.lookup("8.8.8.8")
    assert google is not None
    assert (google.country, google.asn, google.as_org) == ("US", 15169, "GOOGLE")
    assert google.network == "8.8.8.0/24" and google.source == "maxmind"
    cloudflare = intel.lookup("1.1.1.1")
    assert cloudflare is not None and (cloudflare.asn, cloudflare.country) == (13335, None)
    assert intel.lookup("2a00:1450::1").country == "IE"  # type: ignore[union-attr]
    assert intel.databases() == {"country": "maxmind", "asn": "maxmind"}


def test_scope_of_mapped_address() -> None:
    """An IPv4-mapped IPv6 address is judged by its IPv4 address."""
    assert scope_of(ipaddress.ip_address("::ffff:100.64.1.1")) == "cgnat"


def test_cache_and_pickle() -> None:
    """Repeated lookups hit the cache; an instance pickles without its open databases."""
    intel = IpIntel(GeoConfig(bundled=False, cache_size=8))
    intel.lookup("10.0.0.1")
    intel.lookup("10.0.0.1")
    assert intel.cache_info().hits == 1
    clone = pickle.loads(pickle.dumps(intel))
    assert clone.config == intel.config and clone.lookup("10.0.0.1").scope == "private"  # type: ignore[union-attr]
