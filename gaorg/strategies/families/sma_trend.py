"""SMA trend filter (role: filter): trade only with the trend of a simple moving average.

Longs are allowed while close > SMA * (1 + band), shorts while close < SMA * (1 - band); the
band (a fraction of price, so scale-free) leaves a neutral zone where neither is allowed.
Blocked in warm-up.
"""

from __future__ import annotations

import numpy as np

from gaorg.data.bars import Bars
from gaorg.strategies.fused import band_filter, sma_band_filter
from gaorg.strategies.genes import FloatGene, IntGene
from gaorg.strategies.indicators import sma
from gaorg.strategies.memo import Memo, shared
from gaorg.strategies.spec import ModuleSpec, Params, Role


def indicators(params: Params) -> tuple:
    """The batch memo's keys that ``compute`` asks for (``ModuleSpec.indicators``)."""
    return (("sma_close", params["period"]),)


def compute(bars: Bars, params: Params, memo: Memo | None = None) -> tuple[np.ndarray, np.ndarray]:
    close = np.asarray(bars.close)
    period = params["period"]
    avg = shared(memo, bars, "sma_close", period, lambda: sma(close, period))
    band = params["band"]
    return close > avg * (1.0 + band), close < avg * (1.0 - band)


def apply(bars: Bars, params: Params, signal: np.ndarray, memo: Memo | None = None) -> None:
    """``compute`` and the composer's filter in one pass (``fused.sma_band_filter``): in place."""
    close = np.asarray(bars.close)
    period = params["period"]
    up, down = 1.0 + params["band"], 1.0 - params["band"]
    if memo is None:
        sma_band_filter(signal, close, period, up, down)
    else:
        band_filter(signal, close, memo.get(bars, "sma_close", period, lambda: sma(close, period)), up, down)


SPEC = ModuleSpec(
    name="sma_trend",
    family="SMA trend filter",
    role=Role.FILTER,
    genes=(
        IntGene("period", 5, 2000, period=True, doc="SMA period, bars"),
        FloatGene("band", 0.0, 0.1, doc="neutral band around the SMA, fraction of price"),
    ),
    compute=compute,
    lookback=lambda p: int(p["period"]),
    doc=__doc__.splitlines()[0],
    indicators=indicators,
    apply=apply,
)
