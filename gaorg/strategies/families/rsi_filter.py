"""RSI filter (role: filter): no longs when overbought, no shorts when oversold.

Wilder's RSI over ``period`` bars: longs are allowed while RSI < ``upper`` and shorts while
RSI > ``lower``; both are blocked in warm-up. RSI is a ratio of price changes, so scale-free.
"""

from __future__ import annotations

import numpy as np

from gaorg.data.bars import Bars
from gaorg.strategies.genes import FloatGene, IntGene
from gaorg.strategies.indicators import rsi
from gaorg.strategies.memo import Memo, shared
from gaorg.strategies.spec import ModuleSpec, Params, Role


def indicators(params: Params) -> tuple:
    """The batch memo's keys that ``compute`` asks for (``ModuleSpec.indicators``)."""
    return (("rsi", params["period"]),)


def compute(bars: Bars, params: Params, memo: Memo | None = None) -> tuple[np.ndarray, np.ndarray]:
    period = params["period"]
    r = shared(memo, bars, "rsi", period, lambda: rsi(np.asarray(bars.close), period))
    return r < params["upper"], r > params["lower"]  # NaN (warm-up) compares False: blocked


SPEC = ModuleSpec(
    name="rsi_filter",
    family="RSI filter",
    role=Role.FILTER,
    genes=(
        IntGene("period", 2, 1000, period=True, doc="RSI period, bars"),
        FloatGene("upper", 50.0, 95.0, doc="longs blocked at or above this RSI (overbought)"),
        FloatGene("lower", 5.0, 50.0, doc="shorts blocked at or below this RSI (oversold)"),
    ),
    compute=compute,
    lookback=lambda p: int(p["period"]),
    doc=__doc__.splitlines()[0],
    indicators=indicators,
)
