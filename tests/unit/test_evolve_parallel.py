"""Batching for the Dask map: balanced by estimated cost, every item once, deterministic."""

from __future__ import annotations

from gaorg.evolve.fitness import genome_cost
from gaorg.evolve.parallel import LocalMapper, balanced_groups, guided_groups
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


def test_guided_batches_shrink_to_single_items_costliest_first():
    groups = guided_groups([1.0] * 128, 2)  # a generation of 128 on 2 workers
    assert sorted(i for g in groups for i in g) == list(range(128)) and all(g == sorted(g) for g in groups)
    sizes = [len(g) for g in groups]
    assert sizes[0] == 32 and sizes == sorted(sizes, reverse=True) and sizes[-2:] == [1, 1]
    assert len(groups) <= 16  # few round trips all the same
    assert guided_groups([1.0] * 128, 2) == groups
    costs = [100.0 if i in (5, 70) else 1.0 for i in range(128)]  # two learned genomes go out first
    assert guided_groups(costs, 2)[:2] == [[5], [70]]
    assert guided_groups([], 2) == [] and guided_groups([3.0], 4) == [[0]]
    floored = [len(g) for g in guided_groups([1.0] * 128, 2, smallest=21.0)]  # short genomes: fewer round trips
    assert floored == [32, 24, 21, 21, 21, 9]


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


def test_each_stage_sends_its_market_once_and_the_hold_out_reuses_the_last(monkeypatch):
    """A Dask run pays a stage's market in bytes to every worker: two stages, two sends, each
    freed once; scoring the hold-out on the final stage's market sends nothing more."""
    import functools

    import gaorg.evolve.run as run
    from gaorg.data.resample import resample_bars
    from gaorg.evolve.config import EvolveConfig
    from gaorg.testing.markets import planted_ema_market

    sent, freed = [], []

    class Ref:
        def __init__(self, market):
            self.market = market

        def release(self):
            freed.append(self.market.timeframe)

    class Counting(LocalMapper):
        def scatter(self, obj):
            sent.append(obj.timeframe)
            return Ref(obj)

        def __call__(self, func, items):  # a task gets the held object, as on a worker
            kw = func.keywords
            return LocalMapper.__call__(self, functools.partial(func.func, *func.args, **{
                k: (v.market if isinstance(v, Ref) else v) for k, v in kw.items()}), items)

    monkeypatch.setattr(run, "LocalMapper", Counting)
    hourly = {s: planted_ema_market(s, 1600, fast=5, slow=20, edge=0.0015, seed=i) for i, s in enumerate("AB")}
    data = {**{(s, "1h"): b for s, b in hourly.items()}, **{(s, "4h"): resample_bars(b, "4h") for s, b in hourly.items()}}
    cfg = EvolveConfig(symbols=("A", "B"), timeframes=("4h", "1h"), population=6, generations=1, seed=1,
                       folds=2, modules=("ema_crossover",), workers=0)
    result = run.evolve(cfg, data, progress=False)
    assert result.front and all(m.holdout for m in result.front)  # the hold-out was scored ...
    assert sent == ["4h", "1h"]  # ... on the market already sent for the last stage
    assert freed == ["4h", "1h"]  # every send freed once, the last after the hold-out
