"""Batching for the Dask map: balanced by estimated cost, every item once, deterministic."""

from __future__ import annotations

from gaorg.evolve.fitness import genome_cost
from gaorg.evolve.parallel import LocalMapper, balanced_groups
from gaorg.strategies.catalogue import CATALOGUE
from gaorg.strategies.genome import make_genome
from gaorg.strategies.sampling import random_params


def test_groups_cover_every_item_once_in_order():
    groups = balanced_groups([1.0] * 10, 4)
    assert sorted(i for g in groups for i in g) == list(range(10))
    assert all(g == sorted(g) for g in groups)
    assert balanced_groups([1.0] * 10, 4) == groups


def test_expensive_items_are_spread_over_the_groups():
    costs = [100.0 if i % 8 == 0 else 1.0 for i in range(64)]  # 8 expensive, like learned modules
    loads = [sum(costs[i] for i in g) for g in balanced_groups(costs, 8)]
    assert max(loads) - min(loads) <= 1.0 + 1e-9
    naive = [sum(costs[i::8]) for i in range(8)]  # round robin puts them all in one group
    assert max(naive) - min(naive) > 700


def test_fewer_items_than_groups_gives_no_empty_group():
    assert balanced_groups([1.0, 2.0], 5) == [[1], [0]]


def test_learned_modules_are_costed_higher():
    import random

    learned = next(n for n, s in CATALOGUE.items() if s.learned)
    slow = make_genome((learned, random_params(CATALOGUE[learned], random.Random(0))))
    fast = make_genome(("ema_crossover", {"fast": 5, "slow": 20, "direction": "both"}))
    assert genome_cost(slow) > 10 * genome_cost(fast)


def test_local_mapper_calls_the_batch_function_once():
    calls = []

    def batch(items):
        calls.append(list(items))
        return [i + 1 for i in items]

    assert LocalMapper()(batch, [1, 2, 3]) == [2, 3, 4]
    assert LocalMapper()(batch, []) == []
    assert calls == [[1, 2, 3]]
