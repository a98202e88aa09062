"""The analysis pipeline: capture bytes in, SIP messages, calls and errors out.

It wires the pure layers together (decode -> trace) and owns no file or socket: the
caller (``sources/``, the CLI) reads the bytes and feeds them, so the same pipeline runs
on a file, a pipe or a test's bytes. What it produces goes to an optional :class:`Sink`
(the store) in batches, and is kept for the JSON document.

Errors are never raised past this point: every ``DecodeError`` becomes a
:class:`~calltrace.model.DecodeErrorRecord` ``{packet, ts, layer, kind, detail}``, is
counted, and the next packet is decoded. Several files given together are one stream
(a ring buffer of captures): a call that spans two files is one call, stored with the
file in which it ended.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Protocol

from calltrace.decode.events import EventDecoder
from calltrace.decode.events import sniff as sniff_events
from calltrace.decode.frames import FrameDecoder
from calltrace.decode.pcap import CaptureReader
from calltrace.decode.sdp import media_summary
from calltrace.decode.sip import looks_like_sip, parse_sip
from calltrace.detect.engine import DetectionEngine
from calltrace.detect.scoring import Risk
from calltrace.errors import DecodeError
from calltrace.model import (
    Alert,
    Call,
    CallEvent,
    CaptureInfo,
    CaptureRecord,
    DecodeErrorRecord,
    Packet,
    Registration,
    RtcpRecord,
    RtpStream,
    SipMessage,
)
from calltrace.trace.callmedia import HOLD_ADDRESSES
from calltrace.trace.calls import CallTracker
from calltrace.trace.media import MediaTracker

_event_type = attrgetter("type")

try:  # the bulk lane needs NumPy; without it every record takes the per-record path
    from calltrace.pipeline_bulk import BackgroundHash, BulkLane
except ImportError:  # pragma: no cover - numpy is a dependency; this is the fallback
    BulkLane = None  # type: ignore[assignment,misc]

#: Ports on which a UDP payload that is not SIP is worth counting (junk, keep-alives).
SIP_PORTS = frozenset({5060, 5061})
#: How many SIP messages are buffered before a batch goes to the sink.
BATCH = 5000
#: A reader that keeps raising without progress is given up after this many errors in a row.
MAX_CONSECUTIVE_READER_ERRORS = 1000


@dataclass(slots=True)
class FileResult:
    """What one capture file held: the ``files`` entries of the JSON document."""

    path: str
    sha256: str = ""
    bytes: int = 0
    packets: int = 0
    sip_messages: int = 0
    events: int = 0  # call events read from an event file (JSONL/CSV)
    format: str | None = None
    link_types: list[int] = field(default_factory=list)
    first_ts: float | None = None
    last_ts: float | None = None


@dataclass(slots=True)
class Stats:
    """Counters over the whole run (the ``stats`` of the JSON document)."""

    packets: int = 0
    sip_messages: int = 0
    calls: int = 0
    registrations: int = 0
    rtp_streams: int = 0
    rtp_packets: int = 0
    rtcp_packets: int = 0
    decode_errors: int = 0
    defects: int = 0
    non_sip_on_sip_ports: int = 0
    methods: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    transports: Counter[str] = field(default_factory=Counter)
    errors_by_kind: Counter[str] = field(default_factory=Counter)
    call_events: Counter[str] = field(default_factory=Counter)
    alerts: int = 0


class Sink(Protocol):
    """Where results go as they are made (``store.writer.StoreSink`` is the real one).

    A class that subclasses it explicitly inherits a do-nothing body for every method, so
    a sink that wants only some results (a test's message list) overrides only those.
    """

    def begin_file(self, path: str) -> None: ...
    def add_messages(self, messages: list[SipMessage]) -> None: ...
    def add_records(self, records: list[Call | Registration]) -> None: ...
    def add_errors(self, errors: list[DecodeErrorRecord]) -> None: ...
    def add_streams(self, streams: list[RtpStream]) -> None: ...
    def add_alerts(self, alerts: list[Alert]) -> None: ...
    def add_rtcp(self, reports: list[RtcpRecord]) -> None: ...
    def end_file(self, result: FileResult) -> None: ...


@dataclass(slots=True)
class Analysis:
    """Everything one run produced, in the order the JSON document lists it."""

    files: list[FileResult]
    stats: Stats
    calls: list[Call]
    registrations: list[Registration]
    errors: list[DecodeErrorRecord]
    out_of_dialog: dict[str, int]
    rtp_streams: list[RtpStream] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    risk: list[Risk] = field(default_factory=list)
    detection: dict[str, object] = field(default_factory=dict)
    rtcp_reports: list[RtcpRecord] = field(default_factory=list)


class Analyzer:
    """Feed it capture bytes file by file; ``finish()`` returns the :class:`Analysis`.

    With ``keep_results=False`` calls, registrations and errors only go to the sink and are
    counted in ``stats``: memory then stays flat however long the capture (the store
    holds the results), which is what ``analyze --db`` without ``--json`` does. Alerts are
    always kept (``Analysis.alerts``): the cooldown makes them few, and the console lists them.

    >>> analyzer = Analyzer()
    >>> analyzer.begin_file("empty.pcap")
    >>> analyzer.end_file().packets
    0
    """

    def __init__(
        self,
        sink: Sink | None = None,
        *,
        keep_results: bool = True,
        heuristic_rtp: bool = False,
        engine: DetectionEngine | None = None,
        detect: bool = True,
        bulk: bool | None = None,
    ) -> None:
        self.sink = sink
        # Detection runs on every call event the tracker emits (and on SIP messages when a
        # rule reads headers); engine=None builds one with every rule's defaults.
        self.engine = (engine or DetectionEngine()) if detect else None
        self._detect_sip = self.engine is not None and self.engine.consumes(SipMessage)
        self.alerts: list[Alert] = []
        self._pending_alerts: list[Alert] = []
        self.keep_results = keep_results
        self.stats = Stats()
        self.tracker = CallTracker()
        # RTP is found from the SDP of the calls; with heuristic_rtp, also without signalling
        # (as tshark's rtp.heuristic_rtp), at the risk of taking other UDP for RTP.
        self.media = MediaTracker(heuristic=heuristic_rtp)
        # The bulk lane (pipeline_bulk.py, docs/performance.md): on unless bulk=False,
        # CALLTRACE_NO_BULK=1 or NumPy is missing. It gives the same Analysis.
        if bulk is None:
            bulk = os.environ.get("CALLTRACE_NO_BULK", "") in ("", "0")
        self.bulk: BulkLane | None = None
        if bulk and BulkLane is not None:
            self.bulk = BulkLane(self)
            self.media = self.bulk.media
        self.rtp_streams: list[RtpStream] = []
        self.rtcp_reports: list[RtcpRecord] = []
        self.frames = FrameDecoder()
        self.files: list[FileResult] = []
        self.calls: list[Call] = []
        self.registrations: list[Registration] = []
        self.errors: list[DecodeErrorRecord] = []
        self._messages: list[SipMessage] = []
        self._pending_errors: list[DecodeErrorRecord] = []
        self._file: FileResult | None = None
        self._events: EventDecoder | None = None
        self._sniff = True
        self._reader = CaptureReader()
        self._hash: Any = hashlib.sha256()

    # -- file boundaries -------------------------------------------------------------
    def begin_file(self, path: str, fmt: str | None = None) -> None:
        """Start a file. ``fmt`` ``"jsonl"``/``"csv"`` says it is a call-event file; None
        lets the first chunk decide (a capture unless it looks like an event file)."""
        self._file = FileResult(path=path)
        self._events = EventDecoder(fmt) if fmt in ("jsonl", "csv") else None
        self._sniff = fmt is None
        self._reader = CaptureReader()
        self._hash = hashlib.sha256()
        if self.bulk is not None:
            self.bulk.begin_file()
            self._hash = BackgroundHash(self._hash)
        if self.sink is not None:
            self.sink.begin_file(path)

    def feed(self, chunk: bytes) -> None:
        """Decode every complete record in ``chunk`` (plus what earlier chunks left)."""
        result = self._current()
        if self._sniff:
            self._sniff = False
            fmt = sniff_events(chunk[:4096])
            if fmt is not None:
                self._events = EventDecoder(fmt)
        result.bytes += len(chunk)
        self._hash.update(chunk)
        if self._events is not None:
            self.feed_events(self._events.feed(chunk))
            return
        if self.bulk is not None:
            self.bulk.feed(chunk)
            return
        self._reader.feed(chunk)
        self._drain()

    def end_file(self) -> FileResult:
        result = self._current()
        if self._events is not None:
            self.feed_events(self._events.close())
            result.format = self._events.format
            result.packets = self._events.lines
        if self.bulk is not None:
            self.bulk.end_file()
        closing = self.bulk.capture if self.bulk is not None else self._reader
        try:
            closing.close()
        except DecodeError as err:
            self._record(err, packet=result.packets + 1 if result.packets else None, ts=None)
        result.sha256 = self._hash.hexdigest()
        info = closing.info
        if info is not None:
            result.format = info.format
            result.link_types = sorted(set(info.link_types))
        self._flush()
        if self.sink is not None:
            self.sink.end_file(result)
        self.files.append(result)
        self._file = None
        return result

    def finish(self) -> Analysis:
        """End of input: flush every open flow and return the results."""
        for item in self.frames.flush():
            if isinstance(item, DecodeError):
                self._record(item, packet=None, ts=None)
            else:
                self._payload(item)
        self._flush(final=True)
        self._streams(self.media.close())
        self._rtcp(self.media.pop_rtcp())
        self.stats.rtp_packets = self.media.rtp_packets
        self.stats.rtcp_packets = self.media.rtcp_packets
        self.rtp_streams.sort(key=lambda s: (s.start, s.src_ip, s.src_port, s.ssrc))
        # records leave the tracker when their flow ends; the document lists them by start
        self.calls.sort(key=lambda call: (call.start, call.call_id))
        self.registrations.sort(key=lambda reg: (reg.start, reg.call_id))
        self.alerts.sort(key=lambda a: (a.first_seen, a.rule, a.entity, a.id))
        ood = dict(sorted(self.tracker.stats.out_of_dialog.items()))
        return Analysis(
            files=self.files,
            stats=self.stats,
            calls=self.calls,
            registrations=self.registrations,
            errors=self.errors,
            out_of_dialog=ood,
            rtp_streams=self.rtp_streams,
            alerts=self.alerts,
            risk=self.engine.risk.all() if self.engine is not None else [],
            detection=self._detection_stats(),
            rtcp_reports=self.rtcp_reports,
        )

    def _detection_stats(self) -> dict[str, object]:
        engine = self.engine
        if engine is None:
            return {}
        counters = engine.counters
        return {
            "rules": [d.rule_id for d in engine.detectors],
            "items": counters.items,
            "alerts": dict(sorted(counters.alerts.items())),
            "suppressed": dict(sorted(counters.suppressed.items())),
            "allowlisted": dict(sorted(counters.allowlisted.items())),
            "late": engine.late_events(),
        }

    # -- call events from an event file (sources/events.py) ---------------------------
    def feed_events(self, items: Iterable[tuple[int, CallEvent | DecodeError]]) -> None:
        """Take ``(line number, event or error)`` pairs of an event file: events go to
        the detectors as the tracker's would, errors are recorded with the line number
        in ``packet``."""
        result = self._current()
        batch: list[CallEvent] = []
        keep = batch.append
        for number, item in items:
            if type(item) is CallEvent:
                keep(item)
            else:
                assert isinstance(item, DecodeError)
                self._record(item, packet=number, ts=None)
        if not batch:
            return
        result.events += len(batch)
        if result.first_ts is None:
            result.first_ts = batch[0].ts
        result.last_ts = batch[-1].ts
        counts = self.stats.call_events
        for kind, n in Counter(map(_event_type, batch)).items():
            counts[kind.value] += n
        if self.engine is not None:
            self._alert(self.engine.observe_many(batch))

    def _alert(self, alerts: list[Alert]) -> None:
        if alerts:
            self.stats.alerts += len(alerts)
            self.alerts.extend(alerts)
            self._pending_alerts.extend(alerts)

    # -- the per-record path ---------------------------------------------------------
    def _drain(self) -> None:
        errors_in_a_row = 0
        while True:
            try:
                for event in self._reader.events():
                    errors_in_a_row = 0
                    if type(event) is CaptureRecord:
                        self._record_frame(event)
                    elif type(event) is CaptureInfo:
                        self._current().format = event.format
                return
            except DecodeError as err:
                errors_in_a_row += 1
                result = self._current()
                self._record(err, packet=result.packets + 1, ts=result.last_ts)
                if errors_in_a_row >= MAX_CONSECUTIVE_READER_ERRORS:
                    return

    def _record_frame(self, record: CaptureRecord) -> None:
        result = self._current()
        result.packets += 1
        self.stats.packets += 1
        if result.first_ts is None:
            result.first_ts = record.ts
        result.last_ts = record.ts
        self._frame(record)

    def _frame(self, record: CaptureRecord) -> None:
        """Frame decoding and what follows, without the per-file counters."""
        for item in self.frames.decode(record):
            if isinstance(item, DecodeError):
                self._record(item, packet=record.number, ts=record.ts)
            else:
                self._payload(item)

    def _payload(self, packet: Packet) -> None:
        if packet.transport == "udp" and not looks_like_sip(packet.payload):
            if packet.src_port in SIP_PORTS or packet.dst_port in SIP_PORTS:
                self.stats.non_sip_on_sip_ports += 1
            else:
                if self.bulk is not None:
                    self.bulk.settle()  # media rows before this one go first
                if (err := self.media.observe(packet)) is not None:
                    self._record(err, packet=packet.number, ts=packet.ts)
            return
        try:
            message = parse_sip(packet)
        except DecodeError as err:
            self._record(err, packet=packet.number, ts=packet.ts)
            return
        self._message(message)

    def _message(self, message: SipMessage) -> None:
        stats = self.stats
        stats.sip_messages += 1
        stats.transports[message.packet.transport] += 1
        if self._file is not None:
            self._file.sip_messages += 1
        if message.is_request:
            stats.methods[message.method] += 1
        else:
            stats.statuses[str(message.status)] += 1
        if message.defects:
            stats.defects += 1
            self._keep_error(
                DecodeErrorRecord(
                    packet=message.number,
                    ts=message.ts,
                    layer="sip",
                    kind="defect",
                    detail=", ".join(message.defects),
                    call_id=message.call_id,
                    defects=message.defects,
                )
            )
        engine = self.engine
        if self._detect_sip and engine is not None:
            self._alert(engine.observe(message))
        if message.call_id:  # a message without Call-ID belongs to no dialog (a defect)
            for event in self.tracker.observe(message):
                stats.call_events[event.type.value] += 1
                if engine is not None:
                    self._alert(engine.observe(event))
            if message.body:
                self._expect_media(message)
        self._messages.append(message)
        if len(self._messages) >= BATCH:
            self._flush()

    def _expect_media(self, message: SipMessage) -> None:
        """Tell the media tracker where the SDP of this message says RTP will arrive.

        The call tracker has just read this body (``media_summary`` answers the second
        ask for the same body object from its one-entry memo), so SDP is read once per
        message. RFC 3264 §8: a later offer or answer (re-INVITE, UPDATE) that moves the
        media replaces the expectation for its address, and its direction and codecs
        apply to the packets that follow; a held stream (c=0.0.0.0, RFC 3264 §8.4 and RFC
        2543) names no address to expect.
        """
        content_type = message.header("content-type")
        if content_type is None or "sdp" not in content_type.lower():
            return
        try:
            lines = media_summary(message.body)
        except DecodeError:
            return  # the call tracker records the SDP problem with the call
        for media in lines:
            if media.ip and media.port and media.ip not in HOLD_ADDRESSES:
                if self.bulk is not None:
                    self.bulk.before_expect(media.ip, media.port, media.rtcp_port)
                self.media.expect(
                    media.ip,
                    media.port,
                    dict(media.payloads),
                    call_id=message.call_id,
                    direction=media.direction,
                    rtcp_port=media.rtcp_port,
                    rtcp_mux=media.rtcp_mux,
                    proto=media.proto,
                )

    def _streams(self, streams: list[RtpStream]) -> None:
        if not streams:
            return
        self.stats.rtp_streams += len(streams)
        if self.keep_results:
            self.rtp_streams.extend(streams)
        if self.sink is not None:
            self.sink.add_streams(streams)

    def _rtcp(self, reports: list[RtcpRecord]) -> None:
        if not reports:
            return
        if self.keep_results:
            self.rtcp_reports.extend(reports)
        if self.sink is not None:
            self.sink.add_rtcp(reports)

    # -- bookkeeping -----------------------------------------------------------------
    def _record(self, err: DecodeError, *, packet: int | None, ts: float | None) -> None:
        self.stats.decode_errors += 1
        self._keep_error(
            DecodeErrorRecord(
                packet=packet, ts=ts, layer=err.layer, kind=err.kind, detail=err.detail
            )
        )

    def _keep_error(self, record: DecodeErrorRecord) -> None:
        if self.bulk is not None:
            self.bulk.settle()  # errors of media rows before this one go first
        self.stats.errors_by_kind[f"{record.layer}.{record.kind}"] += 1
        self._pending_errors.append(record)
        if self.keep_results:
            self.errors.append(record)

    def _flush(self, *, final: bool = False) -> None:
        if self.bulk is not None:
            self.bulk.settle()
        finished = self.tracker.close() if final else self.tracker.pop_finished()
        for item in finished:
            if isinstance(item, Call):
                self.stats.calls += 1
                if self.keep_results:
                    self.calls.append(item)
            else:
                self.stats.registrations += 1
                if self.keep_results:
                    self.registrations.append(item)
        if self.sink is not None:
            if self._messages:
                self.sink.add_messages(self._messages)
            if finished:
                self.sink.add_records(finished)
            if self._pending_errors:
                self.sink.add_errors(self._pending_errors)
            if self._pending_alerts:
                self.sink.add_alerts(self._pending_alerts)
        self._messages = []
        self._pending_errors = []
        self._pending_alerts = []
        if not final:
            self._streams(self.media.pop_finished())
            self._rtcp(self.media.pop_rtcp())

    def _current(self) -> FileResult:
        if self._file is None:
            self.begin_file("<stream>")
        assert self._file is not None
        return self._file


def analyze_chunks(
    files: Iterable[tuple[str, Iterable[bytes]]], sink: Sink | None = None
) -> Analysis:
    """Run the pipeline over ``(path, chunks)`` pairs; the convenience entry for tests."""
    analyzer = Analyzer(sink)
    for path, chunks in files:
        analyzer.begin_file(path)
        for chunk in chunks:
            analyzer.feed(chunk)
        analyzer.end_file()
    return analyzer.finish()
