"""VWAP reversion (role: entry): fade stretches away from the rolling VWAP, measured as a z-score.

d = log(close / VWAP) with the VWAP of the typical price over ``period`` bars (a plain mean where
a window has no volume); z = d / rolling std of d over ``period`` bars. Long when z < -``entry_z``
until z rises above -``exit_z``; short (``direction="both"``) when z > ``entry_z`` until z falls
below ``exit_z``. A log ratio over its own dispersion: scale-free.
"""

from __future__ import annotations

import numpy as np

from gaorg.data.bars import Bars
from gaorg.strategies.genes import ChoiceGene, FloatGene, IntGene
from gaorg.strategies.indicators import vwap_zscore
from gaorg.strategies.memo import Memo, shared
from gaorg.strategies.signals import reversion_state
from gaorg.strategies.spec import ModuleSpec, Params, Role


def zscore(bars: Bars, period: int) -> np.ndarray:
    """The VWAP z-score at each bar (NaN in warm-up, or where the dispersion is 0)."""
    arr = [np.asarray(getattr(bars, f)) for f in ("high", "low", "close", "volume")]
    return vwap_zscore(*arr, period)


def indicators(params: Params) -> tuple:
    """The batch memo's keys that ``compute`` asks for (``ModuleSpec.indicators``)."""
    return (("vwap_z", params["period"]),)


def compute(bars: Bars, params: Params, memo: Memo | None = None) -> np.ndarray:
    period = params["period"]
    z = shared(memo, bars, "vwap_z", period, lambda: zscore(bars, period))
    return reversion_state(z, params["entry_z"], params["exit_z"], params["direction"] == "both")


def check(params: Params) -> str | None:
    if params["exit_z"] >= params["entry_z"]:
        return f"exit_z ({params['exit_z']}) must be below entry_z ({params['entry_z']})"
    return None


SPEC = ModuleSpec(
    name="vwap_reversion",
    family="VWAP reversion",
    role=Role.ENTRY,
    genes=(
        IntGene("period", 5, 1000, period=True, doc="VWAP and dispersion window, bars"),
        FloatGene("entry_z", 0.5, 4.0, doc="enter beyond this many standard deviations from VWAP"),
        FloatGene("exit_z", -1.0, 2.0, doc="leave once back inside this z (negative: past VWAP)"),
        ChoiceGene("direction", ("long", "both"), doc="long only, or long and short"),
    ),
    compute=compute,
    lookback=lambda p: 2 * int(p["period"]) - 1,
    doc=__doc__.splitlines()[0],
    check=check,
    indicators=indicators,
)
