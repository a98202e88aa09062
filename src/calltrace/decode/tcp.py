"""TCP stream reassembly for SIP and SIP over WebSocket (RFC 9293, RFC 3261 §18.3, RFC 7118).

Each direction of a connection (keyed by the 4-tuple) is reassembled on its own:

* Sequence numbers are compared modulo 2**32 (RFC 9293 §3.4), so streams survive wrap.
* A SYN fixes the next expected byte (ISN + 1); a stream seen without its SYN (the
  capture started mid-way) starts at the first segment seen and resynchronises on the next
  SIP start line.
* Bytes already delivered are never delivered again: retransmissions are dropped and
  overlapping segments are trimmed to their new bytes. Segments ahead of the expected one
  wait (bounded: ``max_buffer`` bytes, 64 segments); past the bound the hole is declared
  lost (``tcp_gap``) and the stream resynchronises after it.
* FIN closes a direction once every byte before it has arrived; RST closes it at once.
  Closed flows go to a small "ignored" set, so late retransmissions do not restart them;
  a new SYN on the same 4-tuple does.
* Only streams that carry SIP or WebSocket are followed. The choice is made on the first
  bytes: a SIP request or status line, or an HTTP ``GET`` with ``Upgrade: websocket`` (and
  its ``101`` answer). Anything else is ignored cheaply (a bounded set of ignored flows).
* Idle streams are evicted by capture time (``idle_timeout``), the number of streams is
  bounded (least recently used evicted) and so is each stream's buffer (``max_buffer``:
  over it the stream reports ``stream_buffer_overflow`` and resynchronises).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final

from calltrace.decode._construct import make_packet
from calltrace.decode.sipstream import SipFramer, find_start_line, is_start_line
from calltrace.decode.websocket import WebSocketDecoder
from calltrace.errors import DecodeError, MalformedInput, Truncated
from calltrace.model import Packet

__all__ = ["TcpTracker"]

FIN: Final = 0x01
SYN: Final = 0x02
RST: Final = 0x04
_MOD: Final = 1 << 32
_HALF: Final = 1 << 31
_MAX_OOO_SEGMENTS: Final = 64
_PROBE_LIMIT: Final = 8192  # bytes looked at before a stream is declared "not SIP"
_PROBE_SEGMENTS: Final = 4  # segments looked at for a stream picked up mid-way
_TOKEN_START: Final = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")

# stream modes
_PROBE: Final = 0
_SIP: Final = 1
_HTTP: Final = 2
_WS: Final = 3

FlowKey = tuple[str, int, str, int]
Output = list[Packet | DecodeError]


class _Flow:
    """One direction of a TCP connection."""

    __slots__ = (
        "fin_seq",
        "framer",
        "last_ts",
        "midway",
        "mode",
        "next_seq",
        "ooo",
        "ooo_bytes",
        "probe",
        "probes",
        "ws",
    )

    def __init__(self, next_seq: int, ts: float, midway: bool) -> None:
        self.next_seq = next_seq
        self.last_ts = ts
        self.midway = midway
        self.mode = _PROBE
        self.probe = bytearray()
        self.probes = 0
        self.ooo: dict[int, bytes] = {}
        self.ooo_bytes = 0
        self.fin_seq = -1
        self.framer: SipFramer | None = None
        self.ws: WebSocketDecoder | None = None


def _signed(delta: int) -> int:
    delta &= _MOD - 1
    return delta - _MOD if delta >= _HALF else delta


class TcpTracker:
    """Reassemble TCP segments into SIP messages and WebSocket messages (Packets)."""

    def __init__(
        self,
        *,
        idle_timeout: float = 300.0,
        max_streams: int = 65536,
        max_buffer: int = 1 << 20,
        max_ignored: int = 16384,
    ) -> None:
        self.idle_timeout = idle_timeout
        self.max_streams = max_streams
        self.max_buffer = max_buffer
        self.max_ignored = max_ignored
        self._flows: OrderedDict[FlowKey, _Flow] = OrderedDict()
        self._ignored: OrderedDict[FlowKey, None] = OrderedDict()
        self._next_sweep = float("-inf")

    def __len__(self) -> int:
        return len(self._flows)

    # -- entry point -----------------------------------------------------------------

    def segment(
        self,
        key: FlowKey,
        seq: int,
        flags: int,
        payload: bytes,
        number: int,
        ts: float,
        out: Output,
    ) -> None:
        """Take one TCP segment of flow ``key`` (src, sport, dst, dport); append the
        messages it completes, and any errors, to ``out``."""
        if ts >= self._next_sweep:
            self._sweep(ts, out)
        flow = self._flows.get(key)
        if flow is None:
            flow = self._open(key, seq, flags, payload, ts, out)
            if flow is None:
                return
        elif flags & SYN and not flags & RST and self._new_connection(flow, seq):
            self._close(key, flow, out, ignore=False)  # a new connection on the same tuple
            flow = self._open(key, seq, flags, payload, ts, out)
            if flow is None:
                return
        else:
            self._flows.move_to_end(key)
        flow.last_ts = ts
        if flags & RST:
            self._close(key, flow, out)
            return
        if flags & SYN:
            seq = (seq + 1) & (_MOD - 1)
        if payload:
            self._accept(key, flow, seq, payload, number, ts, out)
            if self._flows.get(key) is not flow:
                return  # the data made us drop the flow (not SIP, or broken)
        if flags & FIN:
            flow.fin_seq = (seq + len(payload)) & (_MOD - 1)
        if flow.fin_seq >= 0 and flow.fin_seq == flow.next_seq:
            self._close(key, flow, out)

    def _new_connection(self, flow: _Flow, seq: int) -> bool:
        """A SYN on a known flow starts a new connection unless it is a retransmitted
        SYN (its sequence number at or shortly before the bytes already seen)."""
        rel = _signed(seq + 1 - flow.next_seq)
        return rel > 0 or rel < -self.max_buffer

    def _open(
        self, key: FlowKey, seq: int, flags: int, payload: bytes, ts: float, out: Output
    ) -> _Flow | None:
        if key in self._ignored:
            if not flags & SYN or flags & RST:
                self._ignored.move_to_end(key)
                return None
            del self._ignored[key]
        if flags & RST or not (payload or flags & SYN):
            return None
        syn = bool(flags & SYN)
        flow = _Flow((seq + 1) & (_MOD - 1) if syn else seq, ts, midway=not syn)
        if len(self._flows) >= self.max_streams:
            old_key, old = self._flows.popitem(last=False)
            self._report_partial(old, out, "stream_evicted", "stream evicted (too many streams)")
            self._ignore(old_key)
        self._flows[key] = flow
        return flow

    # -- sequence space --------------------------------------------------------------

    def _accept(
        self,
        key: FlowKey,
        flow: _Flow,
        seq: int,
        payload: bytes,
        number: int,
        ts: float,
        out: Output,
    ) -> None:
        rel = _signed(seq - flow.next_seq)
        if rel < 0:
            if -rel >= len(payload):
                return  # retransmission of bytes already delivered
            payload = payload[-rel:]
            rel = 0
        if rel > 0:
            self._hold(key, flow, seq, payload, number, ts, out)
            return
        self._deliver(key, flow, payload, number, ts, out)
        while flow.ooo and self._flows.get(key) is flow:
            if not self._drain_ooo(key, flow, number, ts, out):
                break

    def _hold(
        self,
        key: FlowKey,
        flow: _Flow,
        seq: int,
        payload: bytes,
        number: int,
        ts: float,
        out: Output,
    ) -> None:
        """Keep an early segment; if too much waits, declare the hole lost."""
        if seq not in flow.ooo:
            flow.ooo[seq] = payload
            flow.ooo_bytes += len(payload)
        if flow.ooo_bytes <= self.max_buffer and len(flow.ooo) <= _MAX_OOO_SEGMENTS:
            return
        first = min(flow.ooo, key=lambda s: _signed(s - flow.next_seq))
        out.append(
            MalformedInput(
                f"{_signed(first - flow.next_seq)} bytes never captured",
                layer="tcp",
                kind="tcp_gap",
            )
        )
        flow.next_seq = first
        self._resync(flow)
        while flow.ooo and self._flows.get(key) is flow:
            if not self._drain_ooo(key, flow, number, ts, out):
                break

    def _drain_ooo(self, key: FlowKey, flow: _Flow, number: int, ts: float, out: Output) -> bool:
        """Deliver one held segment that is now in order; False if none is."""
        for seq, data in flow.ooo.items():
            rel = _signed(seq - flow.next_seq)
            if rel <= 0:
                del flow.ooo[seq]
                flow.ooo_bytes -= len(data)
                if -rel < len(data):
                    self._deliver(key, flow, data[-rel:], number, ts, out)
                return True
        return False

    def _resync(self, flow: _Flow) -> None:
        if flow.framer is not None:
            flow.framer.reset()
        elif flow.mode == _PROBE:
            flow.probe.clear()
            flow.midway = True

    # -- application data ------------------------------------------------------------

    def _deliver(
        self, key: FlowKey, flow: _Flow, data: bytes, number: int, ts: float, out: Output
    ) -> None:
        flow.next_seq = (flow.next_seq + len(data)) & (_MOD - 1)
        if flow.mode == _PROBE:
            flow.probe += data
            flow.probes += 1
            data = self._classify(key, flow, out)
            if flow.mode == _HTTP:
                self._handshake(key, flow, number, ts, out)  # the bytes are in flow.probe
                return
            if not data:
                return
        if flow.mode == _SIP:
            assert flow.framer is not None
            flow.framer.feed(data)
            errors: list[DecodeError] = []
            for message in flow.framer.drain(errors):
                out.append(_packet(key, number, ts, "tcp", message))
            out.extend(errors)
            if flow.framer.buffered > self.max_buffer:
                self._overflow(flow, out)
        elif flow.mode == _HTTP:
            flow.probe += data
            self._handshake(key, flow, number, ts, out)
        elif flow.mode == _WS:
            self._ws(key, flow, data, number, ts, out)

    def _overflow(self, flow: _Flow, out: Output) -> None:
        out.append(
            MalformedInput(
                f"over {self.max_buffer} bytes buffered without a complete message",
                layer="tcp",
                kind="stream_buffer_overflow",
            )
        )
        self._resync(flow)

    def _classify(self, key: FlowKey, flow: _Flow, out: Output) -> bytes:
        """Decide what the stream carries from its first bytes. Returns the bytes to hand
        to the chosen mode (empty while undecided or when the flow is ignored)."""
        buf = flow.probe
        start = 0
        while start < len(buf) and buf[start] in (13, 10):
            start += 1
        if start == len(buf):
            return b""
        eol = buf.find(b"\r\n", start)
        first = bytes(buf[start:eol]) if eol >= 0 else b""
        if buf[start] not in _TOKEN_START and not flow.midway:
            self._drop(key, flow)
            return b""
        if first and is_start_line(first):
            return self._choose(flow, _SIP, start)
        if first.startswith((b"GET ", b"HTTP/1.")):
            return self._choose(flow, _HTTP, start)
        if flow.midway:
            at = find_start_line(buf)
            if at >= 0:
                return self._choose(flow, _SIP, at)
        if flow.midway:
            give_up = flow.probes >= _PROBE_SEGMENTS
        else:
            give_up = eol >= 0  # a whole first line that is neither SIP nor HTTP
        if give_up or len(buf) > _PROBE_LIMIT:
            self._drop(key, flow)
        return b""

    def _choose(self, flow: _Flow, mode: int, start: int) -> bytes:
        data = bytes(flow.probe[start:])
        flow.probe = bytearray()
        flow.mode = mode
        if mode == _SIP:
            flow.framer = SipFramer(max_message=self.max_buffer)
            return data
        flow.probe = bytearray(data)  # the handshake is parsed from flow.probe
        return b""

    def _drop(self, key: FlowKey, flow: _Flow) -> None:
        """Stop following a stream that carries neither SIP nor WebSocket."""
        flow.probe = bytearray()
        self._flows.pop(key, None)
        self._ignore(key)

    def _ignore(self, key: FlowKey) -> None:
        self._ignored[key] = None
        if len(self._ignored) > self.max_ignored:
            self._ignored.popitem(last=False)

    def _handshake(self, key: FlowKey, flow: _Flow, number: int, ts: float, out: Output) -> None:
        """HTTP/1.1 Upgrade (RFC 6455 §4.1-4.2): a GET asking for ``Upgrade: websocket``, or
        its ``101`` answer; the bytes after the blank line are WebSocket frames."""
        buf = flow.probe
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > _PROBE_LIMIT:
                self._drop(key, flow)
            return
        head = bytes(buf[:end]).lower()
        upgrade = b"\r\nupgrade:" in head and b"websocket" in head
        status_ok = not head.startswith(b"http/") or head[9:12] == b"101"
        if not (upgrade and status_ok):
            self._drop(key, flow)
            return
        rest = bytes(buf[end + 4 :])
        flow.probe = bytearray()
        flow.mode = _WS
        flow.ws = WebSocketDecoder(max_message=self.max_buffer)
        if rest:
            self._ws(key, flow, rest, number, ts, out)

    def _ws(
        self, key: FlowKey, flow: _Flow, data: bytes, number: int, ts: float, out: Output
    ) -> None:
        ws = flow.ws
        assert ws is not None
        ws.feed(data)
        try:
            while True:
                message = ws.next_event()
                if not isinstance(message, bytes):
                    break
                out.append(_packet(key, number, ts, "ws", message))
        except DecodeError as err:
            out.append(err)
            self._drop(key, flow)

    # -- closing ---------------------------------------------------------------------

    def _close(self, key: FlowKey, flow: _Flow, out: Output, *, ignore: bool = True) -> None:
        self._report_partial(flow, out, "incomplete_message", "stream closed inside a message")
        self._flows.pop(key, None)
        if ignore:
            self._ignore(key)

    @staticmethod
    def _report_partial(flow: _Flow, out: Output, kind: str, detail: str) -> None:
        partial = (flow.framer is not None and flow.framer.pending()) or (
            flow.ws is not None and flow.ws.buffered > 0
        )
        if partial:
            out.append(Truncated(detail, layer="tcp", kind=kind))

    def _sweep(self, now: float, out: Output) -> None:
        """Evict streams idle for ``idle_timeout`` seconds of capture time."""
        limit = now - self.idle_timeout
        stale = [k for k, f in self._flows.items() if f.last_ts < limit]
        for key in stale:
            flow = self._flows.pop(key)
            self._report_partial(flow, out, "stream_idle", "stream idle inside a message")
        self._next_sweep = now + self.idle_timeout / 4

    def flush(self, out: Output) -> None:
        """End of capture: streams stopped inside a message become errors."""
        for flow in self._flows.values():
            self._report_partial(flow, out, "incomplete_message", "capture ended inside a message")
        self._flows.clear()
        self._ignored.clear()


def _packet(key: FlowKey, number: int, ts: float, transport: str, payload: bytes) -> Packet:
    return make_packet(number, ts, key[0], key[1], key[2], key[3], transport, payload)
