"""Indicator kernels (numba, cached on disk, compiled on first call, never at import).

Every kernel is causal: output ``i`` reads inputs ``<= i`` only. Warm-up values are NaN.
Kernels take and return float64 arrays; modules normalise (returns, z-scores, ATR-relative
levels) so that one genome can run on any asset.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
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
    """Simple moving average over ``period`` bars (running sum, O(n))."""
    n = len(x)
    out = np.full(n, np.nan)
    if period < 1 or n < period:
        return out
    acc = 0.0
    for i in range(n):
        acc += x[i]
        if i >= period:
            acc -= x[i - period]
        if i >= period - 1:
            out[i] = acc / period
    return out
