"""ATR stop-loss (role: exit): stop and take-profit distances in multiples of the ATR.

At bar i, stop = ``stop_mult`` * ATR(period) / close and take = ``take_mult`` * ATR / close,
fractions of the price (so scale-free); the engine fixes them at the entry bar and checks them
inside later bars. NaN (no exit) in warm-up.
"""

from __future__ import annotations

import numpy as np

from gaorg.data.bars import Bars
from gaorg.strategies.fused import atr_exit, scaled_pair
from gaorg.strategies.genes import FloatGene, IntGene
from gaorg.strategies.indicators import atr
from gaorg.strategies.memo import Memo
from gaorg.strategies.spec import ModuleSpec, Params, Role


def indicators(params: Params) -> tuple:
    """The batch memo's keys that ``compute`` asks for (``ModuleSpec.indicators``)."""
    return (("atr_rel", params["period"]),)


def compute(bars: Bars, params: Params, memo: Memo | None = None) -> tuple[np.ndarray, np.ndarray]:
    close = np.asarray(bars.close)
    period = params["period"]
    high, low = np.asarray(bars.high), np.asarray(bars.low)
    if memo is None:  # atr / close and both products in the ATR's pass (fused.atr_exit)
        return atr_exit(high, low, close, period, params["stop_mult"], params["take_mult"])
    rel = memo.get(bars, "atr_rel", period, lambda: atr(high, low, close, period) / close)
    return scaled_pair(rel, params["stop_mult"], params["take_mult"])


SPEC = ModuleSpec(
    name="atr_stop",
    family="ATR stop-loss",
    role=Role.EXIT,
    genes=(
        IntGene("period", 2, 1000, period=True, doc="ATR period, bars"),
        FloatGene("stop_mult", 0.5, 10.0, doc="stop-loss distance, ATRs below/above entry"),
        FloatGene("take_mult", 0.5, 30.0, doc="take-profit distance, ATRs (30: practically none)"),
    ),
    compute=compute,
    lookback=lambda p: int(p["period"]),
    doc=__doc__.splitlines()[0],
    indicators=indicators,
)
