"""Running the real pipeline on corpus files, once per file per test session."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from calltrace.pipeline import Analysis, analyze_chunks
from calltrace.sources.pcapfile import read_chunks


@cache
def analyze(path: Path) -> Analysis:
    return analyze_chunks([(str(path), read_chunks(path))])


def expected_name(corpus: Path, capture: Path) -> str:
    """The corpus names tshark outputs after the path under pcap/, ``/`` written ``__``."""
    return str(capture.relative_to(corpus / "pcap")).replace("/", "__")


@dataclass
class SipStat:
    """What ``tshark -q -z sip,stat`` printed."""

    messages: int
    resent: int
    statuses: dict[str, int] = field(default_factory=dict)
    methods: dict[str, int] = field(default_factory=dict)


STATUS_LINE = re.compile(r"^\s+SIP (\d{3}) .*:\s+(\d+) Packets\s*$")
METHOD_LINE = re.compile(r"^\s+(\S+)\s+:\s+(\d+) Packets\s*$")


def parse_sip_stat(text: str) -> SipStat:
    messages = int(re.search(r"Number of SIP messages: (\d+)", text).group(1))  # type: ignore[union-attr]
    resent = int(re.search(r"Number of resent SIP messages: (\d+)", text).group(1))  # type: ignore[union-attr]
    stat = SipStat(messages=messages, resent=resent)
    section = None
    for line in text.splitlines():
        if "SIP Status Codes" in line:
            section = "status"
        elif "List of SIP Request methods" in line:
            section = "method"
        elif "Average setup time" in line:
            section = None
        elif section == "status" and (m := STATUS_LINE.match(line)):
            stat.statuses[m.group(1)] = stat.statuses.get(m.group(1), 0) + int(m.group(2))
        elif section == "method" and (m := METHOD_LINE.match(line)):
            stat.methods[m.group(1)] = int(m.group(2))
    return stat
