"""The media tracker's batch entry: RTP kept as columns, figures computed at stream end.

:class:`BulkMediaTracker` is a :class:`~calltrace.trace.media.MediaTracker` whose streams
are :class:`StreamColumns`: instead of updating tshark's running figures packet by packet
they keep their rows (arrival, packet number, sequence, RTP timestamp, payload type,
marker, the first four payload bytes for telephone-events) in NumPy columns and compute
the figures with :mod:`calltrace.trace.media_vec` when the stream is read. Memory per
stream is bounded by the stream's own length (a 60 s stream at 50 packets/s is 3,000 rows
of 49 bytes).

:meth:`BulkMediaTracker.observe_columns` takes many UDP datagrams at once
(:class:`MediaRows`) and does what :meth:`MediaTracker.observe` would do to each, in the
same order where order matters:

* the capture clock and the idle sweeps: rows are cut where ``observe`` would sweep, and
  each piece is applied before the sweep runs;
* which datagrams are media: decided once per address/port pair (the SDP expectations,
  the rtcp ports, the heuristic's port rules), cached until :meth:`expect` changes them;
* RTP headers are read for every row at once; rows that are RTCP, or announced media
  whose header would not parse (an error to record), go through the scalar methods one by
  one, in row order; they never touch an RTP stream's state;
* SSRC changes per address/port pair, and the order in which new streams appear, are
  those of the row order.

The caller (the pipeline) must hand rows over before anything else that reads or changes
the tracker (``expect`` on an endpoint the rows use, ``observe``, recording an error):
that keeps the result equal to the per-packet path's, which the tests check on every
corpus capture.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from calltrace.decode._construct import make_packet
from calltrace.decode.bulk import windows
from calltrace.decode.bulk6 import Addresses, host_pairs
from calltrace.decode.rtp import parse_telephone_event
from calltrace.errors import DecodeError
from calltrace.model import Packet, RtpPacket, RtpStream
from calltrace.trace.media import (
    SWEEP_EVERY,
    WELL_KNOWN_UDP,
    Expectation,
    MediaTracker,
    StreamStats,
    _Key,
    _Payload,
)
from calltrace.trace.media_vec import comfort_noise, stream_figures

__all__ = ["BulkMediaTracker", "MediaRows", "StreamColumns"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]
U8 = npt.NDArray[np.uint8]
_Cols = tuple[F64, I64, I64, I64, I64, B, I64]  # ts, number, seq, rts, pt, marker, event
# A stream's rows are kept as one (rows, 7) int64 matrix per piece, the columns of _Cols
# in that order (ts as its float64 bits): one slice per stream and segment, one
# concatenation per stream when it is read, instead of seven of each.
_Part = npt.NDArray[np.int64]

_IGNORE, _RTP, _MUX, _RTCP, _HEURISTIC = range(5)
MAX_ROUTES: Final = 65536
_ADDR_MASK: Final = (1 << 48) - 1


@dataclass(slots=True)
class MediaRows:
    """UDP datagrams as columns; ``data[payload[i] : payload[i] + length[i]]``. Addresses
    are integers: IPv4 its 32-bit value, IPv6 an id of the tracker's ``addresses``
    (decode/bulk6.py)."""

    data: U8
    ts: F64
    number: I64
    src: I64
    sport: I64
    dst: I64
    dport: I64
    payload: I64
    length: I64

    def __len__(self) -> int:
        return len(self.ts)

    def packet(self, i: int, name: Callable[[int], str]) -> Packet:
        """Row ``i`` as the per-packet path's :class:`Packet`."""
        at = int(self.payload[i])
        return make_packet(
            int(self.number[i]),
            float(self.ts[i]),
            name(int(self.src[i])),
            int(self.sport[i]),
            name(int(self.dst[i])),
            int(self.dport[i]),
            "udp",
            self.data[at : at + int(self.length[i])].tobytes(),
        )


class StreamColumns(StreamStats):
    """A stream kept as columns; :meth:`result` computes tshark's figures from them."""

    def __init__(self, key: _Key, exp: Expectation | None) -> None:
        super().__init__(key, exp)
        self.rows = 0
        # (first row, expectation) each time the stream adopted one (RFC 3264 §8: a
        # re-INVITE of its call); a payload type is named by the one in force where it
        # first appears, as StreamStats names it when it first sees it
        self.exps: list[tuple[int, Expectation]] = [(0, exp)] if exp is not None else []
        self.origin = 0.0
        self._parts: list[_Part] = []
        self._cols: _Cols | None = None
        self._single: list[tuple[float, int, int, int, int, bool, int]] = []

    def _start(self, origin: float, ts: float, number: int, count: int) -> None:
        if self.exp is not None and (not self.exps or self.exps[-1][1] is not self.exp):
            self.exps.append((self.rows, self.exp))  # payload names from here on use it
        if self.rows == 0:
            self.origin, self.first_ts, self.first_number = origin, ts, number
        self.rows += count

    def add(self, packet: Packet, rtp: RtpPacket, origin: float) -> None:
        """One packet from the per-packet path (rare in the bulk lane)."""
        self._start(origin, packet.ts, packet.number, 1)
        at = rtp.payload_offset
        event = (
            int.from_bytes(packet.payload[at : at + 4], "big") if rtp.payload_length >= 4 else -1
        )
        self._single.append(
            (
                packet.ts,
                packet.number,
                rtp.sequence,
                rtp.timestamp,
                rtp.payload_type,
                rtp.marker,
                event,
            )
        )
        self.last_ts, self.last_number = packet.ts, packet.number

    def add_columns(self, part: _Part, origin: float, ends: tuple[float, int, float, int]) -> None:
        """Rows of this stream, in arrival order, packed (``_Part``); ``ends`` holds the
        first and last rows' arrival and packet number (the caller has them for every
        stream at once)."""
        if self._single:
            self._settle()
        first_ts, first_number, self.last_ts, self.last_number = ends
        self._start(origin, first_ts, first_number, len(part))
        self._parts.append(part)
        self._cols = None

    def _settle(self) -> None:
        if not self._single:
            return
        part = np.array(self._single, dtype=np.float64)  # exact: every field is below 2**53
        packed = part.astype(np.int64)
        packed[:, 0] = part[:, 0].view(np.int64)
        self._parts.append(packed)
        self._single = []
        self._cols = None

    def columns(self) -> _Cols:
        """Every row so far, joined once (later reads reuse the join)."""
        self._settle()
        if self._cols is None:
            if len(self._parts) > 1:
                self._parts = [np.concatenate(self._parts)]
            rows = self._parts[0].T.copy()  # one contiguous row per column
            self._cols = (
                rows[0].view(np.float64), rows[1], rows[2], rows[3], rows[4],
                rows[5].astype(bool), rows[6],
            )  # fmt: skip
        return self._cols

    def result(self) -> RtpStream:
        """tshark's figures from the columns (trace/media_vec.py), then the scalar result()."""
        ts, number, seq, rts, pt, marker, event = self.columns()
        self.payloads = {}
        uniq, first = np.unique(pt, return_index=True)
        starts = [row for row, _ in self.exps]
        for at in np.argsort(first, kind="stable").tolist():
            which_exp = bisect_right(starts, int(first[at])) - 1
            exp = self.exps[which_exp][1] if which_exp >= 0 else None
            self.payloads[int(uniq[at])] = _Payload(int(uniq[at]), exp)
        which = np.searchsorted(uniq, pt)
        infos = [self.payloads[int(p)] for p in uniq.tolist()]
        clock = np.array([i.clock for i in infos], dtype=np.int64)[which]
        is_event = np.array([i.event for i in infos], dtype=bool)[which]
        buffered = (clock != 0) & ~is_event & ~comfort_noise(pt)
        now = (ts - self.origin) * 1000.0
        fig = stream_figures(now, ts, seq, rts, pt, marker, clock, buffered)
        self.total = len(ts)
        self.start_seq, self.stop_seq = int(seq[0]), int(seq[-1])
        self.first_pt = int(pt[0])
        self.cycles, self.seq_errors, self.wrong_ts = fig.cycles, fig.seq_errors, fig.wrong_ts
        self.problem, self.markers, self.cn = fig.problem, fig.markers, fig.cn
        self.min_delta, self.max_delta, self.mean_delta = (
            fig.min_delta,
            fig.max_delta,
            fig.mean_delta,
        )
        self.min_jitter, self.max_jitter, self.mean_jitter = (
            fig.min_jitter,
            fig.max_jitter,
            fig.mean_jitter,
        )
        self.max_skew = fig.max_skew
        self.fixed.discarded, self.adaptive.discarded = fig.fixed_discards, fig.adaptive_discards
        self.dtmf = []
        for i in np.flatnonzero(is_event & (event >= 0)).tolist():
            ev = parse_telephone_event(int(event[i]).to_bytes(4, "big"))
            self._dtmf_event(ev, float(ts[i]), int(number[i]), int(rts[i]))
        return super().result()


@dataclass(frozen=True, slots=True)
class _Route:
    """What ``observe`` does with datagrams between two endpoints (fixed until ``expect``)."""

    kind: int
    exp: Expectation | None
    four: tuple[str, int, str, int]
    # RTP here would make observe latch the source (announced destination, source no SDP
    # named); fixed like the rest: every change to the expectations drops the routes of
    # the endpoints it touches
    latch: bool = False


class _Header:
    """RTP/RTCP header fields of many datagrams (decode/rtp.py's rules, as arrays).

    The fixed 12 bytes and the next 4 (a telephone-event right after a plain header) come
    from one 16-byte window per datagram; only datagrams with CSRCs, an extension or
    padding are read again at their own offsets.
    """

    def __init__(self, data: U8, at: I64, size: I64) -> None:
        win = np.ascontiguousarray(windows(data, at, 16))
        short = np.flatnonzero(size < 16)
        if len(short):  # bytes past the datagram read as 0
            win[short] *= np.arange(16, dtype=np.int64)[None, :] < size[short, None]
        words = win.view(">u4").astype(np.int64)  # big-endian 32-bit words 0-3
        b0, b1 = win[:, 0].astype(np.int64), win[:, 1].astype(np.int64)
        self.rtcp: B = (size >= 8) & (b0 >> 6 == 2) & (b1 >= 192) & (b1 <= 223)
        self.pt: I64 = b1 & 0x7F
        self.marker: B = b1 >= 128
        self.seq: I64 = words[:, 0] & 0xFFFF
        self.rts: I64 = words[:, 1]
        self.ssrc: I64 = words[:, 2]
        ok = (size >= 12) & (b0 >> 6 == 2)
        self.event: I64 = np.where(size >= 16, words[:, 3], -1)
        odd = np.flatnonzero(ok & ((b0 & 0x3F) != 0))
        if len(odd):
            ok[odd], self.event[odd] = _odd(data, at[odd], size[odd], b0[odd])
        self.clean: B = ok  # parse_rtp would succeed
        self.looks: B = ok & ~((self.pt >= 72) & (self.pt <= 76))  # looks_like_rtp


def _odd(data: U8, at: I64, size: I64, b0: I64) -> tuple[B, I64]:
    """Validity and event word of datagrams with CSRCs, an extension or padding."""
    top = max(len(data) - 1, 0)

    def byte(rel: I64) -> I64:
        inside = (rel >= 0) & (rel < size)
        got = data[np.minimum(np.where(inside, at + rel, 0), top)].astype(np.int64)
        out: I64 = np.where(inside, got, 0)
        return out

    off = 12 + 4 * (b0 & 0x0F)
    ok = off <= size
    ext = (b0 & 0x10) != 0
    ok &= ~ext | (off + 4 <= size)
    end = off + 4 + 4 * (byte(off + 2) * 256 + byte(off + 3))
    ok &= ~ext | (end <= size)
    off = np.where(ext, end, off)
    padded = (b0 & 0x20) != 0
    pad = np.where(padded, byte(size - 1), 0)
    ok &= ~padded | ((size != off) & (pad != 0) & (off + pad <= size))
    word = (byte(off) << 24) | (byte(off + 1) << 16) | (byte(off + 2) << 8) | byte(off + 3)
    event: I64 = np.where(size - off - pad >= 4, word, -1)
    return ok, event


class BulkMediaTracker(MediaTracker):
    """A :class:`MediaTracker` with a batch entry, :meth:`observe_columns`.

    >>> import numpy as np
    >>> rtp = b"".join(bytes([0x80, 0, 0, i]) + (160 * i).to_bytes(4, "big")
    ...                + b"\\x00\\x00\\x00\\x07" + bytes(160) for i in range(3))
    >>> col = lambda *v: np.array(v)
    >>> tracker = BulkMediaTracker(heuristic=True)
    >>> tracker.observe_columns(MediaRows(data=np.frombuffer(rtp, np.uint8),
    ...     ts=col(0.0, 0.02, 0.04), number=col(1, 2, 3), src=col(1, 1, 1),
    ...     sport=col(4000, 4000, 4000), dst=col(2, 2, 2), dport=col(5000, 5000, 5000),
    ...     payload=col(0, 172, 344), length=col(172, 172, 172)))
    []
    >>> [(s.ssrc, s.packets, s.lost, s.src_ip) for s in tracker.close()]
    [(7, 3, 0, '0.0.0.1')]
    """

    stream_class = StreamColumns

    def __init__(self, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self._routes: dict[int, _Route] = {}
        self._by_end: dict[tuple[str, int], list[int]] = {}  # endpoint -> route keys
        self._names: dict[int, str] = {}
        self.addresses = Addresses()  # IPv6 ids of the columns (the bulk lane's classifier)

    def expect(
        self, ip: str, port: int, *args: Any, rtcp_port: int | None = None, **kwargs: Any
    ) -> None:
        """As :meth:`MediaTracker.expect`; forgets the cached routes it can change."""
        full = (
            len(self._expect) >= self.max_expectations
            or len(self._rtcp_ports) >= self.max_expectations
            or len(self._blocked) >= self.max_expectations
        )
        if full:  # an announcement may evict another: any route may change
            self._routes.clear()
            self._by_end.clear()
        else:
            for end in {(ip, port), (ip, port + 1), (ip, rtcp_port or port)}:
                for key in self._by_end.pop(end, ()):
                    self._routes.pop(key, None)
        super().expect(ip, port, *args, rtcp_port=rtcp_port, **kwargs)

    def observe_columns(self, rows: MediaRows) -> list[tuple[int, float, DecodeError]]:
        """Take many UDP datagrams; returns ``(packet, ts, error)`` for bad announced media,
        in row order (what ``observe`` would have returned for each)."""
        n = len(rows)
        errors: list[tuple[int, float, DecodeError]] = []
        if n == 0:
            return errors
        if self._origin is None:
            self._origin = float(rows.ts[0])
        clock = np.maximum.accumulate(np.maximum(rows.ts, self._now))
        oldest = self._oldest()
        lo = search = 0
        while True:
            due = np.flatnonzero(clock[search:] - self._swept >= SWEEP_EVERY)
            hi = search + int(due[0]) if len(due) else n
            if hi >= n:
                break
            limit = float(clock[hi]) - self.idle_timeout
            low = float(rows.ts[lo:hi].min()) if hi > lo else oldest
            if min(oldest, low) >= limit:
                # no stream can be idle yet: this sweep would only move its own clock, so
                # the rows need not be cut here (a stream's last arrival is at least the
                # oldest one seen before these rows, or one of these rows')
                self._swept = float(clock[hi])
                search = hi
                continue
            if hi > lo:
                self._segment(rows, lo, hi, errors)
            self._now = float(clock[hi])
            self._sweep()
            oldest = self._oldest()
            lo = search = hi
        if n > lo:
            self._segment(rows, lo, n, errors)
        self._now = float(clock[-1])
        return errors

    def _oldest(self) -> float:
        """The earliest last arrival among the live streams (inf without streams)."""
        return min((s.last_ts for s in self._streams.values()), default=float("inf"))

    # -- one piece between sweeps -------------------------------------------------------

    def _segment(
        self, rows: MediaRows, lo: int, hi: int, errors: list[tuple[int, float, DecodeError]]
    ) -> None:
        part = slice(lo, hi)
        host_src, host_dst, host_of = host_pairs(rows.src[part], rows.dst[part])
        ports = rows.sport[part] * 65536 + rows.dport[part]
        pairs, inverse = np.unique(host_of.astype(np.int64) << 32 | ports, return_inverse=True)
        at = pairs >> 32
        full = (host_src[at].astype(object) << 80) | (host_dst[at].astype(object) << 32)
        full |= pairs & 0xFFFFFFFF
        known = self._routes.get
        routes = [known(k) or self._route(k) for k in full.tolist()]
        kind = np.array([r.kind for r in routes], dtype=np.int64)[inverse]
        latch = np.array([r.latch for r in routes], dtype=bool)
        head = _Header(rows.data, rows.payload[part], rows.length[part])
        rtp_kind = (kind == _RTP) | ((kind == _MUX) & ~head.rtcp)
        bulk = (rtp_kind & head.clean) | ((kind == _HEURISTIC) & head.looks)
        rtcp = (kind == _RTCP) | ((kind == _MUX) & head.rtcp)
        rtcp |= (kind == _HEURISTIC) & ~head.looks & head.rtcp
        single = np.flatnonzero(rtcp | (rtp_kind & ~head.clean))
        take = np.flatnonzero(bulk)
        if len(take) and self._scalar_needed(take, inverse, routes, latch):
            # these datagrams change the routing of later ones (a NAT latch makes the
            # return direction media, ZRTP/DTLS keying waits for its stream): row by
            # row, as the per-record path
            for i in range(lo, hi):
                packet = rows.packet(i, self.name)
                err = self.observe(packet)
                if err is not None:
                    errors.append((packet.number, packet.ts, err))
            return
        start = len(errors)
        if len(take):
            self._streams_of(rows, lo, take, inverse, routes, head)
        # RTCP and unparsable RTP after the RTP they sit between: an RTCP report reads a
        # stream's clock only from the stream's first frame on (MediaTracker._clock_at)
        for i in single.tolist():
            self._one(rows, lo + i, routes[int(inverse[i])], bool(rtcp[i]), errors)
        if len(errors) - start > 1:
            errors[start:] = sorted(errors[start:], key=lambda e: e[0])  # row order

    def _scalar_needed(self, take: I64, inverse: I64, routes: list[_Route], latch: B) -> bool:
        """Whether the scalar tracker would do more for the RTP rows ``take`` than count
        them: latch a return address (``_Route.latch``) or mark a stream's keying. (A stream
        adopting a newer expectation of its call is done here: :meth:`_streams_of`,
        ``StreamColumns.exps``.)"""
        used = inverse[take]
        if latch[used].any():
            return True
        if self._keying:  # ZRTP/DTLS seen on a 4-tuple whose stream has not started
            return any(routes[r].four in self._keying for r in np.unique(used).tolist())
        return False

    def _one(
        self,
        rows: MediaRows,
        i: int,
        route: _Route,
        rtcp: bool,
        errors: list[tuple[int, float, DecodeError]],
    ) -> None:
        """A row for the scalar methods: RTCP, or announced RTP that will not parse."""
        packet = rows.packet(i, self.name)
        try:
            if rtcp:
                self._observe_rtcp(packet, route.exp)
            else:
                self._observe_rtp(packet, route.exp)
        except DecodeError as err:
            if route.kind == _HEURISTIC:
                return  # unannounced and not RTCP after all: not media
            key = f"{err.layer}.{err.kind}"
            self.errors[key] = self.errors.get(key, 0) + 1
            errors.append((packet.number, packet.ts, err))

    def _streams_of(
        self,
        rows: MediaRows,
        lo: int,
        take: I64,
        inverse: I64,
        routes: list[_Route],
        head: _Header,
    ) -> None:
        pair = inverse[take].astype(np.int64)
        ssrc = head.ssrc[take]
        # one stable sort groups the rows by stream (pair, then SSRC), in row order within
        order = np.argsort(pair * (1 << 32) + ssrc, kind="stable")
        p, s = pair[order], ssrc[order]
        new = np.ones(len(order), dtype=bool)
        new[1:] = (p[1:] != p[:-1]) | (s[1:] != s[:-1])
        bounds = np.append(np.flatnonzero(new), len(order))
        count = len(bounds) - 1
        if len(self._streams) + count > self.max_streams:
            for i in take.tolist():  # near the bound: the scalar path evicts as it goes
                route = routes[int(inverse[i])]
                self._observe_rtp(rows.packet(lo + i, self.name), route.exp)
            return
        changes = self._ssrc_changes(pair, ssrc, order, bounds, routes)
        at = take[order] + lo
        sel = take[order]
        packed: _Part = np.empty((len(at), 7), dtype=np.int64)
        packed[:, 0] = rows.ts[at].view(np.int64)
        packed[:, 1] = rows.number[at]
        packed[:, 2] = head.seq[sel]
        packed[:, 3] = head.rts[sel]
        packed[:, 4] = head.pt[sel]
        packed[:, 5] = head.marker[sel]
        packed[:, 6] = head.event[sel]
        ts, number = rows.ts[at], packed[:, 1]
        origin = self._origin or 0.0
        starts = bounds[:-1]
        firsts = order[starts]  # each stream's first row (rows are in order within)
        edges = bounds.tolist()
        pair_of, ssrc_of = p[starts].tolist(), s[starts].tolist()
        lasts = bounds[1:] - 1
        ends = list(
            zip(
                ts[starts].tolist(),
                number[starts].tolist(),
                ts[lasts].tolist(),
                number[lasts].tolist(),
                strict=True,
            )
        )
        streams = self._streams
        for g in np.argsort(firsts, kind="stable").tolist():  # new streams in row order
            a, b = edges[g], edges[g + 1]
            route = routes[pair_of[g]]
            key = (*route.four, ssrc_of[g])
            stats = streams.get(key)
            if stats is None:
                stats = streams[key] = StreamColumns(key, route.exp)
                self._note_clock(
                    ssrc_of[g], _Payload(int(packed[a, 4]), route.exp).clock, int(number[a])
                )
            elif (route.exp is not None and stats.exp is not route.exp
                  and (stats.exp is None or stats.exp.call_id == route.exp.call_id)):  # fmt: skip
                stats.exp = route.exp  # as _observe_rtp (RFC 3264 §8); add_columns notes it
            stats.ssrc_changes += changes[g]
            stats.add_columns(packed[a:b], origin, ends[g])  # type: ignore[attr-defined]
        self.rtp_packets += len(take)

    def _ssrc_changes(
        self, pair: I64, ssrc: I64, order: I64, bounds: I64, routes: list[_Route]
    ) -> list[int]:
        """Per stream (in ``bounds`` order), its rows whose SSRC differs from the previous
        row of the same address/port pair (``_last_ssrc``, which they then update)."""
        starts = bounds[:-1]
        spair = pair[order][starts]
        shared = np.zeros(len(starts), dtype=bool)  # pairs with several SSRCs here
        shared[1:] = spair[1:] == spair[:-1]
        shared[:-1] |= spair[:-1] == spair[1:]
        changes = [0] * len(starts)
        for g in np.flatnonzero(~shared).tolist():  # one SSRC: only the first row can change
            four = routes[int(spair[g])].four
            now = int(ssrc[order[starts[g]]])
            prev = self._last_ssrc.get(four)
            changes[g] = int(prev is not None and prev != now)
            self._last_ssrc[four] = now
        if shared.any():
            self._shared_changes(pair, ssrc, order, starts, np.flatnonzero(shared), routes, changes)
        return changes

    def _shared_changes(
        self,
        pair: I64,
        ssrc: I64,
        order: I64,
        starts: I64,
        groups: I64,
        routes: list[_Route],
        changes: list[int],
    ) -> None:
        """Pairs that switched SSRC within the rows: walk their rows in row order."""
        sid = np.searchsorted(starts, np.argsort(order), side="right") - 1  # row -> group
        for p in np.unique(pair[order[starts[groups]]]).tolist():
            four = routes[int(p)].four
            prev = self._last_ssrc.get(four)
            for i in np.flatnonzero(pair == p).tolist():
                now = int(ssrc[i])
                if prev is not None and prev != now:
                    changes[int(sid[i])] += 1
                prev = now
            if prev is not None:
                self._last_ssrc[four] = prev

    def name(self, ip: int) -> str:
        """The text of a column address (cached, bounded)."""
        names = self._names
        text = names.get(ip)
        if text is None:
            if len(names) >= MAX_ROUTES:
                names.clear()
            text = names[ip] = self.addresses.text(ip)
        return text

    def _route(self, key: int) -> _Route:
        """A new route for ``src << 80 | dst << 32 | sport << 16 | dport`` (an address
        column value is below 2**48: IPv4, or an IPv6 id from ``V6_BASE``)."""
        src, dst = self.name(key >> 80), self.name((key >> 32) & _ADDR_MASK)
        sport, dport = (key >> 16) & 0xFFFF, key & 0xFFFF
        exp = self._expect.get((dst, dport)) or self._expect.get((src, sport))
        kind = _IGNORE
        if exp is not None:
            kind = _MUX if exp.rtcp_mux else _RTP
        else:
            exp = self._rtcp_ports.get((dst, dport)) or self._rtcp_ports.get((src, sport))
            if exp is not None:
                kind = _RTCP
            elif self.heuristic and not (
                sport in WELL_KNOWN_UDP
                or dport in WELL_KNOWN_UDP
                or (dst, dport) in self._blocked
                or (src, sport) in self._blocked
            ):
                kind = _HEURISTIC
        if len(self._routes) >= MAX_ROUTES:
            self._routes.clear()
            self._by_end.clear()
        latch = exp is not None and (src, sport) not in self._expect
        route = self._routes[key] = _Route(kind, exp, (src, sport, dst, dport), latch)
        self._by_end.setdefault((src, sport), []).append(key)
        self._by_end.setdefault((dst, dport), []).append(key)
        return route
