"""How a stream's payload types are named and clocked, as tshark names and clocks them.

Kept apart from the tracker (trace/media.py) as tables plus the one class that reads
them: tshark's short names for the static payload types, Wireshark's clock rates for
dynamic ones known by encoding name, and the rules of docs/media.md ("Clock rate",
"Payload names") for which of SDP, the static table or a name wins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from calltrace.decode.rtp import STATIC_PAYLOADS

if TYPE_CHECKING:
    from calltrace.trace.media import Expectation

__all__ = ["RTPEVENT_PT", "Payload"]


# tshark's short names of the static payload types (epan/rtp_pt.h, rtp_payload_type_short_vals)
_SHORT_NAMES: Final[dict[int, str]] = {
    0: "g711U", 1: "fs-1016", 2: "g721", 3: "GSM", 4: "g723", 5: "DVI4 8k", 6: "DVI4 16k",
    7: "Exp. from Xerox PARC", 8: "g711A", 9: "g722", 10: "16-bit audio, stereo",
    11: "16-bit audio, monaural", 12: "Qualcomm", 13: "CN", 14: "MPEG-I/II Audio", 15: "g728",
    16: "DVI4 11k", 17: "DVI4 22k", 18: "g729", 19: "CN(old)", 25: "CellB", 26: "JPEG", 28: "NV",
    31: "h261", 32: "MPEG-I/II Video", 33: "MPEG-II streams", 34: "h263",
}  # fmt: skip
# Wireshark's clock rates for dynamic payloads known by name only (tap-rtp-analysis.c,
# after the IANA media types registry); the longest matching prefix wins.
_NAMED_CLOCKS: Final[dict[str, int]] = {
    "AMR": 8000, "AMR-WB": 16000, "BMPEG": 90000, "BT656": 90000, "DV": 90000, "EVRC": 8000,
    "EVRC0": 8000, "EVRC1": 8000, "EVRCB": 8000, "EVRCB0": 8000, "EVRCB1": 8000,
    "EVRCWB": 16000, "EVRCWB0": 16000, "EVRCWB1": 16000, "EVS": 16000, "G7221": 16000,
    "G726-16": 8000, "G726-24": 8000, "G726-32": 8000, "G726-40": 8000, "G729D": 8000,
    "G729E": 8000, "GSM-EFR": 8000, "H263-1998": 90000, "H263-2000": 90000, "H264": 90000,
    "MP1S": 90000, "MP2P": 90000, "MP4V-ES": 90000, "MPA-ROBUST": 90000, "OPUS": 48000,
    "POINTER": 90000, "RAW": 90000, "RED": 1000, "SMV": 8000, "SMV0": 8000, "T140": 1000,
    "TELEPHONE-EVENT": 8000,
}  # fmt: skip
RTPEVENT_PT: Final = 101  # Wireshark's rtpevent.event_payload_type_value default


def _named_clock(name: str) -> int:
    upper = name.upper()
    best = ""
    for prefix in _NAMED_CLOCKS:
        if upper.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    return _NAMED_CLOCKS[best] if best else 0


class Payload:
    """How one payload type of a stream is named and clocked (decided once per type)."""

    __slots__ = ("clock", "codec", "event", "name")

    def __init__(self, pt: int, exp: Expectation | None) -> None:
        rtpmap = exp.payloads.get(pt) if exp is not None else None
        parts = rtpmap.split("/") if rtpmap else []
        self.event = False
        if pt < 96:
            # tshark uses the static table for 0-95 whatever the SDP says
            self.name = _SHORT_NAMES.get(pt, f"RTPType-{pt}")
            static = STATIC_PAYLOADS.get(pt)
            self.clock = static[1] if static else 0
            self.codec = rtpmap or (f"{static[0]}/{static[1]}" if static else None)
        elif parts:
            self.name = parts[0]
            rate = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            self.event = parts[0].lower().startswith("telephone-event")
            # RFC 4733 §2.2.1: an event's timestamp stays at its start, so no jitter
            self.clock = 0 if self.event else (rate or _named_clock(parts[0]))
            if self.clock < 1000:
                # tshark times RTP in ms with clock_rate / 1000 (an integer): a rate under
                # 1 kHz in an rtpmap (no real codec has one) cannot be timed that way
                self.clock = 0
            self.codec = rtpmap
        elif pt == RTPEVENT_PT:
            self.name, self.clock, self.event, self.codec = (
                "rtpevent",
                0,
                True,
                "telephone-event/8000",
            )
        else:
            self.name, self.clock, self.codec = f"RTPType-{pt}", 0, None
