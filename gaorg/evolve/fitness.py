"""Fitness: one genome, a basket of series, walk-forward folds -> objectives and per-cell figures.

Pure functions of their arguments (no state, no randomness), so a Dask worker, a thread or the
loop's own process compute the same numbers. ``Market`` is what goes to the workers once per
stage; ``evaluate_batch`` is the task a worker runs.

Objectives over the basket's asset × fold cells (each fold simulated from flat by the engine):
``sharpe`` mean annualised Sharpe, ``max_drawdown`` the worst drawdown (a positive fraction),
``consistency`` the share of cells with a positive total return.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numba import njit

from gaorg.data.bars import Bars
from gaorg.evolve.folds import Split
from gaorg.evolve.stats import sharpe_per_bar
from gaorg.evolve.types import CELL_FIELDS, WORST, Trial
from gaorg.strategies.genome import Genome


@dataclass(frozen=True, eq=False)
class Market:
    """A stage's basket: the series, their splits, the fold scheme and the trading costs."""

    timeframe: str
    bars: tuple[Bars, ...]
    splits: tuple[Split, ...]
    scheme: Literal["anchored", "rolling"]
    costs: Any  # gaorg.backtest.engine.Costs

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(b.symbol for b in self.bars)

    @property
    def max_lookback(self) -> int:
        """The longest lookback every series' folds can warm up (the shortest training span)."""
        return min(s.train_bars for s in self.splits) - 1


def evaluate_genome(genome: Genome, market: Market) -> Trial:
    """Score ``genome`` on every asset × fold of ``market`` (a pure function)."""
    from gaorg.backtest.engine import simulate
    from gaorg.strategies.compose import targets

    key = genome.canonical_hash()
    k = len(market.splits[0].folds)
    cells = np.zeros((len(market.bars) * k, len(CELL_FIELDS)))
    if genome.lookback() > market.max_lookback:
        return Trial(key, WORST, cells, feasible=False)
    init_cash = float(market.costs.init_cash)
    row = 0
    for bars, split in zip(market.bars, market.splits, strict=True):
        plan = None
        if market.scheme == "anchored":
            series = bars.slice(0, split.holdout_start)
            plan = targets(genome, series)
        for fold in split.folds:
            offset = 0
            if market.scheme == "rolling":
                series = bars.slice(fold.train_start, fold.test_end)
                plan = targets(genome, series)
                offset = fold.train_start
            sim = simulate(series, plan.target, plan.stop, plan.take, market.costs,
                           start=fold.test_start - offset, end=fold.test_end - offset)
            cells[row, :7] = fold_cells(np.asarray(sim.equity, dtype=np.float64), init_cash)
            cells[row, 7] = len(sim.trades)
            row += 1
    ppy = market.bars[0].periods_per_year
    return Trial(key, objectives_of(cells, ppy), cells)


def objectives_of(cells: np.ndarray, periods_per_year: float) -> tuple[float, float, float]:
    """(mean annualised Sharpe, worst max drawdown, share of positive cells) of a trial's cells."""
    sharpes = [sharpe_per_bar(c) * math.sqrt(periods_per_year) for c in cells]
    sharpe = float(np.mean(sharpes)) if sharpes else 0.0
    return (sharpe, float(cells[:, 6].max(initial=0.0)), float(np.mean(cells[:, 5] > 0.0)))


def evaluate_batch(genomes: Sequence[Genome], market: Market) -> list[Trial]:
    """The task a worker runs: a few genomes at once (fewer, larger tasks schedule faster)."""
    return [evaluate_genome(g, market) for g in genomes]


def holdout_metrics(genome: Genome, market: Market) -> dict[str, dict[str, float]]:
    """Backtest metrics (keys of ``gaorg backtest``) on each series' held-out newest slice.

    The strategy is composed over the whole series (indicators warm up on history it has seen;
    no target depends on a later bar) and simulated from flat over ``[holdout_start, n)``.
    """
    from gaorg.backtest.run import backtest
    from gaorg.strategies.compose import targets

    out: dict[str, dict[str, float]] = {}
    for bars, split in zip(market.bars, market.splits, strict=True):
        if split.holdout_start >= len(bars):
            continue
        result = backtest(bars, targets(genome, bars), market.costs, start=split.holdout_start)
        out[bars.symbol] = {k: float(v) for k, v in result.metrics.items()}
    return out


def holdout_batch(genomes: Sequence[Genome], market: Market) -> list[dict[str, dict[str, float]]]:
    return [holdout_metrics(g, market) for g in genomes]


def mean_metrics(per_asset: dict[str, dict[str, float]]) -> dict[str, float]:
    """Metrics averaged over the basket (same keys)."""
    if not per_asset:
        return {}
    keys = next(iter(per_asset.values())).keys()
    return {k: float(np.mean([m[k] for m in per_asset.values()])) for k in keys}


@njit(cache=True, nogil=True)
def fold_cells(equity: np.ndarray, init_cash: float) -> np.ndarray:
    """``[n, Σr, Σr², Σr³, Σr⁴, total_return, max_drawdown]`` of an equity curve started flat."""
    out = np.zeros(7)
    prev = init_cash
    peak = init_cash
    worst = 0.0
    for i in range(len(equity)):
        eq = equity[i]
        r = eq / prev - 1.0 if prev > 0 else 0.0
        out[0] += 1.0
        out[1] += r
        out[2] += r * r
        out[3] += r * r * r
        out[4] += r * r * r * r
        if eq > peak:
            peak = eq
        if peak > 0:
            dd = 1.0 - eq / peak
            if dd > worst:
                worst = dd
        prev = eq
    out[5] = (equity[-1] / init_cash - 1.0) if len(equity) else 0.0
    out[6] = worst
    return out
