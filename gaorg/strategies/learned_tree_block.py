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
holds the result to the Python path bit for bit.
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


# numba's cache checks only this file: recompile these when a kernel they call changes
DEPENDENCIES_STAMPED = stamp_dependencies(
    (window_covariance, projections, prepare, predict_block, tree_and_block),
    (learned_blas, learned_pca, learned_tree, learned_window),
)


def blocks(components: int, depth: int, quantile: float) -> tuple[Any, Any]:
    """``learned.walk_forward_models``' blocks for ``learned_models.pca_tree(components, depth,
    quantile)``: its model tuples, its predictions."""

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

    return fit_block, predict
