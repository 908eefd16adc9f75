"""Donchian breakout (role: entry): Donchian's channel rule on the n-bar high-low channel.

Long from the first close above the highest high of the previous ``period`` bars, until the
first close below the lowest low of the previous ``period`` bars, which goes short with
``direction="both"`` (stop and reverse) or flat with ``"long"``. The channel excludes bar i, so a
breakout is a fact at bar i's close. Scale-free: only comparisons of prices. Tighter exits come
from an exit module (ATR stop-loss) rather than a second channel, which would double the cost.
"""

from __future__ import annotations

import numpy as np

from gaorg.data.bars import Bars
from gaorg.strategies.genes import ChoiceGene, IntGene
from gaorg.strategies.signals import donchian_signal
from gaorg.strategies.spec import ModuleSpec, Params, Role


def compute(bars: Bars, params: Params) -> np.ndarray:
    return donchian_signal(
        np.asarray(bars.high),
        np.asarray(bars.low),
        np.asarray(bars.close),
        params["period"],
        params["direction"] == "both",
    )


SPEC = ModuleSpec(
    name="donchian_breakout",
    family="Donchian breakout",
    role=Role.ENTRY,
    genes=(
        IntGene("period", 2, 2000, period=True, doc="channel length: bars of highs/lows to break"),
        ChoiceGene("direction", ("long", "both"), doc="long only, or long and short (stop and reverse)"),
    ),
    compute=compute,
    lookback=lambda p: int(p["period"]),
    doc=__doc__.splitlines()[0],
    exact=True,  # a fused pass: the signal is already in {-1, 0, 1}
)
