"""Indicator kernels (numba, cached on disk, compiled on first call, never at import).

Every kernel is causal: output ``i`` reads inputs ``<= i`` only. Warm-up values are NaN.
Kernels take and return float64 arrays; modules normalise (returns, z-scores, ATR-relative
levels) so that one genome can run on any asset. Rolling windows are O(n) whatever the period
(running sums, van Herk / Gil-Werman blocks), so a 2,000-bar period costs what a 20-bar one does.

numba's disk cache keys a compiled function on its own file only: after editing a kernel here
that another file inlines or calls (``signals.py``, ``learned.py``), delete the ``*.nbi``/``*.nbc``
files in ``__pycache__`` (an installed release replaces every file, so users are not affected).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, fastmath={"contract"})  # one FMA a bar on the recurrence's chain
def ema(x: np.ndarray, period: int) -> np.ndarray:
    """Exponential moving average, alpha = 2 / (period + 1), seeded with the SMA of the first period."""
    n = len(x)
    out = np.full(n, np.nan)
    if period < 1 or n < period:
        return out
    alpha = 2.0 / (period + 1.0)
    acc = 0.0
    for i in range(period):
        acc += x[i]
    value = acc / period
    out[period - 1] = value
    for i in range(period, n):
        value = alpha * x[i] + (1.0 - alpha) * value
        out[i] = value
    return out


@njit(cache=True, nogil=True)
def sma(x: np.ndarray, period: int) -> np.ndarray:
    """Simple moving average over ``period`` bars (running sum, O(n)).

    A NaN (another indicator's warm-up) restarts the sum: the average resumes ``period`` bars later.
    """
    n = len(x)
    out = np.full(n, np.nan)
    if period < 1:
        return out
    acc = 0.0
    count = 0
    for i in range(n):
        v = x[i]
        if np.isnan(v):
            acc = 0.0
            count = 0
            continue
        acc += v
        count += 1
        if count > period:
            acc -= x[i - period]
            count = period
        if count == period:
            out[i] = acc / period
    return out


@njit(cache=True, nogil=True)
def log_returns(close: np.ndarray) -> np.ndarray:
    """``log(close[i] / close[i-1])``; NaN at 0. Scale-free: prices x 1000 give the same returns."""
    n = len(close)
    out = np.full(n, np.nan)
    for i in range(1, n):
        out[i] = np.log(close[i] / close[i - 1])
    return out


@njit(cache=True, nogil=True)
def rolling_std(x: np.ndarray, period: int) -> np.ndarray:
    """Population standard deviation of the last ``period`` values (NaN inputs count as missing).

    Running sums of x and x^2, restarted whenever a NaN leaves or enters the window; meant for
    normalised inputs (returns, log deviations) whose magnitude keeps the sums well conditioned.
    """
    n = len(x)
    out = np.full(n, np.nan)
    if period < 1:
        return out
    s = 0.0
    s2 = 0.0
    count = 0
    for i in range(n):
        v = x[i]
        if not np.isnan(v):
            s += v
            s2 += v * v
            count += 1
        if i >= period:
            old = x[i - period]
            if not np.isnan(old):
                s -= old
                s2 -= old * old
                count -= 1
        if count == period:
            mean = s / period
            var = s2 / period - mean * mean
            out[i] = np.sqrt(var) if var > 0.0 else 0.0
    return out


@njit(cache=True, nogil=True, inline="always")
def step_max(x: np.ndarray, j: int, period: int, pos: int, acc: float, scratch: np.ndarray):
    """One step of a rolling max over ``x[j-period+1 .. j]`` -> ``(value, pos, acc)``.

    van Herk / Gil-Werman on blocks of ``period`` bars: the window is a suffix of the previous
    block (``scratch``, its suffix maxima, filled when that block ended) and a prefix of the
    current one (``acc``). Three comparisons a bar whatever the period, no branch on the data
    that a CPU mispredicts, and only ``period`` floats of scratch (large temporaries cost page
    faults). ``pos`` is j's offset in its block; start with ``pos=0``, ``acc=0.0``. NaN in warm-up.
    """
    v = x[j]
    if pos == 0 or v > acc:
        acc = v
    if pos == period - 1:  # the window is exactly this block; keep its suffix maxima for the next
        a = v
        scratch[period - 1] = a
        base = j - period + 1
        for t in range(period - 2, -1, -1):
            w = x[base + t]
            if w > a:
                a = w
            scratch[t] = a
        return acc, 0, acc
    if j < period - 1:
        return np.nan, pos + 1, acc
    left = scratch[pos + 1]
    return (left if left > acc else acc), pos + 1, acc


@njit(cache=True, nogil=True, inline="always")
def step_min(x: np.ndarray, j: int, period: int, pos: int, acc: float, scratch: np.ndarray):
    """One step of a rolling min (see ``step_max``)."""
    v = x[j]
    if pos == 0 or v < acc:
        acc = v
    if pos == period - 1:
        a = v
        scratch[period - 1] = a
        base = j - period + 1
        for t in range(period - 2, -1, -1):
            w = x[base + t]
            if w < a:
                a = w
            scratch[t] = a
        return acc, 0, acc
    if j < period - 1:
        return np.nan, pos + 1, acc
    left = scratch[pos + 1]
    return (left if left < acc else acc), pos + 1, acc


@njit(cache=True, nogil=True)
def rolling_max(x: np.ndarray, period: int) -> np.ndarray:
    """Maximum of ``x[i-period+1 .. i]``, O(n) whatever the period (``step_max``)."""
    n = len(x)
    out = np.empty(n)
    if period < 1:
        out[:] = np.nan
        return out
    scratch = np.empty(period)
    pos = 0
    acc = 0.0
    for i in range(n):
        out[i], pos, acc = step_max(x, i, period, pos, acc, scratch)
    return out


@njit(cache=True, nogil=True)
def rolling_min(x: np.ndarray, period: int) -> np.ndarray:
    """Minimum of ``x[i-period+1 .. i]``, O(n) whatever the period (``step_min``)."""
    n = len(x)
    out = np.empty(n)
    if period < 1:
        out[:] = np.nan
        return out
    scratch = np.empty(period)
    pos = 0
    acc = 0.0
    for i in range(n):
        out[i], pos, acc = step_min(x, i, period, pos, acc, scratch)
    return out


@njit(cache=True, nogil=True)
def shift(x: np.ndarray, k: int) -> np.ndarray:
    """``x`` delayed by ``k >= 0`` bars: ``out[i] = x[i-k]`` (NaN for i < k)."""
    n = len(x)
    out = np.full(n, np.nan)
    for i in range(k, n):
        out[i] = x[i - k]
    return out


@njit(cache=True, nogil=True)
def rsi(close: np.ndarray, period: int) -> np.ndarray:
    """Wilder's RSI in [0, 100]; first value at ``period`` (50 when the price did not move)."""
    n = len(close)
    out = np.full(n, np.nan)
    if period < 1 or n <= period:
        return out
    gain = 0.0
    loss = 0.0
    for i in range(1, period + 1):
        d = close[i] - close[i - 1]
        if d > 0:
            gain += d
        else:
            loss -= d
    gain /= period
    loss /= period
    for i in range(period, n):
        if i > period:
            d = close[i] - close[i - 1]
            up = d if d > 0 else 0.0
            down = -d if d < 0 else 0.0
            gain = (gain * (period - 1) + up) / period
            loss = (loss * (period - 1) + down) / period
        total = gain + loss
        out[i] = 50.0 if total <= 0.0 else 100.0 * gain / total
    return out


@njit(cache=True, nogil=True)
def atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int) -> np.ndarray:
    """Wilder's average true range; first value at ``period`` (true range needs the previous close)."""
    n = len(close)
    out = np.full(n, np.nan)
    if period < 1 or n <= period:
        return out
    acc = 0.0
    for i in range(1, period + 1):
        acc += max(high[i], close[i - 1]) - min(low[i], close[i - 1])
    value = acc / period
    out[period] = value
    for i in range(period + 1, n):
        tr = max(high[i], close[i - 1]) - min(low[i], close[i - 1])
        value = (value * (period - 1) + tr) / period
        out[i] = value
    return out


@njit(cache=True, nogil=True)
def stochastic_k(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int) -> np.ndarray:
    """Raw %K in [0, 100]: where the close sits in the ``period``-bar high-low range (50 if flat)."""
    hh = rolling_max(high, period)
    ll = rolling_min(low, period)
    n = len(close)
    out = np.full(n, np.nan)
    for i in range(period - 1, n):
        span = hh[i] - ll[i]
        out[i] = 50.0 if span <= 0.0 else 100.0 * (close[i] - ll[i]) / span
    return out


@njit(cache=True, nogil=True)
def rolling_vwap(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, period: int
) -> np.ndarray:
    """Volume-weighted mean of the typical price over ``period`` bars (plain mean if no volume)."""
    n = len(close)
    out = np.full(n, np.nan)
    if period < 1:
        return out
    pv = 0.0
    v = 0.0
    p = 0.0
    traded = 0  # bars with volume in the window
    for i in range(n):
        tp = (high[i] + low[i] + close[i]) / 3.0
        if volume[i] > 0.0:
            pv += tp * volume[i]
            v += volume[i]
            traded += 1
        p += tp
        if i >= period:
            j = i - period
            tpj = (high[j] + low[j] + close[j]) / 3.0
            if volume[j] > 0.0:
                pv -= tpj * volume[j]
                v -= volume[j]
                traded -= 1
            p -= tpj
        if i >= period - 1:
            out[i] = pv / v if traded > 0 and v > 0.0 else p / period
    return out


@njit(cache=True, nogil=True)
def vwap_zscore(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, period: int
) -> np.ndarray:
    """z = d / std(d over ``period`` bars) with d = log(close / rolling VWAP): one fused pass.

    Equal to ``rolling_vwap`` then ``rolling_std`` of the log ratio (NaN in warm-up and where the
    dispersion is 0), without the temporaries.
    """
    n = len(close)
    vwap = rolling_vwap(high, low, close, volume, period)
    out = np.empty(n)
    s = 0.0
    s2 = 0.0
    count = 0
    for i in range(n):
        out[i] = np.nan
        v = vwap[i]
        if np.isnan(v):
            continue
        d = np.log(close[i] / v)
        vwap[i] = d  # reuse the buffer: vwap[j] now holds d[j] for j <= i
        s += d
        s2 += d * d
        count += 1
        if count > period:
            old = vwap[i - period]
            s -= old
            s2 -= old * old
            count = period
        if count == period:
            mean = s / period
            var = s2 / period - mean * mean
            if var > 0.0:
                out[i] = d / np.sqrt(var)
    return out


@njit(cache=True, nogil=True)
def realised_vol(close: np.ndarray, period: int, annualise: float) -> np.ndarray:
    """Annualised standard deviation (population) of the last ``period`` log returns; 0 where the
    price did not move, NaN in warm-up (the first full window of returns ends at bar ``period``).

    One pass of running sums; each log return is computed once and dropped from the window as the
    same number (kept in the output buffer until then).
    """
    n = len(close)
    out = np.full(n, np.nan)
    r = np.empty(n)  # the log returns; r[i] is read back when it leaves the window
    s = 0.0
    s2 = 0.0
    for i in range(1, n):
        v = np.log(close[i] / close[i - 1])
        r[i] = v
        s += v
        s2 += v * v
        if i > period:
            old = r[i - period]
            s -= old
            s2 -= old * old
        if i >= period:
            mean = s / period
            var = s2 / period - mean * mean
            out[i] = np.sqrt(var) * annualise if var > 0.0 else 0.0
    return out


@njit(cache=True, nogil=True)
def scale_from_realised(realised: np.ndarray, target: float) -> np.ndarray:
    """min(1, target / realised) per bar (1 where realised is 0, NaN where it is NaN)."""
    n = len(realised)
    out = np.empty(n)
    for i in range(n):
        v = realised[i]
        if np.isnan(v):
            out[i] = np.nan
        else:
            out[i] = 1.0 if v <= target else target / v
    return out


@njit(cache=True, nogil=True)
def vol_target_scale(close: np.ndarray, period: int, target: float, annualise: float) -> np.ndarray:
    """min(1, target / (std of the last ``period`` log returns * annualise)); 1 if the price did not
    move, NaN in warm-up (the first full window of returns ends at bar ``period``).

    :func:`realised_vol` then :func:`scale_from_realised`: a batch shares the first among targets.
    """
    return scale_from_realised(realised_vol(close, period, annualise), target)
