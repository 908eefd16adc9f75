"""Ichimoku cloud (role: entry): with the trend when price is outside the cloud and the lines agree.

Tenkan and kijun are midpoints of the ``tenkan``/``kijun``-bar high-low ranges; the cloud's spans
(A: mean of tenkan and kijun; B: midpoint of the ``senkou``-bar range) are plotted ``kijun`` bars
ahead, so the cloud at bar i is the spans computed at bar ``i - kijun``: causal by construction.
Long while close > cloud top and tenkan > kijun; short (``direction="both"``) while close < cloud
bottom and tenkan < kijun; flat otherwise. Only price comparisons: scale-free. One fused numba
pass (six rolling extremes and a ring buffer for the displacement).
"""

from __future__ import annotations

import numpy as np

from gaorg.data.bars import Bars
from gaorg.strategies.genes import ChoiceGene, IntGene
from gaorg.strategies.signals import ichimoku_signal
from gaorg.strategies.spec import ModuleSpec, Params, Role


def compute(bars: Bars, params: Params) -> np.ndarray:
    return ichimoku_signal(
        np.asarray(bars.high),
        np.asarray(bars.low),
        np.asarray(bars.close),
        params["tenkan"],
        params["kijun"],
        params["senkou"],
        params["direction"] == "both",
    )


def check(params: Params) -> str | None:
    if not params["tenkan"] < params["kijun"] < params["senkou"]:
        return (
            f"periods must rise: tenkan ({params['tenkan']}) < kijun ({params['kijun']}) "
            f"< senkou ({params['senkou']})"
        )
    return None


SPEC = ModuleSpec(
    name="ichimoku",
    family="Ichimoku cloud",
    role=Role.ENTRY,
    genes=(
        IntGene("tenkan", 2, 300, period=True, doc="conversion line range, bars (classic 9)"),
        IntGene("kijun", 3, 600, period=True, doc="base line range and cloud displacement, bars (26)"),
        IntGene("senkou", 4, 1200, period=True, doc="span B range, bars (52)"),
        ChoiceGene("direction", ("long", "both"), doc="long only, or long and short"),
    ),
    compute=compute,
    lookback=lambda p: int(p["senkou"]) + int(p["kijun"]) - 1,
    doc=__doc__.splitlines()[0],
    check=check,
    exact=True,  # a fused pass: the signal is already in {-1, 0, 1}
)
