"""Entry signals as fused numba passes: indicators, crossings and held state in one loop.

The hot entries (EMA crossover, Donchian, Ichimoku, stochastic) run millions of times in an
evolution, so each is one pass with O(period) scratch instead of a chain of n-sized temporaries
(fresh large arrays cost page faults on every call). Every loop is causal (bar i reads inputs
at bars <= i) and returns float64 signals in {-1, 0, 1}, 0 in warm-up; tests compare each with
its plain-numpy definition.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from gaorg.strategies import indicators
from gaorg.strategies.indicators import step_max, step_min
from gaorg.strategies.stamps import stamp_dependencies


@njit(cache=True, nogil=True, fastmath={"contract"})  # one FMA a bar on the recurrence's chain
def ema_cross_signal(close: np.ndarray, fast: int, slow: int, allow_short: bool) -> np.ndarray:
    """sign(EMA_fast - EMA_slow) (``indicators.ema``'s definition), both EMAs in one pass; 0 in warm-up.

    Fused because evolution evaluates it millions of times: one pass, no temporaries.
    """
    n = len(close)
    out = np.zeros(n)
    if n < slow:
        return out
    af = 2.0 / (fast + 1.0)
    aslow = 2.0 / (slow + 1.0)
    acc_f = 0.0
    acc_s = 0.0
    for i in range(slow):
        acc_s += close[i]
        if i < fast:
            acc_f += close[i]
    vf = acc_f / fast
    for i in range(fast, slow):
        vf = af * close[i] + (1.0 - af) * vf
    vs = acc_s / slow
    low = -1.0 if allow_short else 0.0
    for i in range(slow - 1, n):
        if i >= slow:
            c = close[i]
            vf = af * c + (1.0 - af) * vf
            vs = aslow * c + (1.0 - aslow) * vs
        d = vf - vs
        out[i] = 1.0 if d > 0.0 else (low if d < 0.0 else 0.0)
    return out


@njit(cache=True, nogil=True)
def donchian_signal(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int, allow_short: bool) -> np.ndarray:
    """Donchian's channel rule, fused into one pass over the channels of the bars *before* i.

    Long from the first close above max(high[i-period .. i-1]); out of it (short if allowed) at
    the first close below min(low[i-period .. i-1]). 0 in warm-up. Once a channel has been broken
    only one can change the state (long: the lower one; otherwise: the upper one), so only that one
    is kept up to date, and the other is rebuilt from its window (``period`` bars) at a flip.
    """
    n = len(close)
    out = np.empty(n)
    if n == 0:
        return out
    out[0] = 0.0
    s1 = np.empty(period)
    s2 = np.empty(period)
    p1 = p2 = 0
    a1 = a2 = 0.0
    state = 0.0
    flat = -1.0 if allow_short else 0.0
    for j in range(n - 1):  # channels end at j; the decision is at i = j + 1
        c = close[j + 1]
        if state == 1.0:
            down, p2, a2 = step_min(low, j, period, p2, a2, s2)
            if c < down:
                state = flat
                p1, a1 = _rebuild_max(high, j, period, s1)
        elif state == 0.0 and allow_short:  # before the first breakout either channel can act
            up, p1, a1 = step_max(high, j, period, p1, a1, s1)
            down, p2, a2 = step_min(low, j, period, p2, a2, s2)
            if c > up:
                state = 1.0
            elif c < down:
                state = -1.0
        else:
            up, p1, a1 = step_max(high, j, period, p1, a1, s1)
            if c > up:
                state = 1.0
                p2, a2 = _rebuild_min(low, j, period, s2)
        out[j + 1] = state
    return out


@njit(cache=True, nogil=True)
def _rebuild_max(x: np.ndarray, j: int, period: int, scratch: np.ndarray):
    """``step_max``'s ``(pos, acc)`` and ``scratch`` as if it had been called for every bar up to ``j``."""
    pos = (j + 1) % period  # the offset of bar j + 1 in its block (blocks start at multiples of period)
    if j + 1 - pos >= period:  # the suffix maxima of the last complete block
        base = (j + 1 - pos) - period
        a = x[base + period - 1]
        scratch[period - 1] = a
        for t in range(period - 2, -1, -1):
            w = x[base + t]
            if w > a:
                a = w
            scratch[t] = a
    acc = 0.0
    for t in range(j + 1 - pos, j + 1):  # the prefix maximum of the current block so far
        if t == j + 1 - pos or x[t] > acc:
            acc = x[t]
    return pos, acc


@njit(cache=True, nogil=True)
def _rebuild_min(x: np.ndarray, j: int, period: int, scratch: np.ndarray):
    """``_rebuild_max`` for ``step_min``."""
    pos = (j + 1) % period
    if j + 1 - pos >= period:
        base = (j + 1 - pos) - period
        a = x[base + period - 1]
        scratch[period - 1] = a
        for t in range(period - 2, -1, -1):
            w = x[base + t]
            if w < a:
                a = w
            scratch[t] = a
    acc = 0.0
    for t in range(j + 1 - pos, j + 1):
        if t == j + 1 - pos or x[t] < acc:
            acc = x[t]
    return pos, acc


@njit(cache=True, nogil=True)
def ichimoku_signal(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, tenkan: int, kijun: int, senkou: int, allow_short: bool
) -> np.ndarray:
    """Ichimoku in one pass: +1 above the cloud with tenkan > kijun, -1 (if allowed) below it with
    tenkan < kijun, else 0. The cloud at bar i is the spans of bar ``i - kijun`` (a ring buffer)."""
    n = len(close)
    out = np.zeros(n)
    s1 = np.empty(tenkan)
    s2 = np.empty(tenkan)
    s3 = np.empty(kijun)
    s4 = np.empty(kijun)
    s5 = np.empty(senkou)
    s6 = np.empty(senkou)
    ring_a = np.full(kijun, np.nan)  # slot i % kijun: the spans of bar i - kijun, until overwritten
    ring_b = np.full(kijun, np.nan)
    p1 = p2 = p3 = p4 = p5 = p6 = 0
    a1 = a2 = a3 = a4 = a5 = a6 = 0.0
    slot = 0
    for i in range(n):
        th, p1, a1 = step_max(high, i, tenkan, p1, a1, s1)
        tl, p2, a2 = step_min(low, i, tenkan, p2, a2, s2)
        kh, p3, a3 = step_max(high, i, kijun, p3, a3, s3)
        kl, p4, a4 = step_min(low, i, kijun, p4, a4, s4)
        sh, p5, a5 = step_max(high, i, senkou, p5, a5, s5)
        sl, p6, a6 = step_min(low, i, senkou, p6, a6, s6)
        t_line = 0.5 * (th + tl)
        k_line = 0.5 * (kh + kl)
        span_a = ring_a[slot]
        span_b = ring_b[slot]
        ring_a[slot] = 0.5 * (t_line + k_line)
        ring_b[slot] = 0.5 * (sh + sl)
        slot += 1
        if slot == kijun:
            slot = 0
        if np.isnan(span_a) or np.isnan(span_b):
            continue
        c = close[i]
        if c > max(span_a, span_b) and t_line > k_line:
            out[i] = 1.0
        elif allow_short and c < min(span_a, span_b) and t_line < k_line:
            out[i] = -1.0
    return out


@njit(cache=True, nogil=True)
def stochastic_signal(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    k_period: int,
    d_period: int,
    lower: float,
    upper: float,
    allow_short: bool,
) -> np.ndarray:
    """Stochastic reversal in one pass (a ring buffer for %D = SMA of %K over ``d_period``).

    Long when %D crosses up through ``lower`` (prev <= lower < now), leaving oversold; short (or
    flat, long-only) when it crosses down through ``upper``; held between crosses. Equal to
    ``indicators.sma(indicators.stochastic_k(...), d_period)`` followed by that state machine.
    """
    n = len(close)
    out = np.zeros(n)
    s1 = np.empty(k_period)
    s2 = np.empty(k_period)
    ring = np.empty(d_period)
    p1 = p2 = 0
    a1 = a2 = 0.0
    acc = 0.0
    count = 0
    prev = np.nan
    state = 0.0
    for i in range(n):
        hh, p1, a1 = step_max(high, i, k_period, p1, a1, s1)
        ll, p2, a2 = step_min(low, i, k_period, p2, a2, s2)
        if i < k_period - 1:
            continue
        span = hh - ll
        k = 50.0 if span <= 0.0 else 100.0 * (close[i] - ll) / span
        slot = count % d_period
        acc += k  # the order of indicators.sma: add the new value, then drop the oldest
        if count >= d_period:
            acc -= ring[slot]
        ring[slot] = k
        count += 1
        if count < d_period:
            continue
        d = acc / d_period
        if not np.isnan(prev):
            if prev <= lower < d:
                state = 1.0
            elif prev >= upper > d:
                state = -1.0 if allow_short else 0.0
        out[i] = state
        prev = d
    return out


@njit(cache=True, nogil=True)
def reversion_state(z: np.ndarray, entry: float, exit_level: float, allow_short: bool) -> np.ndarray:
    """Mean reversion with hysteresis on a z-score: long below -entry until z rises above -exit;
    short above +entry until z falls below +exit (``exit < entry``)."""
    n = len(z)
    out = np.zeros(n)
    state = 0.0
    for i in range(n):
        v = z[i]
        if np.isnan(v):
            state = 0.0
        elif state == 0.0:
            if v < -entry:
                state = 1.0
            elif allow_short and v > entry:
                state = -1.0
        elif state > 0.0:
            if allow_short and v > entry:
                state = -1.0
            elif v > -exit_level:
                state = 0.0
        else:
            if v < -entry:
                state = 1.0
            elif v < exit_level:
                state = 0.0
        out[i] = state
    return out


# numba's cache checks only this file: recompile these when the indicators' kernels they call change
DEPENDENCIES_STAMPED = stamp_dependencies(
    (ema_cross_signal, donchian_signal, _rebuild_max, _rebuild_min, ichimoku_signal, stochastic_signal,
     reversion_state),
    (indicators,),
)
