"""tshark's RTP stream figures computed over whole columns with NumPy.

:class:`~calltrace.trace.media.StreamStats` walks Wireshark's ``rtppacket_analyse`` one
packet at a time and stays the reference. Here the same figures come from a stream's
columns (arrival time, sequence number, RTP timestamp, payload type, marker) at once, so a
million packets cost a handful of array passes instead of a million Python calls. Each
step says how it maps to the scalar rule (docs/media.md, "Vectorised statistics"):

* extended timestamps: the signed 32-bit differences, summed (``np.cumsum``);
* ``seq_timestamp`` (tshark's reference timestamp) only ever moves forward to the current
  extended timestamp of a clocked packet that is in time, so it is the running maximum
  over clocked packets; "in time" is then one comparison per packet;
* the arrival reference moves to every in-time packet: the last in-time index before each
  packet (a running maximum of indices);
* jitter ``J += (|D| - J) / 16`` is a first-order linear filter: :func:`linear_filter`
  evaluates it block by block in closed form;
* tshark's running means (``mean = (mean * (n-1) + x) / n`` on regular packets only, with
  ``n`` counting every packet) are a linear recursion too, solved with a product of its
  coefficients;
* sequence tracking (which packet moves the expected sequence number) is sequential only at
  the packets that break the run: every packet is first assumed to follow its predecessor,
  and a short loop visits only the packets where that assumption fails.

Integers (packets, losses, sequence errors, wrong timestamps, discards, DTMF) are equal to
the scalar code's; floating-point figures agree to rounding (the scalar code sums in a
different order; ``tests/trace/test_media_vec.py`` holds them within 1e-9 ms). The only
float that feeds a decision, the adaptive jitter buffer's playout offset, is recomputed
with the scalar model when a comparison falls within :data:`GUARD_S` of the limit.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from calltrace.decode.rtp import COMFORT_NOISE
from calltrace.trace.quality import AdaptiveJitterBuffer

__all__ = ["GUARD_S", "StreamFigures", "comfort_noise", "linear_filter", "stream_figures"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

#: Block length of :func:`linear_filter`: (16/15)**256 is about 1.5e7, far from overflow.
BLOCK: Final = 256
#: A playout comparison this close (seconds) is redone with the scalar buffer model.
GUARD_S: Final = 5e-6
_CN_TABLE: Final = np.isin(np.arange(128), sorted(COMFORT_NOISE))


def comfort_noise(pt: I64) -> B:
    """Which payload types (0-127) are comfort noise (RFC 3389 CN, and the old 19)."""
    out: B = _CN_TABLE[pt]
    return out


def linear_filter(x: F64, a: float, b: float, y0: float = 0.0) -> F64:
    """``y[k] = a * y[k-1] + b * x[k]`` with ``y[-1] = y0``, for 0 < a < 1.

    Within a block ``y[j] = a**(j+1) * c + b * a**j * sum_{i<=j} a**-i * x[i]`` (c the
    value carried in); blocks are solved together and the carries chained in a short loop
    (one step per :data:`BLOCK` values).

    >>> [round(v, 4) for v in linear_filter(np.array([16.0, 0.0, 0.0]), 15 / 16, 1 / 16).tolist()]
    [1.0, 0.9375, 0.8789]
    """
    n = len(x)
    if n == 0:
        return np.zeros(0)
    blocks = -(-n // BLOCK)
    padded = np.zeros(blocks * BLOCK)
    padded[:n] = x
    grid = padded.reshape(blocks, BLOCK)
    j = np.arange(BLOCK, dtype=np.float64)
    up = a**j  # a**j
    down = a**-j  # a**-j
    free = b * up * np.cumsum(grid * down, axis=1)  # each block started from 0
    carry = np.empty(blocks)
    c = y0
    span = a**BLOCK
    last = free[:, -1]
    for m in range(blocks):
        carry[m] = c
        c = span * c + last[m]
    out = free + (up * a)[None, :] * carry[:, None]
    result: F64 = out.reshape(-1)[:n]
    return result


def _recursive_mean(x: F64, totals: F64) -> float:
    """The end value of tshark's ``m = (m * (t - 1) + x) / t`` over the rows given.

    ``m_k = alpha_k * m_prev + x_k / t_k`` with ``alpha_k = (t_k - 1) / t_k``; the end value
    is ``sum_k (x_k / t_k) * prod_{l > k} alpha_l``. The first ``alpha`` is taken as 1
    (the mean before it is 0 either way), so every product is at least 1/t and never 0.
    """
    if len(x) == 0:
        return 0.0
    alpha = (totals - 1.0) / totals
    alpha[0] = 1.0
    # prod_{l > k} alpha_l = prod_all / prod_{l <= k}
    log_alpha = np.log(alpha)
    after = np.exp(log_alpha.sum() - np.cumsum(log_alpha))
    return float(np.sum(x / totals * after))


class StreamFigures:
    """The per-stream figures of ``StreamStats.result()`` that depend on every packet."""

    __slots__ = (
        "adaptive_discards",
        "cn",
        "cycles",
        "fixed_discards",
        "markers",
        "max_delta",
        "max_jitter",
        "max_skew",
        "mean_delta",
        "mean_jitter",
        "min_delta",
        "min_jitter",
        "problem",
        "seq_errors",
        "wrong_ts",
    )

    def __init__(self) -> None:
        self.markers = self.cn = self.wrong_ts = self.seq_errors = self.cycles = 0
        self.problem = False
        self.min_delta: float | None = None
        self.min_jitter: float | None = None
        self.max_delta = self.mean_delta = self.max_jitter = self.mean_jitter = 0.0
        self.max_skew = 0.0
        self.fixed_discards = self.adaptive_discards = 0


def _sequence(seq: I64, in_time: B) -> tuple[I64, B]:
    """For every row, tshark's ``seq_num`` before it and whether the row moves it.

    A row moves it (branches 1 and 2 of ``rtppacket_analyse``) when it is in time and is
    the next number, a wrap to 0, a jump forward or a far jump back (> 0xFF00). Every row
    is first assumed to follow a row that moved it; the loop visits only the rows where
    that fails (late or duplicate packets) and the rows after them until one moves again.
    """
    n = len(seq)
    prev = np.empty(n, dtype=np.int64)
    prev[0] = seq[0]
    prev[1:] = seq[:-1]
    moved = _moves(prev, seq, in_time)
    moved[0] = True
    fails = np.flatnonzero(~moved)
    if len(fails) == 0:
        return prev, moved
    k = int(fails[0])
    while True:
        held = int(prev[k])  # row k keeps seq_num: the rows after it see the same value
        k += 1
        while k < n:
            prev[k] = held
            moved[k] = _moves_one(held, int(seq[k]), bool(in_time[k]))
            if moved[k]:
                break
            k += 1
        following = int(np.searchsorted(fails, k, side="right"))
        if k >= n or following >= len(fails):
            return prev, moved
        k = int(fails[following])  # rows up to it follow a row that moved: the guess holds


def _moves(prev: I64, seq: I64, in_time: B) -> B:
    nxt = (prev + 1 == seq) | ((prev == 65535) & (seq == 0))
    jump = (prev + 1 < seq) | (prev - seq > 0xFF00)
    result: B = in_time & (nxt | jump)
    return result


def _moves_one(prev: int, seq: int, in_time: bool) -> bool:
    return in_time and (prev + 1 == seq or (prev == 65535 and seq == 0) or prev + 1 < seq
                        or prev - seq > 0xFF00)  # fmt: skip


def _cycles(seq: I64, in_time: B) -> int:
    """tshark's wrap count: a row below the first number (or 65535 -> 0) starts a cycle
    unless one is already open; a row above the first number closes it."""
    start = seq[0]
    prev_row = seq[:-1]
    s, t = seq[1:], in_time[1:]
    opens = t & ((s < start) | ((s == 0) & (prev_row == 65535)))
    closes = t & (s > start)
    events = np.flatnonzero(opens | closes)
    if len(events) == 0:
        return 0
    kinds = opens[events]
    before = np.concatenate(([False], kinds[:-1]))
    return int(np.count_nonzero(kinds & ~before))


def stream_figures(
    now: F64,
    arrival: F64,
    seq: I64,
    rts: I64,
    pt: I64,
    marker: B,
    clock: I64,
    buffered: B,
) -> StreamFigures:
    """Every order-dependent figure of one stream from its columns (rows in arrival order).

    ``now`` is milliseconds since the tracker's origin, ``arrival`` epoch seconds, ``clock``
    each row's payload clock rate (0 when tshark cannot clock it), ``buffered`` the rows the
    jitter-buffer models see (clocked audio, not events or comfort noise).
    """
    fig = StreamFigures()
    n = len(now)
    fig.markers = int(np.count_nonzero(marker))
    is_cn = comfort_noise(pt)
    fig.cn = int(np.count_nonzero(is_cn))
    diff = np.diff(rts) & 0xFFFFFFFF
    diff = np.where(diff >= 1 << 31, diff - (1 << 32), diff)
    ext = np.empty(n, dtype=np.int64)
    ext[0] = rts[0]
    np.cumsum(diff, out=ext[1:])
    ext[1:] += rts[0]
    _buffers(fig, arrival, ext, clock, buffered, marker)
    if n == 1:
        return fig
    idx = np.arange(n)
    clocked = clock != 0
    ref = np.where(clocked | (idx == 0), ext, np.iinfo(np.int64).min)
    seq_ts = np.maximum.accumulate(ref)[:-1]  # reference timestamp before rows 1..
    in_time = np.ones(n, dtype=bool)
    in_time[1:] = seq_ts <= ext[1:]
    last_in = np.maximum.accumulate(np.where(in_time, idx, 0))[:-1]
    time_prev = now[last_in]
    r = slice(1, None)
    delta = now[r] - time_prev
    cl = clock[r]
    ck = cl != 0
    nominal = (ext[r][ck] - seq_ts[ck]) / (cl[ck] // 1000)
    current = np.abs(now[r][ck] - (time_prev[ck] + nominal))
    jit_ck = linear_filter(current, 15.0 / 16.0, 1.0 / 16.0)
    skew = np.cumsum(nominal) - np.cumsum(delta[ck])
    if len(skew):
        at = int(np.argmax(np.abs(skew)))
        fig.max_skew = float(skew[at]) if abs(skew[at]) > 0.0 else 0.0
    wrong = ~in_time[r]
    follows_cn = is_cn[:-1]
    regular = ~(marker[r] | is_cn[r] | wrong | follows_cn)
    totals = idx[r].astype(np.float64)
    if regular.any():
        d = delta[regular]
        fig.max_delta = max(0.0, float(d.max()))
        fig.min_delta = float(d.min())
        fig.mean_delta = _recursive_mean(d, totals[regular])
        reg_ck = regular[ck]  # regular rows among the clocked ones
        if reg_ck.any():
            j = jit_ck[reg_ck]
            fig.max_jitter = max(0.0, float(j.max()))
            fig.min_jitter = float(j.min())
            fig.mean_jitter = _recursive_mean(j, totals[ck][reg_ck])
    prev, moved = _sequence(seq, in_time)
    p, s = prev[r], seq[r]
    forward = moved[r] & ~((p + 1 == s) | ((p == 65535) & (s == 0)))  # branch 2
    backward = ~moved[r] & (p + 1 > s)  # branch 3
    wrong_seq = forward | backward
    fig.seq_errors = int(np.count_nonzero(wrong_seq))
    fig.wrong_ts = int(np.count_nonzero(wrong))
    fig.problem = bool((wrong | wrong_seq).any())
    fig.cycles = _cycles(seq, in_time)
    return fig


def _buffers(fig: StreamFigures, arrival: F64, ext: I64, clock: I64, rows: B, marker: B) -> None:
    """The fixed (50 ms) and adaptive jitter-buffer models of trace/quality.py."""
    sel = np.flatnonzero(rows)
    if len(sel) == 0:
        return
    ts = arrival[sel]
    media = (ext[sel] - ext[sel[0]]) / clock[sel]
    base = ts[0] - media[0] + 0.05
    fig.fixed_discards = int(np.count_nonzero(ts[1:] > base + media[1:]))
    n = ts - media
    talk = np.flatnonzero(marker[sel][1:]) + 1
    lo, hi = AdaptiveJitterBuffer().min, AdaptiveJitterBuffer().max
    first = n[0]
    offset = np.full(len(n), n[0] + lo)
    if len(talk):
        a = AdaptiveJitterBuffer.ALPHA
        shifted = n[1:] - first
        d = linear_filter(shifted, a, 1 - a, 0.0) + first  # d starts at n[0]
        v = linear_filter(np.abs(d - n[1:]), a, 1 - a, 0.0)
        target = d[talk - 1] + 4.0 * v[talk - 1] - first
        plan = first + np.clip(target, lo, hi)
        which = np.searchsorted(talk, np.arange(len(n)), side="right") - 1
        offset = np.where(which >= 0, plan[np.maximum(which, 0)], offset)
        if np.any(np.abs(n[1:] - offset[1:]) < GUARD_S):
            fig.adaptive_discards = _adaptive_exact(ts, media, marker[sel])
            return
    fig.adaptive_discards = int(np.count_nonzero(n[1:] > offset[1:]))


def _adaptive_exact(ts: F64, media: F64, marker: B) -> int:
    """The scalar model itself, for a stream whose playout comparison is too close to call."""
    buffer = AdaptiveJitterBuffer()
    for arrival, when, talk in zip(ts.tolist(), media.tolist(), marker.tolist(), strict=True):
        buffer.offer(arrival, when, talkspurt=talk)
    return buffer.discarded
