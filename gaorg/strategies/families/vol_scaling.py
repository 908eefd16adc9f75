"""Volatility scaling (role: sizing): position scale = target vol / realised vol, capped at 1.

Realised vol is the standard deviation of log returns over ``period`` bars, annualised with the
bars in a 365-day year of the series' timeframe, so ``target_vol`` means the same on 1h and 1d.
Log returns: scale-free. NaN (flat) in warm-up; 1 where the price did not move.
"""

from __future__ import annotations

import numpy as np

from gaorg.data.bars import Bars
from gaorg.strategies.fused import hold_from_realised, vol_hold
from gaorg.strategies.genes import FloatGene, IntGene
from gaorg.strategies.indicators import realised_vol, scale_from_realised
from gaorg.strategies.memo import Memo, shared
from gaorg.strategies.spec import ModuleSpec, Params, Role


def indicators(params: Params) -> tuple:
    """The batch memo's keys that ``compute`` asks for (``ModuleSpec.indicators``)."""
    return (("realised_vol", params["period"]),)


def compute(bars: Bars, params: Params, memo: Memo | None = None) -> np.ndarray:
    annualise = float(np.sqrt(bars.periods_per_year))
    period = params["period"]
    close = np.asarray(bars.close)
    realised = shared(memo, bars, "realised_vol", period, lambda: realised_vol(close, period, annualise))
    return scale_from_realised(realised, params["target_vol"])  # indicators.vol_target_scale, in two


def hold(bars: Bars, params: Params, signal: np.ndarray, memo: Memo | None = None) -> np.ndarray:
    """The composer's hold of ``compute``'s scale, the scale computed only where it is sampled
    (``fused.vol_hold``; with a batch's memo, over its shared realised volatility)."""
    annualise = float(np.sqrt(bars.periods_per_year))
    period = params["period"]
    close = np.asarray(bars.close)
    if memo is None and period >= 1:
        return vol_hold(signal, close, period, annualise, params["target_vol"])
    realised = shared(memo, bars, "realised_vol", period, lambda: realised_vol(close, period, annualise))
    return hold_from_realised(signal, realised, params["target_vol"])


SPEC = ModuleSpec(
    name="vol_scaling",
    family="volatility scaling",
    role=Role.SIZING,
    genes=(
        IntGene("period", 5, 2000, period=True, doc="realised-volatility window, bars"),
        FloatGene("target_vol", 0.05, 2.0, doc="annualised volatility to aim for (0.5 = 50%)"),
    ),
    compute=compute,
    lookback=lambda p: int(p["period"]),
    doc=__doc__.splitlines()[0],
    indicators=indicators,
    hold=hold,
)
