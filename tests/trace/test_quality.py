"""E-model R-factor and MOS (ITU-T G.107) and the jitter-buffer models, at hand-checked points."""

from __future__ import annotations

import doctest

import pytest

from calltrace.trace import quality
from calltrace.trace.quality import (
    AdaptiveJitterBuffer,
    FixedJitterBuffer,
    codec_impairment,
    mos_from_r,
    mos_from_r_wb,
    r_factor,
    r_factor_wb,
    stream_quality,
)


def test_g711_without_loss_is_93_2() -> None:
    """G.107 with every default and Ie = 0, no loss: R = 93.2, MOS 4.41."""
    r = r_factor(ie=0.0, bpl=25.1, loss_pct=0.0)
    assert r == pytest.approx(93.2, abs=0.01)
    assert mos_from_r(r) == pytest.approx(4.41, abs=0.005)


@pytest.mark.parametrize(
    ("r", "mos"),
    [
        (-5.0, 1.0),  # below 0: 1
        (0.0, 1.0),
        (50.0, 1 + 1.75 + 50 * -10 * 50 * 7e-6),  # 2.575
        (60.0, 1 + 2.1),  # the cubic term vanishes at 60
        (80.0, 1 + 2.8 + 80 * 20 * 20 * 7e-6),  # 4.024
        (100.0, 4.5),
        (120.0, 4.5),  # above 100: 4.5
    ],
)
def test_r_to_mos_mapping(r: float, mos: float) -> None:
    """G.107 Annex B: MOS = 1 + 0.035R + R(R-60)(100-R)7e-6, clamped to 1 and 4.5."""
    assert mos_from_r(r) == pytest.approx(mos)


def test_ie_eff_formula() -> None:
    """1% random loss on G.711 without PLC (Bpl 4.3): Ie-eff = 95 * 1/(1+4.3) = 17.92."""
    r0 = r_factor(ie=0.0, bpl=4.3, loss_pct=0.0)
    assert r0 - r_factor(ie=0.0, bpl=4.3, loss_pct=1.0) == pytest.approx(95 / 5.3)
    # G.729A: Ie 11 and Bpl 19 at 2% loss: 11 + 84 * 2 / 21 = 19
    assert r0 - r_factor(ie=11.0, bpl=19.0, loss_pct=2.0) == pytest.approx(19.0)


def test_delay_lowers_r() -> None:
    """Above 100 ms one-way delay Idd adds an impairment; 300 ms is worse than 150 ms."""
    assert r_factor(ie=0, bpl=25.1, loss_pct=0, delay_ms=300) < r_factor(
        ie=0, bpl=25.1, loss_pct=0, delay_ms=150
    )


def test_codec_table() -> None:
    """Codecs are found by rtpmap name in any case; unknown ones are unrated."""
    g729 = codec_impairment("G729/8000")
    assert g729 is not None and (g729.ie, g729.bpl) == (11.0, 19.0)
    assert codec_impairment("opus/48000/2") is not None
    assert codec_impairment("H263/90000") is None
    assert stream_quality("H263/90000", 10, 0, 0) == (0.0, None, None)


def test_stream_quality_counts_discards_and_ignores_duplicates() -> None:
    """Effective loss = (max(lost, 0) + discards) / expected; negative loss counts 0."""
    assert stream_quality("PCMU/8000", 100, 2, 3)[0] == pytest.approx(5.0)
    assert stream_quality("PCMU/8000", 100, -2, 0)[0] == 0.0


def test_fixed_buffer() -> None:
    """50 ms buffer: a packet due at 40 ms media time arriving 95 ms after the first misses."""
    buf = FixedJitterBuffer(50.0)
    assert buf.offer(10.000, 0.0)
    assert buf.offer(10.069, 0.020)  # plays at 10.070
    assert not buf.offer(10.095, 0.040)  # plays at 10.090
    assert buf.discarded == 1


def test_adaptive_buffer_follows_delay_at_talkspurts() -> None:
    """After a talkspurt restarts the plan, a constant extra 30 ms delay is absorbed."""
    buf = AdaptiveJitterBuffer(min_ms=20.0, max_ms=200.0)
    assert buf.offer(0.0, 0.0)
    assert not buf.offer(1.030, 1.0)  # 30 ms later than planned 20 ms
    for i in range(200):
        buf.offer(2.0 + 0.02 * i + 0.03 * (i % 2), 2.0 + 0.02 * i, talkspurt=(i == 100))
    late = buf.discarded
    for i in range(50):
        buf.offer(10.0 + 0.02 * i + 0.03, 10.0 + 0.02 * i, talkspurt=(i == 0))
    assert buf.discarded == late


def test_adaptive_buffer_by_hand() -> None:
    """First packet: d = n0 = 0, playout offset n0 + 20 ms; a packet 25 ms late misses it
    (no talkspurt to re-plan), and the estimates move by 1/16: d = 25/16 ms, v = d'."""
    buf = AdaptiveJitterBuffer(min_ms=20.0, max_ms=200.0)
    assert buf.offer(5.0, 5.0)
    assert not buf.offer(5.045, 5.020)  # n = 25 ms > 20 ms
    d = 0.025 / 16
    assert buf._d == pytest.approx(d)
    assert buf._v == pytest.approx(abs(d - 0.025) / 16)
    # a talkspurt re-plans to d + 4v (bounded to 20-200 ms): the same lateness now fits
    d2 = d * 15 / 16 + 0.025 / 16
    v2 = buf._v * 15 / 16 + abs(d2 - 0.025) / 16
    assert d2 + 4 * v2 < 0.020  # still below the floor: the floor of 20 ms holds
    assert not buf.offer(6.025, 6.0, talkspurt=True)


def test_stream_mos_uses_the_fixed_buffer_not_the_adaptive_one() -> None:
    """A 60 ms delay step at a talkspurt: the fixed 50 ms buffer drops all later packets,
    the adaptive one re-plans at the next talkspurt; loss and MOS follow the fixed one."""
    from calltrace.trace.media import MediaTracker
    from tests.trace.test_media import pkt

    tracker = MediaTracker(heuristic=True)
    for i in range(50):
        step = 60.0 if i >= 10 else 0.0
        tracker.observe(pkt(i + 1, 160 * i, 20.0 * i + step, marker=i in (0, 10, 30)))
    (s,) = tracker.close()
    assert (s.lost, s.jitter_discards) == (0, 40)
    assert s.adaptive_discards < s.jitter_discards
    assert s.effective_loss_pct == pytest.approx(80.0)
    assert (s.r_factor, s.mos) == stream_quality("PCMU/8000", 50, 0, 40)[1:]


def test_g722_on_the_wideband_scale() -> None:
    """G.107.1: G.722 (Ie,WB 14) without loss is R_WB = 129 - 14 = 115, and its MOS is
    G.107 Annex B at R = 115 / 1.29 = 89.147: 1 + 3.1202 + 89.147*29.147*10.853*7e-6."""
    loss, r, mos = stream_quality("G722/8000", 100, 0, 0)
    assert (loss, r) == (0.0, 115.0)
    rx = 115 / 1.29
    assert mos == pytest.approx(1 + 0.035 * rx + rx * (rx - 60) * (100 - rx) * 7e-6)
    assert mos == pytest.approx(4.3176, abs=1e-4)
    assert mos_from_r_wb(129.0 * 1.01) == 4.5 and mos_from_r_wb(-3.0) == 1.0


def test_wideband_ie_eff_uses_the_129_scale() -> None:
    """2 % random loss on G.722 (Bpl 25.1): Ie,eff,WB = 14 + 115 * 2 / 27.1 = 22.487,
    R_WB = 106.513; at 100 % loss 129 - 14 - 115 * 100 / 125.1 = 23.07."""
    assert r_factor_wb(ie=14.0, bpl=25.1, loss_pct=2.0) == pytest.approx(129 - 14 - 230 / 27.1)
    assert r_factor_wb(ie=14.0, bpl=25.1, loss_pct=100.0) == pytest.approx(23.0735, abs=1e-4)
    opus, pcma = codec_impairment("opus/48000/2"), codec_impairment("PCMA/8000")
    assert opus is not None and opus.wideband
    assert pcma is not None and not pcma.wideband


def test_wideband_delay_uses_the_narrowband_idd_scaled() -> None:
    """Up to 100 ms no delay impairment; at 200 ms Idd (G.107: x = 1) times 1.29."""
    assert r_factor_wb(ie=14.0, bpl=25.1, loss_pct=0.0, delay_ms=100.0) == 115.0
    idd = 25.0 * (2 ** (1 / 6) - 3.0 * (1 + (1 / 3) ** 6) ** (1 / 6) + 2.0)
    got = r_factor_wb(ie=14.0, bpl=25.1, loss_pct=0.0, delay_ms=200.0)
    assert got == pytest.approx(115.0 - 1.29 * idd)


def test_docstring_examples() -> None:
    """The module's examples (G.711 at 93.2 / 4.41, G.722 at 115 / 4.318) run and hold."""
    result = doctest.testmod(quality)
    assert result.attempted >= 2 and result.failed == 0
