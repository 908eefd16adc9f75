"""One meaning of a strategy: a batch's shared indicators (``gaorg.strategies.memo``) and the batch
path of evolution (``gaorg.evolve.fitness.evaluate_batch``) agree with ``gaorg backtest``
(``backtest(bars, targets(genome, bars), costs)``) bit for bit, over random genomes of all 12
families drawn by the GA's own sampler and operators, on random markets."""

from __future__ import annotations

import random

import numpy as np
import pytest

from gaorg.backtest.engine import FOLD_COLUMNS, Costs
from gaorg.backtest.run import backtest
from gaorg.evolve import operators
from gaorg.evolve.operators import Space
from gaorg.strategies import learned_cache
from gaorg.strategies.catalogue import CATALOGUE
from gaorg.strategies.compose import targets
from gaorg.strategies.memo import Memo
from tests.unit.strategy_kit import random_bars

MAX_LOOKBACK = 500  # learned modules with small windows (and few fits): the test stays fast


def same_bits(a, b) -> bool:
    """Equal to the last bit (NaN payloads too); arrays of the same dtype and shape, or scalars."""
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def population(seed: int, size: int) -> list:
    """``size`` genomes as a generation holds them: drawn by the sampler, then offspring of those
    (crossover, mutation), so slots and periods repeat as they do in evolution."""
    rng = random.Random(seed)
    space = Space.from_modules(max_lookback=MAX_LOOKBACK)
    pop = [operators.random_genome(rng, space) for _ in range(size // 2)]
    while len(pop) < size:
        a, b = rng.sample(pop[: size // 2], 2)
        kids = operators.crossover(a, b, rng, space)
        pop.extend(operators.mutate(k, rng, space) if rng.random() < 0.7 else k for k in kids)
    return pop[:size]


def random_market(seed: int):
    rng = random.Random(seed)
    n = rng.randint(1200, 2400)
    bars = random_bars(n, seed=seed, scale=10 ** rng.uniform(-2, 4), timeframe=rng.choice(["1h", "4h"]))
    return bars, Costs(fee=rng.uniform(0, 0.001), slippage=rng.uniform(0, 0.0005))


def test_the_random_generations_cover_all_12_families():
    used = {m for seed in (1, 2) for g in population(seed, 96) for m in g.modules}
    assert used == set(CATALOGUE)
    assert len({spec.family for spec in CATALOGUE.values()}) == 12


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_targets_through_a_batch_memo_are_the_plain_targets_bit_for_bit(seed):
    bars, costs = random_market(seed)
    memo = Memo()
    learned_cache.clear()
    genomes = population(seed, 96)
    for genome in genomes:
        shared_plan = targets(genome, bars, memo=memo)
        plain = targets(genome, bars)
        for field in ("target", "stop", "take"):
            assert same_bits(getattr(shared_plan, field), getattr(plain, field)), (genome.to_json(), field)
        assert shared_plan.target.flags.writeable  # the caller's own array, never the memo's
        a = backtest(bars, shared_plan, costs).metrics
        b = backtest(bars, plain, costs).metrics
        assert all(same_bits(a[k], b[k]) for k in a), genome.to_json()
    assert memo.hits > len(genomes)  # slots and indicators were shared, not recomputed


def test_a_memo_holds_its_byte_bound_and_keys_series_by_identity():
    bars = random_bars(1000, seed=3)
    other = random_bars(1000, seed=3)  # equal values, another series object
    memo = Memo(max_bytes=20_000)  # two arrays of 1,000 floats and their overhead
    calls = []

    def compute(tag):
        calls.append(tag)
        return np.full(1000, float(len(calls)))

    first = memo.get(bars, "k", 1, lambda: compute("a"))
    assert not first.flags.writeable
    assert memo.get(bars, "k", 1, lambda: compute("b")) is first
    memo.get(other, "k", 1, lambda: compute("c"))
    memo.get(bars, "k", 2, lambda: compute("d"))
    assert calls == ["a", "c", "d"] and memo.bytes <= 20_000 and len(memo) == 2
    memo.get(bars, "k", 1, lambda: compute("e"))  # evicted (least recent): recomputed, not wrong
    assert calls[-1] == "e"


@pytest.mark.parametrize("scheme", ["anchored", "rolling"])
def test_the_batch_path_of_evolution_is_gaorg_backtest_bit_for_bit(scheme):
    """Every cell of a batch's trials is what ``gaorg backtest`` says of that asset's fold, and the
    whole trial is the one a genome evaluated alone (no sharing) gets."""
    from gaorg.evolve.fitness import Market, _score, evaluate_batch
    from gaorg.evolve.folds import make_split
    from gaorg.evolve.types import CELL_FIELDS

    seed = 11 if scheme == "anchored" else 12
    rng = random.Random(seed)
    n = rng.randint(2600, 3200)
    basket = tuple(random_bars(n, seed=seed + a, scale=10 ** rng.uniform(-2, 4)) for a in range(2))
    folds = 3
    splits = tuple(make_split(n, folds, 0.1, scheme) for _ in basket)
    costs = Costs(fee=rng.uniform(0, 0.001), slippage=rng.uniform(0, 0.0005))
    market = Market("1h", basket, splits, scheme, costs, min_trades=0.0)
    genomes = [g for g in population(seed, 48) if g.lookback() <= market.max_lookback]
    learned_cache.clear()
    trials = evaluate_batch(genomes, market)
    col = {name: i for i, name in enumerate(CELL_FIELDS)}
    checked = 0
    for genome, trial in zip(genomes, trials, strict=True):
        alone = _score(genome, market)
        assert same_bits(trial.cells, alone.cells) and trial.objectives == alone.objectives
        for a, (bars, split) in enumerate(zip(basket, splits, strict=True)):
            for f, fold in enumerate(split.folds):
                if scheme == "anchored":
                    series, start = bars.slice(0, split.holdout_start), fold.test_start
                else:
                    series, start = bars.slice(fold.train_start, fold.test_end), fold.test_start - fold.train_start
                end = fold.test_end - (0 if scheme == "anchored" else fold.train_start)
                m = backtest(series, targets(genome, series), costs, start=start, end=end).metrics
                cell = trial.cells[a * folds + f]
                for name in FOLD_COLUMNS:
                    assert same_bits(cell[col[name]], np.float64(m[name])), (genome.to_json(), name)
                checked += 1
    assert checked >= 2 * folds * 40


def test_a_batch_with_early_rejection_scores_each_genome_as_alone_series_by_series():
    """The batch goes series by series (each genome's screening asset first); every trial, the
    rejected ones too, is the genome's trial alone, bit for bit."""
    from gaorg.evolve.fitness import Market, _score, evaluate_batch
    from gaorg.evolve.folds import make_split

    n = 2400
    basket = tuple(random_bars(n, seed=30 + a) for a in range(3))
    market = Market("1h", basket, tuple(make_split(n, 3, 0.1, "anchored") for _ in basket), "anchored",
                    Costs(fee=0.0004, slippage=0.0002), min_trades=0.0)
    genomes = population(5, 24)
    trials = evaluate_batch(genomes, market, reject_below=0.0)
    assert 0 < sum(t.rejected for t in trials) < len(trials)
    for genome, trial in zip(genomes, trials, strict=True):
        alone = _score(genome, market, reject_below=0.0)
        assert (trial.key, trial.rejected, trial.feasible) == (alone.key, alone.rejected, alone.feasible)
        assert same_bits(trial.cells, alone.cells) and trial.objectives == alone.objectives


def test_a_memo_forgets_a_series_it_is_done_with():
    bars, other = random_bars(500, seed=5), random_bars(500, seed=6)
    memo = Memo().plan([("k", 1)] * 3)  # three uses a series: kept after the first
    for b in (bars, other):
        memo.get(b, "k", 1, lambda: np.zeros(500))
    assert len(memo) == 2
    memo.forget(bars)  # the uses left on ``bars`` will never come (say, a rejected genome's)
    assert len(memo) == 1 and memo.bytes < 500 * 8 + 200
    third = random_bars(500, seed=7)  # a new series never takes the forgotten one's entries
    computed = []
    memo.get(third, "k", 1, lambda: computed.append(1) or np.ones(500))
    assert computed == [1]


def test_a_planned_memo_keeps_only_shared_indicators_and_drops_each_after_its_last_use():
    bars = random_bars(500, seed=4)
    memo = Memo().plan([("k", 1), ("k", 2), ("k", 2), ("k", 2)])  # period 1 once, period 2 thrice
    computed = []

    def compute(p):
        computed.append(p)
        return np.full(500, float(p))

    memo.get(bars, "k", 1, lambda: compute(1))
    assert len(memo) == 0  # needed once: computed, not kept
    values = [memo.get(bars, "k", 2, lambda: compute(2)) for _ in range(3)]
    assert computed == [1, 2] and values[0] is values[1] is values[2]
    assert len(memo) == 0 and memo.bytes == 0  # dropped after its third (last) use
    memo.get(bars, "k", 3, lambda: compute(3))  # not in the plan: computed, not kept
    assert computed == [1, 2, 3] and len(memo) == 0


@pytest.mark.parametrize("name", sorted(n for n, s in CATALOGUE.items() if s.indicators is not None))
def test_a_module_asks_the_memo_for_exactly_the_indicators_it_declares(name):
    """The plan of a batch comes from ``ModuleSpec.indicators``: it must name what compute asks for."""
    from gaorg.strategies.sampling import random_params

    spec = CATALOGUE[name]
    bars = random_bars(600, seed=5)
    asked = []

    class Recording(Memo):
        def get(self, bars, kind, p, compute):
            asked.append((kind, p))
            return super().get(bars, kind, p, compute)

    for seed in range(3):
        params = random_params(spec, random.Random(seed), max_lookback=MAX_LOOKBACK)
        asked.clear()
        out = spec.compute(bars, params, memo=Recording())
        assert asked == list(spec.indicators(params))
        plain = spec.compute(bars, params)
        for a, b in zip(out if isinstance(out, tuple) else (out,), plain if isinstance(plain, tuple) else (plain,),
                        strict=True):  # fmt: skip
            assert same_bits(a, b)


def test_the_sizing_hold_cleans_the_scale_as_numpy_does_bit_for_bit():
    """compose holds ``clip(nan_to_num(scale), 0, 1)`` cleaning only the sampled values: the same
    plan as the numpy passes, NaN, infinities, -0.0 and subnormals included."""
    from gaorg.strategies.compose import hold_unit_scale_from_entry

    def hold_scale_from_entry(signal: np.ndarray, scale: np.ndarray) -> np.ndarray:
        out, held = np.zeros(len(signal)), 0.0
        for i in range(len(signal)):
            if i == 0 or signal[i] != signal[i - 1]:
                held = scale[i]
            out[i] = signal[i] * held
        return out

    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(1, 2000))
        signal = np.repeat(rng.choice([-1.0, 0.0, 1.0, 0.5], n), rng.integers(1, 20, n))[:n]
        scale = rng.normal(0.5, 1.0, n)
        odd = rng.choice(np.array([np.nan, np.inf, -np.inf, -0.0, 5e-324, -5e-324, 2.0]), n)
        scale = np.where(rng.random(n) < 0.2, odd, scale)
        want = hold_scale_from_entry(signal, np.clip(np.nan_to_num(scale), 0.0, 1.0))
        assert same_bits(hold_unit_scale_from_entry(signal, scale), want)
