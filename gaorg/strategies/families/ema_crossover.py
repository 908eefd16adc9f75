"""EMA crossover: long while the fast EMA is above the slow one, short (if allowed) while below.

Scale-free: the sign of ``ema_fast - ema_slow`` does not depend on the asset's price level.
"""

from __future__ import annotations

import numpy as np

from gaorg.data.bars import Bars
from gaorg.strategies.genes import ChoiceGene, IntGene
from gaorg.strategies.indicators import ema
from gaorg.strategies.spec import ModuleSpec, Params, Role


def compute(bars: Bars, params: Params) -> np.ndarray:
    close = np.asarray(bars.close)
    diff = ema(close, params["fast"]) - ema(close, params["slow"])
    signal = np.sign(diff)
    if params["direction"] == "long":
        signal = np.maximum(signal, 0.0)
    return np.where(np.isnan(diff), 0.0, signal)


def check(params: Params) -> str | None:
    if params["fast"] >= params["slow"]:
        return f"fast ({params['fast']}) must be shorter than slow ({params['slow']})"
    return None


SPEC = ModuleSpec(
    name="ema_crossover",
    family="EMA crossover",
    role=Role.ENTRY,
    genes=(
        IntGene("fast", 2, 200, period=True, doc="fast EMA period, bars"),
        IntGene("slow", 3, 800, period=True, doc="slow EMA period, bars"),
        ChoiceGene("direction", ("long", "both"), doc="long only, or long and short"),
    ),
    compute=compute,
    lookback=lambda p: int(p["slow"]),
    doc=__doc__.splitlines()[0],
    check=check,
)
