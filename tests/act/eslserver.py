"""A small Event Socket server for the tests: the documented protocol, no FreeSWITCH.

It speaks what mod_event_socket's documentation shows an inbound client: the
``auth/request`` greeting, ``command/reply`` to ``auth`` and ``event plain``, ``api/response``
to ``api uuid_kill``, ``text/event-plain`` events with URL-encoded values, and a
``text/disconnect-notice`` after a refused password. ``uuid_kill`` of a live channel
answers ``+OK`` and emits its CHANNEL_HANGUP, as FreeSWITCH does.
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote


def frame(headers: dict[str, str], body: bytes = b"") -> bytes:
    """One ESL message: headers, Content-Length when there is a body, the body."""
    if body:
        headers = {"Content-Length": str(len(body)), **headers}
    return "".join(f"{k}: {v}\n" for k, v in headers.items()).encode() + b"\n" + body


def plain_event(headers: dict[str, str]) -> bytes:
    """A text/event-plain message: the event's headers URL-encoded in the body."""
    body = "".join(f"{k}: {quote(v, safe='')}\n" for k, v in headers.items()).encode() + b"\n"
    return frame({"Content-Type": "text/event-plain"}, body)


class FakeSwitch:
    """The server: channels by UUID (their CHANNEL_CREATE headers), commands received."""

    def __init__(self, password: str = "ClueCon") -> None:
        self.password = password
        self.channels: dict[str, dict[str, str]] = {}
        self.commands: list[str] = []
        self._subscribers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        for writer in self._subscribers:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def emit(self, headers: dict[str, str]) -> None:
        """Send an event to every subscribed connection (a new channel is remembered)."""
        if headers["Event-Name"] == "CHANNEL_CREATE":
            self.channels[headers["Unique-ID"]] = headers
        for writer in self._subscribers:
            writer.write(plain_event(headers))
            await writer.drain()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(frame({"Content-Type": "auth/request"}))
        while True:
            try:
                block = await reader.readuntil(b"\n\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                break
            command = block.decode().strip()
            self.commands.append(command)
            if not await self._answer(command, writer):
                break
        writer.close()

    async def _answer(self, command: str, writer: asyncio.StreamWriter) -> bool:
        verb, _, rest = command.partition(" ")
        if verb == "auth":
            if rest != self.password:
                writer.write(frame({"Content-Type": "command/reply", "Reply-Text": "-ERR invalid"}))
                writer.write(frame({"Content-Type": "text/disconnect-notice"}, b"Disconnected.\n"))
                await writer.drain()
                return False
            writer.write(frame({"Content-Type": "command/reply", "Reply-Text": "+OK accepted"}))
        elif verb == "event":
            self._subscribers.append(writer)
            text = "+OK event listener enabled plain"
            writer.write(frame({"Content-Type": "command/reply", "Reply-Text": text}))
        elif verb == "api" and rest.startswith("uuid_kill "):
            await self._kill(rest.split()[1:], writer)
        else:
            text = "-ERR command not found"
            writer.write(frame({"Content-Type": "command/reply", "Reply-Text": text}))
        await writer.drain()
        return True

    async def _kill(self, args: list[str], writer: asyncio.StreamWriter) -> None:
        uuid, cause = args[0], (args[1] if len(args) > 1 else "NORMAL_CLEARING")
        created = self.channels.pop(uuid, None)
        if created is None:
            writer.write(frame({"Content-Type": "api/response"}, b"-ERR No such channel!\n"))
            return
        writer.write(frame({"Content-Type": "api/response"}, b"+OK\n"))
        hangup_time = str(int(created["Event-Date-Timestamp"]) + 10_000_000)
        await self.emit({**created, "Event-Name": "CHANNEL_HANGUP", "Hangup-Cause": cause,
                         "Event-Date-Timestamp": hangup_time,
                         "Caller-Channel-Hangup-Time": hangup_time})  # fmt: skip
