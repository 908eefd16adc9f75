"""The numpy steps of a PCA + tree fit around its BLAS and LAPACK calls, as numba kernels.

A ``pca_tree`` fit on 1,000 rows spent ~40 numpy calls of a few microseconds each besides the
matrix products and the eigendecomposition: the label quantiles (``np.quantile``: a partition,
index arithmetic, a linear interpolation), ``np.where`` twice, ``np.unique``, the column means,
the centred covariance's corrections, the eigenvectors' sign flip, the float32 copy and a sort per
component. These kernels do the same arithmetic in the same order (numpy's "linear" quantile
interpolation including its ``gamma >= 0.5`` branch; a C-ordered array's column sums row after
row, as numpy reduces it; ``svd_flip``'s rule), so the numbers are the same bit for bit; the
products ``x.T @ x``, ``x @ components.T`` and ``np.linalg.eigh`` stay numpy's (their summation
order is OpenBLAS's). ``tests/unit/test_learned_parity.py`` holds each to numpy's result.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, error_model="numpy")
def _lerp(a: float, b: float, gamma: float) -> float:
    """numpy's ``_lerp``: ``a + (b - a) * gamma``, or ``b - (b - a) * (1 - gamma)`` from gamma 0.5 on."""
    diff = b - a
    if gamma >= 0.5:
        return b - diff * (1.0 - gamma)
    return a + diff * gamma


@njit(cache=True, nogil=True, error_model="numpy")
def _linear_quantile(s: np.ndarray, q: float) -> float:
    """``np.quantile(x, q)`` of a sorted ``s`` (method "linear"), for ``0 <= q < 1``."""
    n = s.shape[0]
    v = (n - 1) * q
    prev = np.floor(v)
    if v >= n - 1:
        return _lerp(s[n - 1], s[n - 1], v + 1.0)
    i = int(prev)
    return _lerp(s[i], s[i + 1], v - prev)


@njit(cache=True, nogil=True, error_model="numpy")
def quantile_classes(fwd: np.ndarray, s: np.ndarray, quantile: float, upper: float):
    """The tree's labels: ``np.unique(np.where(fwd >= high, 1, np.where(fwd <= low, -1, 0)),
    return_inverse=True)`` with ``low, high = np.quantile(fwd, (quantile, upper))``; ``s`` is
    ``np.sort(fwd)`` (numpy's sort is ~3x numba's at 1,000 values).

    Returns (classes int64[c], encoded int64[n]): the sorted classes present and each row's index.
    """
    low = _linear_quantile(s, quantile)
    high = _linear_quantile(s, upper)
    n = fwd.shape[0]
    y = np.empty(n, np.int64)
    seen = np.zeros(3, np.bool_)
    for i in range(n):
        v = fwd[i]
        c = 1 if v >= high else (-1 if v <= low else 0)
        y[i] = c
        seen[c + 1] = True
    index = np.full(3, -1, np.int64)
    classes = np.empty(seen.sum(), np.int64)
    k = 0
    for c in range(3):
        if seen[c]:
            index[c] = k
            classes[k] = c - 1
            k += 1
    for i in range(n):
        y[i] = index[y[i] + 1]
    return classes, y


@njit(cache=True, nogil=True, error_model="numpy")
def column_means(x: np.ndarray) -> np.ndarray:
    """``np.mean(x, axis=0)`` of a C-ordered ``x``: the rows summed in order, then divided by their count."""
    m, d = x.shape
    total = x[0].copy()
    for i in range(1, m):
        for j in range(d):
            total[j] += x[i, j]
    for j in range(d):
        total[j] = total[j] / m
    return total


@njit(cache=True, nogil=True, error_model="numpy")
def centred_covariance(gram: np.ndarray, mean: np.ndarray, n: int) -> np.ndarray:
    """PCA's ``cov = x.T @ x; cov -= n * mean[:, None] * mean[None, :]; cov /= n - 1`` from ``x.T @ x``."""
    d = gram.shape[0]
    cov = gram.copy()
    for i in range(d):
        a = n * mean[i]
        for j in range(d):
            cov[i, j] -= a * mean[j]
    for i in range(d):
        for j in range(d):
            cov[i, j] /= n - 1
    return cov


@njit(cache=True, nogil=True, error_model="numpy")
def flipped_components(vecs: np.ndarray, k: int) -> np.ndarray:
    """The first ``k`` rows of ``flip(vecs, axis=1).T`` with ``svd_flip``'s signs (each row's
    largest absolute entry, the first of equals, made positive), as a C-ordered copy; no rows
    if an eigenvector holds a NaN (LAPACK did not converge)."""
    d = vecs.shape[0]
    for i in range(d):
        for j in range(d):
            if np.isnan(vecs[i, j]):
                return np.empty((0, d))
    out = np.empty((k, d))
    for r in range(k):
        col = d - 1 - r
        best = 0
        for j in range(1, d):
            if abs(vecs[j, col]) > abs(vecs[best, col]):
                best = j
        sign = np.sign(vecs[best, col])
        for j in range(d):
            out[r, j] = vecs[j, col] * sign
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def shifted_float32_t(zz: np.ndarray, shift: np.ndarray):
    """``np.asarray(zz - shift, dtype=np.float32).T`` as a C-ordered (components, rows) array: the
    last step of ``PCA.transform`` (``x @ components.T - mean @ components.T``) in the tree's
    float32, one row per component; and each value's sort key, ``(order-preserving bits of the
    float32) << 32 | row``, so that numpy's sort of the keys (a SIMD sort of integers, ~4x its
    argsort of floats) gives each component's rows in order (the order among equal values cannot
    change the tree: ``learned_tree.build``)."""
    m, k = zz.shape
    out = np.empty((k, m), np.float32)
    for i in range(m):
        for j in range(k):
            out[j, i] = np.float32(zz[i, j] - shift[0, j])
    bits = out.view(np.uint32)
    keys = np.empty((k, m), np.uint64)
    for j in range(k):
        for i in range(m):
            b = np.uint64(bits[j, i])
            b = (~b & np.uint64(0xFFFFFFFF)) if b & np.uint64(0x80000000) else (b | np.uint64(0x80000000))
            keys[j, i] = (b << np.uint64(32)) | np.uint64(i)
    return out, keys
