"""Stochastic oscillator (role: entry): reversal when %D leaves the oversold or overbought zone.

%K is where the close sits in the ``k_period``-bar high-low range (0-100, scale-free); %D is its
``d_period``-bar SMA. Long when %D crosses up through ``lower`` (leaving oversold); when it
crosses down through ``upper`` (leaving overbought) the position goes short (``direction="both"``)
or flat (``"long"``). The position is held between crosses.
"""

from __future__ import annotations

import numpy as np

from gaorg.data.bars import Bars
from gaorg.strategies.genes import ChoiceGene, FloatGene, IntGene
from gaorg.strategies.signals import stochastic_signal
from gaorg.strategies.spec import ModuleSpec, Params, Role


def compute(bars: Bars, params: Params) -> np.ndarray:
    return stochastic_signal(
        np.asarray(bars.high),
        np.asarray(bars.low),
        np.asarray(bars.close),
        params["k_period"],
        params["d_period"],
        params["lower"],
        params["upper"],
        params["direction"] == "both",
    )


SPEC = ModuleSpec(
    name="stochastic",
    family="stochastic oscillator",
    role=Role.ENTRY,
    genes=(
        IntGene("k_period", 3, 1000, period=True, doc="%K range, bars"),
        IntGene("d_period", 1, 200, period=True, doc="%D smoothing (SMA of %K), bars"),
        FloatGene("lower", 5.0, 45.0, doc="oversold level; crossing up through it goes long"),
        FloatGene("upper", 55.0, 95.0, doc="overbought level; crossing down through it exits/shorts"),
        ChoiceGene("direction", ("long", "both"), doc="long only, or long and short"),
    ),
    compute=compute,
    lookback=lambda p: int(p["k_period"]) + int(p["d_period"]) - 1,
    doc=__doc__.splitlines()[0],
    exact=True,  # a fused pass: the signal is already in {-1, 0, 1}
)
