"""What the simulated world is made of (pure data): products, people, number plans.

User-Agent strings are spelled as the products spell them; MAC prefixes are the
vendors' registered OUIs. Numbers come from ranges that look real but are set aside
for drama or documentation where a country has one (NANP 555-01xx, Ofcom's
020 7946 0xxx), and from ordinary geographic ranges elsewhere, so number analysis
(country, type) has something true to find while no real subscriber is named.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True, kw_only=True)
class Product:
    """A SIP product: how it introduces itself, what it offers, how it spells ids."""

    agent: str
    oui: str  # vendor MAC prefix, "aa:bb:cc"
    codecs: tuple[str, ...]
    style: str = "hex"
    tcp: bool = False  # commonly deployed over TCP


PHONES: Final[tuple[Product, ...]] = (
    Product(agent="Yealink SIP-T46S 66.86.0.15", oui="80:5e:c0",
            codecs=("G722", "PCMU", "PCMA", "G729"), style="numeric"),
    Product(agent="Yealink SIP-T54W 96.86.0.100", oui="24:9a:d8",
            codecs=("opus", "G722", "PCMU", "PCMA"), style="numeric"),
    Product(agent="PolycomVVX-VVX_450-UA/6.4.3.4155", oui="64:16:7f",
            codecs=("G722", "PCMU", "PCMA"), style="hex"),
    Product(agent="Grandstream GXP2170 1.0.11.23", oui="00:0b:82",
            codecs=("PCMU", "PCMA", "G729"), style="numeric"),
    Product(agent="Cisco/SPA504G-7.6.2e", oui="00:1b:54",
            codecs=("G729", "PCMU", "PCMA"), style="hex"),
    Product(agent="Zoiper rv2.10.20.1", oui="3c:22:fb",
            codecs=("opus", "PCMU", "PCMA"), style="hex", tcp=True),
    Product(agent="Linphone Desktop/5.2.0 (Ubuntu 22.04) LinphoneSDK/5.3.14", oui="f8:ff:c2",
            codecs=("opus", "PCMU", "PCMA", "G722"), style="hex", tcp=True),
    Product(agent="snom D785/10.1.141.13", oui="00:04:13",
            codecs=("G722", "PCMA", "PCMU", "G729"), style="hex"),
)  # fmt: skip

SERVERS: Final[dict[str, Product]] = {
    "asterisk": Product(agent="Asterisk PBX 20.5.2", oui="52:54:00",
                        codecs=("PCMU", "PCMA", "G722", "G729", "opus"), style="uuid"),
    "freeswitch": Product(agent="FreeSWITCH-mod_sofia/1.10.11-release~64bit", oui="52:54:00",
                          codecs=("PCMU", "PCMA", "G722", "opus"), style="uuid"),
    "kamailio": Product(agent="kamailio (5.7.4 (x86_64/linux))", oui="52:54:00",
                        codecs=("PCMU", "PCMA", "G729"), style="hex"),
    "oracle": Product(agent="Oracle Communications Session Border Controller SCZ9.1.0",
                      oui="00:10:6b", codecs=("PCMA", "PCMU", "G729", "G722")),
    "cube": Product(agent="Cisco-SIPGateway/IOS-17.9.4a", oui="00:1b:54",
                    codecs=("G729", "PCMU", "PCMA"), style="numeric"),
    "audiocodes": Product(agent="Mediant SW/v.7.40A.500.001", oui="00:90:8f",
                          codecs=("PCMA", "PCMU", "G729", "G722")),
    "3cx": Product(agent="3CXPhoneSystem 18.0.9.20 (20)", oui="52:54:00",
                   codecs=("PCMU", "PCMA", "G722", "opus"), style="hex", tcp=True),
    "ucm": Product(agent="Grandstream UCM6304 1.0.19.12", oui="00:0b:82",
                   codecs=("PCMU", "PCMA", "G722", "G729"), style="numeric"),
}  # fmt: skip

FIRST_NAMES: Final = (
    "Alice", "Bruno", "Chloé", "Dmitri", "Elena", "Farid", "Grace", "Hiroshi", "Ines", "Jonas",
    "Kofi", "Lena", "Marco", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Samir", "Tanja",
    "Ugo", "Vera", "Wei", "Ximena", "Yusuf", "Zoe",
)  # fmt: skip
LAST_NAMES: Final = (
    "Martin", "Schmidt", "Dubois", "Rossi", "García", "Kowalski", "Nakamura", "Okafor",
    "Johansson", "Silva", "Haddad", "Novak", "Murphy", "Weber", "Moreau", "Lindqvist",
)  # fmt: skip


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


# (country code, weight, function of rng giving the national significant number)
def _us(r: random.Random) -> str:
    return f"{r.choice(('212', '312', '415', '617', '202'))}5550{r.randrange(100, 200):03d}"[:10]


def _uk(r: random.Random) -> str:
    return r.choice((f"207946{r.randrange(10000):04d}", f"1632960{r.randrange(1000):03d}",
                     f"7700900{r.randrange(1000):03d}"))  # fmt: skip


def _de(r: random.Random) -> str:
    return r.choice((f"30{r.randrange(1000000, 99999999)}", f"89{r.randrange(1000000, 9999999)}",
                     f"151{r.randrange(10000000, 99999999)}"))  # fmt: skip


def _fr(r: random.Random) -> str:
    return r.choice((f"1{r.randrange(40000000, 79999999)}", f"6{r.randrange(10000000, 99999999)}"))


def _es(r: random.Random) -> str:
    return f"91{r.randrange(1000000, 9999999)}"


def _it(r: random.Random) -> str:
    return f"06{r.randrange(10000000, 99999999)}"


def _nl(r: random.Random) -> str:
    return f"20{r.randrange(1000000, 9999999)}"


def _au(r: random.Random) -> str:
    return f"2{r.randrange(90000000, 99999999)}"


def _jp(r: random.Random) -> str:
    return f"3{r.randrange(10000000, 99999999)}"


def _br(r: random.Random) -> str:
    return f"11{r.randrange(900000000, 999999999)}"


NUMBER_PLANS: Final = (
    ("1", 30, _us), ("44", 18, _uk), ("49", 14, _de), ("33", 12, _fr), ("34", 6, _es),
    ("39", 6, _it), ("31", 5, _nl), ("61", 4, _au), ("81", 3, _jp), ("55", 2, _br),
)  # fmt: skip
_CC_WEIGHTS: Final = [w for _, w, _ in NUMBER_PLANS]


def e164(rng: random.Random, country: str | None = None) -> str:
    """A plausible +E.164 number, from ``country`` (calling code) or a weighted mix."""
    if country is None:
        plan = rng.choices(NUMBER_PLANS, weights=_CC_WEIGHTS)[0]
    else:
        plan = next(p for p in NUMBER_PLANS if p[0] == country)
    return f"+{plan[0]}{plan[2](rng)}"


def mac(oui: str, rng: random.Random) -> bytes:
    """A MAC address in the vendor's OUI (locally random host part)."""
    return bytes.fromhex(oui.replace(":", "")) + rng.randbytes(3)
