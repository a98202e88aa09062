"""CPU time of the SDP reading per SIP message with a body: call tracking plus media expectations.

Generates a carrier capture (about 20k SIP messages), decodes its messages once, then times
only the message path that reads SDP: ``CallTracker.observe`` and ``Analyzer._expect_media``
(via ``Analyzer._message``), best of five repeats of ``time.process_time``. Prints µs per
message that carries SDP.

    python bench/bench_sdp.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from calltrace.decode.frames import FrameDecoder
from calltrace.decode.pcap import CaptureReader
from calltrace.decode.sdp import _read, parse_sdp
from calltrace.decode.sip import looks_like_sip, parse_sip
from calltrace.model import CaptureRecord, Packet, SipMessage
from calltrace.pipeline import Analyzer
from calltrace.sim.engine import SimConfig
from calltrace.sim.scenarios import simulation
from calltrace.sources.pcapwriter import write_pcap


def _messages(path: Path) -> list[SipMessage]:
    reader = CaptureReader()
    reader.feed(path.read_bytes())
    frames = FrameDecoder()
    out = []
    for event in reader.events():
        if type(event) is CaptureRecord:
            for item in frames.decode(event):
                if isinstance(item, Packet) and looks_like_sip(item.payload):
                    out.append(parse_sip(item))
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "carrier.pcap"
        write_pcap(path, simulation("carrier", SimConfig(seed=3, duration=60, max_messages=20000)))
        messages = _messages(path)
    with_sdp = sum(1 for m in messages if m.body)
    best = float("inf")
    for _ in range(5):
        analyzer = Analyzer(keep_results=False)
        start = time.process_time()
        for message in messages:
            analyzer._message(message)
        best = min(best, time.process_time() - start)
    print(f"{len(messages)} messages, {with_sdp} with SDP")
    print(f"message path: {best / len(messages) * 1e6:.2f} µs/message (CPU, best of 5)")
    bodies = [m.body for m in messages if m.body]
    for name, read in (("parse_sdp", parse_sdp), ("lean read", _read)):
        best = float("inf")
        for _ in range(5):
            start = time.process_time()
            for body in bodies:
                read(body)
            best = min(best, time.process_time() - start)
        print(f"{name}: {best / len(bodies) * 1e6:.2f} µs per SDP body (CPU, best of 5)")


if __name__ == "__main__":
    main()
