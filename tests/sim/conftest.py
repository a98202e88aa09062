"""Shared helpers for the simulator tests: tshark oracle and a reference checksum."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

TSHARK = shutil.which("tshark")
EXTRA_PORTS = ("-d", "udp.port==5080,sip", "-d", "tcp.port==5080,sip")

needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")


def tshark_sip_stat(path: Path) -> dict[str, object]:
    """Parse ``tshark -q -z sip,stat`` into messages, resent, requests and responses."""
    assert TSHARK is not None
    out = subprocess.run(
        [TSHARK, "-r", str(path), "-q", "-z", "sip,stat", *EXTRA_PORTS],
        check=True, capture_output=True, text=True, timeout=120,
    ).stdout  # fmt: skip
    messages = int(re.search(r"Number of SIP messages: (\d+)", out).group(1))  # type: ignore[union-attr]
    resent = int(re.search(r"Number of resent SIP messages: (\d+)", out).group(1))  # type: ignore[union-attr]
    responses = {m[0]: int(m[1]) for m in re.findall(r"SIP (\d{3}) .*?:\s+(\d+) Packets", out)}
    section = out.split("List of SIP Request methods", 1)[1]
    requests = {
        m[0]: int(m[1]) for m in re.findall(r"^\s+([A-Z]+)\s+:\s+(\d+) Packets", section, re.M)
    }
    return {"messages": messages, "resent": resent, "requests": requests, "responses": responses}


def reference_checksum(data: bytes) -> int:
    """RFC 1071 §4.1 checksum the slow, obvious way (word loop with end-around carry)."""
    if len(data) % 2:
        data += b"\x00"
    total = 0
    for i in range(0, len(data), 2):
        total += (data[i] << 8) | data[i + 1]
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF
