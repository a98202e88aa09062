"""SCTP (RFC 9260): DATA chunk payloads out of SCTP packets, fragmented messages rejoined.

An SCTP packet is a 12-byte common header (§3.1) and chunks (§3.2), each padded to 4
bytes. Each DATA chunk (type 0, §3.3.1) carries one user message, or a fragment of one:
the B and E flags mark the first and last fragment, and the fragments of a message have
consecutive TSNs (§6.9). Other chunks (INIT, SACK, HEARTBEAT...) carry no user data here.

Reassembly is bounded: at most ``max_partial`` unfinished messages (oldest dropped, with
an error) of at most ``max_message`` bytes each.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from typing import Final

from calltrace.errors import DecodeError, MalformedInput, Truncated

__all__ = ["SctpReassembler"]

_DATA: Final = 0
_CHUNK: Final = struct.Struct("!BBH")
_DATA_HEAD: Final = struct.Struct("!IHHI")
_FLAG_E: Final = 0x01
_FLAG_B: Final = 0x02
_FLAG_U: Final = 0x04

# (src, sport, dst, dport, stream id, SSN or -1 for unordered)
_Key = tuple[str, int, str, int, int, int]


class SctpReassembler:
    """Split SCTP packets into user messages, rejoining B/E fragments by TSN."""

    __slots__ = ("_partial", "max_message", "max_partial")

    def __init__(self, *, max_partial: int = 1024, max_message: int = 1 << 20) -> None:
        self.max_partial = max_partial
        self.max_message = max_message
        self._partial: OrderedDict[_Key, dict[int, tuple[int, bytes]]] = OrderedDict()

    def packet(
        self, data: bytes, start: int, end: int, src: str, dst: str, errors: list[DecodeError]
    ) -> tuple[int, int, list[bytes]]:
        """Decode the SCTP packet in ``data[start:end]``: (source port, destination port,
        the user messages completed by it). Problems are appended to ``errors``."""
        if end - start < 12:
            raise Truncated(f"SCTP common header needs 12 bytes, {end - start} left", layer="sctp")
        sport, dport = struct.unpack_from("!HH", data, start)
        messages: list[bytes] = []
        at = start + 12
        while end - at >= 4:
            ctype, flags, clen = _CHUNK.unpack_from(data, at)
            if clen < 4:
                errors.append(
                    MalformedInput(
                        f"SCTP chunk length {clen}", layer="sctp", kind="bad_chunk_length"
                    )
                )
                break
            if at + clen > end:
                errors.append(Truncated(f"SCTP chunk of {clen} bytes cut short", layer="sctp"))
                break
            if ctype == _DATA:
                self._data(data, at, clen, flags, (src, sport, dst, dport), messages, errors)
            at += (clen + 3) & ~3
        return sport, dport, messages

    def _data(
        self,
        data: bytes,
        at: int,
        clen: int,
        flags: int,
        addr: tuple[str, int, str, int],
        messages: list[bytes],
        errors: list[DecodeError],
    ) -> None:
        if clen < 16:
            errors.append(
                MalformedInput(
                    f"DATA chunk length {clen} below 16", layer="sctp", kind="bad_chunk_length"
                )
            )
            return
        tsn, stream, ssn, _ppid = _DATA_HEAD.unpack_from(data, at + 4)
        payload = data[at + 16 : at + clen]
        if flags & (_FLAG_B | _FLAG_E) == (_FLAG_B | _FLAG_E):
            if payload:
                messages.append(payload)
            return
        key = (*addr, stream, -1 if flags & _FLAG_U else ssn)
        frags = self._partial.get(key)
        if frags is None:
            if len(self._partial) >= self.max_partial:
                self._partial.popitem(last=False)
                errors.append(
                    MalformedInput(
                        "too many unfinished SCTP messages: oldest dropped",
                        layer="sctp",
                        kind="fragment_overflow",
                    )
                )
            frags = self._partial[key] = {}
        frags[tsn] = (flags, payload)
        whole = self._join(frags)
        if whole is not None:
            del self._partial[key]
            messages.append(whole)
        elif sum(len(p) for _, p in frags.values()) > self.max_message:
            del self._partial[key]
            errors.append(
                MalformedInput(
                    f"SCTP message over {self.max_message} bytes",
                    layer="sctp",
                    kind="message_too_large",
                )
            )

    @staticmethod
    def _join(frags: dict[int, tuple[int, bytes]]) -> bytes | None:
        """The message, if a B fragment, an E fragment and every TSN between are in."""
        starts = [t for t, (flags, _) in frags.items() if flags & _FLAG_B]
        if not starts:
            return None
        tsn = starts[0]
        parts: list[bytes] = []
        for _ in range(len(frags)):
            piece = frags.get(tsn)
            if piece is None:
                return None
            parts.append(piece[1])
            if piece[0] & _FLAG_E:
                return b"".join(parts)
            tsn = (tsn + 1) & 0xFFFFFFFF
        return None

    def flush(self, errors: list[DecodeError]) -> None:
        """End of capture: unfinished messages become errors."""
        for _ in self._partial:
            errors.append(
                Truncated(
                    "SCTP message fragments incomplete at end of capture",
                    layer="sctp",
                    kind="fragment_incomplete",
                )
            )
        self._partial.clear()
