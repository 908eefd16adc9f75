"""Where an evolution's time goes: the timing table's arithmetic, a learned family against a rule
family through the real fitness, and the tally kept across a checkpoint."""

from __future__ import annotations

import json
import math

import pytest

from gaorg.evolve.checkpoint import LoopState, decode_state, encode_state
from gaorg.evolve.config import EvolveConfig
from gaorg.evolve.fitness import Market, evaluate_batch
from gaorg.evolve.folds import make_split
from gaorg.evolve.parallel import LocalMapper
from gaorg.evolve.timing import StageClock, TimedMapper, timing_of
from gaorg.evolve.warmup import warm_genomes, warm_market, warm_up
from gaorg.strategies.catalogue import CATALOGUE
from gaorg.strategies.genome import make_genome
from gaorg.testing.markets import planted_ema_market


def clocks() -> list[StageClock]:
    return [StageClock(wall=2.0, evaluations={"ema_crossover": 30, "linear_svc": 2, "stochastic": 8},
                       seconds={"ema_crossover": 0.3, "linear_svc": 3.0, "stochastic": 0.7}),
            StageClock(wall=6.0, evaluations={"ema_crossover": 10}, seconds={"ema_crossover": 5.0})]


def test_shares_add_up_and_rates_are_evaluations_over_the_attributed_wall_time():
    timing = timing_of(clocks(), ("4h", "1h"))
    coarse = timing.of(0)
    assert [f.family for f in coarse] == ["linear_svc", "stochastic", "ema_crossover"]  # costliest first
    assert sum(f.share for f in coarse) == pytest.approx(1.0)
    assert sum(f.seconds for f in coarse) == pytest.approx(2.0)  # the stage's wall time, shared out
    svc = coarse[0]
    assert svc.share == pytest.approx(0.75) and svc.eval_per_s == pytest.approx(2 / 1.5)
    assert [s.evaluations for s in timing.stages] == [40, 10]
    assert [s.share for s in timing.stages] == pytest.approx([0.25, 0.75])
    assert timing.stages[0].eval_per_s == pytest.approx(20.0)
    frame = timing.frame()
    assert len(frame) == 4 and frame.groupby("stage")["share"].sum().tolist() == pytest.approx([1.0, 1.0])

    metrics = timing.metrics()
    assert metrics["time.0_4h.linear_svc.share"] == pytest.approx(0.75)
    assert metrics["time.1_1h.eval_per_s"] == pytest.approx(10 / 6)
    assert len(metrics) == 4 * 2 + 2 * 4  # four per stage, two per family evaluated
    assert timing.lines()[0] == ("4h: 40 evaluations in 2.0 s (20/s); time by entry module (evaluations/s): "
                                 "linear_svc 75% (1.33/s), stochastic 18% (22.9/s), ema_crossover 8% (200/s)")


def test_trials_without_seconds_give_no_share_rather_than_a_made_up_one():
    timing = timing_of([StageClock(1.0, {"ema_crossover": 3}, {"ema_crossover": 0.0})], ("1h",))
    assert math.isnan(timing.families[0].share)
    assert "time.0_1h.ema_crossover.share" not in timing.metrics()  # NaN is left out of MLflow
    json.dumps(timing.to_dict(), allow_nan=False)  # and is null in --json
    assert "ema_crossover n/a (n/a/s)" in timing.lines()[0]


def test_a_learned_family_takes_the_larger_share_of_a_batch_than_a_rule_family():
    """After the warm-up (compiled code, scikit-learn's import), an SVC genome of ~10 fits against
    an EMA cross: ~10x the time here with its fits made (~2x with them cached), each measured by
    the worker around its own genome. Five rounds, the fits' cache emptied and the garbage
    collector held off in each: one pause inside the EMA's ~0.1 ms would outweigh the fits."""
    import gc
    import statistics

    from gaorg.strategies import learned_cache

    bars = planted_ema_market("A", 4000, edge=0.0015, seed=0, revert=0.005, timeframe="1h")
    split = make_split(len(bars), 2, 0.2, "anchored", 50, label="A 1h")
    from gaorg.backtest.engine import Costs

    market = Market("1h", (bars,), (split,), "anchored", Costs())
    ema = make_genome(("ema_crossover", {"fast": 5, "slow": 20, "direction": "both"}))
    svc = make_genome(("linear_svc", {"feature_period": 12, "horizon": 6, "window": 300, "refit": 250,
                                      "log_c": 0.0, "direction": "both"}))
    warm = warm_genomes(["ema_crossover"], list(CATALOGUE))
    assert {m for g in warm for m in g.modules} == set(CATALOGUE)  # every module is warmed,
    assert max(g.lookback() for g in warm) <= warm_market(market).max_lookback  # and computed, not skipped
    LocalMapper().warm(warm_up, warm_genomes(["ema_crossover"], ["ema_crossover", "linear_svc"]), warm_market(market))
    shares = []
    for _ in range(5):
        clock = StageClock()  # what follows times the families, not a first load
        mapper = TimedMapper(LocalMapper(), clock)
        learned_cache.clear()
        gc.collect()
        gc.disable()
        try:
            trials = mapper(lambda genomes: evaluate_batch(genomes, market), [ema, svc])
        finally:
            gc.enable()
        assert all(t.seconds > 0 and t.feasible for t in trials)  # measured by the worker, genome by genome
        assert clock.evaluations == {"ema_crossover": 1, "linear_svc": 1}
        assert clock.wall >= sum(clock.seconds.values())  # one process: the wall time holds every genome's
        (stage,) = timing_of([clock], ("1h",)).stages
        families = {f.family: f for f in timing_of([clock], ("1h",)).families}
        assert stage.evaluations == 2
        assert families["linear_svc"].share + families["ema_crossover"].share == pytest.approx(1.0)
        shares.append(families["linear_svc"].share)
    assert statistics.median(shares) > 0.5  # the learned family the larger share


def test_the_tally_survives_a_checkpoint_and_an_older_checkpoint_reads_without_one():
    state = LoopState("r", EvolveConfig(symbols=("A",)), clocks=clocks())
    data = json.loads(json.dumps(encode_state(state)))
    assert decode_state(data).clocks == clocks()
    del data["clocks"]
    assert decode_state(data).clocks == []
