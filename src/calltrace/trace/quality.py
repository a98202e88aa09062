"""Voice quality: the ITU-T G.107 E-model (R-factor, MOS) and jitter-buffer simulation.

The R-factor is computed with the full G.107 (06/2015) transmission rating model: basic
signal-to-noise ratio Ro, simultaneous impairments Is, delay impairments Id, equipment
impairment Ie-eff (codec and effective packet loss) and advantage A. With every parameter
at its G.107 default (Table 2) and G.711 without loss, R = 93.2; :func:`mos_from_r` is the
G.107 Annex B mapping. Codec constants (Ie, Bpl) and their sources are in :data:`CODECS`
and docs/media.md.

Wideband codecs (G.722, Opus) are rated with the wideband E-model, ITU-T G.107.1, on its
extended scale: Ro,WB = 129 (:data:`RO_WB`), R_WB = Ro,WB - Ie,eff,WB with Ie,WB values on
that scale (:func:`r_factor_wb`), and the MOS by G.107.1 Annex A: R_WB / 1.29 into the
G.107 Annex B curve (:func:`mos_from_r_wb`). Which constants are sourced and which are
assumptions is said in :data:`CODECS` and docs/media.md.

Effective loss is network loss plus packets a receiver's jitter buffer would discard for
arriving after their playout time. :class:`FixedJitterBuffer` (50 ms, Wireshark's RTP
player default) gives the figure CallTrace reports; :class:`AdaptiveJitterBuffer`
(after Ramjee et al. 1994, algorithm 1, re-planned at talkspurts) is there for comparison.

>>> round(r_factor(ie=0.0, bpl=25.1, loss_pct=0.0), 1), round(mos_from_r(93.2), 2)
(93.2, 4.41)
>>> r_factor_wb(ie=14.0, bpl=25.1, loss_pct=0.0), round(mos_from_r_wb(115.0), 3)
(115.0, 4.318)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

__all__ = [
    "CODECS",
    "RO_WB",
    "WB_SCALE",
    "AdaptiveJitterBuffer",
    "CodecImpairment",
    "FixedJitterBuffer",
    "codec_impairment",
    "mos_from_r",
    "mos_from_r_wb",
    "r_factor",
    "r_factor_wb",
    "stream_quality",
]

#: G.107.1: the wideband scale's basic signal-to-noise ratio Ro,WB (its R ends at 129).
RO_WB: Final = 129.0
#: G.107.1 Annex A: R_WB / 1.29 is the R put into the G.107 Annex B MOS curve.
WB_SCALE: Final = 1.29


@dataclass(frozen=True, slots=True, kw_only=True)
class CodecImpairment:
    """E-model constants of one codec: equipment impairment Ie and loss robustness Bpl.

    ``wideband``: ``ie`` is Ie,WB on G.107.1's scale (0-129) and the codec is rated with
    :func:`r_factor_wb`; otherwise Ie on G.107's narrowband scale.
    """

    ie: float
    bpl: float
    source: str
    wideband: bool = False


# Keys are upper-case encoding names as SDP/RFC 3551 write them. Sources and what stays an
# assumption: docs/media.md "Codec constants". ITU-T G.113 Appendix I (provisional planning
# values) is not in public material we could consult; its Ie values for G.711, G.729A and
# G.723.1 agree with Nortel NN43001-563 (2007) Table 29, and its Bpl values with the slopes
# of Ie,eff at low loss (about 4 R per % with PLC, over 20 R per % for G.711 without PLC)
# reported in Telektronikk's E-model study; the rest is marked "assumption".
CODECS: Final[dict[str, CodecImpairment]] = {
    # G.113 App. I: G.711 Ie 0; with its Appendix I PLC Bpl 25.1 (random loss), 4.3
    # without PLC. Phones conceal losses today, so the PLC figure is used.
    "PCMU": CodecImpairment(ie=0.0, bpl=25.1, source="ITU-T G.113 App. I, G.711 with PLC"),
    "PCMA": CodecImpairment(ie=0.0, bpl=25.1, source="ITU-T G.113 App. I, G.711 with PLC"),
    # G.113 App. I: G.729A + VAD Ie 11, Bpl 19.0 (plain G.729: Ie 10). SDP names both
    # "G729"; deployed endpoints run Annex A, so its figures are used (an assumption).
    "G729": CodecImpairment(ie=11.0, bpl=19.0, source="ITU-T G.113 App. I, G.729A+VAD"),
    # Wideband codecs, rated by G.107.1 on its 0-129 scale. G.722 at 64 kbit/s: Ie,WB 14,
    # as Mitel's MiVoice MX-ONE planning guide ("Speech compression impairment", Table 2:
    # G.722 64/56/48 kbit/s Ie,wb 14/18/24) gives it; the ITU text (G.113 Appendix IV)
    # was not available to us. SDP's "G722" does not say the rate: 64 kbit/s (what
    # phones send) is assumed. No Bpl for G.722 was found: assumption, 25.1 (G.711 with
    # PLC). Opus: no published Ie,WB or Bpl (ITU-T has none on this scale): assumption,
    # rated as G.722 at 64 kbit/s (its wideband modes are at least as good).
    "G722": CodecImpairment(
        ie=14.0,
        bpl=25.1,
        wideband=True,
        source="Ie,WB: Mitel MX-ONE guide (G.722 64k); Bpl: assumption",
    ),
    "OPUS": CodecImpairment(
        ie=14.0, bpl=25.1, wideband=True, source="assumption: as G.722 64 kbit/s (WB scale)"
    ),
    # G.113 App. I: GSM full rate Ie 20; its Bpl is not in the table we recall: 10.0 is
    # GSM-EFR's, taken as an assumption.
    "GSM": CodecImpairment(ie=20.0, bpl=10.0, source="G.113 App. I Ie; Bpl assumed (EFR's)"),
    "G723": CodecImpairment(ie=15.0, bpl=16.1, source="ITU-T G.113 App. I, G.723.1 6.3 kbit/s"),
}


def codec_impairment(codec: str | None) -> CodecImpairment | None:
    """The constants for ``codec`` ("PCMA/8000", "opus/48000/2", "G729"...), or None."""
    if not codec:
        return None
    return CODECS.get(codec.split("/", 1)[0].upper())


def _lg(x: float) -> float:
    return math.log10(x)


def r_factor(
    *,
    ie: float,
    bpl: float,
    loss_pct: float,
    burst_r: float = 1.0,
    delay_ms: float = 0.0,
) -> float:
    """G.107 §7 transmission rating R with defaults except Ie, Bpl, Ppl and the delays.

    ``delay_ms`` is the mean one-way delay, used as T (echo path) and Ta (absolute delay)
    and 2T as the listener-echo round trip Tr, as G.107 does for a symmetric connection.
    """
    slr, rlr, stmr, lstr, ds, telr, wepl = 8.0, 2.0, 15.0, 18.0, 3.0, 65.0, 110.0
    nc, nfor, ps, pr, qdu, a = -70.0, -64.0, 35.0, 35.0, 1.0, 0.0
    t = ta = delay_ms
    tr = 2.0 * delay_ms
    olr = slr + rlr
    # §7.2 basic signal-to-noise ratio Ro
    nos = ps - slr - ds - 100.0 + 0.004 * (ps - olr - ds - 14.0) ** 2
    pre = pr + 10.0 * _lg(1.0 + 10.0 ** ((10.0 - lstr) / 10.0))
    nor = rlr - 121.0 + pre + 0.008 * (pre - 35.0) ** 2
    nfo = nfor + rlr
    no = 10.0 * _lg(10 ** (nc / 10) + 10 ** (nos / 10) + 10 ** (nor / 10) + 10 ** (nfo / 10))
    ro = 15.0 - 1.5 * (slr + no)
    # §7.3 simultaneous impairments Is = Iolr + Ist + Iq
    xolr = olr + 0.2 * (64.0 + no - rlr)
    iolr = 20.0 * ((1.0 + (xolr / 8.0) ** 8) ** (1 / 8) - xolr / 8.0)
    stmro = -10.0 * _lg(10 ** (-stmr / 10) + math.exp(-t / 4.0) * 10 ** (-telr / 10))
    ist = (
        12.0 * (1.0 + ((stmro - 13.0) / 6.0) ** 8) ** (1 / 8)
        - 28.0 * (1.0 + ((stmro + 1.0) / 19.4) ** 35) ** (1 / 35)
        - 13.0 * (1.0 + ((stmro - 3.0) / 33.0) ** 13) ** (1 / 13)
        + 29.0
    )
    q = 37.0 - 15.0 * _lg(qdu)
    g = 1.07 + 0.258 * q + 0.0602 * q * q
    y = (ro - 100.0) / 15.0 + 46.0 / 8.4 - g / 9.0
    z = 46.0 / 30.0 - g / 40.0
    iq = 15.0 * _lg(1.0 + 10**y + 10**z)
    is_ = iolr + ist + iq
    # §7.4 delay impairments Id = Idte + Idle + Idd
    terv = telr - 40.0 * _lg((1.0 + t / 10.0) / (1.0 + t / 150.0)) + 6.0 * math.exp(-0.3 * t * t)
    roe = -1.5 * (no - rlr)
    re = 80.0 + 2.5 * (terv - 14.0)
    idte = ((roe - re) / 2.0 + math.sqrt((roe - re) ** 2 / 4.0 + 100.0) - 1.0) * (
        1.0 - math.exp(-t)
    )
    rle = 10.5 * (wepl + 7.0) * (tr + 1.0) ** -0.25
    idle = (ro - rle) / 2.0 + math.sqrt((ro - rle) ** 2 / 4.0 + 169.0)
    id_ = idte + idle + _idd(ta)
    # §7.5 effective equipment impairment with random (BurstR=1) or bursty loss
    ppl = min(max(loss_pct, 0.0), 100.0)
    ie_eff = ie + (95.0 - ie) * ppl / (ppl / burst_r + bpl)
    r: float = ro - is_ - id_ - ie_eff + a
    return r


def r_factor_wb(
    *, ie: float, bpl: float, loss_pct: float, burst_r: float = 1.0, delay_ms: float = 0.0
) -> float:
    """G.107.1 wideband R: Ro,WB - Is,WB - Id,WB - Ie,eff,WB with Ie = Ie,WB.

    Ie,eff,WB = Ie,WB + (Ro,WB - Ie,WB) * Ppl / (Ppl / BurstR + Bpl): G.107's form with
    its 95 (about its Ro, the most loss can take away) taken as the wideband scale's 129
    (our reading, an assumption). Is,WB = 0 (default terminals). Id,WB: 0 at the
    stream figure's delay 0; for ``delay_ms`` > 0 the narrowband absolute-delay term Idd
    times 1.29 (an assumption: the G.107.1 text was not available to us; echo terms are
    not modelled).
    """
    ppl = min(max(loss_pct, 0.0), 100.0)
    ie_eff = ie + (RO_WB - ie) * ppl / (ppl / burst_r + bpl)
    return RO_WB - WB_SCALE * _idd(delay_ms) - ie_eff


def _idd(ta: float) -> float:
    """G.107 §7.4 Idd, the impairment of absolute delay Ta (0 up to 100 ms)."""
    if ta <= 100.0:
        return 0.0
    x = _lg(ta / 100.0) / _lg(2.0)
    idd: float = 25.0 * ((1 + x**6) ** (1 / 6) - 3.0 * (1 + (x / 3.0) ** 6) ** (1 / 6) + 2.0)
    return idd


def mos_from_r_wb(r_wb: float) -> float:
    """G.107.1 Annex A: the wideband R divided by 1.29, then G.107 Annex B (:func:`mos_from_r`)."""
    return mos_from_r(r_wb / WB_SCALE)


def mos_from_r(r: float) -> float:
    """G.107 Annex B (B-4): estimated conversational MOS (1-4.5) from R."""
    if r < 0.0:
        return 1.0
    if r > 100.0:
        return 4.5
    return 1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6


class FixedJitterBuffer:
    """A fixed playout delay: packet i plays at first arrival + delay + (ts_i - ts_0)/clock.

    A packet arriving after its playout time is discarded (counted in ``discarded``).
    Times are in seconds, RTP timestamps already extended past wraps.
    """

    def __init__(self, delay_ms: float = 50.0) -> None:
        self.delay = delay_ms / 1000.0
        self.discarded = 0
        self._base: float | None = None

    def offer(self, arrival: float, media_time: float) -> bool:
        """Whether the packet (arrival time, RTP time in seconds) makes its playout time."""
        if self._base is None:
            self._base = arrival - media_time + self.delay
            return True
        if arrival > self._base + media_time:
            self.discarded += 1
            return False
        return True


class AdaptiveJitterBuffer:
    """Ramjee et al. (1994) algorithm 1 shape: playout delay d + 4v, re-planned at talkspurts.

    ``d`` and ``v`` are exponentially weighted estimates of the network delay and its
    variation, measured as arrival - media time (an unknown constant offset cancels out).
    The gain is RFC 3550's 1/16 rather than Ramjee's 0.998002, which takes ~500 packets
    to follow a change, longer than many talkspurts. The delay is re-planned at a packet
    with the marker bit (a talkspurt start, RFC 3551 §4.1), bounded to [min_ms, max_ms].
    """

    ALPHA: Final = 15.0 / 16.0

    def __init__(self, min_ms: float = 20.0, max_ms: float = 200.0) -> None:
        self.min = min_ms / 1000.0
        self.max = max_ms / 1000.0
        self.discarded = 0
        self._d: float | None = None
        self._v = 0.0
        self._offset = 0.0
        self._first = 0.0

    def offer(self, arrival: float, media_time: float, talkspurt: bool = False) -> bool:
        """Whether the packet makes its playout time under the current plan."""
        n = arrival - media_time
        if self._d is None:
            self._d = n
            self._first = n
            self._offset = n + self.min
            return True
        self._d = self.ALPHA * self._d + (1 - self.ALPHA) * n
        self._v = self.ALPHA * self._v + (1 - self.ALPHA) * abs(self._d - n)
        if talkspurt:
            target = self._d + 4.0 * self._v - self._first
            self._offset = self._first + min(max(target, self.min), self.max)
        if n > self._offset:
            self.discarded += 1
            return False
        return True


def stream_quality(
    codec: str | None, expected: int, lost: int, discarded: int, delay_ms: float = 0.0
) -> tuple[float, float | None, float | None]:
    """(effective loss %, R, MOS) for a stream; R and MOS are None for unrated codecs.

    R is on the codec's scale: G.107's (at most 93.2 here) for narrowband codecs,
    G.107.1's (at most 129) for wideband ones; the MOS is on one scale (1-4.5) for both.

    Effective loss counts network losses (never below zero: duplicates do not make up for
    losses) plus jitter-buffer discards, over the packets expected.
    """
    total = max(lost, 0) + discarded
    loss_pct = 100.0 * total / expected if expected > 0 else 0.0
    loss_pct = min(loss_pct, 100.0)
    imp = codec_impairment(codec)
    if imp is None:
        return loss_pct, None, None
    if imp.wideband:
        r = r_factor_wb(ie=imp.ie, bpl=imp.bpl, loss_pct=loss_pct, delay_ms=delay_ms)
        return loss_pct, r, mos_from_r_wb(r)
    r = r_factor(ie=imp.ie, bpl=imp.bpl, loss_pct=loss_pct, delay_ms=delay_ms)
    return loss_pct, r, mos_from_r(r)
