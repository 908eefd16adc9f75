"""Evolution finds what is there, and only that: planted edge, random walk, stages, determinism, resume.

In-process (no Dask) with the real engine and real modules; Dask is tested in test_dask_*.py.
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from gaorg.errors import CheckpointError
from gaorg.evolve.config import EvolveConfig
from gaorg.evolve.result import DSR_SIGNIFICANT, GenerationStats
from gaorg.evolve.run import evolve
from gaorg.strategies.genome import load_genome
from gaorg.testing.markets import planted_ema_market, random_walk_market

SYMBOLS = ("A", "B", "C")
PLANTED_FAST, PLANTED_SLOW = 5, 20


def planted_data(n: int = 3000) -> dict:
    return {
        (s, "1h"): planted_ema_market(s, n, fast=PLANTED_FAST, slow=PLANTED_SLOW, edge=0.0015, seed=i, revert=0.005)
        for i, s in enumerate(SYMBOLS)
    }


def walk_data(n: int = 3000) -> dict:
    return {(s, "1h"): random_walk_market(s, n, seed=10 + i) for i, s in enumerate(SYMBOLS)}


def config(**kw) -> EvolveConfig:
    base = dict(symbols=SYMBOLS, timeframes=("1h",), population=48, generations=10, seed=0, folds=3,
                modules=("ema_crossover",))
    return EvolveConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def planted_result():
    return evolve(config(), planted_data(), progress=False)


@pytest.fixture(scope="module")
def walk_result():
    return evolve(config(), walk_data(), progress=False)


def test_planted_edge_is_found_near_the_planted_periods(planted_result):
    best = planted_result.best
    params = best.genome.entry.as_dict()
    assert best.genome.entry.module == "ema_crossover"
    assert params["direction"] == "both"  # the planted lean works both ways
    assert 3 <= params["fast"] <= 8, params
    assert 14 <= params["slow"] <= 28, params


def test_planted_edge_holds_up_on_the_unseen_holdout(planted_result):
    best = planted_result.best
    assert best.holdout["sharpe"] > 1.0
    assert set(best.holdout_per_asset) == set(SYMBOLS)
    assert all(m["total_return"] > 0 for m in best.holdout_per_asset.values())
    assert planted_result.pbo < 0.1


def test_random_walk_best_strategy_is_not_significant(walk_result, planted_result):
    best = walk_result.best
    assert best.deflated_sharpe < DSR_SIGNIFICANT
    assert best.deflated_sharpe < planted_result.best.deflated_sharpe
    assert walk_result.pbo > 0.25  # noise selected in sample does not hold out of sample


def test_deflation_uses_the_true_number_of_trials(walk_result):
    assert walk_result.trials == walk_result.evaluations  # every distinct genome evaluated counts
    assert walk_result.trials > config().population


def test_front_members_carry_objectives_lineage_and_json_ready_payload(planted_result):
    payload = planted_result.to_payload()
    assert payload["evaluations"] == planted_result.evaluations
    for member, row in zip(planted_result.front, payload["front"], strict=True):
        assert row["genome"]["schema"] == "gaorg.genome/1"
        assert row["genome_hash"] == member.genome.canonical_hash()
        assert 0.0 <= row["max_drawdown"] <= 1.0 and 0.0 <= row["consistency"] <= 1.0
        assert set(row["holdout"]) >= {"sharpe", "max_drawdown", "total_return", "trades"}
    assert pickle.loads(pickle.dumps(planted_result)) == planted_result


def test_same_seed_same_result_and_another_seed_differs():
    data = planted_data(1500)
    a = evolve(config(population=16, generations=3, seed=7), data, progress=False)
    b = evolve(config(population=16, generations=3, seed=7), data, progress=False)
    c = evolve(config(population=16, generations=3, seed=8), data, progress=False)
    assert [m.genome for m in a.front] == [m.genome for m in b.front]
    assert a.history == b.history
    assert a.history != c.history


def test_callback_gets_every_generation_with_figures():
    seen: list[GenerationStats] = []
    result = evolve(config(population=12, generations=3), planted_data(1500), callback=seen.append, progress=False)
    assert [s.generation for s in seen] == [0, 1, 2, 3]
    assert [s.step for s in seen] == [0, 1, 2, 3]
    assert sum(s.evaluations for s in seen) == result.evaluations
    for s in seen:
        metrics = s.metrics()
        assert metrics["best_sharpe"] >= metrics["median_sharpe"]
        assert metrics["best_max_drawdown"] <= metrics["median_max_drawdown"]
        assert metrics["hypervolume"] >= 0.0 and math.isfinite(metrics["hypervolume"])
    assert seen[-1].hypervolume >= seen[0].hypervolume


def test_two_stages_seed_the_fine_stage_with_the_coarse_front(tmp_path):
    data = planted_data(4800)  # 1h bars; the 4h stage is resampled from them
    result = evolve(config(timeframes=("4h", "1h"), population=12, generations=2, folds=2), data,
                    checkpoint_dir=tmp_path / "run", progress=False)
    assert [s.timeframe for s in result.stages] == ["4h", "1h"]
    assert all(s.evaluations > 0 for s in result.stages)
    assert result.evaluations_per_stage == {"0:4h": result.stages[0].evaluations,
                                            "1:1h": result.stages[1].evaluations}
    assert [h.stage for h in result.history] == [0, 0, 0, 1, 1, 1]
    timing = result.timing  # where the time went: every evaluation of a stage under its entry module
    assert [(s.timeframe, s.evaluations) for s in timing.stages] == [(s.timeframe, s.evaluations)
                                                                     for s in result.stages]
    assert {f.family for f in timing.families} == {"ema_crossover"}
    assert [f.share for f in timing.families] == pytest.approx([1.0, 1.0])
    assert sum(s.share for s in timing.stages) == pytest.approx(1.0)
    assert timing.stages[0].warm_seconds > 0 and timing.stages[1].warm_seconds == 0  # a module warms once
    assert all(m.timeframe == "1h" for m in result.front)
    files = sorted((tmp_path / "run" / "front").glob("*.json"))
    assert {f.stem for f in files} == {m.genome_hash for m in result.front}
    assert load_genome(files[0]).canonical_hash() == files[0].stem


def test_resume_after_an_interruption_equals_an_uninterrupted_run(tmp_path):
    data = planted_data(1500)
    cfg = config(population=12, generations=4)
    whole = evolve(cfg, data, checkpoint_dir=tmp_path / "whole", progress=False)

    class Stop(Exception):
        pass

    def stop_after_two(stats: GenerationStats) -> None:
        if stats.generation == 2:
            raise Stop

    with pytest.raises(Stop):
        evolve(cfg, data, checkpoint_dir=tmp_path / "cut", callback=stop_after_two, progress=False)
    resumed = evolve(cfg, data, checkpoint_dir=tmp_path / "cut", resume=True, progress=False)
    assert [m.genome for m in resumed.front] == [m.genome for m in whole.front]
    assert resumed.history == whole.history
    assert resumed.evaluations == whole.evaluations
    counted = [(f.stage, f.family, f.evaluations) for f in resumed.timing.families]
    assert counted == [(f.stage, f.family, f.evaluations) for f in whole.timing.families]  # kept in the checkpoint


def test_rolling_folds_refit_learned_modules_on_their_own_window():
    import random

    from gaorg.evolve.fitness import evaluate_genome
    from gaorg.evolve.run import build_market
    from gaorg.strategies.catalogue import CATALOGUE
    from gaorg.strategies.genome import make_genome
    from gaorg.strategies.sampling import random_params

    data = planted_data(1500)
    learned = sorted(n for n, s in CATALOGUE.items() if s.learned)[0]
    rolling_market = build_market(config(scheme="rolling"), data, 0)
    anchored_market = build_market(config(), data, 0)
    genome = make_genome((learned, random_params(CATALOGUE[learned], random.Random(0), rolling_market.max_lookback)))
    rolling = evaluate_genome(genome, rolling_market)
    anchored = evaluate_genome(genome, anchored_market)
    assert rolling.feasible and anchored.feasible
    k = len(rolling_market.splits[0].folds)
    assert np.allclose(rolling.cells[::k], anchored.cells[::k])  # first folds: the same training window
    assert (rolling.cells != anchored.cells).any()  # later folds: the model sees less history
    result = evolve(config(population=8, generations=1, scheme="rolling"), data, progress=False)
    assert result.front and result.config["scheme"] == "rolling"


def test_resume_refuses_changed_market_data(tmp_path):
    cfg = config(population=8, generations=2)
    evolve(cfg, planted_data(1500), checkpoint_dir=tmp_path / "run", progress=False)
    with pytest.raises(CheckpointError, match="market data changed"):
        evolve(cfg, walk_data(1500), checkpoint_dir=tmp_path / "run", resume=True, progress=False)
