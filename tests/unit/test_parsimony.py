"""Parsimony in the sampler: random genomes' counts of filters and exits weighted by ``p ** k``.

1.0 must keep the draws of runs made before the option (same rng, same genomes); below 1.0 each
extra module is ``p`` times as likely as one fewer; the setting travels from ``EvolveConfig`` to
every random genome of a run and to the random-sampling peer of ``gaorg.research.search``.
"""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest
from scipy import stats

from gaorg.errors import ConfigError
from gaorg.evolve.config import EvolveConfig
from gaorg.evolve.operators import Space
from gaorg.evolve.operators import random_genome as space_genome
from gaorg.strategies.sampling import draw_count, random_genome

# canonical hashes (first 12 hex digits) of the first six genomes of random.Random(13), drawn by the
# code of commit 28850e0, before the option: parsimony 1.0 must keep drawing exactly these
BEFORE_SAMPLING = ["16e12bea57e3", "84ee9ddf6853", "d36f6b4a3c7c", "e9a0842671e8", "7ec21d1ab546", "0ec620182177"]
BEFORE_SPACE = ["6f3c3c586c32", "3978a2f1b8b8", "1cf76468404b", "1cab2012152f", "e1695053810f", "d8801ea9c372"]


def _space(parsimony: float = 1.0) -> Space:
    return Space.from_modules(max_filters=2, max_exits=2, parsimony=parsimony).with_lookback(300)


def test_parsimony_one_draws_the_genomes_of_runs_before_the_option():
    rng = random.Random(13)
    assert [random_genome(rng, parsimony=1.0).canonical_hash()[:12] for _ in range(6)] == BEFORE_SAMPLING
    rng = random.Random(13)
    assert [space_genome(rng, _space(1.0)).canonical_hash()[:12] for _ in range(6)] == BEFORE_SPACE


def test_parsimony_one_is_randint_from_the_same_rng_state():
    a, b = random.Random(5), random.Random(5)
    for most in [0, 1, 2, 3] * 50:
        assert draw_count(a, most, 1.0) == b.randint(0, most)
    assert a.getstate() == b.getstate()


def test_with_nothing_to_choose_any_parsimony_draws_as_before():
    """A space of entries only (no filter or exit to count) keeps the rng stream of uniform counts."""
    for p in (0.5, 0.25):
        a, b = random.Random(9), random.Random(9)
        assert [draw_count(a, 0, p) for _ in range(20)] == [b.randint(0, 0) for _ in range(20)]
        assert a.getstate() == b.getstate()
    entries = Space.from_modules(modules=("ema_crossover", "donchian_breakout"), parsimony=0.5)
    uniform = Space.from_modules(modules=("ema_crossover", "donchian_breakout"), parsimony=1.0)
    a, b = random.Random(4), random.Random(4)
    assert [space_genome(a, entries) for _ in range(10)] == [space_genome(b, uniform) for _ in range(10)]


@pytest.mark.parametrize("parsimony", [0.5, 1.0, 0.25])
def test_counts_follow_geometric_weights(parsimony):
    rng = random.Random(11)
    n = 20000
    seen = Counter(draw_count(rng, 2, parsimony) for _ in range(n))
    weights = [parsimony**k for k in range(3)]
    expected = [n * w / sum(weights) for w in weights]
    assert stats.chisquare([seen[k] for k in range(3)], expected).pvalue > 1e-3
    assert seen[1] / seen[0] == pytest.approx(parsimony, rel=0.08)
    assert seen[2] / seen[1] == pytest.approx(parsimony, rel=0.12)


def test_genomes_drawn_at_one_half_carry_fewer_filters_and_exits():
    counts = {}
    for p in (1.0, 0.5):
        rng = random.Random(3)
        genomes = [space_genome(rng, _space(p)) for _ in range(1500)]
        counts[p] = (Counter(len(g.filters) for g in genomes), Counter(len(g.exits) for g in genomes))
    filters, exits = counts[0.5]
    assert filters[1] / filters[0] == pytest.approx(0.5, abs=0.1)
    assert filters[2] / filters[1] == pytest.approx(0.5, abs=0.12)
    assert exits[1] / exits[0] == pytest.approx(0.5, abs=0.1)
    uniform = counts[1.0][0]
    assert uniform[1] / uniform[0] == pytest.approx(1.0, abs=0.15)


@pytest.mark.parametrize("bad", [0.0, -0.5, 1.5, math.nan])
def test_a_parsimony_outside_zero_one_is_refused_with_the_field_and_the_fix(bad):
    with pytest.raises(ConfigError, match=r"parsimony: .* must be in \(0, 1\]: 1 draws .* 0\.5 makes"):
        EvolveConfig(symbols=("A",), parsimony=bad)
    with pytest.raises(ConfigError, match="1 draws 0 to 3 filters equally often"):  # the run's own bound
        EvolveConfig(symbols=("A",), max_filters=3, parsimony=bad)
    with pytest.raises(ValueError, match="parsimony"):
        draw_count(random.Random(0), 2, bad)


def test_the_space_keeps_parsimony_through_the_lookback_limit_and_the_config_reaches_it():
    assert _space(0.5).parsimony == 0.5 and _space(0.5).with_lookback(None).parsimony == 0.5
    assert EvolveConfig(symbols=("A",)).parsimony == 0.5  # the default since 2026-12-04 (benchmarks.md)
    assert EvolveConfig(symbols=("A",), parsimony=0.5).to_params()["parsimony"] == 0.5  # logged as a param


def test_random_sampling_in_the_search_benchmark_draws_with_the_runs_parsimony():
    """``gaorg.research.search.run_random`` is the GA's sampler with the run's setting: same space, same draws."""
    import numpy as np

    from gaorg.research import search
    from gaorg.testing.markets import planted_ema_market

    bars = {(s, "1h"): planted_ema_market(s, 900, fast=5, slow=20, edge=0.0015, seed=i) for i, s in enumerate("AB")}
    filters = {}
    for p in (1.0, 0.5):
        config = EvolveConfig(symbols=("A", "B"), timeframes=("1h",), population=4, generations=1, folds=2,
                              seed=2, workers=0, parsimony=p, modules=("ema_crossover", "rsi_filter", "sma_trend"))
        found = search.run_random(config, bars, 40)
        filters[p] = np.mean([len(g.filters) for g, _ in found])
    assert filters[0.5] < filters[1.0]


def test_notebook_and_discovery_parameters_pass_parsimony_to_the_run():
    """``EvolveParams.parsimony`` (what ``gaorg.research.discovery`` and ``bench_discovery.py --parsimony``
    set) reaches the run's config; None leaves EvolveConfig's default."""
    from gaorg.research.params import EvolveParams

    assert EvolveParams(symbols=("A",), parsimony=0.5).evolve_config().parsimony == 0.5
    assert EvolveParams(symbols=("A",)).evolve_config().parsimony == EvolveConfig(symbols=("A",)).parsimony
    with pytest.raises(ConfigError, match="parsimony"):
        EvolveParams(symbols=("A",), parsimony=0.0).evolve_config()
