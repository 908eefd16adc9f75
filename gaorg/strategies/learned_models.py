"""The learned entries' fits without scikit-learn's per-call checks: the same solvers, same results.

A walk-forward evaluation fits a small model (at most 2,000 rows of 5 or 8 standardised features)
every ``refit`` bars, so scikit-learn's input validation, label encoding and estimator set-up
cost more than the solvers themselves (~80% of a ``LinearSVC`` fit, ~70% of PCA + tree). Here the
same compiled solvers are called with the arguments the public estimators would pass them:

- ``LinearSVC(dual=False, max_iter=200)``: liblinear's primal L2-loss solver (``train_wrap``),
  and the decision function ``x @ coef.T + intercept`` as scikit-learn writes it;
- ``PCA(svd_solver="covariance_eigh")``: the covariance eigendecomposition, in the estimator's
  own operations and order, including its sign convention (``svd_flip``): ``x.T @ x`` and
  ``eigh`` numpy's, the steps around them ``learned_pca``'s kernels (so are the label quantiles);
- ``DecisionTreeClassifier``: the depth-first builder with the best splitter and Gini, on the
  same float32 inputs; its seed is ``RandomState(0)``'s first draw (constant, computed once:
  drawing a ``RandomState(0)`` per fit cost 0.27 ms, more than a shallow tree).

The inputs are the walk-forward's finite, standardised rows, so nothing the checks would catch can
occur. ``tests/unit/test_learned_parity.py`` holds these to the public estimators bit for bit;
it fails first if a scikit-learn release changes what these private entry points do.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np

Fit = Callable[[np.ndarray, np.ndarray], Any]
Apply = Callable[[Any, np.ndarray], np.ndarray]

RAND_R_MAX = 2147483647  # sklearn.tree._utils.RAND_R_MAX


class _FirstDraw:
    """Stands in for ``RandomState(0)`` where only its first ``randint(0, RAND_R_MAX)`` is drawn."""

    def __init__(self, value: int) -> None:
        self.value = value

    def randint(self, low: int, high: int) -> int:
        return self.value


@cache
def _svc_solver() -> tuple[Any, int, int]:
    from sklearn.svm import _liblinear
    from sklearn.svm._base import _get_liblinear_solver_type
    from sklearn.utils import check_random_state

    seed = int(check_random_state(0).randint(np.iinfo("i").max))
    return _liblinear, _get_liblinear_solver_type("ovr", "l2", "squared_hinge", False), seed


def linear_svc(c: float) -> tuple[Fit, Apply]:
    """Fit and apply of ``LinearSVC(C=c, dual=False, max_iter=200, random_state=0)`` on fwd > 0.

    A fit is the raw coefficients (None when the window holds one class); apply gives +1 / -1.
    """
    liblinear, solver, seed = _svc_solver()
    class_weight = np.ones(2)

    def fit(x: np.ndarray, fwd: np.ndarray) -> np.ndarray | None:
        y = fwd > 0.0
        if y.all() or not y.any():
            return None
        liblinear.set_verbosity_wrap(0)
        raw, _ = liblinear.train_wrap(
            x,
            y.astype(np.float64),
            False,
            solver,
            1e-4,
            1.0,
            c,
            class_weight,
            200,
            seed,
            0.1,
            np.ones(len(x)),
        )
        return raw

    def apply(raw: np.ndarray | None, x_new: np.ndarray) -> np.ndarray:
        if raw is None:
            return np.zeros(len(x_new))
        scores = x_new @ raw[:, :-1].T + 1.0 * raw[:, -1]
        return np.where(scores.reshape(-1) > 0.0, 1.0, -1.0)

    return fit, apply


@cache
def _tree_parts() -> tuple[Any, ...]:
    from sklearn.tree._criterion import Gini
    from sklearn.tree._splitter import BestSplitter
    from sklearn.tree._tree import DepthFirstTreeBuilder, Tree
    from sklearn.utils import check_random_state

    return (
        Gini,
        BestSplitter,
        DepthFirstTreeBuilder,
        Tree,
        _FirstDraw(check_random_state(0).randint(0, RAND_R_MAX)),
    )


def pca_fit(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``PCA(k, svd_solver="covariance_eigh").fit(x)``'s ``components_`` and ``mean_`` (``x``
    C-ordered): the estimator's numpy operations, those around ``x.T @ x`` and ``eigh`` in
    ``learned_pca``'s kernels."""
    from gaorg.strategies import learned_pca

    mean = learned_pca.column_means(x)
    cov = learned_pca.centred_covariance(x.T @ x, mean, x.shape[0])
    _, vecs = np.linalg.eigh(cov)
    return learned_pca.flipped_components(vecs, k), mean


def pca_transform(x: np.ndarray, components: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """``PCA.transform``: ``x @ components.T - mean @ components.T``."""
    z = x @ components.T
    z -= np.reshape(mean, (1, -1)) @ components.T
    return z


def pca_tree(components: int, depth: int, quantile: float) -> tuple[Fit, Apply]:
    """Fit and apply of PCA(``components``) + ``DecisionTreeClassifier(max_depth=depth)`` on quantile classes.

    A fit is (components, mean, tree, classes); apply gives the predicted class (-1, 0 or +1).
    """
    from gaorg.strategies import learned_pca, learned_tree

    def fit(x: np.ndarray, fwd: np.ndarray) -> tuple[np.ndarray, np.ndarray, Any, np.ndarray]:
        # np.quantile's two labels' bounds, np.where twice and np.unique, in one kernel
        classes, encoded = learned_pca.quantile_classes(fwd, np.sort(fwd), quantile, 1.0 - quantile)
        comps, mean = pca_fit(x, components)
        z = np.asarray(pca_transform(x, comps, mean), dtype=np.float32)
        orders = np.ascontiguousarray(np.argsort(z, axis=0).T)
        leaf = max(10, len(x) // 20)
        *nodes, ok = learned_tree.build(z, orders, encoded, len(classes), depth, leaf)
        if ok:  # no node's split depends on the feature order: scikit-learn's tree
            return comps, mean, tuple(a[: nodes[5]] for a in nodes[:5]), classes
        return comps, mean, _sklearn_tree(z, encoded, len(classes), depth, leaf), classes

    def apply(model: tuple[np.ndarray, np.ndarray, Any, np.ndarray], x_new: np.ndarray) -> np.ndarray:
        comps, mean, tree, classes = model
        z = np.asarray(pca_transform(x_new, comps, mean), dtype=np.float32)
        if isinstance(tree, tuple):
            return classes.take(learned_tree.predict(z, *tree), axis=0).astype(np.float64)
        return classes.take(np.argmax(tree.predict(z), axis=1), axis=0).astype(np.float64)

    return fit, apply


def _sklearn_tree(z: np.ndarray, encoded: np.ndarray, n_classes: int, depth: int, leaf: int) -> Any:
    """scikit-learn's builder on the arguments ``DecisionTreeClassifier.fit`` would give it."""
    gini, splitter, builder, tree_cls, first_draw = _tree_parts()
    classes = np.array([n_classes], dtype=np.intp)
    split = splitter(gini(1, classes), z.shape[1], leaf, 0.0, first_draw, None)
    tree = tree_cls(z.shape[1], classes, 1)
    builder(split, max(2, 2 * leaf), leaf, 0.0, depth, 0.0).build(
        tree, z, np.ascontiguousarray(encoded.reshape(-1, 1), dtype=np.float64), None, None
    )
    return tree
