"""A linear_svc walk-forward fit in one numba call: the window, the fit and its block's predictions.

Per fit bar the Python path calls ``standardised_window``, ``learned_svc.fit``, then for the
prediction ``standardised_rows``, ``x_new @ raw[:, :-1].T + 1.0 * raw[:, -1]``, ``np.where`` and a
masked assignment: ~8 calls and their boxing around ~50-100 us of arithmetic. Here
:func:`fit_block` does it all and :func:`predict_block` does the prediction from a cached fit.

The decision function keeps numpy's arithmetic: ``matmul`` of the C-ordered (k, d) block by the
coefficient column is numpy's own OpenBLAS ``gemv`` (``dot`` for one row), whose summation order
is not a plain loop's (it differs in the last bit on ~40% of rows), called from the kernel
(``learned_blas``). :func:`available` is False where numpy does not bundle that library (the
caller keeps the Python path). ``tests/unit/test_learned_blocks.py`` holds both kernels to the
Python path bit for bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from gaorg.strategies import learned_blas, learned_svc, learned_window
from gaorg.strategies.learned_window import standardised_rows, standardised_window
from gaorg.strategies.stamps import stamp_dependencies


def available() -> bool:
    """Whether numpy's BLAS is bound, so the block kernels give numpy's decision values."""
    return learned_blas.available()


@njit(cache=True, nogil=True, error_model="numpy")
def decision(xn: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """``(xn @ raw[:, :-1].T + 1.0 * raw[:, -1]).reshape(-1)`` for C-ordered ``xn`` (k, d), d >= 2:
    numpy's matmul (gemv, or its dot for one row) through numpy's own BLAS."""
    d = xn.shape[1]
    coef = np.empty((1, d))
    for j in range(d):
        coef[0, j] = raw[0, j]
    intercept = 1.0 * raw[0, d]
    scores = learned_blas.matmul_abt(xn, coef)[:, 0].copy()
    for i in range(scores.shape[0]):
        scores[i] += intercept
    return scores


@njit(cache=True, nogil=True, error_model="numpy")
def predict_block(x: np.ndarray, ok: np.ndarray, t: int, mean: np.ndarray, std: np.ndarray, raw: np.ndarray,
                  out: np.ndarray) -> None:  # fmt: skip
    """``out[t:t + len(ok)][ok] = sign(decision)`` (+1 / -1) of the fit ``raw`` on the rows of ``x``
    standardised by ``mean`` and ``std``: ``learned_models.linear_svc``'s apply."""
    scores = decision(standardised_rows(x, ok, t, mean, std), raw)
    r = 0
    for i in range(ok.shape[0]):
        if ok[i]:
            out[t + i] = 1.0 if scores[r] > 0.0 else -1.0
            r += 1


@njit(cache=True, nogil=True, error_model="numpy")
def fit_block(x: np.ndarray, fwd: np.ndarray, keep: np.ndarray, lo: int, min_rows: int, c: float, ok: np.ndarray,
              t: int, out: np.ndarray):  # fmt: skip
    """One walk-forward fit of ``learned_models.linear_svc`` at bar t and its block's predictions.

    Returns (state, mean, std, raw): state 0 when the window has fewer than ``min_rows`` rows (no
    fit, nothing written), 1 when it holds one class (no model: the block stays 0), 2 for a fit
    (``raw`` as ``learned_svc.fit`` gives it; its signs written into ``out`` where ``ok``).
    """
    tx, ty, mean, std, rows = standardised_window(x, fwd, keep, lo, min_rows)
    if rows < min_rows:
        return 0, mean, std, np.empty((0, 1)).T
    positive = np.empty(rows, np.bool_)
    count = 0
    for i in range(rows):
        positive[i] = ty[i] > 0.0
        count += positive[i]
    if count == 0 or count == rows:
        return 1, mean, std, np.empty((0, 1)).T
    raw = learned_svc.fit(tx, positive, c)
    predict_block(x, ok, t, mean, std, raw, out)
    return 2, mean, std, raw


@njit(cache=True, nogil=True, error_model="numpy")
def fit_blocks(x: np.ndarray, fwd: np.ndarray, finite_xy: np.ndarray, finite_x: np.ndarray, ts: np.ndarray,
               horizon: int, window: int, refit: int, min_rows: int, c: float, out: np.ndarray):  # fmt: skip
    """:func:`fit_block` at each fit bar of ``ts`` in one call (``learned.walk_forward_models``' windows:
    rows ``max(0, t - horizon - window + 1) .. t - horizon`` where ``finite_xy``, the block
    ``t .. t + refit - 1`` where ``finite_x``): (states, means, stds, raws), row i the fit at ``ts[i]``
    (``raws[i]`` meaningful where the state is 2), the predictions written into ``out``."""
    n, d = fwd.shape[0], x.shape[1]
    states = np.zeros(ts.shape[0], np.int64)
    means = np.zeros((ts.shape[0], d))
    stds = np.ones((ts.shape[0], d))
    raws = np.zeros((ts.shape[0], 1, d + 1))
    for i in range(ts.shape[0]):
        t = ts[i]
        lo = max(0, t - horizon - window + 1)
        state, mean, std, raw = fit_block(
            x, fwd, finite_xy[lo : t - horizon + 1], lo, min_rows, c, finite_x[t : min(n, t + refit)], t, out
        )
        states[i] = state
        means[i] = mean
        stds[i] = std
        if state == 2:
            raws[i, 0] = raw[0]
    return states, means, stds, raws


# numba's cache checks only this file: recompile these when a kernel they call changes
DEPENDENCIES_STAMPED = stamp_dependencies(
    (decision, predict_block, fit_block, fit_blocks), (learned_blas, learned_svc, learned_window)
)
