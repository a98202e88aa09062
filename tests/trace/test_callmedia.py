"""summarize: a call's media summary from its SDP and streams, on hand-made rows."""

from __future__ import annotations

from typing import Any

import pytest

from calltrace.trace.callmedia import summarize

CALL: dict[str, Any] = {
    "call_id": "c", "start": 100.0, "answered": 101.0, "end": 160.0,
    "media": [
        {"party": "caller", "ip": "10.0.0.1", "port": 4000, "direction": "sendrecv",
         "security": []},
        {"party": "callee", "ip": "10.0.0.2", "port": 5000, "direction": "sendrecv",
         "security": []},
    ],
}  # fmt: skip


def stream(src: str, dst: str, packets: int, *, start: float = 101.0, end: float = 159.0,
           **extra: Any) -> dict[str, Any]:  # fmt: skip
    (sip_, sport), (dip, dport) = (x.split(":") for x in (src, dst))
    row = {"call_id": "c", "ssrc": packets, "src_ip": sip_, "src_port": int(sport),
           "dst_ip": dip, "dst_port": int(dport), "start": start, "end": end,
           "packets": packets, "codec": "PCMU/8000", "mos": 4.4, "lost_pct": 0.0,
           "max_jitter_ms": 1.0}  # fmt: skip
    return row | extra


UP, DOWN = ("10.0.0.1:4000", "10.0.0.2:5000"), ("10.0.0.2:5000", "10.0.0.1:4000")


def test_both_ways_is_not_one_way_and_worst_figures_are_taken() -> None:
    """Worst MOS is the lowest, worst loss and jitter the highest of the call's streams."""
    s = summarize(
        CALL,
        [
            stream(*UP, 2900, mos=3.9, lost_pct=2.5, max_jitter_ms=7.0),
            stream(*DOWN, 2950, mos=4.1, lost_pct=-0.1, codec="pcmu/8000"),
        ],
    )
    assert (s.one_way_audio, s.no_media, s.streams, s.packets) == (False, False, 2, 5850)
    assert (s.worst_mos, s.worst_loss_pct, s.max_jitter_ms) == (3.9, 2.5, 7.0)
    assert s.codecs == ("PCMU/8000",)  # encoding names are case-insensitive


@pytest.mark.parametrize(("down", "silent"), [(144, "callee"), (145, None)])
def test_a_direction_under_five_percent_is_silent(down: int, silent: str | None) -> None:
    """2900 packets one way: 144 (< 5 % = 145) the other way is silent, 145 is not."""
    s = summarize(CALL, [stream(*UP, 2900), stream(*DOWN, down)])
    assert (s.one_way_audio, s.silent_party) == (silent is not None, silent)


def test_streams_of_a_reused_call_id_outside_the_call_are_left_out() -> None:
    """A stream starting after the call's end + 2 s belongs to a later call of the same ID."""
    s = summarize(CALL, [stream(*UP, 100), stream(*DOWN, 100, start=170.0, end=180.0)])
    assert s.streams == 1 and s.silent_party == "callee"


def test_rtp_after_bye_needs_more_than_the_grace() -> None:
    """Last packets 1.9 s after the end are fine; 2.5 s after are reported."""
    s = summarize(CALL, [stream(*UP, 100, end=161.9), stream(*DOWN, 100, end=162.5)])
    assert [(late.src, late.after_s) for late in s.rtp_after_bye] == [("10.0.0.2:5000", 2.5)]


def test_unanswered_call_has_no_media_verdicts() -> None:
    """A call never answered is neither no-media nor one-way."""
    call = CALL | {"answered": None, "end": 105.0}
    s = summarize(call, [])
    assert (s.no_media, s.one_way_audio, s.worst_mos, s.rtp_after_bye) == (False, False, None, ())


def test_ipv6_endpoints_are_bracketed() -> None:
    """ip:port of IPv6 media addresses uses brackets (RFC 3986 §3.2.2)."""
    call = CALL | {"media": [{"party": "caller", "ip": "2001:db8::1", "port": 4000}]}
    (party,) = summarize(call, []).parties
    assert party.sdp == ("[2001:db8::1]:4000",)
