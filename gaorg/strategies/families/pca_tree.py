"""PCA + tree quantile model (role: entry, learned): which tail of returns comes next.

The eight scale-free features of ``learned.features`` are reduced by a scikit-learn ``PCA`` to
``components`` and fed to a ``DecisionTreeClassifier`` (depth ``depth``) whose labels are quantile
classes of the forward ``horizon``-bar return within the training window: +1 at or above the
(1 - ``quantile``) quantile, -1 at or below the ``quantile`` quantile, 0 between. Refitted every
``refit`` bars on the trailing ``window`` samples whose labels are known at the fit bar; the
predicted class is the signal (shorts flat with ``direction="long"``). Flat before the first fit.
"""

from __future__ import annotations

import numpy as np

from gaorg.data.bars import Bars
from gaorg.strategies.genes import ChoiceGene, FloatGene, IntGene
from gaorg.strategies.learned import features, first_fit_bar, forward_returns, walk_forward
from gaorg.strategies.spec import ModuleSpec, Params, Role


def compute(bars: Bars, params: Params) -> np.ndarray:
    from sklearn import config_context
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

    h, w, f = params["horizon"], params["window"], params["feature_period"]
    x = features(bars, f)
    # inputs are finite (walk_forward drops NaN rows) and params validated by the genome: skip
    # scikit-learn's per-call checks, a third of the cost of a small fit
    with config_context(assume_finite=True, skip_parameter_validation=True):
        return walk_forward(x, forward_returns(bars, h), h, w, params["refit"], first_fit_bar(f, h, w), fit_predict)


SPEC = ModuleSpec(
    name="pca_tree",
    family="PCA + tree quantile model",
    role=Role.ENTRY,
    genes=(
        IntGene("feature_period", 3, 200, period=True, doc="bars of the features' indicators (and 4x)"),
        IntGene("horizon", 1, 200, period=True, doc="label: quantile class of the next horizon bars' return"),
        IntGene("window", 100, 2000, period=True, doc="training samples (bars) per fit"),
        IntGene("refit", 250, 2000, doc="bars between refits (cost: one fit per refit bars)"),
        IntGene("components", 1, 4, doc="principal components kept of the 8 features"),
        IntGene("depth", 1, 6, doc="depth of the decision tree"),
        FloatGene("quantile", 0.1, 0.45, doc="tail share of each side: +1 above 1-q, -1 below q"),
        ChoiceGene("direction", ("long", "both"), doc="long only, or long and short"),
    ),
    compute=compute,
    lookback=lambda p: first_fit_bar(p["feature_period"], p["horizon"], p["window"]),
    doc=__doc__.splitlines()[0],
    learned=True,
)
