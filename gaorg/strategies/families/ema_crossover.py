"""EMA crossover: long while the fast EMA is above the slow one, short (if allowed) while below.

Role: entry. Scale-free: the sign of ``ema_fast - ema_slow`` does not depend on the price level.
One fused numba pass (``signals.ema_cross_signal``): evolution evaluates it millions of times.
"""

from __future__ import annotations

import numpy as np

from gaorg.data.bars import Bars
from gaorg.strategies.genes import ChoiceGene, IntGene
from gaorg.strategies.signals import ema_cross_signal
from gaorg.strategies.spec import ModuleSpec, Params, Role


def compute(bars: Bars, params: Params) -> np.ndarray:
    return ema_cross_signal(np.asarray(bars.close), params["fast"], params["slow"], params["direction"] == "both")


def check(params: Params) -> str | None:
    if params["fast"] >= params["slow"]:
        return f"fast ({params['fast']}) must be shorter than slow ({params['slow']})"
    return None


SPEC = ModuleSpec(
    name="ema_crossover",
    family="EMA crossover",
    role=Role.ENTRY,
    genes=(
        IntGene("fast", 2, 500, period=True, doc="fast EMA period, bars"),
        IntGene("slow", 3, 2000, period=True, doc="slow EMA period, bars"),
        ChoiceGene("direction", ("long", "both"), doc="long only, or long and short"),
    ),
    compute=compute,
    lookback=lambda p: int(p["slow"]),
    doc=__doc__.splitlines()[0],
    check=check,
    exact=True,  # a fused pass: the signal is already in {-1, 0, 1}
)
