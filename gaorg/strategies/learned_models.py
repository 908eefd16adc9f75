"""The learned entries' fits without scikit-learn's per-call checks: the same solvers, same results.

A walk-forward evaluation fits a small model (at most 2,000 rows of 5 or 8 standardised features)
every ``refit`` bars, so scikit-learn's input validation, label encoding and estimator set-up
cost more than the solvers themselves (~80% of a ``LinearSVC`` fit, ~70% of PCA + tree). Here the
same compiled solvers are called with the arguments the public estimators would pass them:

- ``LinearSVC(dual=False, max_iter=200)``: liblinear's primal L2-loss solver (``train_wrap``) as
  ``learned_svc``'s numba kernel (its loops, scipy's BLAS calls), and the decision function
  ``x @ coef.T + intercept`` as scikit-learn writes it;
- ``PCA(svd_solver="covariance_eigh")``: the covariance eigendecomposition, in the estimator's
  own operations and order, including its sign convention (``svd_flip``): ``x.T @ x`` and
  ``eigh`` numpy's, the steps around them ``learned_pca``'s kernels (so are the label quantiles);
- ``DecisionTreeClassifier(random_state=0)``: ``learned_tree``'s kernel, scikit-learn's
  depth-first builder with the best splitter and Gini on the same float32 inputs, its seeded
  feature draws replayed (so ties between features and constant features give its tree too).

The inputs are the walk-forward's finite, standardised rows, so nothing the checks would catch can
occur. ``tests/unit/test_learned_parity.py`` holds these to the public estimators bit for bit;
it fails first if a scikit-learn release changes what these private entry points do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.linalg import _umath_linalg

Fit = Callable[[np.ndarray, np.ndarray], Any]
Apply = Callable[[Any, np.ndarray], np.ndarray]


def linear_svc(c: float) -> tuple[Fit, Apply]:
    """Fit and apply of ``LinearSVC(C=c, dual=False, max_iter=200, random_state=0)`` on fwd > 0.

    A fit is the raw coefficients (None when the window holds one class): liblinear's solver as
    ``learned_svc``'s numba kernel, ``train_wrap``'s coefficients bit for bit (~2x faster, and
    without its per-call set-up); apply gives +1 / -1.
    """
    from gaorg.strategies import learned_svc

    def fit(x: np.ndarray, fwd: np.ndarray) -> np.ndarray | None:
        y = fwd > 0.0
        if y.all() or not y.any():
            return None
        return learned_svc.fit(x, y, c)

    def apply(raw: np.ndarray | None, x_new: np.ndarray) -> np.ndarray:
        if raw is None:
            return np.zeros(len(x_new))
        scores = x_new @ raw[:, :-1].T + 1.0 * raw[:, -1]
        return np.where(scores.reshape(-1) > 0.0, 1.0, -1.0)

    return fit, apply


def linear_svc_blocks(c: float) -> tuple[Callable[..., Any], ...] | None:
    """``linear_svc(c)``'s fit and apply as ``learned.walk_forward_models``' blocks (fit_block,
    predict_block, fit_blocks): one numba call per fit (window, fit, predictions), per cached fit's
    predictions and per series' missing fits, numpy's decision values (``learned_svc_block``); None
    where numpy's BLAS cannot be bound (the Python path then)."""
    from gaorg.strategies import learned_svc_block

    if not learned_svc_block.available():
        return None

    def fit_block(x, fwd, keep, lo, min_rows, ok, t, out):
        return learned_svc_block.fit_block(x, fwd, keep, lo, min_rows, c, ok, t, out)

    def fit_blocks(x, fwd, finite_xy, finite_x, ts, horizon, window, refit, min_rows, out):
        return learned_svc_block.fit_blocks(
            x, fwd, finite_xy, finite_x, ts, horizon, window, refit, min_rows, c, out
        )

    return fit_block, learned_svc_block.predict_block, fit_blocks


def pca_fit(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``PCA(k, svd_solver="covariance_eigh").fit(x)``'s ``components_`` and ``mean_`` (``x``
    C-ordered): the estimator's numpy operations, those around ``x.T @ x`` and ``eigh`` in
    ``learned_pca``'s kernels."""
    from gaorg.strategies import learned_pca

    mean = learned_pca.column_means(x)
    cov = learned_pca.centred_covariance(x.T @ x, mean, x.shape[0])
    # eigh's LAPACK gufunc without np.linalg.eigh's checks and error-state context (~5 us of ~13
    # at 8 x 8); eigenvectors with a NaN (no convergence) come back as no rows, and then eigh
    # itself raises as it would have
    _, vecs = _umath_linalg.eigh_lo(cov, signature="d->dd")
    components = learned_pca.flipped_components(vecs, k)
    if components.shape[0] != k:
        _, vecs = np.linalg.eigh(cov)
        components = learned_pca.flipped_components(vecs, k)
    return components, mean


def pca_transform(x: np.ndarray, components: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """``PCA.transform``: ``x @ components.T - mean @ components.T``."""
    z = x @ components.T
    z -= np.reshape(mean, (1, -1)) @ components.T
    return z


def pca_tree(components: int, depth: int, quantile: float) -> tuple[Fit, Apply]:
    """Fit and apply of PCA(``components``) + ``DecisionTreeClassifier(max_depth=depth)`` on quantile classes.

    A fit is (components, ``mean @ components.T``, tree, classes); apply gives the predicted
    class (-1, 0 or +1). The float32 projections are ``pca_transform``'s: ``x @ components.T``
    numpy's, the subtraction and rounding in ``learned_pca.shifted_float32_t`` (fit) and
    ``learned_tree.predict_shifted`` (apply).
    """
    from gaorg.strategies import learned_pca, learned_tree

    def fit(x: np.ndarray, fwd: np.ndarray) -> tuple[np.ndarray, np.ndarray, Any, np.ndarray]:
        # np.quantile's two labels' bounds, np.where twice and np.unique, in one kernel
        classes, encoded = learned_pca.quantile_classes(fwd, np.sort(fwd), quantile, 1.0 - quantile)
        comps, mean = pca_fit(x, components)
        shift = np.reshape(mean, (1, -1)) @ comps.T
        zt, keys = learned_pca.shifted_float32_t(x @ comps.T, shift)
        keys.sort(axis=1)
        leaf = max(10, len(x) // 20)
        tree = learned_tree.build(zt, keys, encoded, len(classes), depth, leaf)
        return comps, shift, tree, classes.astype(np.float64)

    def apply(model: tuple[np.ndarray, np.ndarray, Any, np.ndarray], x_new: np.ndarray) -> np.ndarray:
        comps, shift, tree, classes = model
        return learned_tree.predict_shifted(x_new @ comps.T, shift, *tree, classes)

    return fit, apply


def pca_tree_blocks(
    components: int, depth: int, quantile: float
) -> tuple[Callable[..., Any], ...] | None:
    """``pca_tree``'s fit and apply as ``learned.walk_forward_models``' blocks (``learned_tree_block``:
    three kernels around numpy's eigh and sorts per fit, one per cached fit's predictions, two around
    numpy's sorts for a series' missing fits); None where numpy's BLAS cannot be bound (the Python
    path then)."""
    from gaorg.strategies import learned_blas, learned_tree_block

    return learned_tree_block.blocks(components, depth, quantile) if learned_blas.available() else None
