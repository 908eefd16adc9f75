"""Early rejection: a genome that loses on one asset of the basket is not scored on the others."""

from __future__ import annotations

import numpy as np

from gaorg.evolve.config import EvolveConfig
from gaorg.evolve.fitness import evaluate_genome
from gaorg.evolve.run import build_market, evolve
from gaorg.evolve.types import WORST
from gaorg.strategies.genome import make_genome
from gaorg.testing.markets import planted_ema_market

SYMBOLS = ("A", "B", "C")
DATA = {(s, "1h"): planted_ema_market(s, 1200, fast=5, slow=20, edge=0.0015, seed=i) for i, s in enumerate(SYMBOLS)}
GENOME = make_genome(("ema_crossover", {"fast": 5, "slow": 20, "direction": "both"}))


def config(**kw) -> EvolveConfig:
    base = dict(symbols=SYMBOLS, timeframes=("1h",), population=8, generations=1, seed=3, folds=3,
                modules=("ema_crossover", "rsi_filter"), workers=0)
    return EvolveConfig(**{**base, **kw})


def test_a_rejected_genome_keeps_one_assets_cells_and_nothing_else():
    market = build_market(config(), DATA, 0)
    full = evaluate_genome(GENOME, market)
    a = int(GENOME.canonical_hash()[:8], 16) % len(SYMBOLS)  # the asset that screens this genome
    mine = slice(3 * a, 3 * a + 3)
    first = full.cells[mine, 8].mean()
    passed = evaluate_genome(GENOME, market, reject_below=first - 1e-9)
    assert passed.feasible and not passed.rejected
    assert passed.objectives == full.objectives and np.array_equal(passed.cells, full.cells)
    out = evaluate_genome(GENOME, market, reject_below=first + 1e-9)
    assert out.rejected and not out.feasible and out.objectives == WORST
    assert np.array_equal(out.cells[mine], full.cells[mine])
    assert not np.delete(out.cells, np.arange(3 * a, 3 * a + 3), axis=0).any()
    one = build_market(config(symbols=("A",)), DATA, 0)  # one asset: nothing to save, never rejected
    assert not evaluate_genome(GENOME, one, reject_below=1e9).rejected


def test_rejected_genomes_count_as_trials_and_stay_off_the_front():
    from gaorg.evolve.fitness import evaluate_batch

    seen = {}

    def recording(genomes, market, **options):
        trials = evaluate_batch(genomes, market, **options)
        seen.update((t.key, t) for t in trials)
        return trials

    result = evolve(config(reject_below=0.0), DATA, progress=False, evaluate=recording)
    rejected = {k for k, t in seen.items() if t.rejected}
    assert 0 < len(rejected) < len(seen)
    assert result.trials == len(seen)  # every distinct genome, rejected or not, deflates the winners
    assert not rejected & {m.genome_hash for m in result.front}


def test_a_fitness_of_ones_own_without_the_keyword_scores_every_genome_in_full():
    from gaorg.evolve.fitness import evaluate_batch

    seen = []

    def plain(genomes, market):
        trials = evaluate_batch(genomes, market)
        seen.extend(trials)
        return trials

    evolve(config(reject_below=0.0), DATA, progress=False, evaluate=plain)
    assert seen and not any(t.rejected for t in seen)


def test_a_resumed_run_keeps_its_rejected_genomes_rejected(tmp_path):
    """Interrupted after generation 1 and resumed: the genomes rejected before the cut come back
    rejected from the checkpoint, and the run ends as the uninterrupted one (same front, history,
    trials, same rejected genomes, none of them on the front)."""
    import pytest

    from gaorg.evolve.checkpoint import load_state

    cfg = config(reject_below=0.0, generations=3)
    whole = evolve(cfg, DATA, checkpoint_dir=tmp_path / "whole", progress=False)

    class Stop(Exception):
        pass

    def stop_after_one(stats) -> None:
        if stats.generation == 1:
            raise Stop

    with pytest.raises(Stop):
        evolve(cfg, DATA, checkpoint_dir=tmp_path / "cut", callback=stop_after_one, progress=False)

    def rejected(run: str) -> set[str]:
        return {k for a in load_state(tmp_path / run).archives for k, t in a.items() if t.rejected}

    before = rejected("cut")
    assert before  # read back rejected, not as plain infeasible genomes
    resumed = evolve(cfg, DATA, checkpoint_dir=tmp_path / "cut", resume=True, progress=False)
    assert [m.genome for m in resumed.front] == [m.genome for m in whole.front]
    assert resumed.history == whole.history and resumed.evaluations == whole.evaluations
    assert resumed.trials == whole.trials == len(set().union(*load_state(tmp_path / "cut").archives))
    assert before <= rejected("cut") == rejected("whole")
    assert not rejected("cut") & {m.genome_hash for m in resumed.front}
