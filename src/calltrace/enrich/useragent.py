"""SIP User-Agent and Server parsing: vendor, product, version, SIP stack, scanner.

The signatures live in ``data/useragents.toml`` (each with where it is known from), so
a new device or attack tool is one table entry, not a code change. Scanner and attack
tool signatures are tried first: tools such as toll-fraud bots dress up as real devices
(``Cisco-SIPGateway/IOS-12.x``). ``stack`` is the SIP stack *family* (Asterisk and
FreePBX are one, SER/Kamailio another), which is what ``device_inconsistency`` compares:
one account seen from two families within an hour is suspicious, a firmware upgrade is not.

An unknown string still yields its product token and version (RFC 3261 §20.41:
``product/version`` tokens), with ``stack`` ``unknown``. Results are cached per string.

>>> parser = UserAgentParser()
>>> ua = parser.parse("FreeSWITCH-mod_sofia/1.6.12-20-b91a0a6~64bit")
>>> (ua.vendor, ua.product, ua.version, ua.stack, ua.scanner)
('FreeSWITCH', 'FreeSWITCH', '1.6.12-20-b91a0a6~64bit', 'freeswitch', None)
>>> parser.parse("friendly-scanner").scanner
'sipvicious'
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from calltrace.enrich._common import CachedLookup, read_data

#: A version: digits with dots, letters and dashes after (``1.6.12-20``, ``6.20A.027``).
_VERSION = re.compile(
    r"(?<![\w.])(?:v\.?)?(\d+(?:\.\w+)+(?:[-~+]\w+)*|\d+(?:[-~]\w+)*)", re.IGNORECASE
)
#: The first RFC 3261 product token, ``name/version``.
_TOKEN = re.compile(r"^\s*([^\s/()]+)(?:/(\S+))?")


@dataclass(frozen=True, slots=True, kw_only=True)
class Signature:
    """One table entry: a pattern and what a match means."""

    pattern: re.Pattern[str]
    vendor: str | None = None
    product: str | None = None
    stack: str | None = None
    scanner: str | None = None
    version: re.Pattern[str] | None = None
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class UserAgentInfo:
    """What a User-Agent (or Server) string says about the device behind it."""

    raw: str
    vendor: str | None = None
    product: str | None = None
    version: str | None = None
    stack: str = "unknown"
    scanner: str | None = None  # the attack tool, when the string is a known signature

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (the ``enrichment`` of a call, docs/json.md)."""
        return {
            "vendor": self.vendor,
            "product": self.product,
            "version": self.version,
            "stack": self.stack,
            "scanner": self.scanner,
        }


def _compile(entry: dict[str, Any], *, scanner: bool) -> Signature:
    version = entry.get("version")
    return Signature(
        pattern=re.compile(entry["pattern"], re.IGNORECASE),
        vendor=entry.get("vendor"),
        product=entry.get("product"),
        stack=entry.get("stack"),
        scanner=entry.get("tool") if scanner else None,
        version=re.compile(version, re.IGNORECASE) if version else None,
        note=entry.get("note", ""),
    )


@lru_cache(maxsize=8)
def load_signatures(path: str | None = None) -> tuple[Signature, ...]:
    """Scanner signatures first, then products; read once per path."""
    data = tomllib.loads(read_data("useragents.toml", path))
    return tuple(_compile(e, scanner=True) for e in data.get("scanner", [])) + tuple(
        _compile(e, scanner=False) for e in data.get("product", [])
    )


def _version(text: str, signature: Signature | None, end: int) -> str | None:
    if signature is not None and signature.version is not None:
        match = signature.version.search(text)
        if match:
            return match.group(1)
    match = _VERSION.search(text, end)
    return match.group(1) if match else None


class UserAgentParser(CachedLookup[UserAgentInfo]):
    """Classifies User-Agent/Server strings from the signature table, cached per string."""

    def __init__(self, signatures_file: str | None = None, *, cache_size: int = 16384) -> None:
        self.signatures_file = signatures_file
        self._signatures = load_signatures(signatures_file)
        self._init_cache(cache_size, signatures_file)

    def parse(self, raw: str | None) -> UserAgentInfo | None:
        """What ``raw`` says (None for no header)."""
        if not raw or not raw.strip():
            return None
        return self._get(raw)

    def is_scanner(self, raw: str | None) -> str | None:
        """The attack tool a User-Agent belongs to, or None (scanner_user_agent)."""
        info = self.parse(raw)
        return None if info is None else info.scanner

    def _lookup(self, raw: str) -> UserAgentInfo:
        text = raw.strip()
        for signature in self._signatures:
            match = signature.pattern.search(text)
            if match is None:
                continue
            if signature.scanner is not None:
                token = _TOKEN.match(text)
                return UserAgentInfo(
                    raw=raw,
                    product=token.group(1) if token else text,
                    version=_version(text, None, match.end()),
                    stack="scanner",
                    scanner=signature.scanner,
                )
            token = _TOKEN.match(text)
            return UserAgentInfo(
                raw=raw,
                vendor=signature.vendor,
                product=signature.product or (token.group(1) if token else None),
                version=_version(text, signature, match.end()),
                stack=signature.stack or "unknown",
            )
        token = _TOKEN.match(text)
        return UserAgentInfo(
            raw=raw,
            product=token.group(1) if token else None,
            version=_version(text, None, 0),
        )


__all__ = ["Signature", "UserAgentInfo", "UserAgentParser", "load_signatures"]
