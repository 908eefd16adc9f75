"""Funding-rate carry (role: entry): be paid the funding rather than pay it.

The mean funding per bar over ``period`` bars (``bars.funding``: the rates paid at the close of
each bar), annualised with the bars in a 365-day year, so thresholds mean the same on any
timeframe. Short while it is above ``threshold`` (longs pay shorts); long while it is below
-``threshold`` (``direction="both"``); flat otherwise. Rates, not prices: scale-free. A series
without funding (spot, zeros) never trades.
"""

from __future__ import annotations

import numpy as np

from gaorg.data.bars import Bars
from gaorg.strategies.genes import ChoiceGene, FloatGene, IntGene
from gaorg.strategies.indicators import sma
from gaorg.strategies.memo import Memo, shared
from gaorg.strategies.spec import ModuleSpec, Params, Role


def indicators(params: Params) -> tuple:
    """The batch memo's keys that ``compute`` asks for (``ModuleSpec.indicators``)."""
    return (("funding_annual", params["period"]),)


def compute(bars: Bars, params: Params, memo: Memo | None = None) -> np.ndarray:
    period = params["period"]
    ppy = bars.periods_per_year
    annual = shared(memo, bars, "funding_annual", period, lambda: sma(np.asarray(bars.funding), period) * ppy)
    signal = np.where(annual > params["threshold"], -1.0, 0.0)
    if params["direction"] == "both":
        signal[annual < -params["threshold"]] = 1.0
    return signal


SPEC = ModuleSpec(
    name="funding_carry",
    family="funding-rate carry",
    role=Role.ENTRY,
    genes=(
        IntGene("period", 1, 1000, period=True, doc="funding averaging window, bars"),
        FloatGene("threshold", 0.0, 1.0, doc="annualised funding rate to act on (0.1 = 10%/year)"),
        ChoiceGene("direction", ("short", "both"), doc="short on high funding only, or also long on negative"),
    ),
    compute=compute,
    lookback=lambda p: int(p["period"]),
    doc=__doc__.splitlines()[0],
    indicators=indicators,
)
