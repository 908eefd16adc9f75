"""The learned features' rolling parts in one pass over the bars, and their finite-row mask.

``learned.features`` at period p reads ``rolling_std(r, 4p)``, ``sma(close, p)``, ``rsi(close, p)``,
``stochastic_k(high, low, close, p)`` and ``rolling_std(r, p)``: five kernels, each a recursion
bound by its own dependency chain (RSI's two divisions a bar the longest), run one after another.
:func:`feature_parts` runs them in one loop, each with its own state and the same arithmetic in
the same order as ``indicators``' kernel, so the values are theirs bit for bit while the CPU
overlaps their chains (``tests/unit/test_learned_features.py`` compares them on random series,
NaN and flat stretches included).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from gaorg.strategies import indicators
from gaorg.strategies.indicators import step_max, step_min
from gaorg.strategies.stamps import stamp_dependencies


@njit(cache=True, nogil=True, error_model="numpy")
def feature_parts(
    close: np.ndarray, high: np.ndarray, low: np.ndarray, r: np.ndarray, period: int, count: int
):
    """(unit, sma, rsi, stochastic %K, ratio) at ``period`` for ``learned.features``' first ``count``
    columns: ``unit = where(rolling_std(r, 4p) > 0, rolling_std(r, 4p), nan)``, ``sma(close, p)``
    (count > 3), ``rsi(close, p)`` (count > 4), ``stochastic_k(high, low, close, p)`` (count > 5) and
    ``rolling_std(r, p) / unit`` (count > 6); an array not asked for is empty. ``period >= 1``."""
    n = close.shape[0]
    p, p4 = period, 4 * period
    want_sma, want_rsi, want_k, want_rs = count > 3, count > 4, count > 5, count > 6
    unit = np.empty(n)
    sma_v = np.full(n if want_sma else 0, np.nan)
    rsi_v = np.full(n if want_rsi else 0, np.nan)
    k_v = np.full(n if want_k else 0, np.nan)
    ratio = np.empty(n if want_rs else 0)
    # rolling_std(r, 4p) and rolling_std(r, p): running sums, NaN leaving or entering the window
    s4, q4, c4 = 0.0, 0.0, 0
    s1, q1, c1 = 0.0, 0.0, 0
    # sma(close, p): a running sum restarted by a NaN
    acc, cnt = 0.0, 0
    # rsi(close, p): Wilder's averages seeded with the first p moves
    rsi_on = want_rsi and n > p
    gain, loss = 0.0, 0.0
    if rsi_on:
        for i in range(1, p + 1):
            d = close[i] - close[i - 1]
            if d > 0:
                gain += d
            else:
                loss -= d
        gain /= p
        loss /= p
    # stochastic_k: rolling_max(high, p), rolling_min(low, p) (van Herk / Gil-Werman blocks)
    scratch_hi = np.empty(p if want_k else 0)
    scratch_lo = np.empty(p if want_k else 0)
    pos_hi, acc_hi, pos_lo, acc_lo = 0, 0.0, 0, 0.0
    for i in range(n):
        v = r[i]
        if not np.isnan(v):
            s4 += v
            q4 += v * v
            c4 += 1
        if i >= p4:
            old = r[i - p4]
            if not np.isnan(old):
                s4 -= old
                q4 -= old * old
                c4 -= 1
        u = np.nan
        if c4 == p4:
            mean = s4 / p4
            var = q4 / p4 - mean * mean
            u = np.sqrt(var) if var > 0.0 else 0.0
        u = u if u > 0.0 else np.nan
        unit[i] = u
        if want_rs:
            if not np.isnan(v):
                s1 += v
                q1 += v * v
                c1 += 1
            if i >= p:
                old = r[i - p]
                if not np.isnan(old):
                    s1 -= old
                    q1 -= old * old
                    c1 -= 1
            sd = np.nan
            if c1 == p:
                mean = s1 / p
                var = q1 / p - mean * mean
                sd = np.sqrt(var) if var > 0.0 else 0.0
            ratio[i] = sd / u
        if want_sma:
            c = close[i]
            if np.isnan(c):
                acc = 0.0
                cnt = 0
            else:
                acc += c
                cnt += 1
                if cnt > p:
                    acc -= close[i - p]
                    cnt = p
                if cnt == p:
                    sma_v[i] = acc / p
        if rsi_on and i >= p:
            if i > p:
                d = close[i] - close[i - 1]
                up = d if d > 0 else 0.0
                down = -d if d < 0 else 0.0
                gain = (gain * (p - 1) + up) / p
                loss = (loss * (p - 1) + down) / p
            total = gain + loss
            rsi_v[i] = 50.0 if total <= 0.0 else 100.0 * gain / total
        if want_k:
            hh, pos_hi, acc_hi = step_max(high, i, p, pos_hi, acc_hi, scratch_hi)
            ll, pos_lo, acc_lo = step_min(low, i, p, pos_lo, acc_lo, scratch_lo)
            if i >= p - 1:
                span = hh - ll
                k_v[i] = 50.0 if span <= 0.0 else 100.0 * (close[i] - ll) / span
    return unit, sma_v, rsi_v, k_v, ratio


@njit(cache=True, nogil=True, error_model="numpy")
def finite_rows(x: np.ndarray) -> np.ndarray:
    """``np.isfinite(x).all(axis=1)``, a column at a time (``x`` column-major: contiguous columns)."""
    n, d = x.shape
    out = np.ones(n, np.bool_)
    for j in range(d):
        for i in range(n):
            out[i] &= np.isfinite(x[i, j])
    return out


# numba's cache checks only this file: recompile these when a kernel they call changes
DEPENDENCIES_STAMPED = stamp_dependencies((feature_parts,), (indicators,))
