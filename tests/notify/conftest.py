"""Real receivers on loopback for the notification tests: an HTTP server (http.server in
a thread) that records every request and answers with programmed statuses, and an SMTP
server (aiosmtpd) that keeps every message."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from calltrace.model import Alert, alert_id


@dataclass
class HttpReceiver:
    """Requests received (path, JSON body) and the statuses to answer, in order (the
    last one repeats)."""

    url: str
    statuses: list[int] = field(default_factory=lambda: [200])
    requests: list[tuple[str, Any]] = field(default_factory=list)

    def next_status(self) -> int:
        return self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    """An HTTP server on 127.0.0.1 (a free port) for the duration of a test."""
    receiver = HttpReceiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            receiver.requests.append((self.path, json.loads(body)))
            self.send_response(receiver.next_status())
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SmtpReceiver:
    port: int
    messages: list[tuple[list[str], Message]] = field(default_factory=list)


@pytest.fixture
def smtp_receiver() -> Iterator[SmtpReceiver]:
    """An SMTP server (aiosmtpd) on 127.0.0.1 that keeps (recipients, message)."""
    receiver = SmtpReceiver(port=free_port())

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            receiver.messages.append(
                (list(envelope.rcpt_tos), message_from_bytes(envelope.content))
            )
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=receiver.port)
    controller.start()
    yield receiver
    controller.stop()


def make_alert(severity: str = "high", rule: str = "multicall_masking") -> Alert:
    """A masking alert with hand-chosen fields (2026-01-05 09:00:00 UTC)."""
    return Alert(
        id=alert_id(rule, "+15550100", 1767603600.0),
        rule=rule,
        severity=severity,
        score=70,
        title="6 callers to +15550100 in 5 s",
        entity_type="b_number",
        entity="+15550100",
        first_seen=1767603600.0,
        last_seen=1767603602.5,
        call_ids=("c1", "c2"),
        evidence={"distinct_callers": 6},
    )
