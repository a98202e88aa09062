"""User-agent parsing: every device and tool of the corpus, scanners in the attack captures."""

from __future__ import annotations

import functools
import pickle
import subprocess
from pathlib import Path

import pytest

from calltrace.enrich.useragent import UserAgentParser, load_signatures

PARSER = UserAgentParser()
TSHARK_FIELDS = ("-e", "sip.User-Agent", "-e", "sip.Server")

#: Every User-Agent/Server value tshark finds in ../shared/corpus/pcap, hand-classified:
#: (vendor, stack, version, scanner).
CORPUS_UAS: dict[str, tuple[str | None, str, str | None, str | None]] = {
    "AVAYA-SM-7.1.2.0.712004": ("Avaya", "avaya", "7.1.2.0.712004", None),
    "Aastra 55i/2.6.0.1008": ("Mitel", "aastra", "2.6.0.1008", None),
    "Aastra 57i/3.3.1.4322": ("Mitel", "aastra", "3.3.1.4322", None),
    "Aastra 57iCT/2.6.0.1008": ("Mitel", "aastra", "2.6.0.1008", None),
    "Alcatel-Lucent 8001 DeskPhone V4.2.0.0 11273": (
        "Alcatel-Lucent Enterprise",
        "alcatel",
        "4.2.0.0",
        None,
    ),
    "Arcor/Arcor-1.02.005t2": ("Arcor", "arcor", "1.02.005t2", None),
    "Asterisk PBX 1.6.0.6": ("Sangoma", "asterisk", "1.6.0.6", None),
    "Cirpack/v4.38e (gw_sip)": ("Cirpack", "cirpack", "4.38e", None),
    "Cisco v11.0.0": ("Cisco", "cisco", "11.0.0", None),
    "Cisco-CUCM11.5": ("Cisco", "cisco", "11.5", None),
    "Cisco-SIPGateway/IOS-12.x": (None, "scanner", None, "spoofed_cisco"),
    "Cisco-SIPGateway/IOS-16.6.2": ("Cisco", "cisco", "16.6.2", None),
    "Ekiga/3.2.0": ("Ekiga", "opal", "3.2.0", None),
    "FreeSWITCH-mod_sofia/1.6.12-20-b91a0a6~64bit": (
        "FreeSWITCH",
        "freeswitch",
        "1.6.12-20-b91a0a6~64bit",
        None,
    ),
    "FreeSWITCH-mod_sofia/1.8.2-3-a98a958ac3~64bit": (
        "FreeSWITCH",
        "freeswitch",
        "1.8.2-3-a98a958ac3~64bit",
        None,
    ),
    "GW/v.6.20A.027.012": ("AudioCodes", "audiocodes", "6.20A.027.012", None),
    "Huawei SoftX3000 V300R011": ("Huawei", "huawei", "V300R011", None),
    "IPP/v.6.20A.027.012": ("AudioCodes", "audiocodes", "6.20A.027.012", None),
    "LifeSize Room_220/LS_RM2_4.7.10 (14)": ("Logitech", "lifesize", "4.7.10", None),
    "MicroSIP/3.14.5": ("MicroSIP", "pjsip", "3.14.5", None),
    "MicroSIP/3.22.3": ("MicroSIP", "pjsip", "3.22.3", None),
    "Nero SIPPS IP Phone Version 2.0.51.16": ("Nero", "nero", "2.0.51.16", None),
    "OmniPCX Enterprise R11.2.2 l2.300.34.a": (
        "Alcatel-Lucent Enterprise",
        "alcatel",
        "11.2.2",
        None,
    ),
    "OpenSIPS (2.4.2 (x86_64/linux))": ("OpenSIPS", "opensips", "2.4.2", None),
    "OpenSIPS (2.4.3 (x86_64/linux))": ("OpenSIPS", "opensips", "2.4.3", None),
    "OpenSIPS (2.4.5 (x86_64/linux))": ("OpenSIPS", "opensips", "2.4.5", None),
    "SIP.js/0.11.5": ("OnSIP", "sipjs", "0.11.5", None),
    "SIParator/5.0.11": ("Ingate", "ingate", "5.0.11", None),
    "Sip EXpress router (0.8.12 (i386/linux))": ("iptel.org", "kamailio", "0.8.12", None),
    "Sip Express Media Server (1.1.1-aefe2 (x86_64/linux))": (
        "iptel.org",
        "sems",
        "1.1.1-aefe2",
        None,
    ),
    "UAS/V1.3": (None, "unknown", "1.3", None),
    "VIVOSIPUA v0.1": (None, "unknown", "0.1", None),
    "VSBC/V1.0": (None, "unknown", "1.0", None),
    "Verso Softphone release 1104w": ("Verso Technologies", "counterpath", "1104w", None),
    "X-Lite 4 release 4.0 stamp 58832": ("CounterPath", "counterpath", "4.0", None),
    "X-Lite release 1009r stamp 38964": ("CounterPath", "counterpath", "1009r", None),
    "X-Lite release 1103m": ("CounterPath", "counterpath", "1103m", None),
    "Z 3.3.21933 r21903": ("Securax", "zoiper", "3.3.21933", None),
    "Zeeko": (None, "scanner", None, "sipvicious"),
    "eyeBeam release 1014g stamp 44944": ("CounterPath", "counterpath", "1014g", None),
    "friendly-scanner": (None, "scanner", None, "sipvicious"),
    "ser (3.2.0-dev2 (i386/linux))": ("iptel.org", "kamailio", "3.2.0-dev2", None),
    "sipcli/v1.8": (None, "scanner", "1.8", "sipcli"),
}


def _corpus_user_agents(tshark: str, files: list[Path]) -> dict[str, set[str]]:
    """User-Agent and Server values per file, as tshark reads them."""
    return {path.name: _tshark_user_agents(tshark, path) for path in files}


@functools.cache
def _tshark_user_agents(tshark: str, path: Path) -> set[str]:
    fields = subprocess.run(
        [tshark, "-r", str(path), "-Y", "sip", "-T", "fields", *TSHARK_FIELDS],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    ).stdout
    return {v for line in fields.splitlines() for v in line.split("\t") if v}


@pytest.mark.parametrize("raw", sorted(CORPUS_UAS))
def test_corpus_user_agents_are_classified(raw: str) -> None:
    """Each corpus device or tool gets its hand-checked vendor, stack, version and tool."""
    info = PARSER.parse(raw)
    assert info is not None
    assert (info.vendor, info.stack, info.version, info.scanner) == CORPUS_UAS[raw]


@pytest.mark.corpus
@pytest.mark.tshark
def test_table_covers_every_user_agent_tshark_finds(corpus: Path, tshark: str) -> None:
    """The hand-checked table holds every User-Agent/Server in the corpus captures."""
    files = sorted(p for p in (corpus / "pcap").rglob("*") if p.suffix in {".pcap", ".pcapng"})
    found = set().union(*_corpus_user_agents(tshark, files).values())
    assert found and found <= set(CORPUS_UAS)


@pytest.mark.corpus
@pytest.mark.tshark
def test_scanner_signatures_hit_the_attack_captures(corpus: Path, tshark: str) -> None:
    """Scanner UAs are found in the attack captures that have them, and only there."""
    files = sorted((corpus / "pcap" / "sip-attacks").glob("*.pcap"))
    tools = {
        name: {PARSER.is_scanner(ua) for ua in uas} - {None}
        for name, uas in _corpus_user_agents(tshark, files).items()
    }
    assert tools == {
        "BadUserAgent-sipvicious.pcap": {"sipvicious"},
        "SIP-212.32.250.134.pcap": {"spoofed_cisco"},
        "SIP-3700-unauthorized-401.pcap": {"sipcli"},
        "SIP-Bruteforce-Single-IP.pcap": set(),  # a REGISTER brute force behind 'Cisco v11.0.0'
    }


@pytest.mark.parametrize(
    ("raw", "tool"),
    [
        ("friendly-scanner", "sipvicious"),
        ("sipvicious 0.3.4", "sipvicious"),
        ("VaxSIPUserAgent/3.1", "vaxsipuseragent"),
        ("pplsip", "pplsip"),
        ("sundayddr", "sundayddr"),
        ("iWar", "iwar"),
        ("sipsak 0.9.8", "sipsak"),
        ("smap 0.6.0", "smap"),
        ("SIVuS Scanner", "sivus"),
        ("Cisco-SIPGateway/IOS-12.x", "spoofed_cisco"),
    ],
)
def test_scanner_signatures(raw: str, tool: str) -> None:
    """Known scanner and attack-tool strings name their tool."""
    assert PARSER.is_scanner(raw) == tool


@pytest.mark.parametrize(
    ("raw", "vendor", "stack", "version"),
    [
        ("Yealink SIP-T46S 66.86.0.15", "Yealink", "yealink", "66.86.0.15"),
        ("Grandstream GXP2170 1.0.11.3", "Grandstream", "grandstream", "1.0.11.3"),
        ("snomD785/10.1.54.13", "Snom", "snom", "10.1.54.13"),
        ("PolycomVVX-VVX_410-UA/5.9.5.0614", "Poly", "polycom", "5.9.5.0614"),
        ("Linphone/5.0.16 (belle-sip/5.0.55)", "Belledonne", "belle-sip", "5.0.16"),
        ("Bria 6 release 6.5.3", "CounterPath", "counterpath", "6.5.3"),
        ("kamailio (5.6.4 (x86_64/linux))", "Kamailio", "kamailio", "5.6.4"),
        ("SIPp/v3.7.3", "SIPp", "sipp", "3.7.3"),
        ("Twilio Gateway", "Twilio", "twilio", None),
        ("Microsoft.PSTNHub.SIPProxy v.2023.1.1.1", "Microsoft", "microsoft", "2023.1.1.1"),
    ],
)
def test_common_products(raw: str, vendor: str, stack: str, version: str | None) -> None:
    """Common phones, servers and tools get their vendor, stack family and version."""
    info = PARSER.parse(raw)
    assert info is not None and (info.vendor, info.stack, info.version) == (vendor, stack, version)


def test_unknown_string_keeps_its_product_token() -> None:
    """An unknown string keeps its RFC 3261 product token and version; no header is None."""
    info = PARSER.parse("AcmePhone/2.1 (lab)")
    assert info is not None and (info.product, info.version, info.stack) == (
        "AcmePhone",
        "2.1",
        "unknown",
    )
    assert PARSER.parse("") is None and PARSER.parse(None) is None


def test_every_signature_says_where_it_is_known_from() -> None:
    """Each scanner signature carries a note with its source."""
    assert all(s.note for s in load_signatures() if s.scanner)


def test_pickle() -> None:
    """A parser pickles (its cache is rebuilt empty)."""
    clone = pickle.loads(pickle.dumps(PARSER))
    assert clone.is_scanner("friendly-scanner") == "sipvicious"
