"""One backtest, end to end: targets (or a genome) and bars in, metrics, equity and trades out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gaorg.backtest.engine import DEFAULT_COSTS, Costs, SimResult, simulate
from gaorg.backtest.metrics import compute_metrics
from gaorg.data.bars import Bars


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """``metrics`` (the keys of ``compute_metrics``), per-bar ``equity``/``units`` over bars
    ``[start, end)``, the ``trades`` record array, the ``target`` that was traded, and ``sim``."""

    metrics: dict[str, Any]
    sim: SimResult
    target: np.ndarray

    @property
    def equity(self) -> np.ndarray:
        return self.sim.equity

    @property
    def units(self) -> np.ndarray:
        return self.sim.units

    @property
    def trades(self) -> np.ndarray:
        return self.sim.trades

    @property
    def start(self) -> int:
        return self.sim.start

    @property
    def end(self) -> int:
        return self.sim.end

    @property
    def costs(self) -> Costs:
        return self.sim.costs


def backtest(
    bars: Bars, plan_or_target, costs: Costs = DEFAULT_COSTS, start: int = 0, end: int | None = None
) -> BacktestResult:
    """Simulate a ``TargetPlan`` (target, stop, take) or a bare target array and compute metrics."""
    sim = simulate(bars, plan_or_target, costs=costs, start=start, end=end)
    target = getattr(plan_or_target, "target", plan_or_target)
    return BacktestResult(
        compute_metrics(sim, bars.periods_per_year), sim, np.asarray(target, dtype=np.float64)
    )


def backtest_genome(
    genome, bars: Bars, costs: Costs = DEFAULT_COSTS, start: int = 0, end: int | None = None
) -> BacktestResult:
    """Compose the genome's targets over all ``bars`` (history warms indicators), then backtest.

    Raises ``DataTooShortError`` when the bars are too few for the genome's longest period.
    """
    from gaorg.strategies.compose import targets

    return backtest(bars, targets(genome, bars), costs, start, end)
