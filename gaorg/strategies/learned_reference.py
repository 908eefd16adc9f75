"""The learned entries as first written: scikit-learn's public estimators, one fit per refit bar.

Kept as the definition the fast path (``learned_models`` through ``learned.predict_cached``) must
reproduce bit for bit: ``tests/unit/test_learned_parity.py`` compares the two over random
parameters and markets, and ``tests/bench/bench_learned.py`` times them side by side.
"""

from __future__ import annotations

import warnings

import numpy as np

from gaorg.data.bars import Bars
from gaorg.strategies import learned
from gaorg.strategies.spec import Params

SVC_COLUMNS = slice(0, 5)


def linear_svc(bars: Bars, params: Params) -> np.ndarray:
    """The ``linear_svc`` entry's signal through ``sklearn.svm.LinearSVC``."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    c = 10.0 ** params["log_c"]
    allow_short = params["direction"] == "both"

    def fit_predict(x: np.ndarray, fwd: np.ndarray, x_new: np.ndarray) -> np.ndarray:
        y = fwd > 0.0
        if y.all() or not y.any():
            return np.zeros(len(x_new))
        model = LinearSVC(C=c, dual=False, max_iter=200, random_state=0)
        with warnings.catch_warnings():
            # a rolling fit that stops at max_iter is still a usable, deterministic model
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(x, y)
        up = model.decision_function(x_new) > 0.0
        return np.where(up, 1.0, -1.0 if allow_short else 0.0)

    x = learned.features(bars, params["feature_period"])[:, SVC_COLUMNS]
    return learned.predict(bars, params, x, fit_predict)


def pca_tree(bars: Bars, params: Params) -> np.ndarray:
    """The ``pca_tree`` entry's signal through ``sklearn.decomposition.PCA`` and a decision tree."""
    from sklearn.decomposition import PCA
    from sklearn.tree import DecisionTreeClassifier

    q = params["quantile"]
    allow_short = params["direction"] == "both"

    def fit_predict(x: np.ndarray, fwd: np.ndarray, x_new: np.ndarray) -> np.ndarray:
        low, high = np.quantile(fwd, (q, 1.0 - q))
        y = np.where(fwd >= high, 1, np.where(fwd <= low, -1, 0))
        pca = PCA(n_components=params["components"], svd_solver="covariance_eigh").fit(x)
        tree = DecisionTreeClassifier(
            max_depth=params["depth"], min_samples_leaf=max(10, len(x) // 20), random_state=0
        )
        tree.fit(pca.transform(x), y)
        pred = tree.predict(pca.transform(x_new)).astype(np.float64)
        return pred if allow_short else np.maximum(pred, 0.0)

    x = learned.features(bars, params["feature_period"])
    return learned.predict(bars, params, x, fit_predict)
