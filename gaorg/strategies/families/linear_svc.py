"""Linear SVC classifier (role: entry, learned): the sign of the next ``horizon`` bars' return.

A scikit-learn ``LinearSVC`` on the first five scale-free features of ``learned.features``
(1-bar return, momentum over period and 4*period, distance from the SMA, RSI), refitted every
``refit`` bars on the trailing ``window`` samples whose labels (the sign of the forward return)
are known at the fit bar; it predicts up (+1) or down (-1, flat with ``direction="long"``) until the
next refit. Flat before the first fit and while the training window holds one class only.
Cost: one fit per ``refit`` bars on at most 2,000 rows of 5 features.
"""

from __future__ import annotations

import numpy as np

from gaorg.data.bars import Bars
from gaorg.strategies import learned, learned_models
from gaorg.strategies.genes import ChoiceGene, FloatGene
from gaorg.strategies.spec import ModuleSpec, Params, Role

COLUMNS = slice(0, 5)


def compute(bars: Bars, params: Params, scored_from: int = 0) -> np.ndarray:
    c = 10.0 ** params["log_c"]
    fit, apply = learned_models.linear_svc(c)
    blocks = learned_models.linear_svc_blocks(c)
    return learned.predict_cached(bars, params, "linear_svc", COLUMNS, (c,), fit, apply, scored_from, blocks)


SPEC = ModuleSpec(
    name="linear_svc",
    family="linear SVC classifier",
    role=Role.ENTRY,
    genes=(
        *learned.window_genes("label: sign of the return over the next horizon bars"),
        FloatGene("log_c", -3.0, 1.0, doc="log10 of the SVC's C (smaller: stronger regularisation)"),
        ChoiceGene("direction", ("long", "both"), doc="long only, or long and short"),
    ),
    compute=compute,
    lookback=learned.lookback,
    doc=__doc__.splitlines()[0],
    learned=True,
)
