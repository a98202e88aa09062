"""SDP session descriptions (RFC 8866): where each party said it will receive media.

One pass over the ``<type>=<value>`` lines (RFC 8866 §5): session-level lines until the
first ``m=``, then one block per media description. Only what call tracing needs is
kept: addresses and ports (IPv4 and IPv6, RFC 8866 §5.7), codecs (``a=rtpmap``, with the
static payload types of RFC 3551 §6 filled in when absent), direction (§6.7), ICE
(RFC 8839), DTLS-SRTP (RFC 8122 fingerprint, RFC 4145 setup), SDES (RFC 4568 crypto)
and RTCP (RFC 3605, RFC 5761). Departures from the grammar become ``defects``;
:class:`MalformedInput` (``layer="sdp"``) is raised only when the body is not SDP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final, NamedTuple

from calltrace.errors import MalformedInput

__all__ = [
    "STATIC_PAYLOAD_TYPES",
    "MediaLine",
    "MediaSummary",
    "Sdp",
    "SdpMedia",
    "media_security",
    "media_summary",
    "parse_sdp",
]

#: RFC 3551 §6 tables 4 and 5: static payload types (encoding/clock[/channels]).
STATIC_PAYLOAD_TYPES: Final[dict[int, str]] = {
    0: "PCMU/8000",
    3: "GSM/8000",
    4: "G723/8000",
    5: "DVI4/8000",
    6: "DVI4/16000",
    7: "LPC/8000",
    8: "PCMA/8000",
    9: "G722/8000",
    10: "L16/44100/2",
    11: "L16/44100",
    12: "QCELP/8000",
    13: "CN/8000",
    14: "MPA/90000",
    15: "G728/8000",
    16: "DVI4/11025",
    17: "DVI4/22050",
    18: "G729/8000",
    25: "CelB/90000",
    26: "JPEG/90000",
    28: "nv/90000",
    31: "H261/90000",
    32: "MPV/90000",
    33: "MP2T/90000",
    34: "H263/90000",
}

_DIRECTIONS: Final = frozenset({"sendrecv", "sendonly", "recvonly", "inactive"})
_TYPES: Final = frozenset("vosiuepcbtrzkam")


@dataclass(frozen=True, slots=True, kw_only=True)
class SdpMedia:
    """One media description (``m=`` and the lines up to the next ``m=``)."""

    media: str
    port: int  # 0: the stream is disabled (RFC 3264 §5.1)
    port_count: int
    proto: str
    formats: tuple[str, ...]
    connection_ip: str | None  # c= of the media, else of the session
    rtpmap: dict[int, str] = field(default_factory=dict)
    fmtp: dict[int, str] = field(default_factory=dict)
    ptime: int | None = None
    direction: str = "sendrecv"  # media a=, else session a=, else sendrecv
    crypto: tuple[str, ...] = ()
    fingerprint: str | None = None
    setup: str | None = None
    ice_candidates: tuple[str, ...] = ()
    rtcp_mux: bool = False
    rtcp_port: int | None = None
    attributes: tuple[tuple[str, str | None], ...] = ()

    @property
    def codecs(self) -> tuple[str, ...]:
        """Encodings in format order (``PCMU/8000``...), non-RTP formats as given."""
        out = []
        for fmt in self.formats:
            if fmt.isdigit() and fmt.isascii():
                out.append(self.rtpmap.get(int(fmt), fmt))
            else:
                out.append(fmt)
        return tuple(out)


@dataclass(frozen=True, slots=True, kw_only=True)
class Sdp:
    """A session description; absent fields are None and named in ``defects``."""

    version: int | None
    origin_user: str | None
    session_id: str | None
    session_version: str | None
    origin_ip: str | None
    session_name: str | None
    connection_ip: str | None
    media: tuple[SdpMedia, ...]
    attributes: tuple[tuple[str, str | None], ...]
    direction: str = "sendrecv"
    ice_ufrag: str | None = None
    ice_pwd: str | None = None
    fingerprint: str | None = None
    setup: str | None = None
    defects: tuple[str, ...] = ()


def _connection(value: str, defects: list[str]) -> str | None:
    """``c=IN IP4|IP6 address[/ttl[/count]]`` (RFC 8866 §5.7)."""
    parts = value.split()
    if len(parts) != 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6"):
        defects.append("invalid_connection")
        return parts[-1].split("/", 1)[0] if parts else None
    return parts[2].split("/", 1)[0]


class _MediaBuilder:
    """Mutable collector for one m= block; frozen into :class:`SdpMedia` at the end."""

    def __init__(self, value: str, defects: list[str]) -> None:
        parts = value.split()
        self.ok = len(parts) >= 3
        port_text = parts[1] if len(parts) > 1 else ""
        port, _, count = port_text.partition("/")
        self.ok = self.ok and port.isdigit() and port.isascii() and len(port) <= 5
        if not self.ok or (count and not (count.isdigit() and count.isascii() and len(count) <= 5)):
            defects.append("invalid_media_line")
            count = ""
        self.media = parts[0] if parts else ""
        self.port = int(port) if self.ok else 0
        if self.port > 65535:
            defects.append("invalid_port")
        self.port_count = int(count) if count else 1
        self.proto = parts[2] if len(parts) > 2 else ""
        self.formats = tuple(parts[3:])
        if self.ok and not self.formats:
            defects.append("media_without_formats")
        self.connection: str | None = None
        self.attrs: list[tuple[str, str | None]] = []


def _split_lines(body: bytes, defects: list[str]) -> list[str]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        defects.append("invalid_utf8")
        text = body.decode("utf-8", "replace")
    lines = text.split("\n")
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def parse_sdp(body: bytes) -> Sdp:
    """Parse an SDP body (RFC 8866 §5); raises MalformedInput only for non-SDP bytes."""
    defects: list[str] = []
    lines = [line for line in _split_lines(body, defects) if line.strip()]
    if not lines or not any(len(x) > 1 and x[1] == "=" and x[0] in _TYPES for x in lines):
        raise MalformedInput("body has no SDP <type>=<value> line", layer="sdp", kind="not_sdp")
    session: dict[str, str] = {}
    session_attrs: list[tuple[str, str | None]] = []
    blocks: list[_MediaBuilder] = []
    if not lines[0].startswith("v="):
        defects.append("version_not_first")
    for line in lines:
        if len(line) < 2 or line[1] != "=" or line[0] not in _TYPES:
            defects.append("malformed_line")
            continue
        kind, value = line[0], line[2:]
        if kind == "m":
            blocks.append(_MediaBuilder(value, defects))
        elif kind == "a":
            name, sep, attr_value = value.partition(":")
            attr = (name.strip(), attr_value.strip() if sep else None)
            (blocks[-1].attrs if blocks else session_attrs).append(attr)
        elif kind == "c":
            address = _connection(value, defects)
            if blocks:
                if blocks[-1].connection is None:
                    blocks[-1].connection = address
            elif "c" in session:
                defects.append("multiple_session_connection")
            else:
                session["c"] = address or ""
        elif not blocks:
            if kind in session and kind in "vos":
                defects.append("duplicate_" + {"v": "version", "o": "origin", "s": "name"}[kind])
            session.setdefault(kind, value)
    return _assemble(session, session_attrs, blocks, defects)


def _first(attrs: list[tuple[str, str | None]], name: str) -> str | None:
    for key, value in attrs:
        if key == name:
            return "" if value is None else value
    return None


def _direction(attrs: list[tuple[str, str | None]], default: str) -> str:
    for key, value in attrs:
        if value is None and key in _DIRECTIONS:
            return key
    return default


def _assemble(
    session: dict[str, str],
    session_attrs: list[tuple[str, str | None]],
    blocks: list[_MediaBuilder],
    defects: list[str],
) -> Sdp:
    version = None
    if "v" not in session:
        defects.append("missing_version")
    elif session["v"].strip() != "0":
        defects.append("unknown_version")
    if "v" in session and session["v"].strip().isdigit() and len(session["v"].strip()) < 6:
        version = int(session["v"].strip())
    origin = session.get("o", "").split()
    if "o" not in session:
        defects.append("missing_origin")
    elif len(origin) != 6:
        defects.append("invalid_origin")
    if "s" not in session:
        defects.append("missing_session_name")
    elif not session["s"]:
        defects.append("empty_session_name")
    if "t" not in session:
        defects.append("missing_timing")
    session_ip = session.get("c") or None
    direction = _direction(session_attrs, "sendrecv")
    media = tuple(_media(block, session_ip, direction, defects) for block in blocks if block.ok)
    if any(m.connection_ip is None and m.port for m in media):
        defects.append("missing_connection")
    return Sdp(
        version=version,
        origin_user=origin[0] if len(origin) == 6 else None,
        session_id=origin[1] if len(origin) == 6 else None,
        session_version=origin[2] if len(origin) == 6 else None,
        origin_ip=origin[5] if len(origin) == 6 else None,
        session_name=session.get("s"),
        connection_ip=session_ip,
        media=media,
        attributes=tuple(session_attrs),
        direction=direction,
        ice_ufrag=_first(session_attrs, "ice-ufrag"),
        ice_pwd=_first(session_attrs, "ice-pwd"),
        fingerprint=_first(session_attrs, "fingerprint"),
        setup=_first(session_attrs, "setup"),
        defects=tuple(dict.fromkeys(defects)),
    )


def _pt_value(value: str | None, defects: list[str]) -> tuple[int, str] | None:
    """``<payload type> <rest>`` of a=rtpmap / a=fmtp (RFC 8866 §6.6, §6.15)."""
    if value is None:
        defects.append("invalid_rtpmap")
        return None
    pt, _, rest = value.partition(" ")
    if not (pt.isdigit() and pt.isascii() and len(pt) <= 3) or not rest.strip():
        defects.append("invalid_rtpmap")
        return None
    return int(pt), rest.strip()


def _media(
    block: _MediaBuilder, session_ip: str | None, session_direction: str, defects: list[str]
) -> SdpMedia:
    rtpmap: dict[int, str] = {}
    fmtp: dict[int, str] = {}
    crypto: list[str] = []
    candidates: list[str] = []
    ptime = rtcp_port = None
    for name, value in block.attrs:
        if name in ("rtpmap", "fmtp"):
            parsed = _pt_value(value, defects)
            if parsed is not None:
                target = rtpmap if name == "rtpmap" else fmtp
                target.setdefault(parsed[0], parsed[1])
                if name == "rtpmap" and "/" not in parsed[1]:
                    defects.append("invalid_rtpmap")
        elif name == "ptime" and value is not None:
            text = value.split(".", 1)[0].strip()
            ptime = int(text) if text.isdigit() and len(text) < 7 else None
        elif name == "crypto" and value is not None:
            crypto.append(value)
        elif name == "candidate" and value is not None:
            candidates.append(value)
        elif name == "rtcp" and value is not None:
            text = value.split(None, 1)[0] if value.strip() else ""
            rtcp_port = int(text) if text.isdigit() and len(text) <= 5 else None
    for fmt in block.formats:
        if fmt.isdigit() and fmt.isascii() and len(fmt) <= 3:
            pt = int(fmt)
            if pt not in rtpmap and pt in STATIC_PAYLOAD_TYPES:
                rtpmap[pt] = STATIC_PAYLOAD_TYPES[pt]
    return SdpMedia(
        media=block.media,
        port=block.port,
        port_count=block.port_count,
        proto=block.proto,
        formats=block.formats,
        connection_ip=block.connection or session_ip,
        rtpmap=rtpmap,
        fmtp=fmtp,
        ptime=ptime,
        direction=_direction(block.attrs, session_direction),
        crypto=tuple(crypto),
        fingerprint=_first(block.attrs, "fingerprint"),
        setup=_first(block.attrs, "setup"),
        ice_candidates=tuple(candidates),
        rtcp_mux=_first(block.attrs, "rtcp-mux") is not None,
        rtcp_port=rtcp_port,
        attributes=tuple(block.attrs),
    )


def media_security(sdp: Sdp, media: SdpMedia) -> tuple[str, ...]:
    """What a media description says about media encryption, as tokens in a fixed order.

    ``srtp``: the proto is a secure RTP profile (RTP/SAVP, RTP/SAVPF, UDP/TLS/RTP/SAVP(F),
    RFC 3711, RFC 5124); ``sdes``: keys in ``a=crypto`` (RFC 4568); ``dtls``: a certificate
    ``a=fingerprint`` at media or session level (RFC 8122) or a DTLS proto (RFC 5764 §8);
    ``zrtp``: ``a=zrtp-hash`` (RFC 6189 §8.1). Empty: plain RTP as far as SDP tells.

    >>> sdp = parse_sdp(b"v=0\\nc=IN IP4 1.2.3.4\\nm=audio 4000 RTP/SAVP 0\\na=crypto:1 X\\n")
    >>> media_security(sdp, sdp.media[0])
    ('srtp', 'sdes')
    """
    proto = media.proto.upper()
    names = {name for name, _ in media.attributes} | {name for name, _ in sdp.attributes}
    return _security(
        "SAVP" in proto,
        bool(media.crypto),
        media.fingerprint is not None or sdp.fingerprint is not None or "TLS" in proto,
        "zrtp-hash" in names,
    )


def _security(srtp: bool, sdes: bool, dtls: bool, zrtp: bool) -> tuple[str, ...]:
    return _SECURITY[srtp * 8 + sdes * 4 + dtls * 2 + zrtp]


_SECURITY: Final = tuple(
    tuple(name for bit, name in zip((8, 4, 2, 1), ("srtp", "sdes", "dtls", "zrtp"), strict=True)
          if n & bit)
    for n in range(16)
)  # fmt: skip


# --- the lean reader: what call tracking and media finding need, in one read ----------


class MediaLine(NamedTuple):
    """One usable m= block as call tracking and media finding read it.

    The first six fields are what a call records (``model.MediaDescription``); the rest is
    what the media tracker needs to find RTP and RTCP (``MediaTracker.expect``) and what
    the call's media summary reports about encryption (:func:`media_security`).
    """

    media: str
    ip: str | None  # c= of the media, else of the session
    port: int
    proto: str
    codecs: tuple[str, ...]
    direction: str
    payloads: tuple[tuple[int, str], ...]  # SdpMedia.rtpmap's items, in its order
    rtcp_port: int | None
    rtcp_mux: bool
    security: tuple[str, ...]


#: Kept as the older name of the lean view's element.
MediaSummary = MediaLine

_NOT_SDP: Final = "body has no SDP <type>=<value> line"
_CACHED_BLOCK_CHARS: Final = 4096  # longer media blocks are not memoised (bounded memory)
_last_read: list[object] = [b"", ()]  # the last body read and its result (one entry)


def media_summary(body: bytes) -> tuple[MediaLine, ...]:
    """What :func:`parse_sdp` says of each usable m= block that call tracking and media
    finding use, and nothing else.

    Call tracking and the media tracker read addresses, ports, codecs, direction, the
    payload-type map, the RTCP port, rtcp-mux and encryption, once per SDP body: this
    walks the body with ``str.find`` instead of building an :class:`Sdp` (no defects, no
    other attributes), several times faster. The result equals, for each ``m`` of
    ``sdp = parse_sdp(body)``, ``(m.media, m.connection_ip, m.port, m.proto, m.codecs,
    m.direction, tuple(m.rtpmap.items()), m.rtcp_port, m.rtcp_mux, media_security(sdp,
    m))``, and it raises :class:`MalformedInput` exactly when ``parse_sdp`` does
    (tests/decode/test_sdp.py holds the two together on every SDP of the corpus and the
    generator, and on mutated bodies).

    One read per message: the call tracker and then the pipeline ask for the same body
    object, so the last body read is kept with its answer and a second ask for the
    *same object* (an identity test, no hashing) is answered from it. A media block's
    fields other than the port depend only on its text, the same for every call from one
    device profile: they are memoised on that text with the port left out.

    >>> m, = media_summary(b"c=IN IP4 192.0.2.1\\nm=audio 4000 RTP/AVP 0 8\\na=recvonly\\n")
    >>> m[:6]
    ('audio', '192.0.2.1', 4000, 'RTP/AVP', ('PCMU/8000', 'PCMA/8000'), 'recvonly')
    >>> m.payloads, m.rtcp_port, m.rtcp_mux, m.security
    (((0, 'PCMU/8000'), (8, 'PCMA/8000')), None, False, ())
    """
    last = _last_read
    if last[0] is body:
        return last[1]  # type: ignore[return-value]
    result = _read(body)
    last[0], last[1] = body, result
    return result


def _read(body: bytes) -> tuple[MediaLine, ...]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("utf-8", "replace")
    # Lines are what parse_sdp splits on "\n"; a block starts at a line beginning "m=".
    start = 0 if text.startswith("m=") else text.find("\nm=") + 1
    if start == 0 and not text.startswith("m="):
        for line in text.split("\n"):
            if len(line) > 1 and line[1] == "=" and line[0] in _TYPES:
                return ()  # SDP without media (the m= line made the check pass otherwise)
        raise MalformedInput(_NOT_SDP, layer="sdp", kind="not_sdp")
    session_ip, session_direction, session_dtls, session_zrtp = (
        _session_view(text[:start]) if start else (None, "sendrecv", False, False)
    )
    out: list[MediaLine] = []
    find = text.find
    while start >= 0:
        end = find("\nm=", start)
        block = text[start:end] if end >= 0 else text[start:]
        start = end + 1 if end >= 0 else -1
        eol = block.find("\n")
        mline = block if eol < 0 else block[:eol]
        parts = (mline[:-1] if mline.endswith("\r") else mline)[2:].split()
        if len(parts) < 3:
            continue  # parse_sdp drops the block (invalid_media_line)
        port = parts[1].partition("/")[0]
        if not (port.isdigit() and port.isascii() and len(port) <= 5):
            continue
        key = " ".join(parts[2:]) + ("" if eol < 0 else block[eol:])
        view = _block_view(key) if len(key) <= _CACHED_BLOCK_CHARS else _block_view.__wrapped__(key)
        proto, codecs, ip, direction, payloads, rtcp_port, mux, crypto, dtls, zrtp = view
        security = _security(
            "SAVP" in proto.upper(), crypto, dtls or session_dtls, zrtp or session_zrtp
        )
        out.append(
            MediaLine(parts[0], ip or session_ip, int(port), proto, codecs,
                      direction or session_direction, payloads, rtcp_port, mux, security)
        )  # fmt: skip
    return tuple(out)


def _session_view(session: str) -> tuple[str | None, str, bool, bool]:
    """Session-level c= address (the first c= line), direction (the first direction
    attribute), and whether a=fingerprint and a=zrtp-hash are present, as parse_sdp takes
    them; ``session`` ends with the newline before the first m= line."""
    ip = None
    at = 0 if session.startswith("c=") else session.find("\nc=") + 1
    if at or session.startswith("c="):
        line = session[at : session.index("\n", at)]
        ip = _connection((line[:-1] if line.endswith("\r") else line)[2:], []) or None
    direction: str | None = None
    fingerprint = zrtp = False
    at = 0 if session.startswith("a=") else session.find("\na=") + 1
    while at or session.startswith("a="):
        line = session[at : session.index("\n", at)]
        name, sep, _ = (line[:-1] if line.endswith("\r") else line)[2:].partition(":")
        name = name.strip()
        if not sep and direction is None and name in _DIRECTIONS:
            direction = name
        fingerprint = fingerprint or name == "fingerprint"
        zrtp = zrtp or name == "zrtp-hash"
        at = session.find("\na=", at + 1) + 1
        if not at:
            break
    return ip, direction or "sendrecv", fingerprint, zrtp


_BlockView = tuple[
    str,  # proto
    tuple[str, ...],  # codecs
    str | None,  # the block's own c= address
    str | None,  # the block's own direction
    tuple[tuple[int, str], ...],  # rtpmap items
    int | None,  # a=rtcp port
    bool,  # a=rtcp-mux
    bool,  # a=crypto
    bool,  # a=fingerprint or a DTLS proto
    bool,  # a=zrtp-hash
]


@lru_cache(maxsize=1024)
def _block_view(key: str) -> _BlockView:
    """Everything but the port of one m= block, as parse_sdp's ``_MediaBuilder``,
    ``_media`` and ``SdpMedia.codecs`` give it.

    ``key`` is the m= line's proto and formats joined by spaces, then the block's
    remaining lines (from their first newline). The address and direction are None when
    the block names none (the session's apply)."""
    eol = key.find("\n")
    head = key if eol < 0 else key[:eol]
    proto, *formats = head.split(" ")
    connection: str | None = None
    direction: str | None = None
    rtcp_port: int | None = None
    mux = crypto = fingerprint = zrtp = False
    rtpmap: dict[int, str] = {}
    for line in key[eol:].split("\n") if eol >= 0 else ():
        if line.endswith("\r"):
            line = line[:-1]
        if len(line) < 2 or line[1] != "=":
            continue
        kind = line[0]
        if kind == "a":
            name, sep, value = line[2:].partition(":")
            name = name.strip()
            mux = mux or name == "rtcp-mux"
            fingerprint = fingerprint or name == "fingerprint"
            zrtp = zrtp or name == "zrtp-hash"
            if not sep:
                if direction is None and name in _DIRECTIONS:
                    direction = name
            elif name == "rtpmap":
                number, _, rest = value.strip().partition(" ")
                rest = rest.strip()
                if number.isdigit() and number.isascii() and len(number) <= 3 and rest:
                    rtpmap.setdefault(int(number), rest)
            elif name == "rtcp":
                text = value.split(None, 1)[0] if value.strip() else ""
                rtcp_port = int(text) if text.isdigit() and len(text) <= 5 else None
            elif name == "crypto":
                crypto = True
        elif kind == "c" and connection is None:
            connection = _connection(line[2:], [])
    for fmt in formats:
        if fmt.isdigit() and fmt.isascii() and len(fmt) <= 3:
            pt = int(fmt)
            if pt not in rtpmap and pt in STATIC_PAYLOAD_TYPES:
                rtpmap[pt] = STATIC_PAYLOAD_TYPES[pt]
    codecs = tuple(
        rtpmap.get(int(fmt), fmt) if fmt.isdigit() and fmt.isascii() else fmt for fmt in formats
    )
    dtls = fingerprint or "TLS" in proto.upper()
    return (proto, codecs, connection, direction, tuple(rtpmap.items()), rtcp_port, mux,
            crypto, dtls, zrtp)  # fmt: skip
