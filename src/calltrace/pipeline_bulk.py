"""The pipeline's bulk lane: capture chunks in, whole batches of records at a time.

:class:`BulkLane` is what :class:`~calltrace.pipeline.Analyzer` uses for capture bytes
when NumPy is there (``Analyzer(bulk=False)`` or ``CALLTRACE_NO_BULK=1`` turn it off).
Per chunk (docs/performance.md, "The bulk lane"):

1. :class:`~calltrace.decode.bulk.BulkCapture` cuts the chunk into a batch of records and
   :func:`~calltrace.decode.bulk.classify_udp` finds the plain UDP frames (IPv4, and IPv6
   without extension headers: decode/bulk6.py);
2. plain datagrams whose first byte is 0x80-0xBF (RTP/RTCP version 2, never SIP: a SIP
   start line begins with a letter) and empty datagrams need no Python step: they are
   media rows, or nothing;
3. every other record goes, in capture order, the per-record way: plain UDP as a
   :class:`~calltrace.model.Packet` straight to SIP detection (no frame decoding), the rest
   through the frame decoder (TCP, IPv6 extension headers, fragments, tunnels, errors...);
4. media rows wait, and are handed to :meth:`BulkMediaTracker.observe_columns` in one go
   when the batch ends, or earlier, just before anything that depends on them: an SDP
   expectation for an endpoint they use, a datagram for the scalar media path, an error
   to record (so errors stay in packet order), a flush to the sink.

So an SDP answer in a chunk applies to the RTP after it in the same chunk, exactly as on
the per-record path: the two paths give the same Analysis (tests/test_pipeline_bulk.py
compares them on every corpus capture and on generated ones).

A frame later than the fragment reassembler's next expiry goes the per-record way too,
so that fragments expire (and are reported) at the same frame as on the per-record path.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from calltrace.decode._construct import make_packet
from calltrace.decode.bulk import BulkCapture, RecordBatch, UdpColumns, classify_udp
from calltrace.model import CaptureInfo
from calltrace.trace.media_bulk import BulkMediaTracker, MediaRows

if TYPE_CHECKING:
    from calltrace.pipeline import Analyzer

__all__ = ["BulkLane"]

B = npt.NDArray[np.bool_]
_SIP_PORTS: Final = np.array([5060, 5061], dtype=np.int64)
_MAX_READER_ERRORS: Final = 1000


class BackgroundHash:
    """A hash object fed by one worker thread, in order: ``hashlib`` releases the GIL while
    it hashes a large buffer, so a file's SHA-256 costs the decoding thread nothing on a
    machine with a second core. ``hexdigest()`` waits for the chunks given so far."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._pool: ThreadPoolExecutor | None = None
        self._last: Future[None] | None = None

    def update(self, data: bytes) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256")
        self._last = self._pool.submit(self.inner.update, data)

    def hexdigest(self) -> str:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        digest: str = self.inner.hexdigest()
        return digest


class _Batch:
    """One batch in progress: its columns, which rows are simple, how far media went."""

    __slots__ = ("batch", "cols", "data", "done", "media", "media_rows", "simple", "upto")

    def __init__(self, batch: RecordBatch, cols: UdpColumns, media: B, simple: B) -> None:
        self.batch = batch
        self.cols = cols
        self.data = np.frombuffer(batch.data, dtype=np.uint8)
        self.media = media
        self.media_rows = np.flatnonzero(media)
        self.simple = simple
        self.done = 0  # media rows before this index are with the tracker
        self.upto = 0  # rows before this index have been reached in capture order


class BulkLane:
    """The bulk path of one :class:`Analyzer` (it shares the analyzer's state)."""

    def __init__(self, analyzer: Analyzer) -> None:
        self.analyzer = analyzer
        self.media = BulkMediaTracker(heuristic=analyzer.media.heuristic)
        self.capture = BulkCapture()
        self._now: _Batch | None = None

    def begin_file(self) -> None:
        self.capture = BulkCapture()

    def feed(self, chunk: bytes) -> None:
        """Take a chunk; records are decoded once a batch's worth is buffered."""
        self.capture.feed(chunk)
        self._drain(final=False)

    def end_file(self) -> None:
        """Decode every complete record left (then the caller closes the capture)."""
        self._drain(final=True)

    def _drain(self, *, final: bool) -> None:
        an = self.analyzer
        errors = 0
        for item in self.capture.batches(final=final):
            if isinstance(item, RecordBatch):
                errors = 0
                self._batch(item)
            elif isinstance(item, CaptureInfo):
                errors = 0
                an._current().format = item.format
            else:
                errors += 1
                result = an._current()
                an._record(item, packet=result.packets + 1, ts=result.last_ts)
                if errors >= _MAX_READER_ERRORS:
                    return

    # -- one batch -----------------------------------------------------------------------

    def _batch(self, batch: RecordBatch) -> None:
        an = self.analyzer
        n = len(batch)
        result = an._current()
        result.packets += n
        an.stats.packets += n
        if result.first_ts is None:
            result.first_ts = float(batch.ts[0])
        result.last_ts = float(batch.ts[-1])
        cols = classify_udp(batch, self.media.addresses)
        first = cols.first
        rtp_like = cols.plain & (first >= 0x80) & (first <= 0xBF)
        simple = rtp_like | (cols.plain & (cols.length == 0))
        on_sip = np.isin(cols.sport, _SIP_PORTS) | np.isin(cols.dport, _SIP_PORTS)
        now = self._now = _Batch(batch, cols, rtp_like & ~on_sip, simple)
        ts = batch.ts
        others = np.flatnonzero(~simple)
        plain = others[cols.plain[others] & (cols.length[others] > 0)]
        # the fields of the plain datagrams among them, as Python values (one conversion)
        fields = dict(
            zip(
                plain.tolist(),
                zip(
                    batch.number[plain].tolist(),
                    ts[plain].tolist(),
                    cols.src[plain].tolist(),
                    cols.sport[plain].tolist(),
                    cols.dst[plain].tolist(),
                    cols.dport[plain].tolist(),
                    cols.payload[plain].tolist(),
                    cols.length[plain].tolist(),
                    strict=True,
                ),
                strict=True,
            )
        )
        order = others.tolist()
        k, i = 0, 0
        expiry = an.frames.next_expiry
        while True:
            j = order[k] if k < len(order) else n
            forced = False
            if expiry != float("inf") and j > i:
                late = np.flatnonzero(simple[i:j] & (ts[i:j] > expiry))
                if len(late):
                    j, forced = i + int(late[0]), True
                    simple[j] = False  # the frame decoder must see it: fragments expire
            if j >= n:
                break
            now.upto = j
            got = None if forced else fields.get(j)
            if got is not None and got[1] <= expiry:
                self._datagram(batch.data, got)
            else:
                an._frame(batch.record(j))
            expiry = an.frames.next_expiry
            i = j + 1
            k += 0 if forced else 1
        now.upto = n
        self.settle()
        self._now = None
        an.stats.non_sip_on_sip_ports += int(np.count_nonzero(rtp_like & on_sip & simple))

    def _datagram(self, data: bytes, got: tuple[int, float, int, int, int, int, int, int]) -> None:
        """A plain UDP datagram straight to SIP detection: no frame decoding needed."""
        number, ts, src, sport, dst, dport, at, size = got
        names = self.media._names
        name = self.media.name
        packet = make_packet(
            number,
            ts,
            names.get(src) or name(src),
            sport,
            names.get(dst) or name(dst),
            dport,
            "udp",
            data[at : at + size],
        )
        self.analyzer._payload(packet)

    # -- media rows ----------------------------------------------------------------------

    def settle(self) -> None:
        """Hand the media rows reached so far to the tracker (and record their errors)."""
        now = self._now
        if now is None or now.done >= now.upto:
            return
        lo, hi = now.done, now.upto
        now.done = hi  # first: recording an error below comes back here
        idx = np.flatnonzero(now.media[lo:hi] & now.simple[lo:hi]) + lo
        if len(idx) == 0:
            return
        batch, cols = now.batch, now.cols
        rows = MediaRows(
            data=now.data,
            ts=batch.ts[idx],
            number=batch.number[idx],
            src=cols.src[idx],
            sport=cols.sport[idx],
            dst=cols.dst[idx],
            dport=cols.dport[idx],
            payload=cols.payload[idx],
            length=cols.length[idx],
        )
        for number, ts, err in self.media.observe_columns(rows):
            self.analyzer._record(err, packet=number, ts=ts)

    def before_expect(self, ip: str, port: int, rtcp_port: int | None) -> None:
        """Settle first when pending media rows use the endpoint SDP is about to announce
        (or when the tracker is full and the announcement will evict another)."""
        now = self._now
        if now is None or now.done >= now.upto:
            return
        if len(self.media._expect) >= self.media.max_expectations:
            self.settle()
            return
        rows = now.media_rows[
            np.searchsorted(now.media_rows, now.done) : np.searchsorted(now.media_rows, now.upto)
        ]
        if len(rows) == 0:
            return  # no media row waiting (a SIP-only stretch): nothing to check
        addr = self.media.addresses.lookup(ip)
        if addr is None:
            return  # an IPv6 address no column holds yet (or no address): no row uses it
        cols = now.cols
        ports = (port, port + 1, port if rtcp_port is None else rtcp_port)

        def at(col: npt.NDArray[np.int64]) -> B:
            got: B = (col[rows] == ports[0]) | (col[rows] == ports[1]) | (col[rows] == ports[2])
            return got

        near = ((cols.dst[rows] == addr) & at(cols.dport)) | (
            (cols.src[rows] == addr) & at(cols.sport)
        )
        if near.any():
            self.settle()
