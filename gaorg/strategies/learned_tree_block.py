"""A pca_tree walk-forward fit in two numba calls around numpy's sorts, with its predictions.

``learned_models.pca_tree``'s fit and apply, through the walk-forward, take ~19 Python-level
calls per fit bar (the window, a sort, the classes, the means, ``x.T @ x``, the covariance, eigh,
the flip, two products, the float32 projections, a sort, the tree, the prediction's rows, product
and walk, the masked assignment), each with its dispatch and boxing around ~130 us of arithmetic
at 1,000 rows. Here: :func:`prepare` (the standardised window, PCA's column means, ``x.T @ x``,
the centred covariance, numpy's ``eigh`` as its gufunc calls LAPACK, the flipped components,
``mean @ components.T``, ``x @ components.T`` and the float32 keys), numpy's sorts of the keys
and the labels, and :func:`tree_and_block` (the classes, the tree and the block's predictions
written into the signal). numpy's sorts stay (~4x numba's at 1,000 values); the products and
the eigendecomposition are numpy's own BLAS and LAPACK calls (``learned_blas``); every other step
is the kernel the Python path calls, so the numbers are the same. ``tests/unit/test_learned_blocks.py``
holds the result to the Python path bit for bit. A series' fits that the cache lacks go through
:func:`prepare_all`, one numpy sort of all their keys and one of all their labels (each row
padded past its fit's rows with values that sort last), and :func:`trees_all`: the same kernels
fit by fit, called from numba instead of Python.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from gaorg.strategies import learned_blas, learned_pca, learned_tree, learned_window
from gaorg.strategies.learned_window import standardised_rows, standardised_window
from gaorg.strategies.stamps import stamp_dependencies


@njit(cache=True, nogil=True, error_model="numpy")
def window_covariance(x: np.ndarray, fwd: np.ndarray, keep: np.ndarray, lo: int, min_rows: int):
    """The standardised window (``standardised_window``) and ``PCA.fit``'s column means and
    centred covariance of it; with fewer than ``min_rows`` rows only ``rows`` is meaningful."""
    tx, ty, mean, std, rows = standardised_window(x, fwd, keep, lo, min_rows)
    if rows < min_rows or rows < 2:
        return tx, ty, mean, std, rows, mean, np.empty((0, 0))
    pmean = learned_pca.column_means(tx)
    cov = learned_pca.centred_covariance(learned_blas.gram(tx), pmean, rows)
    return tx, ty, mean, std, rows, pmean, cov


@njit(cache=True, nogil=True, error_model="numpy")
def projections(vecs: np.ndarray, k: int, tx: np.ndarray, pmean: np.ndarray):
    """``flipped_components``, ``mean @ components.T`` and ``shifted_float32_t(x @ components.T,
    shift)``; no components if an eigenvector holds a NaN."""
    comps = learned_pca.flipped_components(vecs, k)
    if comps.shape[0] != k:
        empty = np.empty((0, 0))
        return comps, empty, np.empty((0, 0), np.float32), np.empty((0, 0), np.uint64)
    shift = learned_blas.matmul_abt(pmean.reshape((1, pmean.shape[0])), comps)
    zt, keys = learned_pca.shifted_float32_t(learned_blas.matmul_abt(tx, comps), shift)
    return comps, shift, zt, keys


@njit(cache=True, nogil=True, error_model="numpy")
def prepare(x: np.ndarray, fwd: np.ndarray, keep: np.ndarray, lo: int, min_rows: int, k: int):
    """:func:`window_covariance`, numpy's ``eigh`` (``learned_blas.eigh_vectors``) and
    :func:`projections` in one call: (rows, ty, mean, std, components, shift, zt, keys); no
    components when the window is short or an eigenvector holds a NaN."""
    tx, ty, mean, std, rows, pmean, cov = window_covariance(x, fwd, keep, lo, min_rows)
    if rows < min_rows:
        empty = np.empty((0, 0))
        return rows, ty, mean, std, empty, empty, np.empty((0, 0), np.float32), np.empty((0, 0), np.uint64)
    comps, shift, zt, keys = projections(learned_blas.eigh_vectors(cov), k, tx, pmean)
    return rows, ty, mean, std, comps, shift, zt, keys


@njit(cache=True, nogil=True, error_model="numpy")
def predict_block(
    x, ok, t, mean, std, comps, shift, feature, threshold, left, right, value, classes, out
) -> None:
    """``out[t:t + len(ok)][ok] = apply(model, standardised_rows(x, ok, t, mean, std))``."""
    xn = standardised_rows(x, ok, t, mean, std)
    pred = learned_tree.predict_shifted(learned_blas.matmul_abt(xn, comps), shift, feature, threshold, left,
                                        right, value, classes)  # fmt: skip
    r = 0
    for i in range(ok.shape[0]):
        if ok[i]:
            out[t + i] = pred[r]
            r += 1


@njit(cache=True, nogil=True, error_model="numpy")
def tree_and_block(zt, keys, ty, sorted_ty, quantile, depth, x, ok, t, mean, std, comps, shift, out):
    """The quantile classes, the tree (``learned_tree.build``, leaves of max(10, rows // 20)) and,
    if a row of the block is finite, its predictions into ``out``. Returns the tree and the classes."""
    classes, encoded = learned_pca.quantile_classes(ty, sorted_ty, quantile, 1.0 - quantile)
    leaf = max(10, ty.shape[0] // 20)
    feature, threshold, left, right, value = learned_tree.build(
        zt, keys, encoded, classes.shape[0], depth, leaf
    )
    fclasses = classes.astype(np.float64)
    if ok.any():
        predict_block(
            x, ok, t, mean, std, comps, shift, feature, threshold, left, right, value, fclasses, out
        )
    return feature, threshold, left, right, value, fclasses


@njit(cache=True, nogil=True, error_model="numpy")
def prepare_all(x, fwd, finite_xy, ts, horizon: int, window: int, min_rows: int, k: int):
    """:func:`prepare` at each fit bar of ``ts`` (``learned.walk_forward_models``' windows), stacked
    for numpy's sorts: (states, rows, means, stds, comps, shifts, zts, keys, tys), each fit's
    ``zt``, ``keys`` and ``ty`` in its first ``rows[i]`` columns, the keys padded with the largest
    uint64 and the labels with +inf (they sort after every real one). State 0: a short window;
    3: an eigenvector with a NaN (the caller takes numpy's eigh, which raises); 2: prepared."""
    f_count, d = ts.shape[0], x.shape[1]
    rows = np.zeros(f_count, np.int64)
    width = 0
    for i in range(f_count):
        t = ts[i]
        for j in range(max(0, t - horizon - window + 1), t - horizon + 1):
            rows[i] += 1 if finite_xy[j] else 0
        width = max(width, rows[i])
    states = np.zeros(f_count, np.int64)
    means = np.zeros((f_count, d))
    stds = np.ones((f_count, d))
    comps = np.zeros((f_count, k, d))
    shifts = np.zeros((f_count, 1, k))
    zts = np.zeros((f_count, k, width), np.float32)
    keys = np.empty((f_count, k, width), np.uint64)
    keys[:] = np.uint64(0xFFFFFFFFFFFFFFFF)
    tys = np.full((f_count, width), np.inf)
    for i in range(f_count):
        t = ts[i]
        lo = max(0, t - horizon - window + 1)
        m, ty, mean, std, c, shift, zt, key = prepare(
            x, fwd, finite_xy[lo : t - horizon + 1], lo, min_rows, k
        )
        means[i] = mean
        stds[i] = std
        if m < min_rows:
            continue
        if c.shape[0] != k:
            states[i] = 3
            continue
        states[i] = 2
        comps[i] = c
        shifts[i] = shift
        zts[i, :, :m] = zt
        keys[i, :, :m] = key
        tys[i, :m] = ty
    return states, rows, means, stds, comps, shifts, zts, keys, tys


@njit(cache=True, nogil=True, error_model="numpy")
def trees_all(states, rows, zts, keys, tys, sorted_tys, quantile: float, depth: int, x, finite_x, ts, refit: int,
              means, stds, comps, shifts, out):  # fmt: skip
    """:func:`tree_and_block` for each prepared fit of :func:`prepare_all` (keys and labels sorted),
    its predictions written into ``out``: (nodes, classes counts, feature, threshold, left, right,
    value, classes), fit i's tree in the first ``nodes[i]`` entries of row i."""
    f_count, n = ts.shape[0], x.shape[0]
    cap = 2 ** (depth + 1)
    nodes = np.zeros(f_count, np.int64)
    n_classes = np.zeros(f_count, np.int64)
    features = np.full((f_count, cap), -1, np.int64)
    thresholds = np.zeros((f_count, cap))
    lefts = np.full((f_count, cap), -1, np.int64)
    rights = np.full((f_count, cap), -1, np.int64)
    values = np.zeros((f_count, cap, 3))
    classes = np.zeros((f_count, 3))
    for i in range(f_count):
        if states[i] != 2:
            continue
        m, t = rows[i], ts[i]
        feature, threshold, left, right, value, fclasses = tree_and_block(
            zts[i, :, :m].copy(), keys[i, :, :m].copy(), tys[i, :m].copy(), sorted_tys[i, :m].copy(), quantile,
            depth, x, finite_x[t : min(n, t + refit)], t, means[i], stds[i], comps[i], shifts[i], out,
        )  # fmt: skip
        nn, nc = feature.shape[0], fclasses.shape[0]
        nodes[i], n_classes[i] = nn, nc
        features[i, :nn] = feature
        thresholds[i, :nn] = threshold
        lefts[i, :nn] = left
        rights[i, :nn] = right
        values[i, :nn, :nc] = value
        classes[i, :nc] = fclasses
    return nodes, n_classes, features, thresholds, lefts, rights, values, classes


# numba's cache checks only this file: recompile these when a kernel they call changes
DEPENDENCIES_STAMPED = stamp_dependencies(
    (window_covariance, projections, prepare, predict_block, tree_and_block, prepare_all, trees_all),
    (learned_blas, learned_pca, learned_tree, learned_window),
)


class _Models:
    """Fit i's model tuple, as ``blocks``' ``fit_block`` gives it, from :func:`trees_all`'s stacks."""

    def __init__(self, comps, shifts, trees, extra) -> None:
        self.comps, self.shifts, self.trees, self.extra = comps, shifts, trees, extra

    def __getitem__(self, i: int):
        if i in self.extra:
            return self.extra[i]
        nodes, n_classes, feature, threshold, left, right, value, classes = self.trees
        nn, nc = nodes[i], n_classes[i]
        tree = (feature[i, :nn], threshold[i, :nn], left[i, :nn], right[i, :nn], value[i, :nn, :nc].copy())
        return self.comps[i], self.shifts[i], tree, classes[i, :nc]


def blocks(components: int, depth: int, quantile: float) -> tuple[Any, Any, Any]:
    """``learned.walk_forward_models``' blocks for ``learned_models.pca_tree(components, depth,
    quantile)``: its model tuples, its predictions, and the fits of a series in two kernel calls
    around numpy's sorts of all their keys and labels at once (``prepare_all``, ``trees_all``)."""

    def fit_block(x, fwd, keep, lo, min_rows, ok, t, out):
        rows, ty, mean, std, comps, shift, zt, keys = prepare(x, fwd, keep, lo, min_rows, components)
        if rows < min_rows:
            return 0, mean, std, None
        if comps.shape[0] != components:  # no convergence: numpy's eigh, which raises, as the Python path
            tx, _, _, _, _, pmean, cov = window_covariance(x, fwd, keep, lo, min_rows)
            _, vecs = np.linalg.eigh(cov)
            comps, shift, zt, keys = projections(vecs, components, tx, pmean)
        keys.sort(axis=1)
        *tree, classes = tree_and_block(zt, keys, ty, np.sort(ty), quantile, depth, x, ok, t, mean, std, comps,
                                        shift, out)  # fmt: skip
        return 2, mean, std, (comps, shift, tuple(tree), classes)

    def predict(x, ok, t, mean, std, model, out):
        comps, shift, tree, classes = model
        predict_block(x, ok, t, mean, std, comps, shift, *tree, classes, out)

    def fit_blocks(x, fwd, finite_xy, finite_x, ts, horizon, window, refit, min_rows, out):
        states, rows, means, stds, comps, shifts, zts, keys, tys = prepare_all(
            x, fwd, finite_xy, ts, horizon, window, min_rows, components
        )
        if keys.shape[2]:
            keys.reshape(-1, keys.shape[2]).sort(axis=1)
        trees = trees_all(states, rows, zts, keys, tys, np.sort(tys, axis=1), quantile, depth, x, finite_x, ts,
                          refit, means, stds, comps, shifts, out)  # fmt: skip
        extra = {}
        for i in np.flatnonzero(states == 3):  # numpy's eigh, one fit at a time (it raises)
            t = int(ts[i])
            lo = max(0, t - horizon - window + 1)
            states[i], means[i], stds[i], extra[i] = fit_block(
                x, fwd, finite_xy[lo : t - horizon + 1], lo, min_rows, finite_x[t : t + refit], t, out
            )
        return states, means, stds, _Models(comps, shifts, trees, extra)

    return fit_block, predict, fit_blocks
