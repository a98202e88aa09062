"""A FreeSWITCH Event Socket client (asyncio): channel events in, ``uuid_kill`` out.

Inbound mode of mod_event_socket: CallTrace connects to FreeSWITCH (default port 8021),
answers the ``auth/request`` greeting with ``auth <password>``, subscribes with
``event plain CHANNEL_CREATE CHANNEL_ANSWER CHANNEL_HANGUP``, then reads the event stream;
``api uuid_kill <uuid>`` ends a channel (``+OK`` or ``-ERR No such channel!``). Framing
and the event-to-call-event mapping are pure and live in ``decode/esl.py``.

One reader task owns the socket's read side: replies (``command/reply``, ``api/response``)
come back in the order the commands were sent (one command at a time, under a lock), so
each is handed to the command waiting for it; events go to a bounded queue that
:meth:`EslClient.call_events` drains (when it is full, the oldest event is dropped and
counted: the socket must keep being read or FreeSWITCH blocks).

FreeSWITCH is not packaged for this machine: the tests run this client against a small
server that speaks the documented protocol (tests/act/test_esl.py), not a real switch.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable

from calltrace.act import ActError, EndResult, end_each
from calltrace.decode.esl import EslDecoder, EslMessage, call_event, parse_event
from calltrace.errors import DecodeError
from calltrace.model import NEED_DATA, CallEvent

CHANNEL_EVENTS = ("CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_HANGUP")


class EslError(ActError):
    """Authentication refused, a command answered -ERR, or the connection broke."""


class EslClient:
    """One inbound Event Socket connection. Use :meth:`connect`."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, queue_size: int
    ) -> None:
        self._reader, self._writer = reader, writer
        self._decoder = EslDecoder()
        self._replies: asyncio.Queue[EslMessage | None] = asyncio.Queue()
        self._events: asyncio.Queue[CallEvent | None] = asyncio.Queue(maxsize=queue_size)
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0  # events dropped because nobody read them in time
        self.bad_events = 0  # events that would not decode (counted, skipped)
        self.outbound = False

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int = 8021,
        password: str = "ClueCon",
        *,
        events: Iterable[str] = CHANNEL_EVENTS,
        outbound: bool = False,
        timeout: float = 5.0,
        queue_size: int = 10_000,
    ) -> EslClient:
        """Connect, authenticate and subscribe; EslError when refused.

        ``password`` defaults to FreeSWITCH's shipped default (``ClueCon``): change both.
        ``outbound=True`` turns outbound legs into call events too (decode.esl.call_event).
        """
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        except (OSError, TimeoutError) as exc:
            raise EslError(f"cannot connect to {host}:{port}: {exc}") from None
        client = cls(reader, writer, queue_size=queue_size)
        client.outbound = outbound
        client._task = asyncio.create_task(client._read())
        try:
            greeting = await asyncio.wait_for(client._replies.get(), timeout)
            if greeting is None or greeting.content_type != "auth/request":
                raise EslError("no auth/request greeting")
            await client._command(f"auth {password}", timeout)
            if events:
                await client._command(f"event plain {' '.join(events)}", timeout)
        except BaseException:
            await client.close()
            raise
        return client

    async def api(self, command: str, timeout: float = 5.0) -> str:
        """Run ``api <command>``; its output (``-ERR ...`` raises EslError)."""
        reply = await self._command(f"api {command}", timeout)
        text = reply.body.decode("utf-8", "replace")
        if text.startswith("-ERR"):
            raise EslError(text.strip())
        return text

    async def kill(self, uuid: str, cause: str = "CALL_REJECTED") -> bool:
        """End channel ``uuid`` with a Q.850 hangup cause; False when there is no such
        channel (already hung up). CALL_REJECTED (21) because the network refuses the
        call; the SIP side sees a BYE (or a 603 before answer)."""
        try:
            await self.api(f"uuid_kill {uuid} {cause}")
        except EslError as exc:
            if "No such channel" in str(exc):
                return False
            raise
        return True

    async def end_calls(self, call_ids: Iterable[str]) -> EndResult:
        """``uuid_kill`` each call (a channel UUID, as decode.esl.call_event names it)."""
        return await end_each(call_ids, self.kill)

    async def call_events(self) -> AsyncIterator[CallEvent]:
        """The call events of the channel events, until the connection ends."""
        while True:
            event = await self._events.get()
            if event is None:
                return
            yield event

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()

    async def _command(self, line: str, timeout: float) -> EslMessage:
        """Send one command and wait for its reply; EslError on -ERR or a broken link."""
        async with self._lock:
            self._writer.write(line.encode() + b"\n\n")
            await self._writer.drain()
            try:
                reply = await asyncio.wait_for(self._replies.get(), timeout)
            except TimeoutError:
                raise EslError(f"no reply to {line.split()[0]!r} in {timeout} s") from None
        if reply is None:
            raise EslError("connection closed")
        text = reply.header("Reply-Text") or ""
        if text.startswith("-ERR"):
            raise EslError(f"{line.split()[0]}: {text}")
        return reply

    async def _read(self) -> None:
        """Read, frame, dispatch; at the end tell every waiter (None)."""
        try:
            while data := await self._reader.read(65536):
                self._decoder.feed(data)
                while (message := self._decoder.next_event()) is not NEED_DATA:
                    assert isinstance(message, EslMessage)
                    if not self._dispatch(message):
                        return
        except (OSError, DecodeError):
            pass  # a broken stream ends the connection; the waiters get None below
        finally:
            self._replies.put_nowait(None)
            self._put_event(None)

    def _dispatch(self, message: EslMessage) -> bool:
        kind = message.content_type
        if kind == "text/event-plain":
            try:
                event = call_event(parse_event(message.body), outbound=self.outbound)
            except DecodeError:
                self.bad_events += 1
                return True
            if event is not None:
                self._put_event(event)
            return True
        if kind == "text/disconnect-notice":
            return False
        self._replies.put_nowait(message)  # auth/request, command/reply, api/response
        return True

    def _put_event(self, event: CallEvent | None) -> None:
        while True:
            try:
                self._events.put_nowait(event)
                return
            except asyncio.QueueFull:
                self._events.get_nowait()
                self.dropped += 1
