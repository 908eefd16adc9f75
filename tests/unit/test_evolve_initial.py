"""An oversampled first generation: more genomes drawn and scored, the population's size kept."""

from __future__ import annotations

import pytest

from gaorg.errors import ConfigError
from gaorg.evolve.config import EvolveConfig
from gaorg.evolve.run import evolve
from gaorg.testing.markets import planted_ema_market

SYMBOLS = ("A", "B")
DATA = {(s, "1h"): planted_ema_market(s, 1200, fast=5, slow=20, edge=0.0015, seed=i) for i, s in enumerate(SYMBOLS)}


def config(**kw) -> EvolveConfig:
    base = dict(symbols=SYMBOLS, timeframes=("1h",), population=8, generations=1, seed=5, folds=3,
                modules=("ema_crossover", "rsi_filter", "vwap_reversion"), workers=0)
    return EvolveConfig(**{**base, **kw})


def test_initial_factor_scores_more_genomes_first_and_keeps_the_population_size():
    seen = []
    wide = evolve(config(initial_factor=2.0), DATA, progress=False,
                  callback=lambda stats: seen.append((stats.generation, stats.evaluations)))
    assert seen[0] == (0, 16)  # twice the population drawn and scored in generation 0
    assert 0 < seen[1][1] <= 8  # then 8 survivors breed 8 children: the population is back to 8
    assert len(wide.front) <= 8
    plain = []
    evolve(config(initial_factor=1.0), DATA, progress=False,
           callback=lambda stats: plain.append((stats.generation, stats.evaluations)))
    assert plain[0] == (0, 8)


def test_initial_factor_below_one_is_refused():
    with pytest.raises(ConfigError, match="initial_factor"):
        config(initial_factor=0.5)
