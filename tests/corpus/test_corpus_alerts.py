"""Which rules fire on which entity in the real attack captures, and which stay quiet.

The expectations come from looking at each capture with tshark (what each source sent and
how it was answered) and, where the corpus has them, Zeek's sip-attacks notices
(expected/sipattacks_*.notice.log). Every rule not listed for a file must give nothing on
it: the servers under attack are never named.

- BadUserAgent-sipvicious: OPTIONS pings as friendly-scanner (and one Zeeko) from eleven
  addresses, one to three each: scanner_user_agent on each (Zeek's BadUserAgent sources);
  two of them put 192.168/16 addresses in Via and Contact: header_anomaly. No sweep.
- SIP-212.32.250.134: one source (Cisco-SIPGateway/IOS-12.x, a spoofed UA) REGISTERs and
  INVITEs 20 hosts with guessed credentials refused 401/403/407: sip_scan,
  scanner_user_agent, auth_bruteforce.
- SIP-3700-unauthorized-401: sipcli INVITEs to international numbers; its credentials are
  refused once (403) and otherwise accepted (then 503): scanner_user_agent, not
  auth_bruteforce (Zeek's Code_401_403 notice counts challenges too; it names the same
  source).
- SIP-Bruteforce-Single-IP: REGISTERs for 45 extensions, each challenged and its guess
  refused: extension_enumeration and auth_bruteforce on the guesser.
- derived sipvicious-0.3.8 vs SIPp: four friendly-scanner requests: scanner_user_agent.
- wireshark-samples metasploit-sip-invite-spoof: a crafted INVITE (branch without the
  magic cookie, From without tag): header_anomaly on its sender, not on the victim.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from calltrace.detect.rules._signalling import SIGNALLING_RULES
from tests.corpus._analyze import analyze

BAD_UA_SOURCES = {
    "146.38.187.119", "167.39.178.73", "167.39.178.78", "171.217.27.156", "171.217.27.159",
    "207.236.89.0", "27.164.15.39", "27.53.138.51", "7.17.254.165", "7.17.254.188",
    "75.225.19.2",
}  # fmt: skip
EXPECTED: dict[str, dict[str, set[str]]] = {
    "pcap/sip-attacks/BadUserAgent-sipvicious.pcap": {
        "scanner_user_agent": BAD_UA_SOURCES,
        "header_anomaly": {"171.217.27.156", "171.217.27.159"},
    },
    "pcap/sip-attacks/SIP-212.32.250.134.pcap": {
        "sip_scan": {"206.55.185.163"},
        "scanner_user_agent": {"206.55.185.163"},
        "auth_bruteforce": {"206.55.185.163"},
    },
    "pcap/sip-attacks/SIP-3700-unauthorized-401.pcap": {
        "scanner_user_agent": {"40.129.198.250"},
    },
    "pcap/sip-attacks/SIP-Bruteforce-Single-IP.pcap": {
        "extension_enumeration": {"199.105.226.32"},
        "auth_bruteforce": {"199.105.226.32"},
    },
    "derived/sipvicious-0.3.8_vs_sipp-uas_loopback.pcapng": {
        "scanner_user_agent": {"127.0.0.1"},
    },
    "pcap/wireshark-samples/metasploit-sip-invite-spoof.pcap": {
        "header_anomaly": {"10.0.1.199"},
    },
}


def _fired(corpus: Path, name: str) -> dict[str, set[str]]:
    fired: dict[str, set[str]] = {}
    for alert in analyze(corpus / name).alerts:
        if alert.rule in SIGNALLING_RULES:
            fired.setdefault(alert.rule, set()).add(alert.entity)
    return fired


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_rules_fire_on_the_attackers_only(corpus: Path, name: str) -> None:
    """The signalling rules fire on exactly the expected entities, and the others not at all."""
    assert _fired(corpus, name) == EXPECTED[name]


def test_every_attack_capture_is_covered(corpus: Path) -> None:
    """Each file of pcap/sip-attacks has its expectations here."""
    files = {f"pcap/sip-attacks/{p.name}" for p in (corpus / "pcap" / "sip-attacks").iterdir()}
    assert files <= set(EXPECTED)


@pytest.mark.parametrize(
    ("log", "capture"),
    [
        ("sipattacks_BadUserAgent-sipvicious.notice.log", "BadUserAgent-sipvicious.pcap"),
        ("sipattacks_SIP-3700-unauthorized-401.notice.log", "SIP-3700-unauthorized-401.pcap"),
    ],
)
def test_zeek_notice_sources_are_named(corpus: Path, log: str, capture: str) -> None:
    """Every source of a Zeek sip-attacks notice is the entity of one of our alerts."""
    lines = (corpus / "expected" / log).read_text().splitlines()
    fields = next(line for line in lines if line.startswith("#fields")).split("\t")[1:]
    sources = {
        dict(zip(fields, line.split("\t"), strict=True))["src"]
        for line in lines
        if line and not line.startswith("#")
    }
    ours = set().union(*_fired(corpus, f"pcap/sip-attacks/{capture}").values())
    assert sources and sources <= ours


def test_brute_force_evidence_in_the_single_ip_capture(corpus: Path) -> None:
    """SIP-Bruteforce-Single-IP: the guesser's refused credentials and its enumerated
    extensions (tshark: REGISTERs for users 10-54 answered 401) are in the evidence."""
    alerts = analyze(corpus / "pcap/sip-attacks/SIP-Bruteforce-Single-IP.pcap").alerts
    brute = [a for a in alerts if a.rule == "auth_bruteforce"]
    enum = [a for a in alerts if a.rule == "extension_enumeration"]
    assert brute[0].evidence["failures"] >= 5 and brute[0].evidence["scope"] == "source"
    users = set().union(*(a.evidence["users"] for a in enum))
    assert len(users) >= 10 and users <= {str(n) for n in range(10, 55)}
