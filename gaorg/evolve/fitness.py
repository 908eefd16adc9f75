"""Fitness: one genome, a basket of series, walk-forward folds -> objectives and per-cell figures.

Pure functions of their arguments (no state, no randomness), so a Dask worker, a thread or the
loop's own process compute the same numbers. ``Market`` is what goes to the workers once per
stage; ``evaluate_batch`` is the task a worker runs.

Objectives over the basket's asset × fold cells (each fold simulated from flat by the engine):
``sharpe`` mean annualised Sharpe, ``max_drawdown`` the worst drawdown (a positive fraction),
``consistency`` the share of cells with a positive total return. A genome that needs more
history than the folds give, or trades less than ``min_trades`` per cell, is not scored (it
gets objectives below any real strategy and stays out of the overfitting statistics).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from gaorg.data.bars import Bars
from gaorg.evolve.folds import Split
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
    min_trades: float = 1.0  # per asset × fold, on average; fewer: not scored

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(b.symbol for b in self.bars)

    @property
    def max_lookback(self) -> int:
        """The longest lookback every series' folds can warm up (the shortest training span)."""
        return min(s.train_bars for s in self.splits) - 1


def evaluate_genome(
    genome: Genome, market: Market, reject_below: float | None = None, batch: Batch | None = None
) -> Trial:
    """Score ``genome`` on every asset × fold of ``market`` (a pure function of its arguments, but
    for ``Trial.seconds``: the time this worker spent on it, which the run's timing table sums).

    ``reject_below``: on a basket of several assets, a genome whose mean Sharpe over the folds of
    one asset (picked by the genome's hash, so no asset screens them all) is below this is not
    scored on the others (a ``rejected`` trial, infeasible, at a fraction of the cost); the
    genomes that pass are scored exactly as without it.
    ``batch``: what the genomes of one batch share (:class:`Batch`); the same trial without it.
    """
    start = time.perf_counter()
    trial = _score(genome, market, reject_below, batch)
    return dataclasses.replace(trial, seconds=time.perf_counter() - start)


def _score(
    genome: Genome, market: Market, reject_below: float | None = None, batch: Batch | None = None
) -> Trial:
    key = genome.canonical_hash()
    cells = np.zeros((len(market.bars) * len(market.splits[0].folds), len(CELL_FIELDS)))
    if genome.lookback() > market.max_lookback:
        return Trial(key, WORST, cells, feasible=False)
    screen = _screen(key, market, reject_below)
    order = range(len(market.bars)) if screen is None else [screen, *(a for a in range(len(market.bars)) if a != screen)]
    for a in order:
        _asset_cells(genome, market, a, cells, batch)
        if a == screen and _rejects(cells, market, a, reject_below):
            return Trial(key, WORST, cells, feasible=False, rejected=True)
    return _trial(key, cells, market)


def _screen(key: str, market: Market, reject_below: float | None) -> int | None:
    """The asset that screens a genome (by its hash, so no asset screens them all), or None."""
    n = len(market.bars)
    return int(key[:8], 16) % n if reject_below is not None and n > 1 else None


def _rejects(cells: np.ndarray, market: Market, a: int, reject_below: float | None) -> bool:
    k = len(market.splits[0].folds)
    return bool(cells[a * k:(a + 1) * k, 8].mean() < reject_below)


def _trial(key: str, cells: np.ndarray, market: Market) -> Trial:
    if cells[:, 7].sum() < market.min_trades * len(cells):  # (almost) never trades: not a strategy
        return Trial(key, WORST, cells, feasible=False)
    return Trial(key, objectives_of(cells), cells)


def _asset_cells(genome: Genome, market: Market, a: int, cells: np.ndarray, batch: Batch | None) -> None:
    """Fill the rows of asset ``a`` (one per fold) of ``cells``."""
    from gaorg.backtest.engine import fold_stats
    from gaorg.strategies.compose import targets

    k = len(market.splits[0].folds)
    memo = None if batch is None else batch.memo
    cut = (lambda a, i, j: market.bars[a].slice(i, j)) if batch is None else batch.series
    split = market.splits[a]
    if market.scheme == "anchored":
        series = cut(a, 0, split.holdout_start)
        bounds = split.bounds()  # only these bars' targets are read: a learned entry skips fits before
        plan = targets(genome, series, memo=memo, scored_from=int(bounds[:, 0].min()))
        raw = fold_stats(series, plan, market.costs, bounds, with_sums=True)
    else:  # rolling: each fold composes on its own training window (learned modules refit)
        rows = []
        for fold in split.folds:
            series = cut(a, fold.train_start, fold.test_end)
            bounds = np.array([[fold.test_start - fold.train_start, len(series)]], dtype=np.int64)
            plan = targets(genome, series, memo=memo, scored_from=int(bounds[0, 0]))
            rows.append(fold_stats(series, plan, market.costs, bounds, with_sums=True)[0])
        raw = np.array(rows)
    cells[a * k:(a + 1) * k] = raw[:, _ENGINE_TO_CELL]


# engine columns: total_return, sharpe, max_drawdown, trades, n, Σr, Σr², Σr³, Σr⁴  -> CELL_FIELDS
_ENGINE_TO_CELL = [4, 5, 6, 7, 8, 0, 2, 3, 1]


def objectives_of(cells: np.ndarray) -> tuple[float, float, float]:
    """(mean annualised Sharpe, worst max drawdown, share of positive cells) of a trial's cells."""
    if len(cells) == 0:
        return WORST
    return (float(cells[:, 8].mean()), float(cells[:, 6].max()), float(np.mean(cells[:, 5] > 0.0)))


def genome_cost(genome: Genome) -> float:
    """A rough relative cost of evaluating ``genome``: learned modules fit models (~100x)."""
    from gaorg.strategies.catalogue import CATALOGUE

    return 100.0 if any(CATALOGUE[m].learned for m in genome.modules) else 1.0


def evaluate_batch(genomes: Sequence[Genome], market: Market, reject_below: float | None = None) -> list[Trial]:
    """The task a worker runs: a few genomes at once on one market, sharing their work (a
    :class:`Batch`: each series sliced once, each distinct indicator computed once).

    Each trial's ``seconds`` is that genome's share of the batch's time (what the run's timing
    table attributes to its entry module)."""
    batch = Batch(market, genomes)
    n, k = len(market.bars), len(market.splits[0].folds)
    keys = [g.canonical_hash() for g in genomes]
    cells = [np.zeros((n * k, len(CELL_FIELDS))) for _ in genomes]
    seconds = [0.0] * len(genomes)
    done: dict[int, Trial] = {}
    screens = [_screen(key, market, reject_below) for key in keys]
    for i, g in enumerate(genomes):
        if g.lookback() > market.max_lookback:
            done[i] = Trial(keys[i], WORST, cells[i], feasible=False)

    def fill(i: int, a: int) -> None:
        start = time.perf_counter()
        _asset_cells(genomes[i], market, a, cells[i], batch)
        seconds[i] += time.perf_counter() - start

    # series by series, every genome on one series before the next, so that the indicators the
    # genomes share on a series are kept only while that series is evaluated (genome by genome,
    # a 256-genome batch on 50 series of a year of 15m bars kept them for every series: 59 MB);
    # first each genome's screening asset, so a rejected genome is scored on nothing else
    for a in range(n):
        for i in range(len(genomes)):
            if i not in done and screens[i] == a:
                fill(i, a)
                if _rejects(cells[i], market, a, reject_below):
                    done[i] = Trial(keys[i], WORST, cells[i], feasible=False, rejected=True)
        batch.done_with(a)  # the few screening genomes' shared indicators: not kept for the rest
    for a in range(n):
        for i in range(len(genomes)):
            if i not in done and screens[i] != a:
                fill(i, a)
        batch.done_with(a)
    trials = [done.get(i) or _trial(keys[i], cells[i], market) for i in range(len(genomes))]
    return [dataclasses.replace(t, seconds=s) for t, s in zip(trials, seconds, strict=True)]


class Batch:
    """What the genomes of one batch share on ``market``: each asset's series (and each rolling
    fold's window) sliced once, so every genome composes over the same ``Bars`` objects, and a
    :class:`~gaorg.strategies.memo.Memo` of their indicators (bounded; dropped with the batch),
    planned from ``genomes``: an indicator one genome needs is not kept, a shared one until its
    last use or until the batch is done with its series (:meth:`done_with`; ``evaluate_batch``
    goes series by series, so a rejected genome's unspent uses hold nothing past its series).

    Sharing never changes a trial: tests/unit/test_batch_parity.py holds the batch path to
    ``gaorg backtest`` bit for bit.
    """

    def __init__(self, market: Market, genomes: Sequence[Genome] = (), max_bytes: int | None = None) -> None:
        from gaorg.strategies.compose import indicator_uses
        from gaorg.strategies.memo import DEFAULT_BYTES, Memo

        self.market = market
        self.memo = Memo(DEFAULT_BYTES if max_bytes is None else max_bytes)
        self._series: dict[tuple[int, int, int], Bars] = {}
        if genomes:  # the uses on each series: every scored genome composes once per series
            self.memo.plan(indicator_uses(g for g in genomes if g.lookback() <= market.max_lookback))

    def done_with(self, asset: int) -> None:
        """No genome of the batch reads ``asset`` again: its slices and their indicators go."""
        for key in [key for key in self._series if key[0] == asset]:
            self.memo.forget(self._series.pop(key))

    def series(self, asset: int, start: int, stop: int) -> Bars:
        """Bars ``[start, stop)`` of the basket's ``asset``-th series, the same object every call."""
        key = (asset, start, stop)
        bars = self._series.get(key)
        if bars is None:
            bars = self._series[key] = self.market.bars[asset].slice(start, stop)
        return bars


def holdout_metrics(genome: Genome, market: Market) -> tuple[dict[str, dict[str, float]], np.ndarray]:
    """Backtest metrics (keys of ``gaorg backtest``) on each series' held-out newest slice, and the
    power sums of the per-bar returns pooled over the basket (the hold-out's significance).

    The strategy is composed over the whole series (indicators warm up on history it has seen;
    no target depends on a later bar) and simulated from flat over ``[holdout_start, n)``.
    """
    from gaorg.backtest.run import backtest
    from gaorg.evolve.stats import return_sums
    from gaorg.strategies.compose import targets

    out: dict[str, dict[str, float]] = {}
    sums = np.zeros(5)
    for bars, split in zip(market.bars, market.splits, strict=True):
        if split.holdout_start >= len(bars):
            continue
        result = backtest(bars, targets(genome, bars), market.costs, start=split.holdout_start)
        out[bars.symbol] = {k: float(v) for k, v in result.metrics.items()}
        sums += return_sums(result.equity)
    return out, sums


def holdout_batch(genomes: Sequence[Genome], market: Market) -> list[tuple[dict[str, dict[str, float]], np.ndarray]]:
    return [holdout_metrics(g, market) for g in genomes]


def mean_metrics(per_asset: dict[str, dict[str, float]]) -> dict[str, float]:
    """Metrics averaged over the basket (same keys)."""
    if not per_asset:
        return {}
    keys = next(iter(per_asset.values())).keys()
    return {k: float(np.mean([m[k] for m in per_asset.values()])) for k in keys}
