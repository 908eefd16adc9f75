"""NSGA-II selection over frozen individuals, and the config's checks at the edge."""

from __future__ import annotations

import random

import pytest

from gaorg.config import parse_config
from gaorg.errors import ConfigError
from gaorg.evolve.config import EvolveConfig
from gaorg.evolve.selection import _View, first_front, select_nsga2, select_parents, sort_nondominated
from gaorg.evolve.types import Fitness, Individual
from gaorg.strategies.genome import make_genome


def ind(fast: int, sharpe: float, dd: float, cons: float) -> Individual:
    g = make_genome(("ema_crossover", {"fast": fast, "slow": 300, "direction": "both"}))
    return Individual(g, Fitness((sharpe, dd, cons)))


def test_fitness_dominance_maximises_sharpe_minimises_drawdown():
    assert Fitness((1.0, 0.1, 0.5)).dominates(Fitness((0.5, 0.2, 0.5)))
    assert not Fitness((1.0, 0.3, 0.5)).dominates(Fitness((0.5, 0.2, 0.5)))  # worse drawdown
    assert not Fitness((1.0, 0.1, 0.5)).dominates(Fitness((1.0, 0.1, 0.5)))


def test_select_keeps_the_first_front_and_ranks_it():
    pop = [ind(2, 1.0, 0.1, 0.9), ind(3, 0.5, 0.05, 0.5), ind(4, 0.2, 0.3, 0.1), ind(5, 0.1, 0.4, 0.0)]
    chosen = select_nsga2(pop, 2)
    assert {c.key for c in chosen} == {pop[0].key, pop[1].key}
    assert all(c.rank == 0 for c in chosen)
    assert [c.key for c in first_front(pop)] == [pop[0].key, pop[1].key]


def test_duplicated_genomes_compete_once():
    a = ind(2, 1.0, 0.1, 0.9)
    pop = [a, a, a, ind(3, 0.1, 0.5, 0.1)]
    chosen = select_nsga2(pop, 2)
    assert len({c.key for c in chosen}) == 2
    assert len(select_nsga2(pop, 4)) == 4  # copies fill in when distinct genomes run out


def test_the_numpy_sort_gives_deaps_fronts_member_for_member():
    """Ties, duplicated fitnesses, infinities, NaN (one shared object and fresh ones), any k."""
    from deap import tools

    rng = random.Random(5)
    nan = float("nan")
    for case in range(300):
        n = rng.randrange(0, 60)
        grid = rng.choice([3, 5, 50])  # coarse grids make ties and equal fitnesses common
        values = []
        for _ in range(n):
            v = [rng.randrange(grid) / grid - 0.5 for _ in range(3)]
            if rng.random() < 0.05:
                v[rng.randrange(3)] = rng.choice([float("inf"), -float("inf"), nan, float("nan")])
            values.append(tuple(v))
        views = [_View(Fitness(v), i) for i, v in enumerate(values)]
        k = rng.randrange(0, n + 2)
        for only in (False, True):
            want = tools.sortNondominated(views, k, first_front_only=only)
            got = sort_nondominated(views, k, first_front_only=only)
            assert [[v.index for v in f] for f in got] == [[v.index for v in f] for f in want], case


def test_parent_tournament_is_reproducible_and_prefers_better_ranks():
    pop = select_nsga2([ind(f, f / 10, 0.5 - f / 100, 0.5) for f in range(2, 12)], 10)
    picks = select_parents(pop, 200, random.Random(1))
    assert [p.key for p in picks] == [p.key for p in select_parents(pop, 200, random.Random(1))]
    best = min(pop, key=lambda p: p.rank)
    worst = max(pop, key=lambda p: p.rank)
    assert sum(p.key == best.key for p in picks) > sum(p.key == worst.key for p in picks)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"population": 0}, "population: 0 is too small"),
        ({"generations": 0}, "generations: 0"),
        ({"timeframes": ["1h", "1d"]}, "coarse to fine"),
        ({"timeframes": ["1x"]}, "unknown timeframe"),
        ({"populaton": 8}, "did you mean 'population'"),
        ({"holdout": 1.5}, "holdout"),
    ],
)
def test_config_rejects_bad_values_with_a_fix(raw, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(EvolveConfig, {"symbols": ["BTC"], **raw})
