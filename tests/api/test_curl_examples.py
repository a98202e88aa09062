"""The curl examples of docs/api.md, run as written against a running server."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.conftest import Server

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
#: What each example's output must show, in the order of the document.
EXPECT = [
    '"status":"ok"',
    '"distinct_a_count":1',
    '"detected":true',
    '"rule":"multicall_masking"',
    '"status":"investigating"',
    '"level":"high"',
    '"total_calls":5',
    '"threshold":6',
    "acm_calls_processed_total 5.0",
    '"state":"completed"',
    "application/vnd.tcpdump.pcap",
    '"OPTIONS":13',
]


def examples() -> list[str]:
    text = DOC.read_text()
    section = text.split("<!-- curl-examples -->")[1].split("<!-- /curl-examples -->")[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)


def test_every_route_has_an_example() -> None:
    """Each /acm route, /health, /metrics and each /api/v1 call route appear in an example."""
    text = "\n".join(examples())
    for route in ["/health", "/acm/call", "/acm/calls/batch", "/acm/alerts?", "/acm/alerts/$",
                  "PATCH", "/acm/threat?", "/acm/threats", "/acm/stats", "/acm/config",
                  "-X POST \"$URL/acm/config", "/metrics", "/api/v1/calls?",
                  "/api/v1/calls/$CALL_ID\"", "/ladder.svg", "/pcap", "jq -r .next",
                  "/api/v1/ips/", "/api/v1/search?caller="]:  # fmt: skip
        assert route in text, route
    assert len(examples()) == len(EXPECT)


def test_examples_run_as_written(server: Server) -> None:
    """Every example exits 0 (curl -f: no HTTP error) and shows what it is for."""
    if shutil.which("curl") is None or shutil.which("jq") is None:
        pytest.skip("curl and jq are needed (Debian packages curl, jq)")
    env = dict(os.environ, URL=server.url, KEY=server.keys["admin"], DB=server.db)
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    for block, expected in zip(examples(), EXPECT, strict=True):
        run = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block],
            env=env,
            capture_output=True,
            text=True,
            cwd=DOC.parents[1],  # the examples name the sample by its path in the repository
        )
        assert run.returncode == 0, (block, run.stderr)
        assert expected in run.stdout.replace(": ", ":"), (block, run.stdout)
