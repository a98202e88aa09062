"""SIP message framing over a byte stream (RFC 3261 §18.3) and start-line recognition.

On a stream transport a SIP message is its start line and headers up to the first empty
line (CRLFCRLF), then exactly Content-Length body bytes. Between messages a peer may
send CRLF keep-alives (RFC 5626 §3.5.1: "\\r\\n\\r\\n" ping, "\\r\\n" pong), which are skipped.
A message without Content-Length is taken to have no body and reported
(``missing_content_length``); a Content-Length that is not a non-negative number loses
the frame boundary, so the framer reports it and resynchronises on the next start line.
"""

from __future__ import annotations

from typing import Final

from calltrace.errors import DecodeError, MalformedInput

__all__ = ["SipFramer", "find_start_line", "is_start_line"]

MAX_HEADER: Final = 64 * 1024
_SIP20: Final = b"SIP/2.0"
_CRLF: Final = b"\r\n"
_LWS: Final = b" \t"
_CL_NAMES: Final = (b"\r\ncontent-length", b"\r\nl")


def is_start_line(line: bytes) -> bool:
    """True for a SIP status line (``SIP/2.0 200 OK``) or request line
    (``METHOD uri SIP/2.0``, RFC 3261 §7.1) without its CRLF."""
    if line.startswith(b"SIP/2.0 "):
        return True
    if not line.endswith(b" SIP/2.0"):
        return False
    sp = line.find(b" ")
    method = line[:sp]
    uri = line[sp + 1 : -8]
    return (
        0 < len(method) <= 32
        and method.replace(b"-", b"").isalpha()
        and method.isupper()
        and b":" in uri
        and b" " not in uri
    )


def find_start_line(buf: bytes | bytearray, start: int = 0) -> int:
    """Offset of the first SIP start line at or after ``start`` (at a line start), or -1."""
    i = buf.find(_SIP20, start)
    while i >= 0:
        line_at = buf.rfind(b"\n", start, i) + 1 if i > start else start
        if line_at < start:
            line_at = start
        eol = buf.find(_CRLF, i)
        if eol >= 0 and is_start_line(bytes(buf[line_at:eol])):
            return line_at
        i = buf.find(_SIP20, i + 7)
    return -1


def content_length(head: bytes) -> int | None:
    """Value of the first Content-Length (or compact ``l``) header in ``head`` (the
    message up to, not including, its CRLFCRLF); None if absent. Raises ValueError when
    the value is not a non-negative decimal number (RFC 3261 §20.14)."""
    low = head.lower()
    best = -1
    value_at = 0
    for name in _CL_NAMES:
        i = low.find(name)
        while i >= 0 and (best < 0 or i < best):
            j = i + len(name)
            while j < len(low) and low[j] in _LWS:
                j += 1
            if j < len(low) and low[j] == 0x3A:  # ':'
                best, value_at = i, j + 1
                break
            i = low.find(name, i + 1)
    if best < 0:
        return None
    eol = low.find(_CRLF, value_at)
    raw = low[value_at : eol if eol >= 0 else len(low)]
    first = raw.split(b",", 1)[0].strip()
    if not first.isdigit():
        raise ValueError(raw.strip().decode("latin-1"))
    return int(first)


class SipFramer:
    """Cut one direction of a SIP stream into messages.

    >>> f = SipFramer()
    >>> f.feed(b"\\r\\n\\r\\nOPTIONS sip:a@b SIP/2.0\\r\\nl: 2\\r\\n\\r\\nhi")
    >>> f.drain([])
    [b'OPTIONS sip:a@b SIP/2.0\\r\\nl: 2\\r\\n\\r\\nhi']
    """

    __slots__ = ("_buf", "_resync", "max_message")

    def __init__(self, *, max_message: int = 1 << 20, resync: bool = False) -> None:
        self.max_message = max_message
        self._buf = bytearray()
        self._resync = resync

    @property
    def buffered(self) -> int:
        """Bytes held for a message not complete yet."""
        return len(self._buf)

    def pending(self) -> bool:
        """True if bytes other than keep-alive CRLFs are held."""
        return bool(self._buf.strip(b"\r\n"))

    def feed(self, data: bytes) -> None:
        self._buf += data

    def reset(self) -> None:
        """Forget buffered bytes and look for the next start line (after a gap)."""
        self._buf.clear()
        self._resync = True

    def drain(self, errors: list[DecodeError]) -> list[bytes]:
        """Every complete message now buffered; problems are appended to ``errors``."""
        out: list[bytes] = []
        buf = self._buf
        while buf:
            skip = 0
            while skip < len(buf) and buf[skip] in (13, 10):
                skip += 1
            if skip:
                del buf[:skip]
                if not buf:
                    break
            if self._resync and not self._find_start():
                break
            hend = buf.find(b"\r\n\r\n")
            if hend < 0:
                if len(buf) > MAX_HEADER:
                    errors.append(
                        MalformedInput(
                            f"no end of headers in {len(buf)} bytes",
                            layer="tcp",
                            kind="header_too_long",
                        )
                    )
                    self._skip_line()
                    continue
                break
            eol = buf.find(_CRLF)
            if not is_start_line(bytes(buf[:eol])):
                errors.append(
                    MalformedInput(
                        "stream bytes that are not a SIP start line",
                        layer="tcp",
                        kind="junk_in_stream",
                    )
                )
                self._skip_line()
                continue
            head = bytes(buf[:hend])
            try:
                length = content_length(head)
            except ValueError as exc:
                errors.append(
                    MalformedInput(
                        f"Content-Length {exc} is not a number",
                        layer="tcp",
                        kind="bad_content_length",
                    )
                )
                self._skip_line()
                continue
            if length is None:
                errors.append(
                    MalformedInput(
                        "message on a stream without Content-Length: body taken as empty",
                        layer="tcp",
                        kind="missing_content_length",
                    )
                )
                length = 0
            elif length > self.max_message:
                errors.append(
                    MalformedInput(
                        f"Content-Length {length} over {self.max_message}",
                        layer="tcp",
                        kind="content_length_too_large",
                    )
                )
                self._skip_line()
                continue
            total = hend + 4 + length
            if len(buf) < total:
                break
            out.append(bytes(buf[:total]))
            del buf[:total]
        return out

    def _skip_line(self) -> None:
        """Drop the current first line and resynchronise on the next start line."""
        eol = self._buf.find(b"\n")
        del self._buf[: eol + 1 if eol >= 0 else len(self._buf)]
        self._resync = True

    def _find_start(self) -> bool:
        """Move to the next start line; keep only the last partial line if none yet."""
        buf = self._buf
        at = find_start_line(buf)
        if at < 0:
            last = buf.rfind(b"\n")
            if last >= 0:
                del buf[: last + 1]
            if len(buf) > MAX_HEADER:
                buf.clear()
            return False
        del buf[:at]
        self._resync = False
        return True
