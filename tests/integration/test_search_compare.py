"""The search comparison: NSGA-II, random sampling and Optuna's NSGA-II at one budget, one space."""

from __future__ import annotations

import math

import optuna
import pytest

from gaorg.data.planted import planted_market
from gaorg.data.resample import resample_bars
from gaorg.evolve.config import EvolveConfig
from gaorg.evolve.operators import Space
from gaorg.evolve.run import build_market
from gaorg.research.search import compare, genome_from_trial, run_nsga2, run_optuna, run_random


@pytest.fixture(scope="module")
def problem():
    bars = {}
    for i in range(2):
        b = planted_market("trend", f"T{i}", 1500, edge=0.003, seed=i).bars
        bars[(b.symbol, "1h")] = b
        bars[(b.symbol, "4h")] = resample_bars(b, "4h")
    config = EvolveConfig(symbols=("T0", "T1"), timeframes=("4h", "1h"), population=6, generations=1, seed=3,
                          folds=2, workers=0)
    return config, bars


def test_an_optuna_trial_builds_the_genome_it_names():
    space = Space.from_modules()
    trial = optuna.trial.FixedTrial({
        "entry": "ema_crossover", "entry.ema_crossover.fast": 8, "entry.ema_crossover.slow": 30,
        "entry.ema_crossover.direction": "both", "sizing": "none", "n_filter": 1, "filter0": "rsi_filter",
        "filter0.rsi_filter.period": 14, "filter0.rsi_filter.upper": 70.0, "filter0.rsi_filter.lower": 30.0,
        "n_exit": 0})
    g = genome_from_trial(trial, space)
    assert g.modules == ("ema_crossover", "rsi_filter")
    assert dict(g.entry.params) == {"fast": 8, "slow": 30, "direction": "both"} and g.sizing is None


def test_the_baselines_spend_exactly_nsga2s_budget_of_distinct_genomes(problem):
    config, bars = problem
    found, budget, cost = run_nsga2(config, bars)
    space = Space.from_modules().with_lookback(build_market(config, bars, 1).max_lookback)
    assert budget > len(found) > 0  # the coarse stage spent part of it
    assert len(found) < cost < budget  # a coarse evaluation backtests a fraction of a fine one's bars
    for got in (run_random(config, bars, budget), run_optuna(config, bars, budget)):
        keys = [t.key for _, t in got]
        assert len(keys) == len(set(keys)) == budget
        assert all(g.canonical_hash() == t.key for g, t in got)
        assert all(space.admits(g) for g, _ in got)  # within the modules and the warm-up the folds give


def test_compare_scores_every_method_on_the_same_terms(problem):
    config, bars = problem
    scores = compare(config, bars, fresh=lambda genome: 1.0)
    assert [s.method for s in scores] == ["nsga2", "random", "optuna"]
    assert len({s.evaluations for s in scores}) == 1
    by_compute = compare(config, bars, fresh=lambda genome: 1.0, methods=("nsga2", "random"), budget="compute")
    assert by_compute[0].evaluations == scores[0].evaluations > by_compute[1].evaluations
    for s in scores:
        assert s.hypervolume > 0 and math.isfinite(s.best_sharpe) and math.isfinite(s.holdout_sharpe)
        assert s.fresh_sharpe == 1.0 and s.best_modules
