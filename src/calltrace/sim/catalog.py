"""What the simulated world is made of (pure data): products, people, number plans.

User-Agent strings are spelled as the products spell them; MAC prefixes are the
vendors' registered OUIs. Numbers are valid,
allocated numbers of libphonenumber (calltrace.sim.numbers), so number analysis finds
a country and a type, and normal callers are placed in business hours.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final

from calltrace.sim import numbers


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


def e164(rng: random.Random, country: str | None = None) -> str:
    """A valid +E.164 number, from ``country`` (calling code) or the weighted mix; any
    hour (a B-number, or a caller whose time of day does not matter). See
    :mod:`calltrace.sim.numbers` for how the numbers are chosen."""
    return numbers.any_number(rng, country)


def callee(rng: random.Random, a_number: str) -> str:
    """A valid +E.164 B-number other than ``a_number`` (nobody normal calls themself)."""
    while True:
        number = numbers.any_number(rng)
        if number != a_number:
            return number


def caller(rng: random.Random, ts_ns: int) -> str:
    """A valid +E.164 caller whose country is in business hours at ``ts_ns``."""
    return numbers.in_hours(rng, ts_ns)


def mac(oui: str, rng: random.Random) -> bytes:
    """A MAC address in the vendor's OUI (locally random host part)."""
    return bytes.fromhex(oui.replace(":", "")) + rng.randbytes(3)
