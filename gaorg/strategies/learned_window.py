"""A walk-forward fit's training window, standardised, as one numba kernel instead of ~10 numpy calls.

The same numbers as ``train_x[keep]``, ``.mean(axis=0)``, ``.std(axis=0)`` and
``(train_x - mean) / std``: numpy reduces a C-ordered (rows, features) array over its rows one row
after another (its pairwise summation applies along a contiguous reduced axis only), which is the
order used here; the divisions and the square root are correctly rounded in both.
``tests/unit/test_learned_parity.py`` compares the two on random windows bit for bit.

The learned kernels (``learned_*.py``) compile with ``error_model="numpy"``: a float division
checks nothing and follows IEEE (numba's default tests each divisor for zero and raises, a branch
per division that also keeps a loop from vectorising). The results are the same wherever the
default does not raise, and a raise would have stopped the evaluation: e.g. the feature columns
148 -> 102 us at 20,000 bars and 8 columns.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, error_model="numpy")
def standardised_window(x: np.ndarray, fwd: np.ndarray, keep: np.ndarray, lo: int, min_rows: int):
    """Rows ``lo + i`` of ``x`` where ``keep[i]``, standardised; their labels, mean and deviation.

    Returns (train_x, train_y, mean, std, rows); with fewer than ``min_rows`` rows only ``rows``
    is meaningful. A zero deviation is replaced by 1, as :func:`gaorg.strategies.learned.walk_forward` does.
    """
    d = x.shape[1]
    m = 0
    for i in range(keep.shape[0]):
        if keep[i]:
            m += 1
    tx = np.empty((m, d))
    ty = np.empty(m)
    mean = np.zeros(d)
    std = np.ones(d)
    if m < min_rows or m == 0:
        return tx, ty, mean, std, m
    r = 0
    for i in range(keep.shape[0]):
        if keep[i]:
            for j in range(d):
                tx[r, j] = x[lo + i, j]
            ty[r] = fwd[lo + i]
            r += 1
    total = tx[0].copy()
    for i in range(1, m):
        for j in range(d):
            total[j] += tx[i, j]
    for j in range(d):
        mean[j] = total[j] / m
    sq = np.empty(d)
    for j in range(d):
        v = tx[0, j] - mean[j]
        sq[j] = v * v
    for i in range(1, m):
        for j in range(d):
            v = tx[i, j] - mean[j]
            sq[j] += v * v
    for j in range(d):
        s = np.sqrt(sq[j] / m)
        std[j] = 1.0 if s == 0.0 else s
    for i in range(m):
        for j in range(d):
            tx[i, j] = (tx[i, j] - mean[j]) / std[j]
    return tx, ty, mean, std, m


@njit(cache=True, nogil=True, error_model="numpy")
def standardised_rows(
    x: np.ndarray, ok: np.ndarray, lo: int, mean: np.ndarray, std: np.ndarray
) -> np.ndarray:
    """``(x[lo:lo + len(ok)][ok] - mean) / std`` as a C-ordered array."""
    d = x.shape[1]
    m = 0
    for i in range(ok.shape[0]):
        if ok[i]:
            m += 1
    out = np.empty((m, d))
    r = 0
    for i in range(ok.shape[0]):
        if ok[i]:
            for j in range(d):
                out[r, j] = (x[lo + i, j] - mean[j]) / std[j]
            r += 1
    return out


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _finite(v: float) -> float:
    return v if np.isfinite(v) else np.nan


@njit(cache=True, nogil=True, error_model="numpy")
def feature_columns(
    count: int, period: int, r, logc, log_hl, unit, log_sma, rsi_v, stoch_v, log_ratio
) -> np.ndarray:
    """``learned.features``' columns from their parts, column-major, a loop a column: the same
    element-wise arithmetic as its numpy expressions (``shift`` as an index, ``unit * sqrt(p)``,
    ``/ 100.0 - 0.5``), every non-finite value then ``np.nan``. The logs are numpy's, passed in:
    ``log_sma = np.log(sma(close, p))``, ``log_ratio = np.log(rolling_std(r, p) / unit)``."""
    n = r.shape[0]
    x = np.empty((count, n)).T  # column-major (n, count)
    s1, s4 = np.sqrt(np.float64(period)), np.sqrt(np.float64(4 * period))
    for j, lag, scale in ((1, period, s1), (2, 4 * period, s4)):
        if count > j:
            for i in range(min(lag, n)):
                x[i, j] = np.nan  # logc - shift(logc, lag): NaN before the lag
            for i in range(lag, n):
                x[i, j] = _finite((logc[i] - logc[i - lag]) / (unit[i] * scale))
    for i in range(n):
        x[i, 0] = _finite(r[i] / unit[i])
    if count > 3:
        for i in range(n):
            x[i, 3] = _finite((logc[i] - log_sma[i]) / (unit[i] * s1))
    if count > 4:
        for i in range(n):
            x[i, 4] = _finite(rsi_v[i] / 100.0 - 0.5)
    if count > 5:
        for i in range(n):
            x[i, 5] = _finite(stoch_v[i] / 100.0 - 0.5)
    if count > 6:
        for i in range(n):
            x[i, 6] = _finite(log_ratio[i])
    if count > 7:
        for i in range(n):
            x[i, 7] = _finite(log_hl[i] / unit[i])
    return x
