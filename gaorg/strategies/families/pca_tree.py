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
from gaorg.strategies import learned, learned_models
from gaorg.strategies.genes import ChoiceGene, FloatGene, IntGene
from gaorg.strategies.spec import ModuleSpec, Params, Role


def compute(bars: Bars, params: Params, scored_from: int = 0) -> np.ndarray:
    k, depth, q = params["components"], params["depth"], params["quantile"]
    fit, apply = learned_models.pca_tree(k, depth, q)
    blocks = learned_models.pca_tree_blocks(k, depth, q)
    return learned.predict_cached(
        bars, params, "pca_tree", slice(None), (k, depth, q), fit, apply, scored_from, blocks
    )


SPEC = ModuleSpec(
    name="pca_tree",
    family="PCA + tree quantile model",
    role=Role.ENTRY,
    genes=(
        *learned.window_genes("label: quantile class of the next horizon bars' return"),
        IntGene("components", 1, 4, doc="principal components kept of the 8 features"),
        IntGene("depth", 1, 6, doc="depth of the decision tree"),
        FloatGene("quantile", 0.1, 0.45, doc="tail share of each side: +1 above 1-q, -1 below q"),
        ChoiceGene("direction", ("long", "both"), doc="long only, or long and short"),
    ),
    compute=compute,
    lookback=learned.lookback,
    doc=__doc__.splitlines()[0],
    learned=True,
)
